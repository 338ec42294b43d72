/**
 * POST /oauth/v2/oauth-introspect: token introspection (RFC 7662), for resource servers.
 *
 *   noStore -> parseClientForm -> authenticateFormClient -> introspect
 *
 * Resource servers are confidential clients: no client_id-only authentication here. Anything that is not
 * a live token of this server answers `{active: false}` (§2.2), never why. Access tokens of a login
 * (`gid`) are live only while their grant is; client_credentials tokens by signature and `exp`. A refresh
 * token is introspected only by the client it was issued to: it is of no use to a resource server.
 *
 * Also home of the steps revocation (./revoke.ts) shares: reading the form, authenticating the client,
 * and finding which token, and which grant, a presented string is.
 */
import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import { OAuthError } from "../errors";
import { readOAuthForm } from "../http/form";
import { hashToken } from "../tokens/grant-tokens";
import { verifyAccessToken, type VerifiedAccessToken } from "../verifiers/access-token";
import { checkGrantLive } from "../verifiers/grant-liveness";
import { serverKeySet } from "./access-token-auth";
import type { AppEnv } from "./context";
import { refuseOtherMethods } from "./method-not-allowed";
import { findGrant, type FoundGrant } from "./live-grant";
import { noStore } from "./no-store";
import { authenticateClientRequest, formRequestCredentials } from "./token/authenticate-client";

export const INTROSPECT_PATH = "/oauth/v2/oauth-introspect";

/** Step: a form body (size-limited, no repeated parameters) with the required `token`. */
export const parseClientForm = createMiddleware<AppEnv>(async (c, next) => {
  const form = await readOAuthForm(c.req.raw, c.get("config").limits.max_body_bytes);
  if (form.get("token") === undefined)
    throw new OAuthError("invalid_request", "token is required", {
      reason: "parameter_missing",
      detail: { parameter: "token" },
    });
  c.set("form", form);
  await next();
});

/**
 * Step: client authentication as at the token endpoint. A CAT proves nothing here without the DPoP proof
 * the token endpoint checks it with, so attestation-based authentication is refused.
 */
export function authenticateFormClient(options: { readonly allowPublic: boolean }) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const authenticated = await authenticateClientRequest(c, formRequestCredentials(c), {
      dynamic: true,
      allowPublic: options.allowPublic,
    });
    if (authenticated.attestation)
      throw new OAuthError("invalid_client", "client authentication failed", {
        reason: "attestation_not_accepted_here",
      });
    c.set("authenticated", authenticated);
    await next();
  });
}

/** A token this server issued, as found; anything else is null. */
export type FoundToken =
  | { readonly kind: "access"; readonly token: VerifiedAccessToken; readonly grant: FoundGrant | null }
  | { readonly kind: "refresh"; readonly grant: FoundGrant; readonly current: boolean };

/** `<grant id hex>.<secret>`: one dot, base64url secret. */
const REFRESH_SHAPE = /^[0-9a-f]{64}\.[A-Za-z0-9_-]{1,100}$/;

/**
 * Which token `value` is: a refresh token whose hash is the grant's current one (or a rotated-away one:
 * `current` false), or an access token of ours with a valid signature, unexpired (with its grant when it
 * has a `gid`). Revocation and expiry of grants are the caller's to judge. `token_type_hint` is not needed:
 * the two formats cannot be mistaken for each other (RFC 7009 §2.1 lets the server look further anyway).
 */
export async function findToken(c: Context<AppEnv>, value: string): Promise<FoundToken | null> {
  if (value.length > c.get("config").limits.max_header_bytes) return null;
  if (REFRESH_SHAPE.test(value)) {
    const grant = await findGrant(c, value.slice(0, value.indexOf(".")));
    if (!grant) return null;
    const hash = await hashToken(value);
    if (grant.record.refresh?.hash === hash) return { kind: "refresh", grant, current: true };
    if (grant.record.spent_refresh.includes(hash)) return { kind: "refresh", grant, current: false };
    return null;
  }
  const config = c.get("config");
  const result = await verifyAccessToken(
    value,
    { issuer: config.issuer, audience: config.issuer },
    await serverKeySet(c),
    c.get("now"),
  );
  if (!result.ok) {
    c.get("log").token = `access_token_${result.reason}`;
    return null;
  }
  const token = result.value;
  return { kind: "access", token, grant: token.grantId === undefined ? null : await findGrant(c, token.grantId) };
}

const INACTIVE = { active: false } as const;

/** Claims of an access token that introspection answers with (RFC 7662 §2.2, RFC 9068, RFC 9449 §6.2). */
const ACCESS_CLAIMS = [
  "scope",
  "client_id",
  "sub",
  "exp",
  "iat",
  "iss",
  "aud",
  "cnf",
  "acr",
  "amr",
  "auth_time",
  "cal",
  "jti",
] as const;

function introspectAccessToken(token: VerifiedAccessToken, grant: FoundGrant | null): Record<string, unknown> | string {
  if (token.grantId !== undefined) {
    // The same judgment as every endpoint that accepts the token (authenticateAccessToken).
    const live = checkGrantLive(grant?.record ?? null, { clientId: token.clientId, subject: token.subject });
    if (!live.ok) return live.reason;
  }
  const out: Record<string, unknown> = { active: true };
  for (const name of ACCESS_CLAIMS) if (token.claims[name] !== undefined) out[name] = token.claims[name];
  out.token_type = token.jkt ? "DPoP" : "Bearer";
  return out;
}

function introspectRefreshToken(
  found: Extract<FoundToken, { kind: "refresh" }>,
  clientId: string,
  now: number,
): Record<string, unknown> | string {
  const { record } = found.grant;
  if (!found.current) return "refresh_token_spent";
  if (record.revoked_at !== null) return "grant_revoked";
  if (record.client_id !== clientId) return "refresh_token_of_another_client";
  const refresh = record.refresh!;
  if (refresh.expires_at <= now) return "refresh_token_expired";
  return {
    active: true,
    token_type: "refresh_token",
    client_id: record.client_id,
    sub: record.user.sub,
    scope: record.scope,
    exp: refresh.expires_at,
    ...(refresh.jkt ? { cnf: { jkt: refresh.jkt } } : {}),
  };
}

export const introspectRoute = refuseOtherMethods(
  new Hono<AppEnv>().post(
    INTROSPECT_PATH,
    noStore,
    parseClientForm,
    authenticateFormClient({ allowPublic: false }),
    async (c) => {
      const log = c.get("log");
      const found = await findToken(c, c.get("form").get("token")!);
      const answer =
        found === null
          ? "token_unknown"
          : found.kind === "access"
            ? introspectAccessToken(found.token, found.grant)
            : introspectRefreshToken(found, c.get("authenticated").client.client_id, c.get("now"));
      if (typeof answer === "string") {
        log.token ??= answer;
        return c.json(INACTIVE);
      }
      log.token = found!.kind;
      return c.json(answer);
    },
  ),
);
