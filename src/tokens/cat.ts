/**
 * The CAT (client attestation token): a server-signed JWT, `typ: oauth-client-attestation+jwt`, so the
 * IETF attestation-based client authentication draft can carry it too.
 *
 * `sub` is the client, `cnf.jwk` the device's DPoP key, `exp` at most 2 minutes away, `jti` single use,
 * `cal` the assurance it gives, and `attestation` a summary of what the device proved.
 */
import type { JWK } from "jose";
import type { ClientAssuranceLevel } from "./access-token";
import type { ServerKeys } from "./server-keys";
import { newTokenId, signServerJwt } from "./server-jwt";

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
  const cat = await signServerJwt(
    keys,
    { typ: CAT_TYP, issuer: claims.issuer, subject: claims.clientId, ttl: claims.ttl, jti },
    { cnf: { jwk: claims.jwk }, cal: claims.cal, attestation: claims.attestation },
    now,
  );
  return { cat, jti, exp };
}
