/**
 * Grant: client_credentials (RFC 6749 §4.4), including the HAAPI access token: with a CAT
 * (`cal` from the attestation, TTL from its policy) or, where allowed, on the client's own credential;
 * and the initial access token of dynamic client registration (scope `dcr`, alone): short-lived, and
 * single use at the registration endpoint.
 */
import type { Context } from "hono";
import { DCR_SCOPE, HAAPI_SCOPE } from "../../protocol";
import { OAuthError } from "../../errors";
import { signAccessToken } from "../../tokens/access-token";
import type { AppEnv } from "../context";
import { keysFor } from "../services";

export async function clientCredentialsGrant(c: Context<AppEnv>): Promise<Response> {
  const config = c.get("config");
  const now = c.get("now");
  const scopes = c.get("scopes");
  const dpop = c.get("dpop");
  const { client, cal, certificate, attestation } = c.get("authenticated");
  const haapi = scopes.includes(HAAPI_SCOPE);
  if (haapi && !attestation && !client.capabilities.haapi?.allow_without_attestation) {
    throw new OAuthError("unauthorized_client", "this client must attest to obtain a HAAPI token", {
      reason: "haapi_requires_attestation",
    });
  }
  if (client.tls_client_certificate_bound_access_tokens && !certificate) {
    throw new OAuthError("invalid_request", "a client certificate is required for certificate-bound tokens", {
      reason: "certificate_binding_without_certificate",
    });
  }
  const dcr = scopes.includes(DCR_SCOPE); // alone: checkGrant
  // An attested HAAPI token lives as long as the attestation policy says (Curity: haapi-access-token-ttl).
  const policyTtl = attestation
    ? client.attestationPolicies[attestation.attestation.platform]?.haapi_access_token_ttl
    : undefined;
  const ttl = dcr
    ? config.dynamic_client_registration.initial_access_token_ttl
    : haapi
      ? (policyTtl ?? client.capabilities.haapi!.access_token_ttl)
      : (client.access_token_ttl ?? config.access_token_ttl);
  const keys = await keysFor(c);
  const accessToken = await signAccessToken(
    keys,
    {
      issuer: config.issuer,
      audience: config.issuer,
      subject: client.client_id,
      clientId: client.client_id,
      scope: scopes.join(" "),
      ttl,
      cal,
      jkt: dpop?.jkt,
      x5tS256: client.tls_client_certificate_bound_access_tokens ? certificate?.thumbprintS256 : undefined,
    },
    now,
  );
  return c.json({
    access_token: accessToken,
    token_type: dpop ? "DPoP" : "Bearer",
    expires_in: ttl,
    scope: scopes.join(" "),
  });
}
