import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const BASE = "http://127.0.0.1:8787";

describe("metadata", () => {
  for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
    it(`GET ${path} lists the token endpoint, JWKS, grants, auth methods, attestation and DPoP algorithms`, async () => {
      const response = await exports.default.fetch(`${BASE}${path}`);
      expect(response.status).toBe(200);
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata.issuer).toBe(BASE);
      expect(metadata.token_endpoint).toBe(`${BASE}/oauth/v2/oauth-token`);
      expect(metadata.jwks_uri).toBe(`${BASE}/oauth/v2/oauth-jwks`);
      expect(metadata.grant_types_supported).toEqual(["client_credentials"]);
      expect(metadata.token_endpoint_auth_methods_supported).toEqual([
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "tls_client_auth",
        "self_signed_tls_client_auth",
        "attest_jwt_client_auth",
      ]);
      // Attestation-based client authentication (IETF draft): the CAT as OAuth-Client-Attestation,
      // with its PoP header or in the DPoP combined mode.
      expect(metadata.client_attestation_pop_methods_supported).toEqual(["attestation_pop_jwt", "dpop_combined"]);
      expect(metadata.client_attestation_signing_alg_values_supported).toEqual(["ES256"]);
      expect(metadata.token_endpoint_auth_signing_alg_values_supported).toContain("ES256");
      expect(metadata.token_endpoint_auth_signing_alg_values_supported).not.toContain("HS256");
      expect(metadata.dpop_signing_alg_values_supported).toEqual(["ES256", "EdDSA", "PS256", "RS256"]);
    });
  }
});
