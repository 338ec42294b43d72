/**
 * Templatized dynamic client registration: the attestation fallback (RFC 7591, RFC 7592).
 *
 *   POST   /token-service/oauth-registration              noStore -> limitSource -> parseRegistration
 *          -> authorizeRegistration -> resolveTemplate -> limitMainClient -> checkMetadata
 *          -> spendInitialToken -> register
 *   GET    /token-service/oauth-registration/{client_id}  noStore -> readRegistration -> show
 *   PUT    /token-service/oauth-registration/{client_id}  noStore -> readRegistration -> replace
 *   DELETE /token-service/oauth-registration/{client_id}  noStore -> readRegistration -> remove
 *
 * `software_id` names the template (a configured client with `dynamic_client_registration_template`);
 * the main client authorizing the registration must be in its `authenticate_client_by`. Each dynamic
 * client gets its own record, created here (on Workers, a Durable Object near the device; src/kv/dynamic-client.ts).
 */
import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Config } from "../../config/load";
import { OAuthError } from "../../errors";
import { refuseOtherMethods } from "../method-not-allowed";
import type { DynamicClientRecord } from "../../kv/dynamic-client";
import { rateLimitKey, type Limit } from "../../kv/rate-limiter";
import { replayScope } from "../../kv/replay";
import type { ClientAssuranceLevel } from "../../tokens/access-token";
import { issueRegistrationCredentials } from "../../tokens/registration-credentials";
import { checkRegistrationMetadata } from "../../verifiers/registration-metadata";
import { templateAllowance } from "../dynamic-clients";
import { noStore } from "../no-store";
import { takeToken } from "../rate-limits";
import { authorizeRegistration } from "./authorize";
import { REGISTRATION_PATH, type RegistrationEnv } from "./context";
import { manageRoute, clientInformation } from "./manage";
import { parseRegistration } from "./parse";

export { REGISTRATION_PATH };

async function limitRegistrations(
  c: Context<RegistrationEnv>,
  key: string,
  limit: Limit,
  reason: "rate_limited_source" | "rate_limited_client",
): Promise<void> {
  const decision = await takeToken(c, key, limit);
  if (!decision.allowed) {
    throw new OAuthError("too_many_requests", "too many registrations; retry later", {
      reason,
      headers: { "Retry-After": String(decision.retryAfter) },
    });
  }
}

/** Per source address, before anything else: guessing a main client's secret here costs the same as registering. */
const limitSource = createMiddleware<RegistrationEnv>(async (c, next) => {
  const source = c.req.header("CF-Connecting-IP") ?? "unknown";
  await limitRegistrations(
    c,
    rateLimitKey.registrationBySource(source),
    c.get("config").dynamic_client_registration.rate_limit.per_source,
    "rate_limited_source",
  );
  await next();
});

/** The template `software_id` names, which the authorizing main client must be allowed to use. */
const resolveTemplate = createMiddleware<RegistrationEnv>(async (c, next) => {
  const softwareId = c.get("registrationBody").software_id as string;
  const template = c.get("config").templatesById.get(softwareId);
  if (!template)
    throw new OAuthError("invalid_client_metadata", "software_id does not name a registration template", {
      reason: "unknown_template",
      detail: { software_id: softwareId.slice(0, 100) },
    });
  const main = c.get("authority").mainClient;
  if (!template.dynamic_client_registration_template!.authenticate_client_by.includes(main.client_id)) {
    throw new OAuthError("unauthorized_client", "this client may not register clients from this template", {
      status: 403,
      reason: "template_not_allowed_for_main_client",
      detail: { software_id: template.client_id },
    });
  }
  c.get("log").software_id = template.client_id;
  c.set("template", template);
  await next();
});

/** Per main client: a leaked app credential must not let anyone fill the store. */
const limitMainClient = createMiddleware<RegistrationEnv>(async (c, next) => {
  const main = c.get("authority").mainClient;
  const limit = main.registration_rate_limit ?? c.get("config").dynamic_client_registration.rate_limit.per_client;
  await limitRegistrations(c, rateLimitKey.registrationByClient(main.client_id), limit, "rate_limited_client");
  await next();
});

const checkMetadata = createMiddleware<RegistrationEnv>(async (c, next) => {
  const result = await checkRegistrationMetadata(c.get("registrationBody"), templateAllowance(c.get("template")));
  if (!result.ok) {
    const { field, problem } = result.detail as { field: string; problem: string };
    throw new OAuthError(result.reason, `${field}: ${problem}`, {
      reason: "metadata_invalid",
      detail: { field, problem },
    });
  }
  c.set("metadata", result.value);
  await next();
});

/** The initial access token is single use: spent once the registration is known to be valid. */
const spendInitialToken = createMiddleware<RegistrationEnv>(async (c, next) => {
  const { initialToken, mainClient } = c.get("authority");
  if (initialToken) {
    const first = await c
      .get("stores")
      .replay.use(
        replayScope.initialAccessToken(mainClient.client_id, initialToken.jti),
        initialToken.jti,
        initialToken.exp + 1,
        c.get("now"),
      );
    if (!first)
      throw new OAuthError("invalid_token", "the initial access token was already used", {
        reason: "initial_token_replayed",
        headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
      });
  }
  await next();
});

/**
 * `by-provisioned-key` when the main client proved a key (mTLS, private_key_jwt) or the device registered
 * its own key; `none` when only a shared secret stands behind the client.
 */
function assuranceOf(mainCal: ClientAssuranceLevel, method: string): ClientAssuranceLevel {
  return mainCal === "by-provisioned-key" || method === "private_key_jwt" ? "by-provisioned-key" : "none";
}

function secretExpiry(config: Config, now: number): number {
  const ttl = config.dynamic_client_registration.client_secret_ttl;
  return ttl === 0 ? 0 : now + ttl;
}

const register = createMiddleware<RegistrationEnv>(async (c) => {
  const config = c.get("config");
  const now = c.get("now");
  // RFC 7591 §3.2.1: an approved software statement is kept and returned unmodified.
  const statement = c.get("registrationBody").software_statement;
  const metadata =
    typeof statement === "string" ? { ...c.get("metadata"), software_statement: statement } : c.get("metadata");
  const { mainClient, cal } = c.get("authority");
  const withSecret = metadata.token_endpoint_auth_method !== "private_key_jwt";
  const credentials = await issueRegistrationCredentials(withSecret);
  const clientRef = c.get("stores").dynamicClients.fresh();
  const clientId = clientRef.id;
  const record: DynamicClientRecord = {
    client_id: clientId,
    template_id: c.get("template").client_id,
    main_client_id: mainClient.client_id,
    cal: assuranceOf(cal, metadata.token_endpoint_auth_method),
    issued_at: now,
    secret_expires_at: withSecret ? secretExpiry(config, now) : 0,
    ...(credentials.clientSecretHash ? { client_secret_hash: credentials.clientSecretHash } : {}),
    registration_access_token_hash: credentials.registrationAccessTokenHash,
    metadata,
    used_at: null,
    unused_deadline: now + config.dynamic_client_registration.unused_client_ttl,
  };
  if (!(await clientRef.run("create", record, c.get("now"))))
    throw new OAuthError("server_error", "internal error", { reason: "dynamic_client_id_collision" });
  const log = c.get("log");
  log.client_id = clientId;
  log.cal = record.cal;
  return c.json(
    clientInformation(config, record, {
      ...(credentials.clientSecret ? { client_secret: credentials.clientSecret } : {}),
      registration_access_token: credentials.registrationAccessToken,
    }),
    201,
  );
});

export const registrationRoute = refuseOtherMethods(
  new Hono<RegistrationEnv>()
    .post(
      REGISTRATION_PATH,
      noStore,
      limitSource,
      parseRegistration,
      authorizeRegistration,
      resolveTemplate,
      limitMainClient,
      checkMetadata,
      spendInitialToken,
      register,
    )
    .route("/", manageRoute),
);
