/**
 * The development configuration for the SPA tests: the `web-spa` client (a public client whose HAAPI
 * goes through the web driver's iframe) allowing the origin the test serves the SPA on.
 */
import type { Json } from "../e2e/uaf-cloud-api";

export const CLIENT_ID = "web-spa";

/**
 * The web-spa client as the server contract defines it, for a development.json that does not have it
 * yet; the one in development.json is used when it is there.
 */
export const WEB_SPA_CONTRACT: Json = {
  client_id: CLIENT_ID,
  token_endpoint_auth_method: "none",
  grant_types: ["client_credentials", "authorization_code", "refresh_token"],
  scope: "urn:se:curity:scopes:haapi openid profile email",
  capabilities: { haapi: {} },
  attestation: { web: { allowed_origins: ["http://localhost:5173"], policy: "local" } },
  redirect_uris: ["http://localhost:5173/callback"],
  authenticators: ["html-form"],
};

/** The web policy of the tests' web-spa: HAAPI tokens of the shortest lifetime, so a test sees them renewed. */
export const SHORT_LIVED_POLICY = "spa-short-lived";
export const SHORT_LIVED_TTL = 60;

/**
 * The development configuration for `issuer`, its web-spa client allowing `spaOrigin` only, under a web
 * policy whose HAAPI tokens live SHORT_LIVED_TTL seconds.
 */
export function webSpaConfig(development: Json, issuer: string, spaOrigin: string): Json {
  const clients = development.clients as Json[];
  const webSpa = clients.find((client) => client.client_id === CLIENT_ID) ?? WEB_SPA_CONTRACT;
  const adjusted = {
    ...webSpa,
    attestation: {
      ...webSpa.attestation,
      web: { ...webSpa.attestation.web, allowed_origins: [spaOrigin], policy: SHORT_LIVED_POLICY },
    },
    redirect_uris: [`${spaOrigin}/callback`],
  };
  const policies = development.attestation_policies as Json;
  return {
    ...development,
    issuer,
    attestation_policies: {
      ...policies,
      web: { ...policies.web, [SHORT_LIVED_POLICY]: { haapi_access_token_ttl: SHORT_LIVED_TTL } },
    },
    clients: [...clients.filter((client) => client.client_id !== CLIENT_ID), adjusted],
  };
}
