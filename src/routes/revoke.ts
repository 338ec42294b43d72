/**
 * POST /oauth/v2/oauth-revoke: token revocation (RFC 7009).
 *
 *   corsResponse -> noStore -> parseClientForm -> authenticateFormClient -> revoke   (and the CORS preflight)
 *
 * A refresh token, or an access token of a login, revokes its whole grant (§2.1: the server may revoke
 * the grant's other tokens too): the refresh token, and every access token carrying its `gid`, which
 * every endpoint then refuses. Only the client the grant belongs to may revoke it. A public client, and a
 * HAAPI app, authenticate by client_id alone (§2.1), since they hold the token they give up.
 *
 * Everything else (unknown, another client's, client_credentials tokens, garbage) answers 200 too and
 * revokes nothing (§2.2): the answer tells nobody whether a string was a token.
 */
import { Hono } from "hono";
import type { AppEnv } from "./context";
import { refuseOtherMethods } from "./method-not-allowed";
import { corsPreflight, corsResponse } from "./cors";
import { authenticateFormClient, findToken, parseClientForm } from "./introspect";
import { noStore } from "./no-store";

export const REVOKE_PATH = "/oauth/v2/oauth-revoke";

export const revokeRoute = refuseOtherMethods(
  new Hono<AppEnv>()
    .options(REVOKE_PATH, corsPreflight("POST"))
    .post(
      REVOKE_PATH,
      corsResponse,
      noStore,
      parseClientForm,
      authenticateFormClient({ allowPublic: true }),
      async (c) => {
        const log = c.get("log");
        const clientId = c.get("authenticated").client.client_id;
        const found = await findToken(c, c.get("form").get("token")!);
        if (found === null) {
          log.token ??= "token_unknown";
        } else if (found.grant === null) {
          // An access token without a grant (client_credentials) is self-contained: it runs out by itself.
          log.token =
            found.kind === "access" && found.token.grantId !== undefined
              ? "grant_unknown"
              : "access_token_without_grant";
        } else if (
          found.grant.record.client_id !== clientId ||
          (found.kind === "access" && found.token.clientId !== clientId)
        ) {
          log.token = `${found.kind}_token_of_another_client`;
        } else {
          await found.grant.ref.run("revoke", null, c.get("now"));
          log.token = found.kind;
          log.grant = found.grant.record.id;
          log.revoked = true;
        }
        return c.body(null, 200);
      },
    ),
);
