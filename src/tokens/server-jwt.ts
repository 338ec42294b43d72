/**
 * How this server signs its JWTs (access tokens, ID tokens, CATs): ES256 with its current key, named by
 * `kid`, the token's own `typ`, and the registered claims iss, sub, aud (when the token has an
 * audience), iat, exp and jti (RFC 7519 §4.1) beside the token's other claims.
 */
import { base64url, type JWTPayload, SignJWT } from "jose";
import type { ServerKeys } from "./server-keys";

export interface RegisteredClaims {
  readonly typ: string;
  readonly issuer: string;
  readonly subject: string;
  readonly audience?: string;
  /** Seconds from `now` to `exp`. */
  readonly ttl: number;
  /** Default: a new one (newTokenId). */
  readonly jti?: string;
}

/** A new `jti`: 128 random bits, base64url. */
export function newTokenId(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
}

/** `now` is epoch seconds: the token's `iat`. */
export function signServerJwt(
  keys: ServerKeys,
  registered: RegisteredClaims,
  claims: JWTPayload,
  now: number,
): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", typ: registered.typ, kid: keys.kid })
    .setIssuer(registered.issuer)
    .setSubject(registered.subject);
  if (registered.audience !== undefined) jwt.setAudience(registered.audience);
  return jwt
    .setIssuedAt(now)
    .setExpirationTime(now + registered.ttl)
    .setJti(registered.jti ?? newTokenId())
    .sign(keys.signingKey);
}
