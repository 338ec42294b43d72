/**
 * Grants: authorization_code (RFC 6749 §4.1.3, PKCE RFC 7636, token-bound codes RFC 9449 §10) and
 * refresh_token (§6, rotated on every use, reuse revokes the grant). Both answer an at+jwt access token
 * carrying the login's `acr`, `amr`, `auth_time` and `cal`, a rotated refresh token, and for `openid`
 * an ID token.
 */
import type { Context } from "hono";
import type { Client, Config } from "../../config/load";
import { OAuthError } from "../../errors";
import { grantIdOf, type GrantOperations, type GrantRecord, type RefreshState } from "../../kv/grant";
import type { RecordRef } from "../../kv/record";
import { signAccessToken } from "../../tokens/access-token";
import { hashToken, newGrantSecret, signIdToken } from "../../tokens/grant-tokens";
import type { DpopProof } from "../../verifiers/dpop-proof";
import { verifyPkce } from "../../verifiers/pkce";
import type { AppEnv, AuthenticatedClient } from "../context";
import type { TokenReason } from "../oauth-reasons";
import { keysFor } from "../services";

function invalidGrant(reason: TokenReason, description = "the grant is invalid, expired or revoked"): OAuthError {
  return new OAuthError("invalid_grant", description, { reason });
}

/**
 * The bound key's proof, or invalid_dpop_proof (RFC 9449 §10: a bound code needs its key's proof).
 * `keyIsCredential`: a HAAPI client that presented only its client_id proves itself with the key the grant
 * is bound to, so an unbound grant is refused. (A public client, `none`, has PKCE for an unbound code.)
 */
function requireBoundKey(
  jkt: string | undefined,
  dpop: DpopProof | undefined,
  keyIsCredential: boolean,
  what: "authorization_code" | "refresh_token",
): void {
  if (jkt !== undefined) {
    if (dpop?.jkt !== jkt) {
      const name = what === "authorization_code" ? "authorization code" : "refresh token";
      throw new OAuthError("invalid_dpop_proof", `the ${name} is bound to a DPoP key; send a proof signed with it`, {
        reason: `${what}_dpop_key_mismatch`,
        detail: { expected: jkt, proof: dpop?.jkt ?? null },
      });
    }
  } else if (keyIsCredential) {
    throw new OAuthError("invalid_client", "client authentication failed", {
      reason: `${what}_not_bound_for_public_client`,
    });
  }
}

/** The client presented nothing but its client_id, and is not registered as public: its DPoP key must do. */
function keyIsCredential(authenticated: AuthenticatedClient): boolean {
  return authenticated.method === "none" && authenticated.client.token_endpoint_auth_method !== "none";
}

async function grantOf(
  c: Context<AppEnv>,
  token: string | undefined,
  name: "code" | "refresh_token",
): Promise<{ hash: string; record: GrantRecord; ref: RecordRef<GrantOperations> }> {
  if (token === undefined)
    throw new OAuthError("invalid_request", `${name} is required`, {
      reason: "parameter_missing",
      detail: { parameter: name },
    });
  const ref = c.get("stores").grants.byId(grantIdOf(token));
  if (!ref) throw invalidGrant(`${name}_malformed`);
  const record = await ref.run("read", null, c.get("now"));
  if (!record) throw invalidGrant(`${name}_unknown`);
  return { hash: await hashToken(token), record, ref };
}

function refreshTtl(config: Config, client: Client): number {
  return client.refresh_token_ttl ?? config.refresh_token_ttl;
}

async function issueTokens(
  c: Context<AppEnv>,
  record: GrantRecord,
  scopes: readonly string[],
  refreshToken: string | undefined,
  accessTtl: number,
): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  const dpop = c.get("dpop");
  const { client } = c.get("authenticated");
  const keys = await keysFor(c);
  const user = record.user;
  const accessToken = await signAccessToken(
    keys,
    {
      issuer: config.issuer,
      audience: config.issuer,
      subject: user.sub,
      clientId: client.client_id,
      scope: scopes.join(" "),
      ttl: accessTtl,
      cal: record.cal,
      jkt: dpop?.jkt,
      authentication: { acr: user.acr, amr: user.amr, authTime: user.auth_time, grantId: record.id },
    },
    now,
  );
  const idToken = scopes.includes("openid")
    ? await signIdToken(
        keys,
        {
          issuer: config.issuer,
          clientId: client.client_id,
          subject: user.sub,
          ttl: config.login.id_token_ttl,
          authTime: user.auth_time,
          acr: user.acr,
          amr: user.amr,
          cal: record.cal,
          grantId: record.id,
          nonce: record.nonce,
        },
        now,
      )
    : undefined;
  const log = c.get("log");
  log.sub = user.sub;
  log.grant = record.id;
  return c.json({
    access_token: accessToken,
    token_type: dpop ? "DPoP" : "Bearer",
    expires_in: accessTtl,
    scope: scopes.join(" "),
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    ...(idToken ? { id_token: idToken } : {}),
  });
}

export async function authorizationCodeGrant(c: Context<AppEnv>): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  const form = c.get("form");
  const dpop = c.get("dpop");
  const { client } = c.get("authenticated");
  const { hash, record, ref } = await grantOf(c, form.get("code"), "code");
  if (record.code.hash !== hash) throw invalidGrant("code_unknown");
  if (record.client_id !== client.client_id) throw invalidGrant("code_of_another_client");
  if (form.get("redirect_uri") !== record.redirect_uri)
    throw invalidGrant("redirect_uri_mismatch", "redirect_uri must be the one of the authorization request");
  const pkce = await verifyPkce(form.get("code_verifier"), record.code.code_challenge);
  if (!pkce.ok)
    throw invalidGrant(
      `pkce_${pkce.reason}`,
      pkce.reason === "verifier_missing"
        ? "code_verifier is required"
        : "code_verifier does not match the code_challenge",
    );
  requireBoundKey(record.code.dpop_jkt, dpop, keyIsCredential(c.get("authenticated")), "authorization_code");

  const accessTtl = client.access_token_ttl ?? config.access_token_ttl;
  let refresh: { token: string; state: RefreshState } | undefined;
  if (client.grant_types.includes("refresh_token")) {
    const secret = await newGrantSecret(record.id);
    // Refresh tokens inherit the binding: to the proof's key when there is one (RFC 9449 §5).
    refresh = {
      token: secret.token,
      state: { hash: secret.hash, ...(dpop ? { jkt: dpop.jkt } : {}), expires_at: now + refreshTtl(config, client) },
    };
  }
  const outcome = await ref.run(
    "redeemCode",
    {
      codeHash: hash,
      refresh: refresh?.state ?? null,
      expiresAt: Math.max(now + accessTtl, refresh?.state.expires_at ?? 0),
    },
    now,
  );
  if (outcome !== "ok")
    throw invalidGrant(
      `code_${outcome}`,
      outcome === "used" ? "the authorization code was already used; the grant is revoked" : undefined,
    );
  return issueTokens(c, record, record.scope.split(" ").filter(Boolean), refresh?.token, accessTtl);
}

export async function refreshTokenGrant(c: Context<AppEnv>): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  const form = c.get("form");
  const dpop = c.get("dpop");
  const { client } = c.get("authenticated");
  const { hash, record, ref } = await grantOf(c, form.get("refresh_token"), "refresh_token");
  if (record.client_id !== client.client_id) throw invalidGrant("refresh_token_of_another_client");
  const granted = record.scope.split(" ").filter(Boolean);
  let scopes = granted;
  const requested = form.get("scope");
  if (requested !== undefined) {
    scopes = [...new Set(requested.split(" "))];
    const wider = scopes.filter((scope) => !granted.includes(scope));
    if (wider.length)
      throw new OAuthError("invalid_scope", "a refresh may only narrow the granted scope", {
        reason: "refresh_scope_wider",
        detail: { wider: wider.join(" ").slice(0, 200) },
      });
  }
  const current = record.refresh;
  if (current?.hash === hash)
    requireBoundKey(current.jkt, dpop, keyIsCredential(c.get("authenticated")), "refresh_token");
  const accessTtl = client.access_token_ttl ?? config.access_token_ttl;
  const secret = await newGrantSecret(record.id);
  const next: RefreshState = {
    hash: secret.hash,
    ...(current?.jkt ? { jkt: current.jkt } : {}),
    expires_at: now + refreshTtl(config, client),
  };
  const outcome = await ref.run("rotateRefresh", { presented: hash, next, accessExpiresAt: now + accessTtl }, now);
  if (outcome !== "ok")
    throw invalidGrant(
      `refresh_${outcome}`,
      outcome === "reused" ? "the refresh token was already used; the grant is revoked" : undefined,
    );
  return issueTokens(c, record, scopes, secret.token, accessTtl);
}
