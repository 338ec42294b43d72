/**
 * PKCE (RFC 7636) with S256 only: `code_verifier` is 43 to 128 unreserved characters, and
 * base64url(SHA-256(ASCII(code_verifier))) equals the `code_challenge` of the authorization request.
 * Pure.
 */
import { sha256Base64url } from "../hash";
import { constantTimeEqual } from "./constant-time";
import { fail, ok, type Result } from "./result";

export type PkceFailure = "verifier_missing" | "verifier_malformed" | "mismatch";

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** A challenge is a base64url SHA-256: 43 characters. */
export const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** base64url(SHA-256(ASCII(code_verifier))): the S256 code_challenge (RFC 7636 §4.2). */
export function s256(verifier: string): Promise<string> {
  return sha256Base64url(verifier);
}

export async function verifyPkce(verifier: string | undefined, challenge: string): Promise<Result<true, PkceFailure>> {
  if (verifier === undefined) return fail("verifier_missing");
  if (!VERIFIER.test(verifier)) return fail("verifier_malformed");
  return constantTimeEqual(await s256(verifier), challenge) ? ok(true) : fail("mismatch");
}
