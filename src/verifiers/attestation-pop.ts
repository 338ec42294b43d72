/**
 * OAuth-Client-Attestation-PoP (draft-ietf-oauth-attestation-based-client-auth-10 §5.2): proof that the
 * client holds the key in its attestation's `cnf.jwk`.
 *
 * Checks: `typ` oauth-client-attestation-pop+jwt; an allowed asymmetric alg; the signature by the
 * attested key; `aud` is this server (issuer or token endpoint); `iat` present, not in the future
 * beyond the skew, not older than `maxAge`; `jti` present. Single use is the caller's: it records the
 * returned `jti` until `expiresAt` (atomic, in the replay store) once every other check of the request
 * has passed, so a request refused for another reason (a DPoP nonce) can be retried with the same PoP.
 * A `challenge` claim, when present, is not checked: this server issues no attestation challenges
 * of the draft's kind (its freshness comes from `iat` and `jti`).
 *
 * Pure: `now` is epoch seconds.
 */
import { errors, importJWK, jwtVerify, type JWK } from "jose";
import { isRecordableJti } from "../protocol";
import { fail, ok, type Result } from "./result";

export const ATTESTATION_POP_TYP = "oauth-client-attestation-pop+jwt";

export type AttestationPopFailure =
  | "malformed"
  | "typ"
  | "alg_not_allowed"
  | "signature"
  | "aud_mismatch"
  | "iat_missing"
  | "iat_too_old"
  | "iat_in_future"
  | "jti_missing";

export interface AttestationPopPolicy {
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  readonly maxAge: number;
  readonly clockSkew: number;
}

export interface VerifiedAttestationPop {
  readonly jti: string;
  /** Until when the caller must remember `jti`: after that, `iat` is too old anyway. */
  readonly expiresAt: number;
}

/** `key` is the attestation's `cnf.jwk`. */
export async function verifyAttestationPop(
  pop: string,
  policy: AttestationPopPolicy,
  key: JWK,
  now: number,
): Promise<Result<VerifiedAttestationPop, AttestationPopFailure>> {
  let payload: Record<string, unknown>;
  try {
    const imported = await importJWK(
      key,
      key.alg ??
        (key.kty === "EC"
          ? key.crv === "P-384"
            ? "ES384"
            : key.crv === "P-521"
              ? "ES512"
              : "ES256"
          : key.kty === "OKP"
            ? "EdDSA"
            : "RS256"),
    );
    ({ payload } = await jwtVerify(pop, imported, {
      algorithms: [...policy.algorithms],
      typ: ATTESTATION_POP_TYP,
      currentDate: new Date(now * 1000),
    }));
  } catch (error) {
    if (error instanceof errors.JOSEAlgNotAllowed) return fail("alg_not_allowed");
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === "typ") return fail("typ");
    if (error instanceof errors.JWSSignatureVerificationFailed) return fail("signature");
    if (error instanceof errors.JWTExpired) return fail("iat_too_old");
    return fail("malformed");
  }
  const aud = payload.aud;
  const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.some((value) => policy.audiences.includes(value as string)))
    return fail("aud_mismatch", { expected: policy.audiences, received: audiences.slice(0, 5) });
  const iat = payload.iat;
  if (typeof iat !== "number" || !Number.isFinite(iat)) return fail("iat_missing");
  if (iat > now + policy.clockSkew) return fail("iat_in_future", { iat, now });
  if (iat < now - policy.maxAge) return fail("iat_too_old", { iat, now });
  const jti = payload.jti;
  if (!isRecordableJti(jti)) return fail("jti_missing");
  return ok({ jti, expiresAt: iat + policy.maxAge + policy.clockSkew });
}
