/**
 * Authorization codes, refresh tokens and ID tokens.
 *
 * Codes and refresh tokens are `<grant id>.<256 random bits, base64url>`: the prefix names the grant's
 * record, the rest is secret. Only SHA-256 (base64url) of the whole string is stored.
 */
import { base64url } from "jose";
import type { ClientAssuranceLevel } from "./access-token";
import { sha256Base64url } from "../hash";
import type { ServerKeys } from "./server-keys";
import { signServerJwt } from "./server-jwt";

/** What is stored of a code or refresh token: base64url(SHA-256(token)). */
export function hashToken(token: string): Promise<string> {
  return sha256Base64url(token);
}

/** A new code or refresh token for a grant, with its stored hash. */
export async function newGrantSecret(grantId: string): Promise<{ token: string; hash: string }> {
  const token = `${grantId}.${base64url.encode(crypto.getRandomValues(new Uint8Array(32)))}`;
  return { token, hash: await hashToken(token) };
}

export interface IdTokenClaims {
  readonly issuer: string;
  readonly clientId: string;
  readonly subject: string;
  readonly ttl: number;
  readonly authTime: number;
  readonly acr: string;
  readonly amr: readonly string[];
  readonly cal: ClientAssuranceLevel;
  /** The grant (src/kv/grant.ts) it is issued from, as `gid`: revoking the grant ends its use as UAF authorization. */
  readonly grantId: string;
  readonly nonce?: string | undefined;
  /** Claims of the granted scopes (profile, email...). */
  readonly userClaims?: Readonly<Record<string, unknown>>;
}

/** An OpenID Connect ID token (Core §2), ES256 with the server's current key. */
export async function signIdToken(keys: ServerKeys, claims: IdTokenClaims, now: number): Promise<string> {
  const { issuer, subject, clientId: audience, ttl } = claims;
  return signServerJwt(
    keys,
    { typ: "JWT", issuer, subject, audience, ttl },
    {
      ...claims.userClaims,
      auth_time: claims.authTime,
      acr: claims.acr,
      amr: [...claims.amr],
      cal: claims.cal,
      azp: claims.clientId,
      gid: claims.grantId,
      ...(claims.nonce !== undefined ? { nonce: claims.nonce } : {}),
    },
    now,
  );
}
