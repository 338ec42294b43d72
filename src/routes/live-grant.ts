/**
 * The grant behind a token of a login, read from its Durable Object and judged by checkGrantLive
 * (src/verifiers/grant-liveness.ts). Resource endpoints (through authenticateAccessToken), introspection,
 * ID tokens as UAF authorization and the UAF registration response all ask this one question.
 */
import type { Context } from "hono";
import { grantObjectOf, type Grant, type GrantRecord } from "../kv/grant";
import { checkGrantLive, type GrantExpectation, type GrantLivenessFailure } from "../verifiers/grant-liveness";
import type { Result } from "../verifiers/result";
import type { AppEnv } from "./context";

export interface FoundGrant {
  readonly record: GrantRecord;
  readonly stub: DurableObjectStub<Grant>;
}

/** The grant `grantId` names, or null (not a grant id, never issued, or deleted after expiry). */
export async function findGrant<E extends AppEnv>(c: Context<E>, grantId: string): Promise<FoundGrant | null> {
  const found = grantObjectOf(c.env.GRANTS, grantId);
  if (!found) return null;
  const record = await found.stub.read();
  return record ? { record, stub: found.stub } : null;
}

/** The grant `grantId` names, if it is still live for `expected`. */
export async function liveGrant<E extends AppEnv>(c: Context<E>, grantId: string, expected: GrantExpectation): Promise<Result<GrantRecord, GrantLivenessFailure>> {
  return checkGrantLive((await findGrant(c, grantId))?.record ?? null, expected);
}
