/**
 * Verifies an access token this server issued (src/tokens/access-token.ts): RFC 9068 `at+jwt`, ES256,
 * signed by one of the server's published keys, `iss` this server, `aud` the expected audience, unexpired.
 * Used where the server is its own resource server: the registration endpoint (initial access tokens),
 * and later the HAAPI flow, userinfo and introspection.
 *
 * Pure: `now` is epoch seconds; the keys come from the caller. Single use, where a token is single use,
 * is the caller's (atomic, in the replay store).
 */
import { errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { ClientAssuranceLevel } from "../tokens/access-token";
import { fail, ok, type Result } from "./result";

export type AccessTokenFailure =
  | "malformed"
  | "typ"
  | "signature"
  | "issuer"
  | "audience"
  | "expired"
  | "claims_missing";

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

const CAL = new Set<string>(["by-policy", "by-provisioned-key", "none"]);

export async function verifyAccessToken(
  token: string,
  policy: AccessTokenPolicy,
  keys: JWTVerifyGetKey,
  now: number,
): Promise<Result<VerifiedAccessToken, AccessTokenFailure>> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: ["ES256"],
      typ: "at+jwt",
      issuer: policy.issuer,
      audience: policy.audience,
      currentDate: new Date(now * 1000),
      clockTolerance: 0,
      requiredClaims: ["exp", "iat", "sub", "jti", "client_id"],
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) return fail("expired");
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.claim === "typ") return fail("typ");
      if (error.claim === "iss") return fail("issuer");
      if (error.claim === "aud") return fail("audience");
      return fail("claims_missing", { claim: error.claim });
    }
    if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey)
      return fail("signature");
    return fail("malformed");
  }
  const { sub, client_id: clientId, scope, jti, exp, cal, cnf } = payload;
  if (typeof sub !== "string" || typeof clientId !== "string" || typeof jti !== "string" || typeof exp !== "number")
    return fail("claims_missing");
  if (typeof scope !== "string" || typeof cal !== "string" || !CAL.has(cal))
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
    cal: cal as ClientAssuranceLevel,
    ...(jkt ? { jkt } : {}),
    ...(typeof payload.gid === "string" ? { grantId: payload.gid } : {}),
    claims: payload,
  });
}
