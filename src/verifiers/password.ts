/**
 * User passwords: PBKDF2-SHA-256 (WebCrypto) with a random 16-byte salt, at 100 000 iterations, the
 * most workerd's WebCrypto allows. Stored as `pbkdf2-sha256$<iterations>$<salt>$<digest>`; compared in
 * constant time (src/verifiers/client-secret.ts holds the one implementation of both forms).
 * A seeded development user may have a plain-text password (refused outside development by the config).
 */
import { hashClientSecret, verifyClientSecret, type SecretFailure } from "./client-secret";
import type { Result } from "./result";

export const PASSWORD_ITERATIONS = 100_000;

export function hashPassword(password: string): Promise<string> {
  return hashClientSecret(password, "pbkdf2-sha256", PASSWORD_ITERATIONS);
}

export function verifyPassword(
  presented: string,
  stored: { password?: string | undefined; password_hash?: string | undefined },
): Promise<Result<true, SecretFailure>> {
  return verifyClientSecret(presented, { client_secret: stored.password, client_secret_hash: stored.password_hash });
}

/** Why a new password is not acceptable, or null (NIST SP 800-63B: length, not composition rules). */
export function passwordProblem(password: string, username: string): string | null {
  if (password.length < 8) return "must be at least 8 characters";
  if (password.length > 256) return "must be at most 256 characters";
  if (password.toLowerCase() === username.toLowerCase()) return "must not be the username";
  return null;
}
