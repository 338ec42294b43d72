/**
 * private_key_jwt client authentication (RFC 7523 §3, RFC 7521 §4.2, OIDC Core §9).
 *
 * Checks: the signature with one of the client's registered keys and an allowed asymmetric alg;
 * `iss` = `sub` = client_id; `aud` is the issuer or the token endpoint; `exp` is present, not passed
 * and not too far ahead; `nbf`/`iat` not in the future; `jti` present and single use.
 *
 * Pure: `now` is epoch seconds; the single-use record is a function the caller passes in.
 */
import { decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { isRecordableJti } from "../protocol";
import { fail, ok, type Result } from "./result";

export type AssertionFailure =
  | "malformed"
  | "typ"
  | "alg_not_allowed"
  | "no_matching_key"
  | "signature"
  | "iss_mismatch"
  | "sub_mismatch"
  | "aud_mismatch"
  | "exp_missing"
  | "expired"
  | "lifetime_too_long"
  | "not_yet_valid"
  | "jti_missing"
  | "replayed";

export interface AssertionPolicy {
  readonly clientId: string;
  /** Accepted `aud` values: the issuer and the token endpoint. */
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  /** Longest accepted `exp - now` and `exp - iat`, seconds. */
  readonly maxLifetime: number;
  readonly clockSkew: number;
}

export interface AssertionDeps {
  /** The client's keys, e.g. jose's createLocalJWKSet over the configured `jwks`. */
  readonly keys: JWTVerifyGetKey;
  /** Record the assertion's `jti` until `expiresAt`; false when already used. */
  markUsed(jti: string, expiresAt: number): Promise<boolean>;
}

export interface VerifiedAssertion {
  readonly jti: string;
  readonly exp: number;
}

/** `typ` values that mark a JWT as something else; a client assertion must not be one of them. */
const ACCEPTED_TYP = new Set([undefined, "JWT", "jwt", "client-authentication+jwt"]);

export async function verifyClientAssertion(
  assertion: string,
  policy: AssertionPolicy,
  deps: AssertionDeps,
  now: number,
): Promise<Result<VerifiedAssertion, AssertionFailure>> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return fail("malformed");
  }
  if (!ACCEPTED_TYP.has(header.typ)) return fail("typ", { typ: header.typ });
  if (typeof header.alg !== "string" || !policy.algorithms.includes(header.alg))
    return fail("alg_not_allowed", { alg: header.alg });

  let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
  try {
    ({ payload } = await jwtVerify(assertion, deps.keys, {
      algorithms: [...policy.algorithms],
      currentDate: new Date(now * 1000),
      clockTolerance: policy.clockSkew,
    }));
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) return fail("signature");
    if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
      return fail("no_matching_key", { kid: header.kid });
    if (error instanceof errors.JWTExpired) return fail("expired");
    if (error instanceof errors.JWTClaimValidationFailed)
      return fail(error.claim === "exp" ? "exp_missing" : "not_yet_valid", { claim: error.claim });
    return fail("malformed", { error: (error as Error).message });
  }

  if (payload.iss !== policy.clientId) return fail("iss_mismatch", { iss: payload.iss });
  if (payload.sub !== policy.clientId) return fail("sub_mismatch", { sub: payload.sub });
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!audiences.some((aud) => typeof aud === "string" && policy.audiences.includes(aud)))
    return fail("aud_mismatch", { aud: payload.aud });
  if (typeof payload.exp !== "number") return fail("exp_missing");
  if (payload.exp - now > policy.maxLifetime + policy.clockSkew)
    return fail("lifetime_too_long", { exp: payload.exp, server_time: now });
  if (typeof payload.iat === "number" && payload.exp - payload.iat > policy.maxLifetime)
    return fail("lifetime_too_long", { exp: payload.exp, iat: payload.iat });
  if (typeof payload.iat === "number" && payload.iat > now + policy.clockSkew)
    return fail("not_yet_valid", { iat: payload.iat, server_time: now });
  if (!isRecordableJti(payload.jti)) return fail("jti_missing");

  // Single use: the record lives until the assertion could no longer be accepted anyway.
  if (!(await deps.markUsed(payload.jti, Math.ceil(payload.exp + policy.clockSkew) + 1)))
    return fail("replayed", { jti: payload.jti });
  return ok({ jti: payload.jti, exp: payload.exp });
}
