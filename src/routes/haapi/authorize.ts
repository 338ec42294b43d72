/**
 * GET /oauth/v2/oauth-authorize: validate the authorization request (RFC 6749 §4.1.1, PKCE S256 required,
 * RFC 9449 §10 `dpop_jkt`), start a login session and answer its first step.
 *
 * - HAAPI (`Accept: application/vnd.auth+json`): the client is the HAAPI token's; the session is bound to
 *   the token and announced with `Set-Session-Id`. Errors before the redirect URI is known to be the
 *   client's are `invalid-input` problems; after it, the `error-authorization-response` problem carries
 *   the OAuth error and the link the redirect would take.
 * - Browser (`Accept: text/html`): the client is named by `client_id` alone, and must not be a HAAPI client
 *   (their logins need the attested app: a browser could otherwise get codes a HAAPI client redeems without
 *   attestation); the session is bound to a new login cookie. The same errors render as an HTML page
 *   (before the redirect URI is validated) or a 303 to the redirect URI (after; respond-problem.ts).
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Client, Config } from "../../config/load";
import { DCR_SCOPE, HAAPI_SCOPE } from "../../protocol";
import type { AuthorizationRequest, SessionBinding, SessionRecord } from "../../kv/login-session";
import type { ClientAssuranceLevel } from "../../tokens/access-token";
import { CODE_CHALLENGE } from "../../verifiers/pkce";
import { findClient } from "../dynamic-clients";
import { loginCookie, newBrowserBinding } from "./browser-session";
import type { HaapiEnv } from "./context";
import { authorizationResponseUri, represent } from "./respond";
import type { AuthorizationErrorCode } from "./reasons";
import { HAAPI_MEDIA_TYPE, HaapiProblem, invalidInput } from "./representations";
import { firstStep } from "./steps";
import { renderStep } from "./render";

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** A JWK SHA-256 thumbprint (RFC 7638), base64url. */
const JKT = /^[A-Za-z0-9_-]{43}$/;
const PARAMETERS = [
  "client_id",
  "response_type",
  "redirect_uri",
  "scope",
  "state",
  "nonce",
  "code_challenge",
  "code_challenge_method",
  "dpop_jkt",
  "prompt",
  "login_hint",
] as const;

function authorizationError(
  config: Config,
  redirectUri: string,
  state: string | undefined,
  error: AuthorizationErrorCode,
  description: string,
): HaapiProblem {
  return new HaapiProblem(
    "error-authorization-response",
    "The authorization request was refused",
    {
      error,
      error_description: description,
      iss: config.issuer,
      ...(state !== undefined ? { state } : {}),
      links: [
        {
          href: authorizationResponseUri(redirectUri, {
            error,
            error_description: description,
            state,
            iss: config.issuer,
          }),
          rel: "authorization-response",
        },
      ],
    },
    { reason: `authorize_${error}`, detail: { error_description: description } },
  );
}

/** Who asks: a HAAPI token (its client and DPoP key), or a browser (the client named by `client_id`). */
export type Requester =
  | { readonly kind: "haapi"; readonly clientId: string; readonly jkt: string }
  | { readonly kind: "browser" };

/** The validated request, or the problem to answer. Pure. */
export function parseAuthorizationRequest(
  query: URLSearchParams,
  client: Client,
  config: Config,
  requester: Requester,
): AuthorizationRequest {
  const one = (name: (typeof PARAMETERS)[number]): string | undefined => {
    const values = query.getAll(name);
    if (values.length > 1) throw invalidInput([{ name, reason: "invalidValue", detail: "repeated" }]);
    return values[0] === "" ? undefined : values[0];
  };
  const clientId = one("client_id");
  if (clientId === undefined) throw invalidInput([{ name: "client_id", reason: "missing" }]);
  if (requester.kind === "haapi" && clientId !== requester.clientId)
    throw invalidInput([
      { name: "client_id", reason: "invalidValue", detail: "must be the client of the HAAPI access token" },
    ]);
  if (clientId !== client.client_id)
    throw invalidInput([{ name: "client_id", reason: "invalidValue", detail: "unknown client" }]);
  const redirectUri = one("redirect_uri");
  if (redirectUri === undefined) throw invalidInput([{ name: "redirect_uri", reason: "missing" }]);
  if (!client.redirect_uris.includes(redirectUri))
    throw invalidInput([
      { name: "redirect_uri", reason: "invalidValue", detail: "not a registered redirect URI of the client" },
    ]);

  // From here on the redirect URI is the client's: errors are authorization responses.
  const state = one("state");
  const refuse = (error: AuthorizationErrorCode, description: string) =>
    authorizationError(config, redirectUri, state, error, description);
  if (!client.grant_types.includes("authorization_code"))
    throw refuse("unauthorized_client", "the client may not use the authorization code flow");
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
  if (!CODE_CHALLENGE.test(challenge))
    throw refuse("invalid_request", "code_challenge must be base64url(SHA-256(code_verifier))");
  const dpopJkt = one("dpop_jkt");
  if (dpopJkt !== undefined && !JKT.test(dpopJkt))
    throw refuse("invalid_request", "dpop_jkt must be a JWK SHA-256 thumbprint (RFC 7638)");
  // HAAPI: the key that runs the login. A browser has no key of its own here: its dpop_jkt is taken as
  // given (RFC 9449 §10), and the token request must then prove that key.
  if (requester.kind === "haapi" && dpopJkt !== undefined && dpopJkt !== requester.jkt)
    throw refuse("invalid_request", "dpop_jkt must be the thumbprint of the HAAPI token's DPoP key");
  const nonce = one("nonce");
  if (nonce !== undefined && nonce.length > 512) throw refuse("invalid_request", "nonce is too long");
  if (state !== undefined && state.length > 2048) throw refuse("invalid_request", "state is too long");
  const boundTo =
    requester.kind === "haapi"
      ? dpopJkt !== undefined || client.capabilities.haapi?.issue_token_bound_authorization_code === true
        ? requester.jkt
        : undefined
      : dpopJkt;
  return {
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope: scopes.join(" "),
    ...(state !== undefined ? { state } : {}),
    ...(nonce !== undefined ? { nonce } : {}),
    code_challenge: challenge,
    ...(boundTo !== undefined ? { dpop_jkt: boundTo } : {}),
  };
}

/** Browser: the client `client_id` names; a HAAPI client is refused (see the file's doc). */
async function browserClient(c: Context<HaapiEnv>, query: URLSearchParams): Promise<Client> {
  const values = query.getAll("client_id");
  if (values.length > 1) throw invalidInput([{ name: "client_id", reason: "invalidValue", detail: "repeated" }]);
  const clientId = values[0];
  if (!clientId) throw invalidInput([{ name: "client_id", reason: "missing" }]);
  const client = clientId.length <= 255 ? await findClient(c, clientId, true) : undefined;
  if (!client)
    throw invalidInput([{ name: "client_id", reason: "invalidValue", detail: "unknown client" }], "Unknown client");
  c.get("log").client_id = client.client_id;
  if (client.capabilities.haapi) {
    throw invalidInput(
      [
        {
          name: "client_id",
          reason: "invalidValue",
          detail: `this client logs users in through HAAPI (${HAAPI_MEDIA_TYPE}) only`,
        },
      ],
      "This application cannot log in from a browser",
    );
  }
  return client;
}

/** What binds the new session, per mode; for a browser, the cookie to set and the page's CSRF token. */
async function bindSession(
  c: Context<HaapiEnv>,
  sessionId: string,
): Promise<{ binding: SessionBinding; cal: ClientAssuranceLevel }> {
  if (c.get("flowMode") === "browser") {
    const { cookieValue, binding, csrf } = await newBrowserBinding(sessionId);
    const config = c.get("config");
    c.header("Set-Cookie", loginCookie(config.issuer, cookieValue, config.login.session_ttl));
    c.set("csrf", csrf);
    // No client authentication happens here: the code's assurance level is none.
    return { binding, cal: "none" };
  }
  const token = c.get("haapiToken");
  c.header("Set-Session-Id", sessionId);
  return { binding: { kind: "haapi", token_jti: token.jti, jkt: token.jkt! }, cal: token.cal };
}

export const startFlow = createMiddleware<HaapiEnv>(async (c) => {
  const config = c.get("config");
  const now = c.get("now");
  const query = new URL(c.req.url).searchParams;
  let request: AuthorizationRequest;
  let client: Client;
  if (c.get("flowMode") === "browser") {
    client = await browserClient(c, query);
    request = parseAuthorizationRequest(query, client, config, { kind: "browser" });
  } else {
    const token = c.get("haapiToken");
    client = c.get("flowClient");
    request = parseAuthorizationRequest(query, client, config, {
      kind: "haapi",
      clientId: token.clientId,
      jkt: token.jkt!,
    });
  }
  // A browser cannot run a UAF client operation: uaf-device is an app's authenticator.
  const offered = client.authenticators ?? [...config.authenticatorsById.keys()];
  const authenticators =
    c.get("flowMode") === "browser"
      ? offered.filter((id) => config.authenticatorsById.get(id)!.type !== "uaf-device")
      : offered;
  if (authenticators.length === 0)
    throw invalidInput([
      { name: "client_id", reason: "invalidValue", detail: "the client offers no authenticator a browser can use" },
    ]);
  const sessionRef = c.get("stores").loginSessions.fresh();
  const sessionId = sessionRef.id;
  const { binding, cal } = await bindSession(c, sessionId);
  const session: SessionRecord = {
    id: sessionId,
    request,
    binding,
    cal,
    authenticators,
    step: firstStep(authenticators),
    created_at: now,
    expires_at: now + config.login.session_ttl,
  };
  await sessionRef.run("create", session, now);
  c.set("session", session);
  c.set("sessionRef", sessionRef);
  c.get("log").session = sessionId;
  return represent(c, await renderStep(c, session));
});
