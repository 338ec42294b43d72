/**
 * Dynamic clients as the rest of the server sees them: a template's OAuth settings, narrowed by what the
 * client registered (src/verifiers/registration-metadata.ts), read from the client's own record.
 */
import type { Context } from "hono";
import type { Client } from "../config/load";
import type { AsymmetricAlg } from "../protocol";
import type { DynamicClientRecord } from "../kv/dynamic-client";
import type { TemplateAllowance } from "../verifiers/registration-metadata";
import type { AppEnv } from "./context";

/** What a template lets its dynamic clients register. */
export function templateAllowance(template: Client): TemplateAllowance {
  const settings = template.dynamic_client_registration_template!;
  return {
    templateId: template.client_id,
    clientName: template.client_name,
    scopes: [...template.scopes],
    grantTypes: [...template.grant_types],
    redirectUris: [...template.redirect_uris],
    secret: settings.secret,
    deviceKeys: settings.device_keys,
    defaultMethod: template.token_endpoint_auth_method as TemplateAllowance["defaultMethod"],
    dpopBound: template.dpop_bound_access_tokens,
  };
}

/**
 * The client a record describes, under its template. What the client registered is intersected with
 * what the template allows now, so narrowing a template in the configuration narrows its clients at once.
 */
export function clientFromRecord(template: Client, record: DynamicClientRecord): Client {
  const metadata = record.metadata;
  const scope = metadata.scope
    .split(" ")
    .filter((token) => template.scopes.has(token))
    .join(" ");
  return {
    ...template,
    client_id: record.client_id,
    client_name: metadata.client_name,
    client_secret: undefined,
    client_secret_hash: record.client_secret_hash,
    token_endpoint_auth_method: metadata.token_endpoint_auth_method,
    token_endpoint_auth_signing_alg: metadata.token_endpoint_auth_signing_alg as AsymmetricAlg | undefined,
    jwks: metadata.jwks ? { keys: metadata.jwks.keys.map((key) => ({ ...key, kty: String(key.kty) })) } : undefined,
    grant_types: template.grant_types.filter((grant) => metadata.grant_types.includes(grant)),
    scope,
    scopes: new Set(scope ? scope.split(" ") : []),
    redirect_uris: template.redirect_uris.filter((uri) => metadata.redirect_uris.includes(uri)),
    dpop_bound_access_tokens: template.dpop_bound_access_tokens || (metadata.dpop_bound_access_tokens ?? false),
    dynamic_client_registration_template: undefined,
    attestation: undefined,
    attestationPolicies: {},
    dynamic: {
      templateId: record.template_id,
      mainClientId: record.main_client_id,
      cal: record.cal,
      usedAt: record.used_at,
      secretExpiresAt: record.secret_expires_at,
    },
  };
}

/** A dynamic client's record and its template, or null when either is gone. */
export async function readDynamicClient<E extends AppEnv>(
  c: Context<E>,
  clientId: string,
): Promise<{ record: DynamicClientRecord; template: Client } | null> {
  const ref = c.get("stores").dynamicClients.byId(clientId);
  const record = ref ? await ref.run("read", null, c.get("now")) : null;
  if (!record) return null;
  // A client whose template was removed from the configuration is gone with it.
  const template = c.get("config").templatesById.get(record.template_id);
  return template ? { record, template } : null;
}

/** The client a client_id names: a configured client (never a template), or, when `dynamic`, a dynamic one. */
export async function findClient<E extends AppEnv>(
  c: Context<E>,
  clientId: string,
  dynamic: boolean,
): Promise<Client | undefined> {
  const configured = c.get("config").clientsById.get(clientId);
  if (configured) return configured.dynamic_client_registration_template ? undefined : configured;
  if (!dynamic) return undefined;
  const found = await readDynamicClient(c, clientId);
  return found ? clientFromRecord(found.template, found.record) : undefined;
}

export async function markDynamicClientUsed<E extends AppEnv>(c: Context<E>, clientId: string): Promise<void> {
  await c.get("stores").dynamicClients.byId(clientId)?.run("markUsed", null, c.get("now"));
}
