/**
 * The Bearer access key of the Authentication Cloud API and of the dispatch token services (called by
 * the relying party's backend, never by the app): compared against `uaf.api_access_key_hash` (or the
 * development-only plain `api_access_key`). Without either, these services are off (401).
 */
import { createMiddleware } from "hono/factory";
import { OAuthError } from "../../errors";
import { verifyClientSecret } from "../../verifiers/client-secret";
import type { AppEnv } from "../context";
import type { UafBackendReason } from "../oauth-reasons";

function refuse(reason: UafBackendReason): OAuthError {
  return new OAuthError("invalid_token", "a valid access key is required (Authorization: Bearer <access key>)", {
    reason,
    headers: { "WWW-Authenticate": 'Bearer realm="uaf-api"' },
  });
}

export const requireAccessKey = createMiddleware<AppEnv>(async (c, next) => {
  const { api_access_key, api_access_key_hash } = c.get("config").uaf;
  if (api_access_key === undefined && api_access_key_hash === undefined) throw refuse("access_key_not_configured");
  const match = /^Bearer +([\x21-\x7e]{1,512})$/i.exec(c.req.header("Authorization") ?? "");
  if (!match) throw refuse("access_key_missing");
  const verified = await verifyClientSecret(match[1]!, {
    client_secret: api_access_key,
    client_secret_hash: api_access_key_hash,
  });
  if (!verified.ok) throw refuse(`access_key_${verified.reason}`);
  await next();
});
