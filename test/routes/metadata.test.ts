import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";

const BASE = "http://127.0.0.1:8787";

describe("metadata", () => {
  // The first request into the Worker loads its whole module graph (zod, jose, the X.509 modules) through
  // the test pool, which can take longer than one test's 5 s; pay for it here, not in the first test.
  beforeAll(async () => {
    await exports.default.fetch(`${BASE}/.well-known/oauth-authorization-server`);
  }, 30_000);

  for (const path of ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]) {
    it(`GET ${path} lists the endpoints, grants, auth methods, attestation and DPoP algorithms`, async () => {
      const response = await exports.default.fetch(`${BASE}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("Content-Type")).toBe("application/json");
      expect(response.headers.get("Cache-Control")).toBe("public, max-age=300");
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata.issuer).toBe(BASE);
      expect(metadata.token_endpoint).toBe(`${BASE}/oauth/v2/oauth-token`);
      expect(metadata.jwks_uri).toBe(`${BASE}/oauth/v2/oauth-jwks`);
      expect(metadata.registration_endpoint).toBe(`${BASE}/token-service/oauth-registration`);
      expect(metadata.grant_types_supported).toEqual(["client_credentials", "authorization_code", "refresh_token"]);
      expect(metadata.token_endpoint_auth_methods_supported).toEqual([
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "tls_client_auth",
        "self_signed_tls_client_auth",
        // Public clients (RFC 7591 §2) and clients whose only credential is a CAT.
        "none",
        "attest_jwt_client_auth",
      ]);
      // Attestation-based client authentication (IETF draft): the CAT as OAuth-Client-Attestation,
      // with its PoP header or in the DPoP combined mode.
      expect(metadata.client_attestation_pop_methods_supported).toEqual(["attestation_pop_jwt", "dpop_combined"]);
      expect(metadata.client_attestation_signing_alg_values_supported).toEqual(["ES256"]);
      expect(metadata.client_attestation_pop_signing_alg_values_supported).toEqual([
        "ES256",
        "EdDSA",
        "PS256",
        "RS256",
      ]);
      expect(metadata.token_endpoint_auth_signing_alg_values_supported).toContain("ES256");
      expect(metadata.token_endpoint_auth_signing_alg_values_supported).not.toContain("HS256");
      expect(metadata.dpop_signing_alg_values_supported).toEqual(["ES256", "EdDSA", "PS256", "RS256"]);
      expect(metadata.tls_client_certificate_bound_access_tokens).toBe(true);
    });

    it(`GET ${path} describes the login flow: authorization code with PKCE S256, OpenID Connect, userinfo, revocation, introspection`, async () => {
      const metadata = (await (await exports.default.fetch(`${BASE}${path}`)).json()) as Record<string, unknown>;
      expect(metadata).toMatchObject({
        authorization_endpoint: `${BASE}/oauth/v2/oauth-authorize`,
        userinfo_endpoint: `${BASE}/oauth/v2/oauth-userinfo`,
        revocation_endpoint: `${BASE}/oauth/v2/oauth-revoke`,
        introspection_endpoint: `${BASE}/oauth/v2/oauth-introspect`,
        response_types_supported: ["code"],
        response_modes_supported: ["query"],
        // Only S256: plain is never accepted (RFC 9700 §2.1.1).
        code_challenge_methods_supported: ["S256"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["ES256"],
        // RFC 9207: the authorization response carries iss.
        authorization_response_iss_parameter_supported: true,
      });
      expect(metadata.claims_supported).toEqual(
        expect.arrayContaining([
          "sub",
          "iss",
          "aud",
          "nonce",
          "acr",
          "amr",
          "auth_time",
          "cal",
          "name",
          "email",
          "email_verified",
        ]),
      );
      // The union of the configured clients' scopes (test/fixtures/test-config.json), sorted.
      expect(metadata.scopes_supported).toEqual([
        "dcr",
        "email",
        "openid",
        "profile",
        "read",
        "urn:se:curity:scopes:haapi",
        "write",
      ]);
    });
  }

  it("both documents are the same, and list nothing that is not built", async () => {
    const [oauth, openid] = await Promise.all(
      ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"].map(
        async (path) => (await exports.default.fetch(`${BASE}${path}`)).json() as Promise<Record<string, unknown>>,
      ),
    );
    expect(openid).toEqual(oauth);
    expect(Object.keys(oauth!).sort()).toEqual([
      "authorization_endpoint",
      "authorization_response_iss_parameter_supported",
      "claims_supported",
      "client_attestation_pop_methods_supported",
      "client_attestation_pop_signing_alg_values_supported",
      "client_attestation_signing_alg_values_supported",
      "code_challenge_methods_supported",
      "dpop_signing_alg_values_supported",
      "grant_types_supported",
      "id_token_signing_alg_values_supported",
      "introspection_endpoint",
      "issuer",
      "jwks_uri",
      "registration_endpoint",
      "response_modes_supported",
      "response_types_supported",
      "revocation_endpoint",
      "scopes_supported",
      "subject_types_supported",
      "tls_client_certificate_bound_access_tokens",
      "token_endpoint",
      "token_endpoint_auth_methods_supported",
      "token_endpoint_auth_signing_alg_values_supported",
      "userinfo_endpoint",
    ]);
  });
});
