/**
 * A JWT this server signed (src/tokens/): ES256 by one of its published keys, the expected `typ` and
 * `iss` (and `aud`, when one is expected), unexpired at `now`, with the claims every such token carries
 * (`sub`, `jti`, `exp`, `iat`) and the caller's further required claims present. jose's errors become
 * one closed union, so the token verifiers built on this (./access-token.ts, ./cat.ts) report the same
 * failure the same way.
 *
 * Pure: `now` is epoch seconds; the keys come from the caller.
 */
import { errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { fail, ok, type Result } from "./result";

export type ServerJwtFailure = "malformed" | "typ" | "signature" | "issuer" | "audience" | "expired" | "claims_missing";

export interface ServerJwtExpectations {
  readonly typ: string;
  readonly issuer: string;
  readonly audience?: string;
  /** Claims required besides the ones every token of this server carries. */
  readonly otherRequiredClaims?: readonly string[];
}

/** The claims every token this server signs carries, typed (RFC 7519 §4.1); the rest as they came. */
export type ServerJwtClaims = JWTPayload & {
  readonly sub: string;
  readonly jti: string;
  readonly exp: number;
  readonly iat: number;
};

const CLAIMS_OF_EVERY_TOKEN = ["exp", "iat", "sub", "jti"] as const;

/** With an expected audience, `audience` is one of the failures; without one it cannot be. */
export function verifyServerJwt(
  token: string,
  keys: JWTVerifyGetKey,
  expected: ServerJwtExpectations & { readonly audience: string },
  now: number,
): Promise<Result<ServerJwtClaims, ServerJwtFailure>>;
export function verifyServerJwt(
  token: string,
  keys: JWTVerifyGetKey,
  expected: ServerJwtExpectations & { readonly audience?: undefined },
  now: number,
): Promise<Result<ServerJwtClaims, Exclude<ServerJwtFailure, "audience">>>;
export async function verifyServerJwt(
  token: string,
  keys: JWTVerifyGetKey,
  expected: ServerJwtExpectations,
  now: number,
): Promise<Result<ServerJwtClaims, ServerJwtFailure>> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: ["ES256"],
      typ: expected.typ,
      issuer: expected.issuer,
      ...(expected.audience !== undefined ? { audience: expected.audience } : {}),
      currentDate: new Date(now * 1000),
      clockTolerance: 0,
      requiredClaims: [...CLAIMS_OF_EVERY_TOKEN, ...(expected.otherRequiredClaims ?? [])],
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
  const { sub, jti, exp, iat } = payload;
  if (typeof sub !== "string" || typeof jti !== "string" || typeof exp !== "number" || typeof iat !== "number")
    return fail("claims_missing");
  return ok({ ...payload, sub, jti, exp, iat });
}
