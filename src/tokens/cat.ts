/**
 * The CAT (client attestation token): a server-signed JWT, `typ: oauth-client-attestation+jwt`, so the
 * IETF attestation-based client authentication draft can carry it too (DESIGN.md "Tokens").
 *
 * `sub` is the client, `cnf.jwk` the device's DPoP key, `exp` at most 2 minutes away, `jti` single use,
 * `cal` the assurance it gives, and `attestation` a summary of what the device proved.
 */
import { SignJWT, type JWK } from "jose";
import type { ClientAssuranceLevel } from "./access-token";
import { newTokenId } from "./access-token";
import type { ServerKeys } from "./server-keys";

export const CAT_TYP = "oauth-client-attestation+jwt";

/** What the token says about the attestation: no secrets, nothing device-unique beyond what a policy needs. */
export type AttestationSummary = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>> & {
  readonly platform: "android" | "ios" | "web";
};

export interface CatClaims {
  readonly issuer: string;
  readonly clientId: string;
  readonly jwk: JWK;
  readonly ttl: number;
  readonly cal: ClientAssuranceLevel;
  readonly attestation: AttestationSummary;
}

export async function signCat(
  keys: ServerKeys,
  claims: CatClaims,
  now: number,
): Promise<{ cat: string; jti: string; exp: number }> {
  const jti = newTokenId();
  const exp = now + claims.ttl;
  const cat = await new SignJWT({ cnf: { jwk: claims.jwk }, cal: claims.cal, attestation: claims.attestation })
    .setProtectedHeader({ alg: "ES256", typ: CAT_TYP, kid: keys.kid })
    .setIssuer(claims.issuer)
    .setSubject(claims.clientId)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(keys.signingKey);
  return { cat, jti, exp };
}
