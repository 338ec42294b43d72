/**
 * Writing a representation (JSON for HAAPI, an HTML page for a browser), and finishing a flow: complete
 * the session (once), create the grant with its authorization code, and answer the authorization
 * response: the `oauth-authorization-response` representation for HAAPI, a 303 to the redirect URI for a
 * browser (RFC 6749 §4.1.2, RFC 9207 `iss`), clearing the login cookie.
 */
import type { Context } from "hono";
import type { AuthenticatedUser, SessionRecord } from "../../kv/login-session";
import type { GrantRecord } from "../../kv/grant";
import { newGrantSecret } from "../../tokens/grant-tokens";
import { loginCookie } from "./browser-session";
import type { HaapiEnv } from "./context";
import { mismatch } from "./guard";
import { htmlPage } from "./html/respond";
import { HAAPI_MEDIA_TYPE, VIEWS, type Representation } from "./representations";
import { startWebSession } from "../web-session";
import type { AppEnv } from "../context";

export function represent(c: Context<HaapiEnv>, representation: Representation, status = 200): Response {
  if (c.get("flowMode") === "browser") return htmlPage(c, representation, status);
  return c.body(JSON.stringify(representation), status as 200, {
    "Content-Type": HAAPI_MEDIA_TYPE,
    "Cache-Control": "no-store",
  });
}

/** The authorization response, as the redirect URI would receive it (RFC 6749 §4.1.2, RFC 9207 `iss`). */
export function authorizationResponseUri(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

export async function finishFlow(
  c: Context<HaapiEnv>,
  session: SessionRecord,
  user: AuthenticatedUser,
): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  // Once per flow: of two racing submissions, one gets the code.
  if (!(await c.get("sessionRef").run("complete", null, now))) throw mismatch("session_already_completed");
  const grant = c.get("stores").grants.fresh();
  const grantId = grant.id;
  const code = await newGrantSecret(grantId);
  const request = session.request;
  const codeExpires = now + config.login.authorization_code_ttl;
  const record: GrantRecord = {
    id: grantId,
    client_id: request.client_id,
    user,
    scope: request.scope,
    redirect_uri: request.redirect_uri,
    ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
    cal: session.cal,
    code: {
      hash: code.hash,
      expires_at: codeExpires,
      code_challenge: request.code_challenge,
      ...(request.dpop_jkt ? { dpop_jkt: request.dpop_jkt } : {}),
      used_at: null,
    },
    refresh: null,
    spent_refresh: [],
    revoked_at: null,
    expires_at: codeExpires,
  };
  await grant.run("create", record, now);
  const log = c.get("log");
  log.sub = user.sub;
  log.acr = user.acr;
  const params = { code: code.token, state: request.state, iss: config.issuer };
  if (c.get("flowMode") === "browser") {
    c.header("Set-Cookie", loginCookie(config.issuer, "", 0));
    const sessionCookie = await startWebSession(c as unknown as Context<AppEnv>, user);
    if (sessionCookie) c.header("Set-Cookie", sessionCookie, { append: true });
    return c.body(null, 303, {
      Location: authorizationResponseUri(request.redirect_uri, params),
      "Cache-Control": "no-store",
      "Referrer-Policy": "same-origin",
    });
  }
  return represent(c, {
    type: "oauth-authorization-response",
    metadata: { viewName: VIEWS.success },
    properties: {
      code: code.token,
      ...(request.state !== undefined ? { state: request.state } : {}),
      iss: config.issuer,
    },
    links: [{ href: authorizationResponseUri(request.redirect_uri, params), rel: "authorization-response" }],
  });
}
