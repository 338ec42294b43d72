/**
 * Step: the client may use this grant, and the requested scope is within what it may have.
 * No `scope` parameter means every scope the client is configured with (RFC 6749 §3.3 default), except `dcr`.
 */
import { createMiddleware } from "hono/factory";
import { DCR_SCOPE } from "../../protocol";
import { OAuthError } from "../../errors";
import type { AppEnv } from "../context";

const SCOPE_SYNTAX = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

export const checkGrant = createMiddleware<AppEnv>(async (c, next) => {
  const { client } = c.get("authenticated");
  const grantType = c.get("form").get("grant_type")!;
  if (!(client.grant_types as readonly string[]).includes(grantType)) {
    throw new OAuthError("unauthorized_client", "the client may not use this grant type", {
      reason: "grant_type_not_allowed",
      detail: { grant_type: grantType },
    });
  }
  if (grantType !== "client_credentials") {
    // The grant's own scope decides (authorization_code, refresh_token): the grant step sets it.
    c.set("scopes", []);
    return next();
  }
  const requested = c.get("form").get("scope");
  let scopes: string[];
  if (requested === undefined) {
    // The dcr scope (an initial access token) is only ever granted when asked for by name.
    scopes = [...client.scopes].filter((scope) => scope !== DCR_SCOPE);
  } else {
    if (!SCOPE_SYNTAX.test(requested))
      throw new OAuthError("invalid_scope", "malformed scope", { reason: "scope_malformed" });
    scopes = [...new Set(requested.split(" "))];
    const refused = scopes.filter((scope) => !client.scopes.has(scope));
    if (refused.length)
      throw new OAuthError("invalid_scope", "scope not allowed for this client", {
        reason: "scope_not_allowed",
        detail: { refused: refused.join(" ").slice(0, 200) },
      });
  }
  // An initial access token (dcr) is single use at the registration endpoint: it is never mixed with other scopes.
  if (scopes.includes(DCR_SCOPE) && scopes.length > 1)
    throw new OAuthError("invalid_scope", `the ${DCR_SCOPE} scope must be requested alone`, {
      reason: "dcr_scope_mixed",
    });
  c.get("log").scope = scopes.join(" ");
  c.set("scopes", scopes);
  await next();
});
