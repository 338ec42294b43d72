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
import { calculateJwkThumbprint, type JWK, type JWTVerifyGetKey } from "jose";
import { hasPrivateJwkMember, isClientAssuranceLevel } from "../protocol";
import { CAT_TYP, type AttestationSummary } from "../tokens/cat";
import type { ClientAssuranceLevel } from "../tokens/access-token";
import { fail, ok, type Result } from "./result";
import { verifyServerJwt } from "./server-jwt";

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

export async function verifyCat(
  token: string,
  policy: CatPolicy,
  keys: JWTVerifyGetKey,
  now: number,
): Promise<Result<VerifiedCat, CatFailure>> {
  const verified = await verifyServerJwt(token, keys, { typ: CAT_TYP, issuer: policy.issuer }, now);
  if (!verified.ok) return verified;
  const { sub, jti, exp, iat, cnf, cal, attestation } = verified.value;
  if (exp - iat > policy.maxLifetime)
    return fail("lifetime_too_long", { lifetime: exp - iat, max: policy.maxLifetime });
  if (!isClientAssuranceLevel(cal) || !attestation || typeof attestation !== "object")
    return fail("claims_missing", { claim: "cal" });
  const jwk = (cnf as { jwk?: unknown } | undefined)?.jwk;
  if (!jwk || typeof jwk !== "object" || Array.isArray(jwk) || hasPrivateJwkMember(jwk)) return fail("cnf_invalid");
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
    cal,
    attestation: attestation as AttestationSummary,
  });
}
