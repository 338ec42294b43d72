/**
 * Steps every request of the login flow goes through:
 *   negotiate -> haapiToken -> (after the authorize request) loadSession
 * - `negotiate`: `Accept: application/vnd.auth+json` is a HAAPI app, `text/html` a browser; anything else
 *   is a 406. The same steps then answer JSON representations or HTML pages (respond.ts).
 * - HAAPI: `Authorization: DPoP <HAAPI access token>` with a proof by its key, `ath` included; the
 *   `Session-Id` names a live session of the token's client bound to that key (a renewed token of the
 *   same key continues the flow).
 * - browser: the login cookie names a live session bound to that cookie, and POSTs carry its CSRF token
 *   (browser-session.ts).
 * A session of the other kind, or none, is the `mismatch-between-session-and-access-token` problem.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { HAAPI_SCOPE } from "../../protocol";
import { OAuthError } from "../../errors";
import type { LoginSessionOperations, SessionRecord } from "../../kv/login-session";
import type { RecordRef } from "../../kv/record";
import { authenticateAccessToken, resourceTokenError } from "../access-token-auth";
import { findClient } from "../dynamic-clients";
import { loadBrowserSession } from "./browser-session";
import type { FlowMode, HaapiEnv } from "./context";
import type { HaapiReason } from "./reasons";
import { HAAPI_MEDIA_TYPE, HaapiProblem } from "./representations";

const HTML_MEDIA_TYPES = new Set(["text/html", "application/xhtml+xml"]);

/**
 * Which rendering an Accept header asks for: HAAPI when it names the HAAPI media type (browsers never
 * do), else a browser when it names HTML; null for neither. Media ranges with `q=0` are refused ones.
 */
export function flowModeOf(accept: string): FlowMode | null {
  const accepted = accept
    .toLowerCase()
    .split(",")
    .map((part) => part.split(";").map((piece) => piece.trim()))
    .filter(([, ...params]) => !params.some((param) => /^q=0(\.0{0,3})?$/.test(param)))
    .map(([type]) => type!);
  if (accepted.includes(HAAPI_MEDIA_TYPE)) return "haapi";
  if (accepted.some((type) => HTML_MEDIA_TYPES.has(type))) return "browser";
  return null;
}

export const negotiate = createMiddleware<HaapiEnv>(async (c, next) => {
  const accept = c.req.header("Accept") ?? "";
  const mode = flowModeOf(accept);
  if (!mode) {
    throw new OAuthError(
      "not_acceptable",
      `the login flow is served as ${HAAPI_MEDIA_TYPE} (HAAPI apps) or as text/html (browsers): send one of them in Accept`,
      { reason: "accept_unsupported", detail: { accept: accept.slice(0, 100) } },
    );
  }
  c.set("flowMode", mode);
  c.get("log").flow = mode;
  c.header("Vary", "Accept");
  await next();
});

/** HAAPI mode: the HAAPI access token and its client. A browser has no token: its binding is the cookie. */
export const haapiToken = createMiddleware<HaapiEnv>(async (c, next) => {
  if (c.get("flowMode") === "browser") return next();
  const config = c.get("config");
  const { token, client } = await authenticateAccessToken(c, {
    url: `${config.issuer}${c.req.path}`,
    requireDpop: true,
    clientOf: (clientId) => findClient(c, clientId, true),
  });
  if (!token.scopes.includes(HAAPI_SCOPE))
    throw resourceTokenError("DPoP", "access_token_not_haapi", "a HAAPI access token is required");
  c.get("log").client_id = client.client_id;
  c.set("haapiToken", token);
  c.set("flowClient", client);
  await next();
});

export function mismatch(reason: HaapiReason): HaapiProblem {
  return new HaapiProblem(
    "mismatch-between-session-and-access-token",
    "The session does not belong to this access token; start the login again",
    {},
    { reason },
  );
}

async function loadHaapiSession(
  c: Context<HaapiEnv>,
): Promise<{ session: SessionRecord; ref: RecordRef<LoginSessionOperations> }> {
  const sessionId = c.req.header("Session-Id") ?? "";
  const ref = c.get("stores").loginSessions.byId(sessionId);
  if (!ref) throw mismatch(sessionId ? "session_id_malformed" : "session_id_missing");
  const session = await ref.run("read", null, c.get("now"));
  if (!session) throw mismatch("session_unknown_or_expired");
  const token = c.get("haapiToken");
  const binding = session.binding;
  if (binding?.kind !== "haapi") throw mismatch("session_not_a_haapi_session");
  // Bound to the client and the DPoP key, not to one token: an app renews its HAAPI token with the same
  // key during a long login (the web driver's iframe does, before the token expires), and goes on.
  if (binding.jkt !== token.jkt || session.request.client_id !== token.clientId)
    throw mismatch("session_bound_to_another_key");
  c.header("Set-Session-Id", session.id);
  return { session, ref };
}

export const loadSession = createMiddleware<HaapiEnv>(async (c, next) => {
  const { session, ref } = c.get("flowMode") === "browser" ? await loadBrowserSession(c) : await loadHaapiSession(c);
  c.set("session", session);
  c.set("sessionRef", ref);
  c.get("log").session = session.id;
  await next();
});
