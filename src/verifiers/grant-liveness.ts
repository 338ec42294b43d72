/**
 * Whether a grant still stands behind a token of a login (an access token's `gid`, an ID token's
 * `gid`, or the authority a UAF registration request was issued under).
 *
 * A grant dies when it is revoked (RFC 7009), when its code is redeemed a second time (RFC 6749
 * §4.1.2) or when a rotated-away refresh token comes back (reuse detection); the object is deleted
 * once nothing it issued can still be valid. Revocation must reach every token the grant issued at once,
 * not when they expire, so every endpoint that accepts such a token asks this one question.
 *
 * Pure: the record is read by the caller (null when there is none).
 */
import type { GrantRecord } from "../kv/grant";
import { fail, ok, type Result } from "./result";

export type GrantLivenessFailure =
  | "grant_unknown"
  | "grant_revoked"
  | "grant_of_another_client"
  | "grant_of_another_user";

export interface GrantExpectation {
  /** The client the token was issued to (`client_id`, or an ID token's `aud`). */
  readonly clientId?: string;
  /** The user the token names (`sub`). */
  readonly subject?: string;
}

export function checkGrantLive(
  record: GrantRecord | null,
  expected: GrantExpectation,
): Result<GrantRecord, GrantLivenessFailure> {
  if (record === null) return fail("grant_unknown");
  if (record.revoked_at !== null) return fail("grant_revoked", { revoked_at: record.revoked_at });
  if (expected.clientId !== undefined && record.client_id !== expected.clientId)
    return fail("grant_of_another_client", { expected: expected.clientId, grant: record.client_id });
  if (expected.subject !== undefined && record.user.sub !== expected.subject) return fail("grant_of_another_user");
  return ok(record);
}
