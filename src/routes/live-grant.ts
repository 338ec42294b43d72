/**
 * The grant behind a token of a login, read from its record and judged by checkGrantLive
 * (src/verifiers/grant-liveness.ts). Resource endpoints (through authenticateAccessToken), introspection,
 * ID tokens as UAF authorization and the UAF registration response all ask this one question.
 */
import type { Context } from "hono";
import { grantIdOf, type GrantOperations, type GrantRecord } from "../kv/grant";
import type { RecordRef } from "../kv/record";
import { checkGrantLive, type GrantExpectation, type GrantLivenessFailure } from "../verifiers/grant-liveness";
import type { Result } from "../verifiers/result";
import type { AppEnv } from "./context";

export interface FoundGrant {
  readonly record: GrantRecord;
  readonly ref: RecordRef<GrantOperations>;
}

/** The grant a grant id, code or refresh token names, or null (not a grant id, never issued, or gone after expiry). */
export async function findGrant<E extends AppEnv>(c: Context<E>, grantIdOrToken: string): Promise<FoundGrant | null> {
  const ref = c.get("stores").grants.byId(grantIdOf(grantIdOrToken));
  if (!ref) return null;
  const record = await ref.run("read", null, c.get("now"));
  return record ? { record, ref } : null;
}

/** The grant `grantId` names, if it is still live for `expected`. */
export async function liveGrant<E extends AppEnv>(
  c: Context<E>,
  grantId: string,
  expected: GrantExpectation,
): Promise<Result<GrantRecord, GrantLivenessFailure>> {
  return checkGrantLive((await findGrant(c, grantId))?.record ?? null, expected);
}
