/**
 * PKCE (RFC 7636) with S256 only: `code_verifier` is 43 to 128 unreserved characters, and
 * base64url(SHA-256(ASCII(code_verifier))) equals the `code_challenge` of the authorization request.
 * Pure.
 */
import { base64url } from "jose";
import { constantTimeEqual } from "./constant-time";
import { fail, ok, type Result } from "./result";

export type PkceFailure = "verifier_missing" | "verifier_malformed" | "mismatch";

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** A challenge is a base64url SHA-256: 43 characters. */
export const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export async function s256(verifier: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

export async function verifyPkce(verifier: string | undefined, challenge: string): Promise<Result<true, PkceFailure>> {
  if (verifier === undefined) return fail("verifier_missing");
  if (!VERIFIER.test(verifier)) return fail("verifier_malformed");
  return constantTimeEqual(await s256(verifier), challenge) ? ok(true) : fail("mismatch");
}
