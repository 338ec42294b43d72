/**
 * Verifies an access token this server issued (src/tokens/access-token.ts): RFC 9068 `at+jwt`, ES256,
 * signed by one of the server's published keys, `iss` this server, `aud` the expected audience, unexpired.
 * Used where the server is its own resource server: the registration endpoint (initial access tokens),
 * and later the HAAPI flow, userinfo and introspection.
 *
 * Pure: `now` is epoch seconds; the keys come from the caller. Single use, where a token is single use,
 * is the caller's (atomic, in the replay store).
 */
import type { JWTVerifyGetKey } from "jose";
import { isClientAssuranceLevel } from "../protocol";
import type { ClientAssuranceLevel } from "../tokens/access-token";
import { fail, ok, type Result } from "./result";
import { type ServerJwtFailure, verifyServerJwt } from "./server-jwt";

export type AccessTokenFailure = ServerJwtFailure;

export interface AccessTokenPolicy {
  readonly issuer: string;
  readonly audience: string;
}

export interface VerifiedAccessToken {
  readonly subject: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly jti: string;
  readonly exp: number;
  readonly cal: ClientAssuranceLevel;
  /** RFC 9449 `cnf.jkt`: the token is DPoP-bound to this key. */
  readonly jkt?: string;
  /** The grant a login's token belongs to (`gid`), when it has one. */
  readonly grantId?: string;
  /** The whole payload, for introspection. */
  readonly claims: Readonly<Record<string, unknown>>;
}

export async function verifyAccessToken(
  token: string,
  policy: AccessTokenPolicy,
  keys: JWTVerifyGetKey,
  now: number,
): Promise<Result<VerifiedAccessToken, AccessTokenFailure>> {
  const verified = await verifyServerJwt(
    token,
    keys,
    { typ: "at+jwt", issuer: policy.issuer, audience: policy.audience, otherRequiredClaims: ["client_id"] },
    now,
  );
  if (!verified.ok) return verified;
  const payload = verified.value;
  const { sub, client_id: clientId, scope, jti, exp, cal, cnf } = payload;
  if (typeof clientId !== "string") return fail("claims_missing");
  if (typeof scope !== "string" || !isClientAssuranceLevel(cal))
    return fail("claims_missing", { claim: typeof scope !== "string" ? "scope" : "cal" });
  let jkt: string | undefined;
  if (cnf !== undefined) {
    const bound = (cnf as Record<string, unknown> | null)?.jkt;
    if (bound !== undefined && typeof bound !== "string") return fail("claims_missing", { claim: "cnf.jkt" });
    jkt = bound as string | undefined;
  }
  if (payload.gid !== undefined && typeof payload.gid !== "string") return fail("claims_missing", { claim: "gid" });
  return ok({
    subject: sub,
    clientId,
    scopes: scope ? scope.split(" ") : [],
    jti,
    exp,
    cal,
    ...(jkt ? { jkt } : {}),
    ...(typeof payload.gid === "string" ? { grantId: payload.gid } : {}),
    claims: payload,
  });
}
