/**
 * An ID token this server issued (src/tokens/grant-tokens.ts signIdToken), presented as a Bearer JWT by
 * the Nevis SDK's JwtAuthorizationProvider to register or deregister UAF authenticators. ID tokens are
 * not sender-constrained, so only a fresh one counts (`iat` within `maxAge`): it stands for a login that
 * just happened, not for a day-long credential. It names its grant (`gid`, as the grant's access tokens
 * do), so the caller can refuse it once that grant is revoked; which is the caller's to check.
 *
 * Pure: the key set and `now` are passed in.
 */
import { jwtVerify, type JWTVerifyGetKey } from "jose";
import { fail, ok, type Result } from "./result";

export type IdTokenFailure = "id_token_invalid" | "id_token_stale";

export interface VerifiedIdToken {
  readonly sub: string;
  /** The client it was issued to. */
  readonly aud: string;
  /** The grant it was issued from; absent in ID tokens issued before grants were named. */
  readonly gid?: string;
}

export async function verifyIdToken(
  token: string,
  keys: JWTVerifyGetKey,
  expected: { readonly issuer: string; readonly maxAge: number },
  now: number,
): Promise<Result<VerifiedIdToken, IdTokenFailure>> {
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ["ES256"],
      typ: "JWT",
      issuer: expected.issuer,
      currentDate: new Date(now * 1000),
      maxTokenAge: expected.maxAge,
      requiredClaims: ["sub", "aud", "exp", "iat", "auth_time"],
    });
    if (typeof payload.sub !== "string" || typeof payload.aud !== "string") return fail("id_token_invalid");
    if (payload.gid !== undefined && typeof payload.gid !== "string") return fail("id_token_invalid");
    return ok({ sub: payload.sub, aud: payload.aud, ...(typeof payload.gid === "string" ? { gid: payload.gid } : {}) });
  } catch (error) {
    return fail((error as { claim?: string }).claim === "iat" ? "id_token_stale" : "id_token_invalid");
  }
}
