/**
 * GET /.well-known/oauth-authorization-server (RFC 8414) and /.well-known/openid-configuration.
 * Lists only what is built.
 */
import { Hono } from "hono";
import type { Config } from "../config/load";
import { ASYMMETRIC_ALGS, TOKEN_ENDPOINT_AUTH_METHODS } from "../protocol";
import type { AppEnv } from "./context";
import { refuseOtherMethods } from "./method-not-allowed";
import { SUPPORTED_GRANTS } from "./token/parse-token-request";

export function serverMetadata(config: Config): Record<string, unknown> {
  const scopes = new Set(config.clients.flatMap((client) => [...client.scopes]));
  const attesting = config.clients.some((client) => client.attestation);
  return {
    issuer: config.issuer,
    token_endpoint: config.endpoints.token,
    jwks_uri: config.endpoints.jwks,
    ...(config.templatesById.size > 0 ? { registration_endpoint: config.endpoints.registration } : {}),
    authorization_endpoint: config.endpoints.authorize,
    userinfo_endpoint: config.endpoints.userinfo,
    revocation_endpoint: config.endpoints.revoke,
    introspection_endpoint: config.endpoints.introspect,
    grant_types_supported: [...SUPPORTED_GRANTS],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    code_challenge_methods_supported: ["S256"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["ES256"],
    claims_supported: [
      "sub",
      "iss",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "nonce",
      "acr",
      "amr",
      "azp",
      "cal",
      "name",
      "given_name",
      "family_name",
      "preferred_username",
      "email",
      "email_verified",
    ],
    authorization_response_iss_parameter_supported: true,
    scopes_supported: [...scopes].sort(),
    token_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGS],
    dpop_signing_alg_values_supported: [...config.dpop.signing_alg_values],
    tls_client_certificate_bound_access_tokens: true,
    ...(attesting
      ? {
          // Attestation-based client authentication (draft-ietf-oauth-attestation-based-client-auth-10 §10);
          // the attestations are this server's CATs, from the CAT endpoint (HAAPI).
          client_attestation_signing_alg_values_supported: ["ES256"],
          client_attestation_pop_signing_alg_values_supported: [...config.dpop.signing_alg_values],
          client_attestation_pop_methods_supported: ["attestation_pop_jwt", "dpop_combined"],
        }
      : {}),
  };
}

const cache = new WeakMap<Config, string>();

function metadataJson(config: Config): string {
  let json = cache.get(config);
  if (!json) {
    json = JSON.stringify(serverMetadata(config));
    cache.set(config, json);
  }
  return json;
}

export const metadataRoute = new Hono<AppEnv>();
for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
  metadataRoute.get(path, (c) =>
    c.body(metadataJson(c.get("config")), 200, {
      "Content-Type": "application/json",
      "Cache-Control": "public, max-age=300",
    }),
  );
}
refuseOtherMethods(metadataRoute);
