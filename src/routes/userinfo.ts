/**
 * GET and POST /oauth/v2/oauth-userinfo: the UserInfo endpoint (OpenID Connect Core §5.3).
 *
 * The access token comes in `Authorization` (RFC 6750 Bearer for unbound tokens, RFC 9449 DPoP with a
 * proof and `ath` for bound ones; a bound token sent as Bearer is refused). It must carry `openid`
 * (else 403 insufficient_scope, RFC 6750 §3.1) and belong to a grant that is still live: a revoked grant
 * revokes its access tokens here at once, not when they expire (authenticateAccessToken decides, as for
 * every endpoint that accepts access tokens). The claims are the user's current ones, for the token's
 * scopes (§5.4).
 */
import { Hono, type Context } from "hono";
import { OAuthError } from "../errors";
import { authenticateAccessToken, resourceTokenError } from "./access-token-auth";
import type { AppEnv } from "./context";
import { refuseOtherMethods } from "./method-not-allowed";
import { corsPreflight, corsResponse } from "./cors";
import { findClient } from "./dynamic-clients";
import { noStore } from "./no-store";
import { claimsForScopes, findUser } from "./users";

export const USERINFO_PATH = "/oauth/v2/oauth-userinfo";

async function userinfo(c: Context<AppEnv>): Promise<Response> {
  const config = c.get("config");
  const log = c.get("log");
  const { token, grant } = await authenticateAccessToken(c, {
    url: config.endpoints.userinfo,
    requireDpop: false,
    clientOf: (clientId) => findClient(c, clientId, true),
  });
  const scheme = token.jkt ? "DPoP" : "Bearer";
  log.client_id = token.clientId;
  if (!token.scopes.includes("openid")) {
    const description = "the access token lacks the openid scope";
    throw new OAuthError("insufficient_scope", description, {
      reason: "access_token_without_openid",
      headers: {
        "WWW-Authenticate": `${scheme} error="insufficient_scope", error_description="${description}", scope="openid"`,
      },
    });
  }
  // A login's token comes with its live grant; a client_credentials token has no user behind it.
  if (grant === null) throw resourceTokenError(scheme, "access_token_without_grant", "the access token is not valid");
  const user = await findUser(c, grant.user.username);
  if (!user) throw resourceTokenError(scheme, "user_gone", "the access token is not valid");
  log.sub = grant.user.sub;
  return c.json({ ...claimsForScopes(user, token.scopes), sub: grant.user.sub });
}

export const userinfoRoute = refuseOtherMethods(
  new Hono<AppEnv>()
    .options(USERINFO_PATH, corsPreflight("GET, POST"))
    .get(USERINFO_PATH, corsResponse, noStore, userinfo)
    .post(USERINFO_PATH, corsResponse, noStore, userinfo),
);
