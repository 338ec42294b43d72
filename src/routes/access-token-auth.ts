/**
 * Where this server is its own resource server: the one decision on an access token, for every endpoint
 * that accepts one (the HAAPI flow, userinfo, the UAF registration and deregistration request services,
 * the registration endpoint's initial access tokens). In order:
 *   1. `Authorization` is `Bearer <token>` (RFC 6750) or `DPoP <token>` (RFC 9449 §7.1);
 *   2. signature, `typ`, issuer, audience and expiry (src/verifiers/access-token.ts);
 *   3. the client it was issued to still exists;
 *   4. a DPoP-bound token comes with the DPoP scheme and a proof of its key with `ath` (§7.2, no
 *      downgrade to Bearer); an unbound one with Bearer;
 *   5. a token of a login (`gid`) has a live grant for the same client and user: revoking the grant, or
 *      replaying its code, kills the token here at once, not when it expires.
 * Failures are 401 with a `WWW-Authenticate` challenge of the scheme in use (RFC 6750 §3, RFC 9449 §7.1).
 */
import type { Context } from "hono";
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import type { Client } from "../config/load";
import { OAuthError } from "../errors";
import type { GrantRecord } from "../kv/grant";
import { verifyAccessToken, type VerifiedAccessToken } from "../verifiers/access-token";
import type { AppEnv } from "./context";
import type { ResourceReason } from "./oauth-reasons";
import { liveGrant } from "./live-grant";
import { keysFor } from "./services";
import { nonceRequired, requireDpopProof } from "./token/verify-dpop";

const keySets = new WeakMap<object, JWTVerifyGetKey>();

/** The server's own published keys, as a jose key set (cached per key snapshot). */
export async function serverKeySet<E extends AppEnv>(c: Context<E>): Promise<JWTVerifyGetKey> {
  const keys = await keysFor(c);
  let keySet = keySets.get(keys.jwks);
  if (!keySet) {
    keySet = createLocalJWKSet(keys.jwks as JSONWebKeySet);
    keySets.set(keys.jwks, keySet);
  }
  return keySet;
}

function challenge(scheme: "Bearer" | "DPoP", code: string, description: string): Record<string, string> {
  return { "WWW-Authenticate": `${scheme} error="${code}", error_description="${description}"` };
}

export function resourceTokenError(scheme: "Bearer" | "DPoP", reason: ResourceReason, description: string): OAuthError {
  return new OAuthError("invalid_token", description, {
    reason,
    headers: challenge(scheme, "invalid_token", description),
  });
}

/**
 * The DPoP proof for a bound token at a protected resource: as at the token endpoint, but failures are
 * 401 with a DPoP challenge (RFC 9449 §7.1, §9).
 */
export async function requireResourceProof<E extends AppEnv>(
  c: Context<E>,
  options: { url: string; requireNonce: boolean; accessToken: string; expectedJkt: string },
): Promise<void> {
  try {
    await requireDpopProof(c, options);
  } catch (error) {
    if (error instanceof OAuthError) {
      throw new OAuthError(error.code, error.description, {
        status: 401,
        reason: error.reason,
        ...(error.detail ? { detail: error.detail } : {}),
        headers: { ...error.headers, ...challenge("DPoP", error.code, error.description) },
      });
    }
    throw error;
  }
}

export interface ResourceTokenOptions {
  /** The public URL of this endpoint (the proof's `htu`). */
  readonly url: string;
  /** Only DPoP-bound tokens are accepted (the HAAPI flow). */
  readonly requireDpop: boolean;
  /** The client the token was issued to (unknown: refused), to decide whether its proofs need a nonce. */
  readonly clientOf: (clientId: string) => Promise<Client | undefined>;
  /** Only a user's token, from a login (it names its grant): not a client's own client_credentials token. */
  readonly requireUser?: boolean;
}

export interface AcceptedAccessToken {
  readonly token: VerifiedAccessToken;
  readonly raw: string;
  readonly client: Client;
  /** The live grant of a login's token; null for a client_credentials token. */
  readonly grant: GrantRecord | null;
}

export async function authenticateAccessToken<E extends AppEnv>(
  c: Context<E>,
  options: ResourceTokenOptions,
): Promise<AcceptedAccessToken> {
  const config = c.get("config");
  const authorization = c.req.header("Authorization") ?? "";
  const scheme = options.requireDpop ? "DPoP" : "Bearer";
  if (authorization.length > config.limits.max_header_bytes)
    throw new OAuthError("invalid_request", "Authorization header too large", {
      reason: "authorization_header_too_large",
    });
  const match = /^(Bearer|DPoP) +([\x21-\x7e]+)$/i.exec(authorization);
  if (!match)
    throw resourceTokenError(
      scheme,
      "access_token_missing",
      options.requireDpop
        ? "a DPoP-bound access token is required (Authorization: DPoP)"
        : "an access token is required",
    );
  const used = match[1]!.toLowerCase() === "dpop" ? "DPoP" : "Bearer";
  const raw = match[2]!;
  const result = await verifyAccessToken(
    raw,
    { issuer: config.issuer, audience: config.issuer },
    await serverKeySet(c),
    c.get("now"),
  );
  if (!result.ok)
    throw resourceTokenError(
      used,
      `access_token_${result.reason}`,
      result.reason === "expired" ? "the access token has expired" : "the access token is not valid",
    );
  const token = result.value;
  const client = await options.clientOf(token.clientId);
  if (!client) throw resourceTokenError(used, "access_token_client_unknown", "the access token is not valid");
  if (token.jkt) {
    // RFC 9449 §7.2: a DPoP-bound token sent as Bearer is refused (no downgrade).
    if (used !== "DPoP")
      throw resourceTokenError(
        "DPoP",
        "dpop_bound_token_as_bearer",
        "a DPoP-bound token needs the DPoP scheme and a proof",
      );
    await requireResourceProof(c, {
      url: options.url,
      requireNonce: nonceRequired(config, client, token.scopes),
      accessToken: raw,
      expectedJkt: token.jkt,
    });
  } else if (options.requireDpop || used === "DPoP") {
    throw resourceTokenError(
      options.requireDpop ? "DPoP" : "Bearer",
      "access_token_not_dpop_bound",
      options.requireDpop
        ? "a DPoP-bound access token is required"
        : "the token is not DPoP-bound; use the Bearer scheme",
    );
  }
  if (token.grantId === undefined) {
    if (options.requireUser)
      throw resourceTokenError(used, "access_token_without_user", "the token does not belong to a user");
    return { token, raw, client, grant: null };
  }
  const grant = await liveGrant(c, token.grantId, { clientId: token.clientId, subject: token.subject });
  if (!grant.ok) throw resourceTokenError(used, grant.reason, "the access token is not valid");
  c.get("log").grant = token.grantId;
  return { token, raw, client, grant: grant.value };
}
