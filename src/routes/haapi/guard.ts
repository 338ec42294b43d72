/**
 * Steps every request of the HAAPI flow goes through:
 *   acceptHaapi -> haapiToken -> (after the authorize request) loadSession
 * - the client asks for `application/vnd.auth+json` (406 otherwise: there is no HTML rendering yet);
 * - `Authorization: DPoP <HAAPI access token>` with a proof by its key, `ath` included;
 * - the `Session-Id` names a live session bound to that very token and key, else the
 *   `mismatch-between-session-and-access-token` problem.
 */
import { createMiddleware } from "hono/factory";
import { HAAPI_SCOPE } from "../../config/schema";
import { OAuthError } from "../../errors";
import { loginSessionObject } from "../../kv/login-session";
import { authenticateAccessToken, resourceTokenError } from "../access-token-auth";
import { findClient } from "../dynamic-clients";
import type { HaapiEnv } from "./context";
import { HAAPI_MEDIA_TYPE, HaapiProblem } from "./representations";

export const acceptHaapi = createMiddleware<HaapiEnv>(async (c, next) => {
  const accept = (c.req.header("Accept") ?? "").toLowerCase();
  const accepted = accept.split(",").some((part) => part.split(";")[0]!.trim() === HAAPI_MEDIA_TYPE);
  if (!accepted) {
    throw new OAuthError("not_acceptable", `the login flow is served as ${HAAPI_MEDIA_TYPE} (HAAPI): send Accept: ${HAAPI_MEDIA_TYPE}. An HTML rendering for browsers is not built yet.`, {
      reason: `accept ${JSON.stringify(accept.slice(0, 100))}`,
    });
  }
  c.header("Vary", "Accept");
  await next();
});

export const haapiToken = createMiddleware<HaapiEnv>(async (c, next) => {
  const config = c.get("config");
  const { token, client } = await authenticateAccessToken(c, {
    url: `${config.issuer}${c.req.path}`,
    requireDpop: true,
    clientOf: (clientId) => findClient(c.env, config, clientId, true),
  });
  if (!token.scopes.includes(HAAPI_SCOPE)) throw resourceTokenError("DPoP", "access_token_not_haapi", "a HAAPI access token is required");
  c.get("log").client_id = client.client_id;
  c.set("haapiToken", token);
  c.set("flowClient", client);
  await next();
});

export function mismatch(reason: string): HaapiProblem {
  return new HaapiProblem("mismatch-between-session-and-access-token", "The session does not belong to this access token; start the login again", {}, { reason });
}

export const loadSession = createMiddleware<HaapiEnv>(async (c, next) => {
  const sessionId = c.req.header("Session-Id") ?? "";
  const stub = loginSessionObject(c.env.LOGIN_SESSIONS, sessionId);
  if (!stub) throw mismatch(sessionId ? "session_id_malformed" : "session_id_missing");
  const session = await stub.read();
  if (!session) throw mismatch("session_unknown_or_expired");
  const token = c.get("haapiToken");
  if (session.token_jti !== token.jti || session.jkt !== token.jkt || session.request.client_id !== token.clientId) {
    throw mismatch("session_bound_to_another_token");
  }
  c.set("session", session);
  c.set("sessionStub", stub);
  c.header("Set-Session-Id", session.id);
  await next();
});
