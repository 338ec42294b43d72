/**
 * client_secret_basic / client_secret_post: compare a presented secret with the configured one.
 *
 * Stored forms (see `npm run hash-secret`):
 * - plain text (development only), compared through SHA-256 so the comparison leaks no length;
 * - `sha256$<salt>$<digest>`: digest = SHA-256(salt || UTF-8(secret)), base64url. Right for generated,
 *   high-entropy client secrets, and cheap enough for the token endpoint's hot path;
 * - `pbkdf2-sha256$<iterations>$<salt>$<digest>`: for human-chosen secrets, at a CPU cost per request.
 */
import { base64url } from "jose";
import { constantTimeEqual } from "./constant-time";
import { fail, ok, type Result } from "./result";
import { bufferSource, concatBytes } from "../bytes";
import { sha256Base64url } from "../hash";

export type SecretFailure = "secret_mismatch" | "secret_hash_unusable";

export interface StoredSecret {
  readonly client_secret?: string | undefined;
  readonly client_secret_hash?: string | undefined;
}

const encoder = new TextEncoder();

async function pbkdf2(secret: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(
    await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: bufferSource(salt), iterations }, key, 256),
  );
}

/** Hash a secret for `client_secret_hash`. */
export async function hashClientSecret(
  secret: string,
  scheme: "sha256" | "pbkdf2-sha256" = "sha256",
  iterations = 100_000,
): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  if (scheme === "sha256")
    return `sha256$${base64url.encode(salt)}$${await sha256Base64url(concatBytes(salt, encoder.encode(secret)))}`;
  return `pbkdf2-sha256$${iterations}$${base64url.encode(salt)}$${base64url.encode(await pbkdf2(secret, salt, iterations))}`;
}

export async function verifyClientSecret(
  presented: string,
  stored: StoredSecret,
): Promise<Result<true, SecretFailure>> {
  if (stored.client_secret !== undefined) {
    const [a, b] = await Promise.all([sha256Base64url(presented), sha256Base64url(stored.client_secret)]);
    return constantTimeEqual(a, b) ? ok(true) : fail("secret_mismatch");
  }
  const parts = (stored.client_secret_hash ?? "").split("$");
  try {
    if (parts[0] === "sha256" && parts.length === 3) {
      const digest = await sha256Base64url(concatBytes(base64url.decode(parts[1]!), encoder.encode(presented)));
      return constantTimeEqual(digest, parts[2]!) ? ok(true) : fail("secret_mismatch");
    }
    if (parts[0] === "pbkdf2-sha256" && parts.length === 4) {
      const iterations = Number(parts[1]);
      if (!Number.isInteger(iterations) || iterations < 1) return fail("secret_hash_unusable");
      const digest = await pbkdf2(presented, base64url.decode(parts[2]!), iterations);
      return constantTimeEqual(base64url.encode(digest), parts[3]!) ? ok(true) : fail("secret_mismatch");
    }
  } catch {
    return fail("secret_hash_unusable");
  }
  return fail("secret_hash_unusable");
}
