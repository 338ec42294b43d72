/**
 * Step: read the token request body. Form-encoded only, size-limited, no repeated parameters,
 * and a grant type this server serves.
 */
import { createMiddleware } from "hono/factory";
import { OAuthError } from "../../errors";
import { readOAuthForm } from "../../http/form";
import type { AppEnv } from "../context";

/** Grant types the token endpoint serves. */
export const SUPPORTED_GRANTS: ReadonlySet<string> = new Set([
  "client_credentials",
  "authorization_code",
  "refresh_token",
]);

export const parseTokenRequest = createMiddleware<AppEnv>(async (c, next) => {
  const form = await readOAuthForm(c.req.raw, c.get("config").limits.max_body_bytes);
  const grantType = form.get("grant_type");
  if (grantType === undefined)
    throw new OAuthError("invalid_request", "grant_type is required", {
      reason: "parameter_missing",
      detail: { parameter: "grant_type" },
    });
  if (!SUPPORTED_GRANTS.has(grantType)) {
    throw new OAuthError("unsupported_grant_type", "grant type not supported", {
      reason: "grant_type_unsupported",
      detail: { grant_type: grantType.slice(0, 100) },
    });
  }
  c.get("log").grant_type = grantType;
  c.set("form", form);
  await next();
});
