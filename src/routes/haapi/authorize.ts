/**
 * GET /oauth/v2/oauth-authorize with `Accept: application/vnd.auth+json`: validate the authorization
 * request (RFC 6749 §4.1.1, PKCE S256 required, RFC 9449 `dpop_jkt`), bind a new login session to the
 * HAAPI token, and answer the first step with `Set-Session-Id`.
 *
 * Errors before the redirect URI is known to be the client's are `invalid-input` problems; after it, the
 * `error-authorization-response` problem carries the OAuth error and the link the redirect would take.
 */
import { createMiddleware } from "hono/factory";
import type { Client, Config } from "../../config/load";
import { DCR_SCOPE, HAAPI_SCOPE } from "../../config/schema";
import { newLoginSessionObject, type AuthorizationRequest, type SessionRecord } from "../../kv/login-session";
import { CODE_CHALLENGE } from "../../verifiers/pkce";
import type { HaapiEnv } from "./context";
import { authorizationResponseUri, represent } from "./respond";
import { HaapiProblem, invalidInput } from "./representations";
import { firstStep } from "./steps";
import { renderStep } from "./render";

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const PARAMETERS = ["client_id", "response_type", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "dpop_jkt", "prompt", "login_hint"] as const;

function authorizationError(config: Config, redirectUri: string, state: string | undefined, error: string, description: string): HaapiProblem {
  return new HaapiProblem(
    "error-authorization-response",
    "The authorization request was refused",
    {
      error,
      error_description: description,
      iss: config.issuer,
      ...(state !== undefined ? { state } : {}),
      links: [{ href: authorizationResponseUri(redirectUri, { error, error_description: description, state, iss: config.issuer }), rel: "authorization-response" }],
    },
    { reason: `authorize_${error}: ${description}` },
  );
}

/** The validated request, or the problem to answer. Pure but for the query it reads. */
export function parseAuthorizationRequest(query: URLSearchParams, client: Client, config: Config, tokenClientId: string, tokenJkt: string): AuthorizationRequest {
  const one = (name: (typeof PARAMETERS)[number]): string | undefined => {
    const values = query.getAll(name);
    if (values.length > 1) throw invalidInput([{ name, reason: "invalidValue", detail: "repeated" }]);
    return values[0] === "" ? undefined : values[0];
  };
  const clientId = one("client_id");
  if (clientId === undefined) throw invalidInput([{ name: "client_id", reason: "missing" }]);
  if (clientId !== tokenClientId) throw invalidInput([{ name: "client_id", reason: "invalidValue", detail: "must be the client of the HAAPI access token" }]);
  const redirectUri = one("redirect_uri");
  if (redirectUri === undefined) throw invalidInput([{ name: "redirect_uri", reason: "missing" }]);
  if (!client.redirect_uris.includes(redirectUri)) throw invalidInput([{ name: "redirect_uri", reason: "invalidValue", detail: "not a registered redirect URI of the client" }]);

  // From here on the redirect URI is the client's: errors are authorization responses.
  const state = one("state");
  const refuse = (error: string, description: string) => authorizationError(config, redirectUri, state, error, description);
  if (!client.grant_types.includes("authorization_code")) throw refuse("unauthorized_client", "the client may not use the authorization code flow");
  const responseType = one("response_type");
  if (responseType === undefined) throw refuse("invalid_request", "response_type is required");
  if (responseType !== "code") throw refuse("unsupported_response_type", "only response_type=code is supported");

  const requested = one("scope");
  let scopes: string[];
  if (requested === undefined) {
    scopes = [...client.scopes].filter((scope) => scope !== HAAPI_SCOPE && scope !== DCR_SCOPE);
  } else {
    scopes = [...new Set(requested.split(" "))];
    if (!scopes.every((scope) => SCOPE_TOKEN.test(scope))) throw refuse("invalid_scope", "malformed scope");
    const refused = scopes.filter((scope) => !client.scopes.has(scope) || scope === HAAPI_SCOPE || scope === DCR_SCOPE);
    if (refused.length) throw refuse("invalid_scope", `scope not allowed: ${refused.join(" ").slice(0, 200)}`);
  }

  const challenge = one("code_challenge");
  const method = one("code_challenge_method");
  if (challenge === undefined) throw refuse("invalid_request", "code_challenge is required (PKCE, S256)");
  if (method !== "S256") throw refuse("invalid_request", "code_challenge_method must be S256");
  if (!CODE_CHALLENGE.test(challenge)) throw refuse("invalid_request", "code_challenge must be base64url(SHA-256(code_verifier))");
  const dpopJkt = one("dpop_jkt");
  if (dpopJkt !== undefined && dpopJkt !== tokenJkt) throw refuse("invalid_request", "dpop_jkt must be the thumbprint of the HAAPI token's DPoP key");
  const nonce = one("nonce");
  if (nonce !== undefined && nonce.length > 512) throw refuse("invalid_request", "nonce is too long");
  if (state !== undefined && state.length > 2048) throw refuse("invalid_request", "state is too long");
  const bind = dpopJkt !== undefined || client.capabilities.haapi?.issue_token_bound_authorization_code === true;
  return {
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope: scopes.join(" "),
    ...(state !== undefined ? { state } : {}),
    ...(nonce !== undefined ? { nonce } : {}),
    code_challenge: challenge,
    ...(bind ? { dpop_jkt: tokenJkt } : {}),
  };
}

export const startFlow = createMiddleware<HaapiEnv>(async (c) => {
  const config = c.get("config");
  const now = c.get("now");
  const token = c.get("haapiToken");
  const client = c.get("flowClient");
  const request = parseAuthorizationRequest(new URL(c.req.url).searchParams, client, config, token.clientId, token.jkt!);
  const authenticators = client.authenticators ?? [...config.authenticatorsById.keys()];
  const { sessionId, stub } = newLoginSessionObject(c.env.LOGIN_SESSIONS);
  const session: SessionRecord = {
    id: sessionId,
    request,
    token_jti: token.jti,
    jkt: token.jkt!,
    cal: token.cal,
    authenticators,
    step: firstStep(authenticators),
    created_at: now,
    expires_at: now + config.login.session_ttl,
  };
  await stub.create(session);
  c.set("session", session);
  c.set("sessionStub", stub);
  c.header("Set-Session-Id", sessionId);
  c.get("log").session = sessionId;
  return represent(c, await renderStep(c, session));
});
