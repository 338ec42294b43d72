/**
 * Software statements (RFC 7591 §2.3): a JWT asserting client metadata, signed by a party the server trusts.
 *
 * - `unapproved`: well-formed, but its issuer is not one this server approves (RFC 7591
 *   `unapproved_software_statement`).
 * - anything else is `invalid_software_statement`: not a JWS, a bad signature, expired, not yet valid,
 *   `alg: none`/HS*, or claims of the wrong type.
 *
 * The statement's claims are client metadata; they take precedence over the same members in the
 * request body (§3.1.1), which the caller does.
 *
 * Pure: `now` is epoch seconds; the issuers' keys come from the caller.
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { ASYMMETRIC_ALGS } from "../protocol";
import { fail, ok, type Result } from "./result";

export type SoftwareStatementFailure =
  | "malformed"
  | "unapproved"
  | "alg_not_allowed"
  | "signature"
  | "expired"
  | "not_yet_valid"
  | "claims_invalid";

export interface TrustedStatementIssuer {
  readonly issuer: string;
  readonly keys: JWTVerifyGetKey;
}

export interface SoftwareStatementPolicy {
  readonly issuers: readonly TrustedStatementIssuer[];
  /** Leeway for `exp`, `nbf` and `iat`, seconds. */
  readonly clockSkew: number;
}

/** Registered JWT claims, which are not client metadata. */
const JWT_CLAIMS = new Set(["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]);

export async function verifySoftwareStatement(
  statement: unknown,
  policy: SoftwareStatementPolicy,
  now: number,
): Promise<Result<Record<string, unknown>, SoftwareStatementFailure>> {
  if (typeof statement !== "string" || statement.length > 16_384) return fail("malformed");
  let issuer: unknown;
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(statement).alg;
    issuer = decodeJwt(statement).iss;
  } catch {
    return fail("malformed");
  }
  if (typeof alg !== "string" || !(ASYMMETRIC_ALGS as readonly string[]).includes(alg))
    return fail("alg_not_allowed", { alg: String(alg).slice(0, 20) });
  if (typeof issuer !== "string") return fail("claims_invalid", { claim: "iss" });
  const trusted = policy.issuers.find((candidate) => candidate.issuer === issuer);
  if (!trusted) return fail("unapproved", { iss: issuer.slice(0, 200) });
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(statement, trusted.keys, {
      algorithms: [...ASYMMETRIC_ALGS],
      issuer,
      currentDate: new Date(now * 1000),
      clockTolerance: policy.clockSkew,
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) return fail("expired");
    if (error instanceof errors.JWTClaimValidationFailed)
      return fail(error.claim === "nbf" ? "not_yet_valid" : "claims_invalid", { claim: error.claim });
    if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey)
      return fail("signature");
    return fail("malformed");
  }
  if (typeof payload.software_id !== "string") return fail("claims_invalid", { claim: "software_id" });
  return ok(metadataOf(payload));
}

function metadataOf(payload: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(payload)) if (!JWT_CLAIMS.has(name)) metadata[name] = value;
  return metadata;
}

/**
 * The client metadata of a statement this server already approved and stored (at registration): on an
 * RFC 7592 update its claims again take precedence over the body. Decoding only; nothing is re-verified.
 */
export function storedStatementMetadata(statement: string): Record<string, unknown> {
  return metadataOf(decodeJwt(statement));
}
