/**
 * Dynamic client registration: a template is never used directly (no credential, no attestation) and
 * its dynamic clients can authenticate; the main clients it names exist, have credentials and may
 * obtain the `dcr` scope; software-statement issuers publish only public keys.
 */
import { DCR_SCOPE, DYNAMIC_CLIENT_AUTH_METHODS, TLS_CLIENT_AUTH_FIELDS } from "../../protocol";
import type { ClientConfig, ParsedConfig } from "../schema";
import { type At, privateJwkProblems } from "./shared";

/** Fields a template takes none of: credentials and attestation belong to the dynamic clients. */
const NOT_ON_TEMPLATES = [
  "client_secret",
  "client_secret_hash",
  "jwks",
  "attestation",
  "registration_rate_limit",
  "token_endpoint_auth_signing_alg",
  ...TLS_CLIENT_AUTH_FIELDS,
] as const;

/** The client_ids that some template names in authenticate_client_by. */
export function mainClientIds(config: ParsedConfig): ReadonlySet<string> {
  return new Set(
    config.clients.flatMap((client) => client.dynamic_client_registration_template?.authenticate_client_by ?? []),
  );
}

/** A client with a dynamic_client_registration_template. */
export function templateProblems(client: ClientConfig, at: At, byId: ReadonlyMap<string, ClientConfig>): string[] {
  const problems: string[] = [];
  const template = client.dynamic_client_registration_template!;
  for (const field of NOT_ON_TEMPLATES) {
    if (client[field] !== undefined)
      problems.push(`${at(field)}: a registration template is never used directly and takes no ${field}`);
  }
  if (client.scope.split(" ").includes(DCR_SCOPE))
    problems.push(`${at("scope")}: a template may not hand out the ${DCR_SCOPE} scope`);
  if (client.grant_types.includes("authorization_code") && client.redirect_uris.length === 0) {
    problems.push(
      `${at("redirect_uris")}: required because grant_types contains authorization_code (dynamic clients may only narrow the template's redirect URIs)`,
    );
  }
  if (!template.secret && !template.device_keys) {
    problems.push(
      `${at("dynamic_client_registration_template")}: enable secret or device_keys, or dynamic clients could not authenticate`,
    );
  }
  // The template's token_endpoint_auth_method is what a registration gets when it asks for none.
  const method = client.token_endpoint_auth_method;
  if (!(DYNAMIC_CLIENT_AUTH_METHODS as readonly string[]).includes(method)) {
    problems.push(
      `${at("token_endpoint_auth_method")}: a template's default method must be one of ${DYNAMIC_CLIENT_AUTH_METHODS.join(", ")}`,
    );
  } else if (method === "private_key_jwt" ? !template.device_keys : !template.secret) {
    problems.push(
      `${at("token_endpoint_auth_method")}: ${method} is disabled by dynamic_client_registration_template.${method === "private_key_jwt" ? "device_keys" : "secret"}`,
    );
  }
  template.authenticate_client_by.forEach((id, k) => {
    const main = byId.get(id);
    const field = at(`dynamic_client_registration_template.authenticate_client_by[${k}]`);
    if (!main) problems.push(`${field}: no client ${JSON.stringify(id)}`);
    else if (main.dynamic_client_registration_template)
      problems.push(`${field}: ${JSON.stringify(id)} is itself a template`);
  });
  return problems;
}

/** A configured client's registration settings: only main clients rate-limit registrations or get `dcr`. */
export function mainClientProblems(client: ClientConfig, at: At, mainClients: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  if (client.registration_rate_limit && !mainClients.has(client.client_id)) {
    problems.push(
      `${at("registration_rate_limit")}: only used by main clients (named in a template's authenticate_client_by)`,
    );
  }
  if (client.scope.split(" ").includes(DCR_SCOPE)) {
    if (!mainClients.has(client.client_id))
      problems.push(
        `${at("scope")}: the ${DCR_SCOPE} scope is for main clients; no template names ${JSON.stringify(client.client_id)} in authenticate_client_by`,
      );
    if (!client.grant_types.includes("client_credentials"))
      problems.push(
        `${at("grant_types")}: client_credentials is needed to obtain an initial access token (scope ${DCR_SCOPE})`,
      );
  }
  return problems;
}

export function softwareStatementIssuerProblems(config: ParsedConfig): string[] {
  return config.dynamic_client_registration.software_statement_issuers.flatMap((issuer, i) =>
    privateJwkProblems(issuer.jwks, `dynamic_client_registration.software_statement_issuers[${i}].jwks`),
  );
}
