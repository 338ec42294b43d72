/**
 * RFC 9068 JWT access tokens (`typ: at+jwt`), ES256, signed with the server's current key.
 */
import { base64url, SignJWT } from "jose";
import type { ServerKeys } from "./server-keys";

/** Client assurance level: how the client proved who it is (DESIGN.md "Tokens"). */
export type ClientAssuranceLevel = "by-policy" | "by-provisioned-key" | "none";

export interface AccessTokenClaims {
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly clientId: string;
  readonly scope: string;
  readonly ttl: number;
  readonly cal: ClientAssuranceLevel;
  /** RFC 9449 key binding. */
  readonly jkt?: string | undefined;
  /** RFC 8705 certificate binding. */
  readonly x5tS256?: string | undefined;
  /** For tokens of a login (authorization_code, refresh_token): how the user authenticated, and the grant. */
  readonly authentication?: {
    readonly acr: string;
    readonly amr: readonly string[];
    readonly authTime: number;
    /** The grant (src/kv/grant.ts) the token belongs to: revoking the grant revokes the token. */
    readonly grantId: string;
  };
}

export function newTokenId(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
}

export async function signAccessToken(keys: ServerKeys, claims: AccessTokenClaims, now: number): Promise<string> {
  const cnf: Record<string, string> = {};
  if (claims.jkt) cnf.jkt = claims.jkt;
  if (claims.x5tS256) cnf["x5t#S256"] = claims.x5tS256;
  return new SignJWT({
    client_id: claims.clientId,
    scope: claims.scope,
    cal: claims.cal,
    ...(claims.authentication
      ? {
          acr: claims.authentication.acr,
          amr: [...claims.authentication.amr],
          auth_time: claims.authentication.authTime,
          gid: claims.authentication.grantId,
        }
      : {}),
    ...(Object.keys(cnf).length ? { cnf } : {}),
  })
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: keys.kid })
    .setIssuer(claims.issuer)
    .setSubject(claims.subject)
    .setAudience(claims.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + claims.ttl)
    .setJti(newTokenId())
    .sign(keys.signingKey);
}
