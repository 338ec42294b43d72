/**
 * Verifies a CAT this server issued (src/tokens/cat.ts) when a client presents it at the token endpoint,
 * as `client_assertion` (urn:se:curity:attestation:client) or as the `OAuth-Client-Attestation` header.
 *
 * Checks: ES256 signature by one of the server's published keys; `typ` oauth-client-attestation+jwt;
 * `iss` is this server; `sub` present; `exp` present, not passed, and no more than `maxLifetime` after
 * `iat`; `jti` present; `cnf.jwk` a public asymmetric key. Single use is the caller's (atomic, in a
 * replay store) once every other check of the request has passed.
 *
 * Pure: `now` is epoch seconds; the keys come from the caller.
 */
import { calculateJwkThumbprint, errors, jwtVerify, type JWK, type JWTVerifyGetKey } from "jose";
import { CAT_TYP, type AttestationSummary } from "../tokens/cat";
import type { ClientAssuranceLevel } from "../tokens/access-token";
import { fail, ok, type Result } from "./result";

export type CatFailure =
  | "malformed"
  | "typ"
  | "signature"
  | "issuer"
  | "expired"
  | "lifetime_too_long"
  | "claims_missing"
  | "cnf_invalid";

export interface CatPolicy {
  readonly issuer: string;
  /** Longest accepted `exp - iat`, seconds. */
  readonly maxLifetime: number;
}

export interface VerifiedCat {
  readonly clientId: string;
  readonly jti: string;
  readonly exp: number;
  readonly jwk: JWK;
  /** RFC 7638 thumbprint of `cnf.jwk`: the DPoP key the CAT is bound to. */
  readonly jkt: string;
  readonly cal: ClientAssuranceLevel;
  readonly attestation: AttestationSummary;
}

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const CAL = new Set<string>(["by-policy", "by-provisioned-key", "none"]);

export async function verifyCat(
  token: string,
  policy: CatPolicy,
  keys: JWTVerifyGetKey,
  now: number,
): Promise<Result<VerifiedCat, CatFailure>> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: ["ES256"],
      typ: CAT_TYP,
      issuer: policy.issuer,
      currentDate: new Date(now * 1000),
      requiredClaims: ["exp", "iat", "sub", "jti"],
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) return fail("expired");
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.claim === "typ") return fail("typ");
      if (error.claim === "iss") return fail("issuer");
      return fail("claims_missing", { claim: error.claim });
    }
    if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey)
      return fail("signature");
    return fail("malformed");
  }
  const { sub, jti, exp, iat, cnf, cal, attestation } = payload as Record<string, unknown>;
  if (typeof sub !== "string" || typeof jti !== "string" || typeof exp !== "number" || typeof iat !== "number")
    return fail("claims_missing");
  if (exp - iat > policy.maxLifetime)
    return fail("lifetime_too_long", { lifetime: exp - iat, max: policy.maxLifetime });
  if (typeof cal !== "string" || !CAL.has(cal) || !attestation || typeof attestation !== "object")
    return fail("claims_missing", { claim: "cal" });
  const jwk = (cnf as { jwk?: unknown } | undefined)?.jwk;
  if (!jwk || typeof jwk !== "object" || Array.isArray(jwk) || PRIVATE_MEMBERS.some((member) => member in jwk))
    return fail("cnf_invalid");
  let jkt: string;
  try {
    jkt = await calculateJwkThumbprint(jwk as JWK, "sha256");
  } catch {
    return fail("cnf_invalid");
  }
  return ok({
    clientId: sub,
    jti,
    exp,
    jwk: jwk as JWK,
    jkt,
    cal: cal as ClientAssuranceLevel,
    attestation: attestation as AttestationSummary,
  });
}
