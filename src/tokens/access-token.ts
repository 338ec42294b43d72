/**
 * RFC 9068 JWT access tokens (`typ: at+jwt`), ES256, signed with the server's current key.
 */
import type { CLIENT_ASSURANCE_LEVELS } from "../protocol";
import type { ServerKeys } from "./server-keys";
import { signServerJwt } from "./server-jwt";

/** Client assurance level, the `cal` claim: how the client proved who it is. */
export type ClientAssuranceLevel = (typeof CLIENT_ASSURANCE_LEVELS)[number];

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

export async function signAccessToken(keys: ServerKeys, claims: AccessTokenClaims, now: number): Promise<string> {
  const cnf: Record<string, string> = {};
  if (claims.jkt) cnf.jkt = claims.jkt;
  if (claims.x5tS256) cnf["x5t#S256"] = claims.x5tS256;
  const { issuer, subject, audience, ttl } = claims;
  return signServerJwt(
    keys,
    { typ: "at+jwt", issuer, subject, audience, ttl },
    {
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
    },
    now,
  );
}
