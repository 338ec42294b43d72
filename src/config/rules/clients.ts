/**
 * Configured clients: unique ids; a credential that fits the authentication method (a secret for the
 * secret methods, keys or certificates for the JWT and mTLS ones, none for public clients); and the
 * HAAPI capability wherever the HAAPI scope is. Templates, main clients and attestation are checked by
 * their own areas (./templates.ts, ./attestation-policies.ts), in this order for each client.
 */
import { HAAPI_SCOPE, TLS_CLIENT_AUTH_FIELDS } from "../../protocol";
import type { ClientConfig, ParsedConfig } from "../schema";
import { clientAttestationProblems } from "./attestation-policies";
import { type At, firstOccurrences, privateJwkProblems } from "./shared";
import { mainClientIds, mainClientProblems, templateProblems } from "./templates";

export function clientProblems(config: ParsedConfig): string[] {
  const problems: string[] = [];
  const firstIndex = firstOccurrences();
  const byId = new Map(config.clients.map((client) => [client.client_id, client]));
  const mainClients = mainClientIds(config);
  config.clients.forEach((client, i) => {
    const at: At = (field) => `clients[${i}].${field}`;
    const first = firstIndex(client.client_id, i);
    if (first !== undefined)
      problems.push(`${at("client_id")}: duplicate value ${JSON.stringify(client.client_id)} (also clients[${first}])`);
    if (client.dynamic_client_registration_template) {
      problems.push(...templateProblems(client, at, byId), ...haapiCapabilityProblems(client, at));
      return;
    }
    problems.push(
      ...mainClientProblems(client, at, mainClients),
      ...secretProblems(client, at, config.environment),
      ...publicClientProblems(client, at),
      ...keyProblems(client, at),
      ...haapiCapabilityProblems(client, at),
      ...clientAttestationProblems(client, at, config),
    );
  });
  return problems;
}

/** client_secret (development only) or client_secret_hash, exactly for the secret methods. */
function secretProblems(client: ClientConfig, at: At, environment: ParsedConfig["environment"]): string[] {
  const problems: string[] = [];
  const method = client.token_endpoint_auth_method;
  const usesSecret = method === "client_secret_basic" || method === "client_secret_post";
  if (client.client_secret !== undefined && client.client_secret_hash !== undefined) {
    problems.push(`${at("client_secret")}: give either client_secret or client_secret_hash, not both`);
  }
  if (usesSecret && client.client_secret === undefined && client.client_secret_hash === undefined) {
    problems.push(`${at("client_secret_hash")}: required for ${method}`);
  }
  if (client.client_secret !== undefined && environment !== "development") {
    problems.push(
      `${at("client_secret")}: plain-text secrets are only accepted when environment is "development"; use client_secret_hash (npm run hash-secret)`,
    );
  }
  if (!usesSecret && (client.client_secret !== undefined || client.client_secret_hash !== undefined)) {
    problems.push(`${at("client_secret")}: not used by ${method}; remove it`);
  }
  return problems;
}

/**
 * Clients without a secret: `none` (public) and `attest_jwt_client_auth` (the CAT is the credential).
 * Whoever knows a public client's id can act as it, so it gets nothing a credential would guard: no
 * client_credentials without attestation, and no HAAPI token without a CAT.
 */
function publicClientProblems(client: ClientConfig, at: At): string[] {
  const method = client.token_endpoint_auth_method;
  if (method !== "none" && method !== "attest_jwt_client_auth") return [];
  const problems: string[] = [];
  if (method === "attest_jwt_client_auth" && !client.attestation) {
    problems.push(
      `${at("attestation")}: required for attest_jwt_client_auth (the CAT is the client's only credential)`,
    );
  }
  if (method === "none" && client.grant_types.includes("client_credentials") && !client.attestation) {
    problems.push(
      `${at("grant_types")}: a public client (none) gets client_credentials only as a HAAPI token through a CAT; configure attestation or remove client_credentials`,
    );
  }
  if (client.capabilities.haapi?.allow_without_attestation) {
    problems.push(
      `${at("capabilities.haapi.allow_without_attestation")}: with ${method} the client has no secret, so without attestation anyone could get its HAAPI tokens; remove it`,
    );
  }
  if (client.jwks !== undefined) problems.push(`${at("jwks")}: not used by ${method}; remove it`);
  if (client.tls_client_certificate_bound_access_tokens)
    problems.push(
      `${at("tls_client_certificate_bound_access_tokens")}: needs mTLS client authentication, not ${method}`,
    );
  return problems;
}

/** Public keys for private_key_jwt and self_signed_tls_client_auth; the certificate match of tls_client_auth. */
function keyProblems(client: ClientConfig, at: At): string[] {
  const problems: string[] = [];
  const method = client.token_endpoint_auth_method;
  if ((method === "private_key_jwt" || method === "self_signed_tls_client_auth") && !client.jwks) {
    problems.push(`${at("jwks")}: required for ${method}`);
  }
  if (client.jwks) problems.push(...privateJwkProblems(client.jwks, at("jwks")));
  if (
    method === "self_signed_tls_client_auth" &&
    client.jwks &&
    !client.jwks.keys.some((key) => Array.isArray(key.x5c) && key.x5c.length > 0)
  ) {
    problems.push(`${at("jwks")}: self_signed_tls_client_auth needs at least one key with an x5c certificate`);
  }
  const tlsFields = TLS_CLIENT_AUTH_FIELDS.filter((field) => client[field] !== undefined);
  if (method === "tls_client_auth" && tlsFields.length !== 1) {
    problems.push(
      `${at("tls_client_auth_subject_dn")}: tls_client_auth needs exactly one of tls_client_auth_subject_dn or tls_client_auth_san_* (RFC 8705 §2.1.2), got ${tlsFields.length}`,
    );
  }
  if (method !== "tls_client_auth" && tlsFields.length > 0) {
    problems.push(`${at(tlsFields[0]!)}: only used with tls_client_auth`);
  }
  if (client.token_endpoint_auth_signing_alg && method !== "private_key_jwt") {
    problems.push(`${at("token_endpoint_auth_signing_alg")}: only used with private_key_jwt`);
  }
  return problems;
}

function haapiCapabilityProblems(client: ClientConfig, at: At): string[] {
  return client.scope.split(" ").includes(HAAPI_SCOPE) && !client.capabilities.haapi
    ? [`${at("capabilities.haapi")}: required because scope contains ${HAAPI_SCOPE}`]
    : [];
}
