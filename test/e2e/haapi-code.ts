/**
 * A HAAPI login up to the authorization code, for end-to-end tests that then redeem the code
 * themselves: the steps of scripts/haapi-login.mjs (which redeems the code itself, so it cannot be used
 * where the test must choose where and how often the code is redeemed):
 *
 *   1. a HAAPI access token (client_credentials, client_secret_basic, DPoP-bound to the client's key);
 *   2. GET authorize with Accept: application/vnd.auth+json and PKCE S256: the username/password form
 *      (through the authenticator selector when one comes first);
 *   3. the login action with the user's name and password: the oauth-authorization-response.
 *
 * Every failure throws with the server's answer.
 */
import { base64url } from "jose";
import { basic, type DpopAnswer, type DpopClient } from "./dpop-client";

const HAAPI = "application/vnd.auth+json";
const HAAPI_SCOPE = "urn:se:curity:scopes:haapi";

export interface HaapiLogin {
  /** The issuer's authorization and token endpoints (from its metadata). */
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly secret: string;
  readonly user: string;
  readonly password: string;
  readonly redirectUri: string;
  readonly scope: string;
}

export interface AuthorizationCode {
  readonly code: string;
  /** The PKCE code_verifier that goes with it. */
  readonly verifier: string;
  /** The `nonce` sent, which the ID token must carry. */
  readonly nonce: string;
}

function randomString(bytes: number): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

function expectOk(answer: DpopAnswer, what: string): DpopAnswer["body"] {
  if (answer.status !== 200)
    throw new Error(
      `${what}: HTTP ${answer.status} ${JSON.stringify(answer.body)} (WWW-Authenticate: ${answer.headers.get("WWW-Authenticate")})`,
    );
  return answer.body;
}

/** Log `login.user` in through HAAPI with `client`'s DPoP key; returns the code of the authorization response. */
export async function haapiAuthorizationCode(client: DpopClient, login: HaapiLogin): Promise<AuthorizationCode> {
  const authorization = basic(login.clientId, login.secret);
  const haapi = expectOk(
    await client.send(login.tokenEndpoint, {
      headers: { Authorization: authorization },
      form: { grant_type: "client_credentials", scope: HAAPI_SCOPE },
    }),
    "HAAPI token",
  );
  const haapiToken = haapi.access_token as string;

  let sessionId: string | undefined;
  const step = async (url: string, what: string, init: { method?: string; form?: Record<string, string> } = {}) => {
    const answer = await client.send(url, {
      ...init,
      accessToken: haapiToken,
      headers: { Accept: HAAPI, ...(sessionId ? { "Session-Id": sessionId } : {}) },
    });
    sessionId = answer.headers.get("Set-Session-Id") ?? sessionId;
    return expectOk(answer, what);
  };

  const verifier = randomString(32);
  const challenge = base64url.encode(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  const state = randomString(16);
  const nonce = randomString(16);
  const authorize = new URL(login.authorizationEndpoint);
  const parameters = {
    client_id: login.clientId,
    response_type: "code",
    redirect_uri: login.redirectUri,
    scope: login.scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  };
  for (const [name, value] of Object.entries(parameters)) authorize.searchParams.set(name, value);
  let representation = await step(authorize.href, "authorize");

  type Action = {
    kind: string;
    model: {
      href: string;
      method: string;
      options?: Array<{ properties?: { authenticatorType?: string }; model: { href: string; method: string } }>;
    };
  };
  const actionOf = (kind: string) =>
    ((representation.actions ?? []) as Action[]).find((action) => action.kind === kind);
  const selector = actionOf("authenticator-selector");
  if (selector) {
    const option = selector.model.options?.find((candidate) => candidate.properties?.authenticatorType === "html-form");
    if (!option)
      throw new Error(`the selector offers no username/password authenticator: ${JSON.stringify(representation)}`);
    representation = await step(option.model.href, "select authenticator", { method: option.model.method });
  }
  const loginAction = actionOf("login");
  if (!loginAction) throw new Error(`no login action in ${JSON.stringify(representation)}`);
  representation = await step(loginAction.model.href, "login", {
    method: loginAction.model.method,
    form: { userName: login.user, password: login.password },
  });
  if (representation.type !== "oauth-authorization-response")
    throw new Error(`expected oauth-authorization-response, got ${JSON.stringify(representation)}`);
  const properties = representation.properties as { code?: unknown; state?: unknown };
  if (properties.state !== state)
    throw new Error(`state is ${JSON.stringify(properties.state)}, expected ${JSON.stringify(state)}`);
  if (typeof properties.code !== "string") throw new Error(`no code in ${JSON.stringify(representation)}`);
  return { code: properties.code, verifier, nonce };
}
