/**
 * Configuration: validation names the field, defaults are applied, the result is frozen.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, DEVELOPMENT_CONFIG, parseConfig } from "../../src/config/load";
import { parseSigningKeys } from "../../src/config/signing-keys";

const ISSUER = "https://login.example.com";

function problems(document: unknown): string[] {
  try {
    parseConfig(document);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

const secretClient = (overrides: Record<string, unknown> = {}) => ({
  client_id: "c",
  client_secret_hash: "sha256$BjLIdOtslgCUu77CC6s0DQ$3jtATc-i7HIVcl-hYZD7Tr_SIRdUEMolgvDP8kccf0A",
  ...overrides,
});

describe("parseConfig", () => {
  it("names an unsupported enum value by its path", () => {
    const list = problems({
      issuer: ISSUER,
      clients: [
        secretClient({ client_id: "a" }),
        secretClient({ client_id: "b" }),
        secretClient({ token_endpoint_auth_method: "foo" }),
      ],
    });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(/^clients\[2\]\.token_endpoint_auth_method: unsupported value "foo"/);
  });

  it("reports every problem at once, including unknown fields and wrong types", () => {
    const list = problems({
      issuer: "not a url",
      dpop: { clock_skew: "60" },
      clients: [{ client_id: 7, token_endpoint_auth_methd: "x" }],
    });
    expect(list).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^issuer: /),
        "dpop.clock_skew: expected number, got string",
        "clients[0].client_id: expected string, got number",
        "clients[0].token_endpoint_auth_methd: unknown field",
      ]),
    );
  });

  it("a missing required field", () => {
    expect(problems({ clients: [] })).toEqual(["issuer: required"]);
  });

  it("not JSON", () => {
    expect(problems("{issuer:")[0]).toMatch(/^CONFIG: not valid JSON/);
  });

  it("cross-field rules name the field", () => {
    const jwk = { kty: "EC", crv: "P-256", x: "x", y: "y" };
    const list = problems({
      issuer: ISSUER,
      clients: [
        secretClient({ client_id: "dup" }),
        secretClient({ client_id: "dup" }),
        { client_id: "no-secret" },
        { client_id: "plain", client_secret: "s" },
        { client_id: "jwt", token_endpoint_auth_method: "private_key_jwt" },
        {
          client_id: "jwt-private",
          token_endpoint_auth_method: "private_key_jwt",
          jwks: { keys: [{ ...jwk, d: "secret" }] },
        },
        { client_id: "tls", token_endpoint_auth_method: "tls_client_auth" },
        { client_id: "self", token_endpoint_auth_method: "self_signed_tls_client_auth", jwks: { keys: [jwk] } },
        secretClient({ client_id: "haapi", scope: "urn:se:curity:scopes:haapi" }),
      ],
    });
    expect(list).toEqual([
      'clients[1].client_id: duplicate value "dup" (also clients[0])',
      "clients[2].client_secret_hash: required for client_secret_basic",
      'clients[3].client_secret: plain-text secrets are only accepted when environment is "development"; use client_secret_hash (npm run hash-secret)',
      "clients[4].jwks: required for private_key_jwt",
      "clients[5].jwks.keys[0].d: private key material; publish only the public key",
      "clients[6].tls_client_auth_subject_dn: tls_client_auth needs exactly one of tls_client_auth_subject_dn or tls_client_auth_san_* (RFC 8705 §2.1.2), got 0",
      "clients[7].jwks: self_signed_tls_client_auth needs at least one key with an x5c certificate",
      "clients[8].capabilities.haapi: required because scope contains urn:se:curity:scopes:haapi",
    ]);
  });

  it("a malformed secret hash", () => {
    expect(problems({ issuer: ISSUER, clients: [secretClient({ client_secret_hash: "sha256$short" })] })[0]).toMatch(
      /^clients\[0\]\.client_secret_hash: must be/,
    );
  });

  it("the issuer must be an origin, https outside development", () => {
    expect(problems({ issuer: "https://login.example.com/tenant" })[0]).toMatch(/^issuer: must be an origin/);
    expect(problems({ issuer: "https://login.example.com/" })[0]).toMatch(/^issuer: must be an origin/);
    expect(problems({ issuer: "http://login.example.com" })[0]).toMatch(/^issuer: must use https/);
    expect(() => parseConfig({ issuer: "http://127.0.0.1:8787" })).not.toThrow();
  });

  it("applies the documented defaults", () => {
    const config = parseConfig({ issuer: ISSUER, clients: [secretClient()] });
    expect(config.environment).toBe("production");
    expect(config.access_token_ttl).toBe(600);
    expect(config.dpop).toEqual({
      signing_alg_values: ["ES256", "EdDSA", "PS256", "RS256"],
      clock_skew: 60,
      require_nonce: false,
      nonce_step: 60,
    });
    expect(config.mtls.certificate_header).toBeNull();
    expect(config.signing_keys.rotation_period).toBe(30 * 86_400);
    const client = config.clientsById.get("c")!;
    expect(client).toMatchObject({
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["client_credentials"],
      scope: "",
      dpop_bound_access_tokens: false,
      capabilities: {},
    });
    expect(config.endpoints.token).toBe(`${ISSUER}/oauth/v2/oauth-token`);
  });

  it("the HAAPI capability defaults follow Curity's", () => {
    const config = parseConfig({
      issuer: ISSUER,
      clients: [secretClient({ scope: "urn:se:curity:scopes:haapi", capabilities: { haapi: {} } })],
    });
    expect(config.clients[0]!.capabilities.haapi).toEqual({
      allow_without_attestation: false,
      use_legacy_dpop: false,
      access_token_ttl: 600,
      issue_token_bound_authorization_code: false,
    });
  });

  it("derives the longest token lifetime (how long a retired signing key stays published)", () => {
    const config = parseConfig({
      issuer: ISSUER,
      access_token_ttl: 300,
      login: { id_token_ttl: 600 },
      clients: [
        secretClient({ client_id: "a", access_token_ttl: 900 }),
        secretClient({
          client_id: "b",
          scope: "urn:se:curity:scopes:haapi",
          capabilities: { haapi: { access_token_ttl: 1200 } },
        }),
      ],
    });
    expect(config.maxTokenTtl).toBe(1200);
    // ID tokens are signed too: by default login.id_token_ttl (3600) is the longest lifetime.
    expect(parseConfig({ issuer: ISSUER }).maxTokenTtl).toBe(3600);
    expect(parseConfig({ issuer: ISSUER, login: { id_token_ttl: 60 } }).maxTokenTtl).toBe(600);
    expect(parseConfig({ issuer: ISSUER, login: { id_token_ttl: 7200 } }).maxTokenTtl).toBe(7200);
  });

  it("is frozen", () => {
    const config = parseConfig({ issuer: ISSUER, clients: [secretClient()] });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.clients[0])).toBe(true);
    expect(Object.isFrozen(config.dpop.signing_alg_values)).toBe(true);
  });

  it("the bundled development configuration is valid and has dev-client", () => {
    const config = parseConfig(DEVELOPMENT_CONFIG);
    const client = config.clientsById.get("dev-client")!;
    expect(client).toMatchObject({
      client_secret: "dev-secret",
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["client_credentials", "authorization_code", "refresh_token"],
      redirect_uris: ["app://haapi"],
    });
    expect([...client.scopes]).toEqual(["urn:se:curity:scopes:haapi", "openid", "profile", "email"]);
    expect(client.capabilities.haapi?.allow_without_attestation).toBe(true);
    // Apps log in with the form; the browser client may also approve on a phone enrolled through the simulator.
    expect(client.authenticators).toEqual(["html-form"]);
    expect(config.authenticators).toEqual([
      { id: "html-form", type: "html-form" },
      { id: "mobile-approval", type: "uaf-mobile-approval", title: "Approve on your phone" },
    ]);
    expect(config.clientsById.get("web-client")!.authenticators).toEqual(["html-form", "mobile-approval"]);
    expect(config.uaf.facets).toEqual([
      "android:apk-key-hash:yK1xYp+Qu1rpQtNFud4OJZBKXFg",
      "ios:bundle-id:io.haapiedge.simulator",
    ]);
    expect(config.usersByName.get("demo")).toMatchObject({
      username: "demo",
      password: "demo-password",
      claims: { email: "demo@example.com", email_verified: true },
    });
  });

  it("accepts the configuration as a JSON string or an object", () => {
    const document = { issuer: ISSUER, clients: [secretClient()] };
    expect(parseConfig(JSON.stringify(document)).issuer).toBe(parseConfig(document).issuer);
  });
});

describe("parseSigningKeys (the SIGNING_KEYS secret)", () => {
  it("names the bad member", () => {
    expect(() => parseSigningKeys("nope")).toThrow("SIGNING_KEYS: not valid JSON");
    expect(() => parseSigningKeys('{"keys":[]}')).toThrow("SIGNING_KEYS.keys: required");
    try {
      parseSigningKeys(
        JSON.stringify({
          keys: [
            { kty: "RSA", kid: "a" },
            { kty: "EC", crv: "P-256", x: "x", y: "y", d: "d" },
          ],
        }),
      );
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'SIGNING_KEYS.keys[0]: must be an EC P-256 private key (kty "EC", crv "P-256", x, y, d)',
        "SIGNING_KEYS.keys[1].kid: required",
      ]);
    }
  });

  it("publishes only public members", () => {
    const [key] = parseSigningKeys(
      JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y", d: "d", kid: "k1" }] }),
    );
    expect(key!.publicJwk).toEqual({ kty: "EC", crv: "P-256", x: "x", y: "y", kid: "k1", alg: "ES256", use: "sig" });
  });
});

describe("attestation configuration", () => {
  const haapiClient = (attestation: Record<string, unknown>, overrides: Record<string, unknown> = {}) =>
    secretClient({ scope: "urn:se:curity:scopes:haapi", capabilities: { haapi: {} }, attestation, ...overrides });
  const android = {
    package_names: ["com.example.app"],
    signature_digests: ["EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE="],
  };
  const testRoot = (
    DEVELOPMENT_CONFIG as { attestation_policies: { android: { simulator: { trust_anchors: string[] } } } }
  ).attestation_policies.android.simulator.trust_anchors[0]!;

  it("a client without a policy gets the strictest defaults; a named policy is resolved", () => {
    const config = parseConfig({
      issuer: ISSUER,
      attestation_policies: { ios: { dev: { mode: "non-production", haapi_access_token_ttl: 900 } } },
      login: { id_token_ttl: 60 },
      clients: [haapiClient({ android, ios: { app_id: "ABCDE12345.com.example.app", policy: "dev" } })],
    });
    const client = config.clientsById.get("c")!;
    expect(client.attestationPolicies.android).toEqual({
      verify_boot_state: true,
      minimum_security_level: "trusted-environment",
      do_not_validate_certificate_chain: false,
      allow_software_root: false,
      revocation: "fail-closed",
      haapi_access_token_ttl: 600,
    });
    expect(client.attestationPolicies.ios).toEqual({ mode: "non-production", haapi_access_token_ttl: 900 });
    expect(config.maxTokenTtl).toBe(900);
    expect(config.attestation).toEqual({
      challenge_ttl: 120,
      cat_ttl: 120,
      revocation_list_url: "https://android.googleapis.com/attestation/status",
      revocation_list_cache_ttl: 3600,
      pop_max_age: 300,
    });
  });

  it("names each wrong field", () => {
    const list = problems({
      issuer: ISSUER,
      attestation_policies: {
        android: {
          lax: {
            do_not_validate_certificate_chain: true,
            allow_software_root: true,
            trust_anchors: ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"],
          },
        },
      },
      clients: [
        haapiClient({ android: { ...android, policy: "missing" }, disable_attestation_validation: true }),
        haapiClient(
          { android: { ...android, signature_digests: ["abc"] }, ios: { app_id: "com.example.app" } },
          { client_id: "d" },
        ),
        haapiClient({}, { client_id: "e" }),
        secretClient({ client_id: "f", attestation: { android } }),
      ],
    });
    expect(list).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^clients\[1\]\.attestation\.android\.signature_digests\[0\]: must be the base64 SHA-256 digest/,
        ),
        expect.stringMatching(/^clients\[1\]\.attestation\.ios\.app_id: must be <team ID>\.<bundle ID>/),
      ]),
    );
    const crossField = problems({
      issuer: ISSUER,
      attestation_policies: {
        android: {
          lax: {
            do_not_validate_certificate_chain: true,
            allow_software_root: true,
            trust_anchors: ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"],
          },
        },
      },
      clients: [
        haapiClient({ android: { ...android, policy: "missing" }, disable_attestation_validation: true }),
        haapiClient({}, { client_id: "e" }),
        secretClient({ client_id: "f", attestation: { android } }),
      ],
    });
    // The exact list, in order, so that a problem reported twice fails the test.
    expect(crossField).toEqual([
      'clients[0].attestation.android.policy: no policy named "missing" in attestation_policies.android',
      'clients[0].attestation.disable_attestation_validation: only allowed when environment is "development"',
      "clients[1].attestation: configure at least one of android, ios or web",
      "clients[2].attestation: an attesting client needs capabilities.haapi and urn:se:curity:scopes:haapi in its scope",
      "attestation_policies.android.lax.trust_anchors[0]: not a readable certificate (not a single DER SEQUENCE)",
      'attestation_policies.android.lax.do_not_validate_certificate_chain: only allowed when environment is "development"',
      'attestation_policies.android.lax.allow_software_root: only allowed when environment is "development"',
    ]);
  });

  it("the simulator's test CA is trusted only in development", () => {
    const document = {
      issuer: ISSUER,
      attestation_policies: { android: { simulator: { trust_anchors: [testRoot] } } },
      clients: [haapiClient({ android: { ...android, policy: "simulator" } })],
    };
    expect(problems(document)).toEqual([
      'attestation_policies.android.simulator.trust_anchors[0]: the simulator\'s test CA is trusted only when environment is "development"',
    ]);
    expect(() => parseConfig({ ...document, environment: "development" })).not.toThrow();
  });
});

describe("clients without a secret (none, attest_jwt_client_auth)", () => {
  const android = {
    package_names: ["com.example.app"],
    signature_digests: ["EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE="],
  };
  const web = { allowed_origins: ["https://spa.example"] };
  const mobile = (overrides: Record<string, unknown> = {}) => ({
    client_id: "mobile",
    token_endpoint_auth_method: "attest_jwt_client_auth",
    grant_types: ["client_credentials", "authorization_code", "refresh_token"],
    scope: "urn:se:curity:scopes:haapi openid",
    capabilities: { haapi: { issue_token_bound_authorization_code: true } },
    attestation: { android },
    redirect_uris: ["app://haapi"],
    ...overrides,
  });
  const spa = (overrides: Record<string, unknown> = {}) => ({
    client_id: "spa",
    token_endpoint_auth_method: "none",
    grant_types: ["client_credentials", "authorization_code", "refresh_token"],
    scope: "urn:se:curity:scopes:haapi openid",
    capabilities: { haapi: {} },
    attestation: { web },
    redirect_uris: ["https://spa.example/callback"],
    ...overrides,
  });

  it("a production configuration with an attested secret-less mobile client and a public SPA client loads", () => {
    const config = parseConfig({
      issuer: ISSUER,
      clients: [
        mobile(),
        spa(),
        spa({
          client_id: "plain-spa",
          grant_types: ["authorization_code"],
          scope: "openid",
          capabilities: {},
          attestation: undefined,
        }),
      ],
    });
    expect(config.environment).toBe("production");
    expect(config.clientsById.get("mobile")).toMatchObject({ token_endpoint_auth_method: "attest_jwt_client_auth" });
    expect(config.clientsById.get("spa")).toMatchObject({ token_endpoint_auth_method: "none" });
    expect(config.clientsById.get("plain-spa")!.client_secret_hash).toBeUndefined();
  });

  it("a secret on either is an error naming the field", () => {
    expect(
      problems({
        issuer: ISSUER,
        clients: [
          mobile({ client_secret_hash: secretClient().client_secret_hash }),
          spa({ client_secret_hash: secretClient().client_secret_hash }),
        ],
      }),
    ).toEqual([
      "clients[0].client_secret: not used by attest_jwt_client_auth; remove it",
      "clients[1].client_secret: not used by none; remove it",
    ]);
  });

  it("attest_jwt_client_auth without attestation, and a public client with client_credentials but no attestation", () => {
    expect(
      problems({
        issuer: ISSUER,
        clients: [
          mobile({ attestation: undefined, scope: "openid", capabilities: {} }),
          spa({ attestation: undefined, scope: "openid", capabilities: {} }),
        ],
      }),
    ).toEqual([
      "clients[0].attestation: required for attest_jwt_client_auth (the CAT is the client's only credential)",
      "clients[1].grant_types: a public client (none) gets client_credentials only as a HAAPI token through a CAT; configure attestation or remove client_credentials",
    ]);
  });

  it("a HAAPI token without attestation, keys or certificate binding make no sense without a credential", () => {
    const jwks = { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y" }] };
    expect(
      problems({
        issuer: ISSUER,
        environment: "development",
        clients: [
          mobile({ capabilities: { haapi: { allow_without_attestation: true } } }),
          spa({ jwks, tls_client_certificate_bound_access_tokens: true }),
        ],
      }),
    ).toEqual([
      "clients[0].capabilities.haapi.allow_without_attestation: with attest_jwt_client_auth the client has no secret, so without attestation anyone could get its HAAPI tokens; remove it",
      "clients[1].jwks: not used by none; remove it",
      "clients[1].tls_client_certificate_bound_access_tokens: needs mTLS client authentication, not none",
    ]);
  });

  it("a registration template may not hand out public clients", () => {
    const list = problems({
      issuer: ISSUER,
      clients: [
        secretClient({ client_id: "main", scope: "dcr" }),
        {
          client_id: "tpl",
          token_endpoint_auth_method: "none",
          scope: "openid",
          dynamic_client_registration_template: { authenticate_client_by: ["main"] },
        },
      ],
    });
    expect(list).toEqual([
      "clients[1].token_endpoint_auth_method: a template's default method must be one of client_secret_basic, client_secret_post, private_key_jwt",
    ]);
  });

  it("the development configuration has web-spa (public, web attestation) and mobile-app (attest_jwt_client_auth)", () => {
    const config = parseConfig(DEVELOPMENT_CONFIG);
    expect(config.clientsById.get("web-spa")).toMatchObject({
      token_endpoint_auth_method: "none",
      redirect_uris: ["http://localhost:5173/callback"],
      attestation: { web: { allowed_origins: ["http://localhost:5173"] } },
    });
    expect(config.clientsById.get("web-spa")!.client_secret).toBeUndefined();
    expect(config.clientsById.get("mobile-app")).toMatchObject({
      token_endpoint_auth_method: "attest_jwt_client_auth",
      capabilities: { haapi: { issue_token_bound_authorization_code: true } },
    });
    expect(
      Object.keys(config.clientsById.get("mobile-app")!.attestation!).filter(
        (key) => key !== "disable_attestation_validation",
      ),
    ).toEqual(["android", "ios"]);
  });
});

describe("dynamic client registration templates", () => {
  const main = (overrides: Record<string, unknown> = {}) =>
    secretClient({ client_id: "main", scope: "dcr", ...overrides });
  const template = (overrides: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) => ({
    client_id: "tpl",
    scope: "openid",
    grant_types: ["client_credentials", "authorization_code"],
    redirect_uris: ["app://haapi"],
    dynamic_client_registration_template: { authenticate_client_by: ["main"], ...settings },
    ...overrides,
  });
  const valid = (clients: unknown[] = [main(), template()], extra: Record<string, unknown> = {}) => ({
    issuer: ISSUER,
    clients,
    ...extra,
  });

  it("the development configuration has both templates, their main clients and their settings", () => {
    const config = parseConfig(DEVELOPMENT_CONFIG);
    expect([...config.templatesById.keys()]).toEqual(["haapi-template-client", "haapi-jwt-template-client"]);
    expect(config.templatesById.get("haapi-template-client")).toMatchObject({
      dynamic_client_registration_template: {
        secret: true,
        device_keys: true,
        authenticate_client_by: ["haapi-client"],
      },
      token_endpoint_auth_method: "client_secret_basic",
      redirect_uris: ["app://haapi"],
      refresh_token_ttl: 3600,
    });
    expect(
      config.templatesById.get("haapi-jwt-template-client")!.dynamic_client_registration_template!
        .authenticate_client_by,
    ).toEqual(["haapi-jwt-client"]);
    for (const id of ["haapi-client", "haapi-jwt-client"])
      expect(config.clientsById.get(id)!.scopes.has("dcr")).toBe(true);
    expect(config.templatesById.has("dev-client")).toBe(false);
    expect(config.endpoints.registration).toBe("http://127.0.0.1:8787/token-service/oauth-registration");
  });

  it("applies the documented defaults", () => {
    const config = parseConfig(valid());
    expect(config.templatesById.get("tpl")!.dynamic_client_registration_template).toEqual({
      secret: true,
      device_keys: true,
      authenticate_client_by: ["main"],
    });
    expect(config.dynamic_client_registration).toEqual({
      initial_access_token_ttl: 120,
      client_secret_ttl: 0,
      unused_client_ttl: 86_400,
      rate_limit: { per_client: { requests: 600, window: 3600 }, per_source: { requests: 60, window: 3600 } },
      software_statement_issuers: [],
    });
    expect(config.refresh_token_ttl).toBe(30 * 86_400);
    expect(config.templatesById.has("main")).toBe(false);
  });

  it("accepts a main client's own rate limit, several main clients, a private_key_jwt template, and loopback or app redirect URIs", () => {
    const config = parseConfig(
      valid([
        main({ registration_rate_limit: { requests: 5, window: 60 } }),
        secretClient({ client_id: "main-2", scope: "dcr openid" }),
        template(
          {
            token_endpoint_auth_method: "private_key_jwt",
            redirect_uris: [
              "app://haapi",
              "http://127.0.0.1:3000/cb",
              "http://localhost/cb",
              "http://[::1]:8080/cb",
              "https://app.example.com/cb?x=1",
            ],
          },
          { secret: false, authenticate_client_by: ["main", "main-2"] },
        ),
      ]),
    );
    expect(config.clientsById.get("main")!.registration_rate_limit).toEqual({ requests: 5, window: 60 });
    expect(config.templatesById.get("tpl")!.redirect_uris).toHaveLength(5);
  });

  it("authenticate_client_by naming an unknown client", () => {
    expect(problems(valid([main(), template({}, { authenticate_client_by: ["main", "ghost"] })]))).toEqual([
      'clients[1].dynamic_client_registration_template.authenticate_client_by[1]: no client "ghost"',
    ]);
  });

  it("authenticate_client_by naming a template", () => {
    expect(
      problems(
        valid([main(), template(), template({ client_id: "tpl-2" }, { authenticate_client_by: ["main", "tpl"] })]),
      ),
    ).toEqual([
      'clients[2].dynamic_client_registration_template.authenticate_client_by[1]: "tpl" is itself a template',
    ]);
  });

  it("an empty authenticate_client_by", () => {
    expect(problems(valid([main(), template({}, { authenticate_client_by: [] })]))[0]).toMatch(
      /^clients\[1\]\.dynamic_client_registration_template\.authenticate_client_by: /,
    );
  });

  it("a template with a credential or attestation", () => {
    const jwks = { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y" }] };
    const attestation = {
      android: {
        package_names: ["com.example.app"],
        signature_digests: ["EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE="],
      },
    };
    expect(problems(valid([main(), template({ client_secret_hash: secretClient().client_secret_hash })]))).toEqual([
      "clients[1].client_secret_hash: a registration template is never used directly and takes no client_secret_hash",
    ]);
    expect(problems(valid([main(), template({ client_secret: "s" })], { environment: "development" }))).toEqual([
      "clients[1].client_secret: a registration template is never used directly and takes no client_secret",
    ]);
    expect(problems(valid([main(), template({ jwks })]))).toEqual([
      "clients[1].jwks: a registration template is never used directly and takes no jwks",
    ]);
    expect(
      problems(
        valid([main(), template({ scope: "urn:se:curity:scopes:haapi", capabilities: { haapi: {} }, attestation })]),
      ),
    ).toEqual(["clients[1].attestation: a registration template is never used directly and takes no attestation"]);
    expect(
      problems(
        valid([
          main(),
          template({ token_endpoint_auth_method: "tls_client_auth", tls_client_auth_san_dns: "device.example" }),
        ]),
      ),
    ).toEqual(
      expect.arrayContaining([
        "clients[1].tls_client_auth_san_dns: a registration template is never used directly and takes no tls_client_auth_san_dns",
      ]),
    );
  });

  it("a template with a signing alg, or a code flow without redirect URIs", () => {
    expect(
      problems(
        valid([
          main(),
          template({ token_endpoint_auth_method: "private_key_jwt", token_endpoint_auth_signing_alg: "ES256" }),
        ]),
      ),
    ).toEqual([
      "clients[1].token_endpoint_auth_signing_alg: a registration template is never used directly and takes no token_endpoint_auth_signing_alg",
    ]);
    expect(problems(valid([main(), template({ redirect_uris: [] })]))).toEqual([
      "clients[1].redirect_uris: required because grant_types contains authorization_code (dynamic clients may only narrow the template's redirect URIs)",
    ]);
  });

  it("a template with neither secret nor device_keys", () => {
    expect(problems(valid([main(), template({}, { secret: false, device_keys: false })]))).toEqual([
      "clients[1].dynamic_client_registration_template: enable secret or device_keys, or dynamic clients could not authenticate",
      "clients[1].token_endpoint_auth_method: client_secret_basic is disabled by dynamic_client_registration_template.secret",
    ]);
  });

  it("a template whose default method is not a dynamic client method", () => {
    for (const method of ["tls_client_auth", "self_signed_tls_client_auth"]) {
      expect(problems(valid([main(), template({ token_endpoint_auth_method: method })]))).toEqual([
        "clients[1].token_endpoint_auth_method: a template's default method must be one of client_secret_basic, client_secret_post, private_key_jwt",
      ]);
    }
  });

  it("a template whose default method its settings disable", () => {
    expect(
      problems(valid([main(), template({ token_endpoint_auth_method: "private_key_jwt" }, { device_keys: false })])),
    ).toEqual([
      "clients[1].token_endpoint_auth_method: private_key_jwt is disabled by dynamic_client_registration_template.device_keys",
    ]);
    expect(
      problems(valid([main(), template({ token_endpoint_auth_method: "client_secret_post" }, { secret: false })])),
    ).toEqual([
      "clients[1].token_endpoint_auth_method: client_secret_post is disabled by dynamic_client_registration_template.secret",
    ]);
  });

  it("a template with the HAAPI scope needs the HAAPI capability", () => {
    expect(problems(valid([main(), template({ scope: "urn:se:curity:scopes:haapi" })]))).toEqual([
      "clients[1].capabilities.haapi: required because scope contains urn:se:curity:scopes:haapi",
    ]);
  });

  it("the dcr scope on a client that no template names", () => {
    expect(problems(valid([main(), template(), secretClient({ client_id: "lonely", scope: "openid dcr" })]))).toEqual([
      'clients[2].scope: the dcr scope is for main clients; no template names "lonely" in authenticate_client_by',
    ]);
  });

  it("the dcr scope without the client_credentials grant", () => {
    expect(
      problems(valid([main({ grant_types: ["authorization_code"], redirect_uris: ["app://haapi"] }), template()])),
    ).toEqual(["clients[0].grant_types: client_credentials is needed to obtain an initial access token (scope dcr)"]);
    // Without redirect URIs the code grant is a second problem of its own.
    expect(problems(valid([main({ grant_types: ["authorization_code"] }), template()]))).toEqual([
      "clients[0].grant_types: client_credentials is needed to obtain an initial access token (scope dcr)",
      "clients[0].redirect_uris: required because grant_types contains authorization_code",
    ]);
  });

  it("the dcr scope in a template's scope", () => {
    expect(problems(valid([main(), template({ scope: "openid dcr" })]))).toEqual([
      "clients[1].scope: a template may not hand out the dcr scope",
    ]);
  });

  it("registration_rate_limit on a client that is not a main client, or on a template", () => {
    expect(
      problems(
        valid([
          main(),
          template(),
          secretClient({ client_id: "other", registration_rate_limit: { requests: 1, window: 60 } }),
        ]),
      ),
    ).toEqual([
      "clients[2].registration_rate_limit: only used by main clients (named in a template's authenticate_client_by)",
    ]);
    expect(problems(valid([main(), template({ registration_rate_limit: { requests: 1, window: 60 } })]))).toEqual([
      "clients[1].registration_rate_limit: a registration template is never used directly and takes no registration_rate_limit",
    ]);
  });

  it("a malformed registration rate limit", () => {
    expect(problems(valid([main({ registration_rate_limit: { requests: 0, window: 60 } }), template()]))[0]).toMatch(
      /^clients\[0\]\.registration_rate_limit\.requests: /,
    );
    expect(problems(valid([main({ registration_rate_limit: { requests: 1 } }), template()]))).toEqual([
      "clients[0].registration_rate_limit.window: required",
    ]);
  });

  it("a redirect URI with a fragment, http on a non-loopback host, a dangerous scheme, or not absolute", () => {
    const uris = [
      "app://haapi#frag",
      "https://app.example.com/cb#",
      "http://app.example.com/cb",
      "http://localhost.example.com/cb",
      "javascript:alert(1)",
      "data:text/html,x",
      "/relative/cb",
      "app://haapi",
    ];
    const list = problems(valid([main(), template({ redirect_uris: uris })]));
    expect(list).toHaveLength(uris.length - 1);
    for (const [i, problem] of list.entries()) {
      expect(problem).toMatch(
        new RegExp(`^clients\\[1\\]\\.redirect_uris\\[${i}\\]: must be an absolute URI without a fragment`),
      );
    }
  });

  it("a redirect URI on a configured (non-template) client is checked too", () => {
    expect(
      problems({ issuer: ISSUER, clients: [secretClient({ redirect_uris: ["http://app.example.com/cb"] })] })[0],
    ).toMatch(/^clients\[0\]\.redirect_uris\[0\]: /);
  });

  it("refresh_token_ttl bounds", () => {
    expect(problems({ issuer: ISSUER, refresh_token_ttl: 59 })[0]).toMatch(/^refresh_token_ttl: /);
    expect(problems(valid([main(), template({ refresh_token_ttl: 365 * 86_400 + 1 })]))[0]).toMatch(
      /^clients\[1\]\.refresh_token_ttl: /,
    );
  });

  it("software_statement_issuers jwks with a private member", () => {
    const document = valid(undefined, {
      dynamic_client_registration: {
        software_statement_issuers: [
          {
            issuer: "https://statements.example.com",
            jwks: {
              keys: [
                { kty: "EC", crv: "P-256", x: "x", y: "y" },
                { kty: "oct", k: "c2VjcmV0" },
              ],
            },
          },
        ],
      },
    });
    expect(problems(document)).toEqual([
      "dynamic_client_registration.software_statement_issuers[0].jwks.keys[1].k: private key material; publish only the public key",
    ]);
  });

  it("unknown fields in the template and the top-level section", () => {
    expect(problems(valid([main(), template({}, { secrets: true })]))).toEqual([
      "clients[1].dynamic_client_registration_template.secrets: unknown field",
    ]);
    expect(problems(valid(undefined, { dynamic_client_registration: { rate_limits: {} } }))).toEqual([
      "dynamic_client_registration.rate_limits: unknown field",
    ]);
  });

  it("the initial access token lifetime counts toward the longest token lifetime", () => {
    expect(
      parseConfig(
        valid(undefined, {
          access_token_ttl: 60,
          login: { id_token_ttl: 60 },
          dynamic_client_registration: { initial_access_token_ttl: 3600 },
        }),
      ).maxTokenTtl,
    ).toBe(3600);
  });
});

describe("login configuration (authenticators, users, login)", () => {
  const PASSWORD_HASH = "pbkdf2-sha256$1000$sys8IwtMuQTK6AfMgwwWfw$ikCjXTSNi8JsBfMTJ1LaqIGve3_mHOGRH6YtKoCk3dk";
  const loginClient = (overrides: Record<string, unknown> = {}) =>
    secretClient({
      grant_types: ["authorization_code", "refresh_token"],
      scope: "openid",
      redirect_uris: ["app://haapi"],
      ...overrides,
    });
  const user = (overrides: Record<string, unknown> = {}) => ({
    username: "demo",
    password_hash: PASSWORD_HASH,
    ...overrides,
  });

  it("applies the documented defaults", () => {
    const config = parseConfig({ issuer: ISSUER, clients: [loginClient()] });
    expect(config.login).toEqual({
      session_ttl: 900,
      authorization_code_ttl: 60,
      id_token_ttl: 3600,
      max_failed_attempts: 5,
      lockout: 900,
      per_source: { requests: 30, window: 900 },
      allow_user_registration: true,
      approval_link_ttl: 300,
      web_session_ttl: 3600,
    });
    expect(config.authenticators).toEqual([{ id: "html-form", type: "html-form" }]);
    expect([...config.authenticatorsById.keys()]).toEqual(["html-form"]);
    expect(config.users).toEqual([]);
    expect(config.refresh_token_ttl).toBe(30 * 86_400);
    const client = config.clientsById.get("c")!;
    expect(client.authenticators).toBeUndefined();
    expect(client.refresh_token_ttl).toBeUndefined();
    expect(parseConfig({ issuer: ISSUER, clients: [secretClient()] }).clients[0]!.redirect_uris).toEqual([]);
  });

  it("accepts several authenticators, a client's choice of them, and hashed users looked up case-insensitively", () => {
    const config = parseConfig({
      issuer: ISSUER,
      authenticators: [
        { id: "password", type: "html-form", title: "Password", acr: "urn:example:pwd" },
        { id: "other-form", type: "html-form" },
      ],
      users: [user({ username: "Alice.Example@mail", claims: { name: "Alice", email_verified: true, age: 30 } })],
      login: { session_ttl: 300, allow_user_registration: false },
      clients: [loginClient({ authenticators: ["other-form", "password"] })],
    });
    expect(config.authenticatorsById.get("password")).toEqual({
      id: "password",
      type: "html-form",
      title: "Password",
      acr: "urn:example:pwd",
    });
    expect(config.clients[0]!.authenticators).toEqual(["other-form", "password"]);
    expect(config.usersByName.get("alice.example@mail")).toMatchObject({
      username: "Alice.Example@mail",
      claims: { name: "Alice", email_verified: true, age: 30 },
    });
    expect(config.usersByName.has("Alice.Example@mail")).toBe(false);
    expect(config.login).toMatchObject({
      session_ttl: 300,
      allow_user_registration: false,
      authorization_code_ttl: 60,
    });
    expect(Object.isFrozen(config.users[0]!.claims)).toBe(true);
  });

  it("users: a duplicate username (case-insensitive), both or neither of password and password_hash", () => {
    expect(
      problems({
        issuer: ISSUER,
        environment: "development",
        users: [
          user({ username: "Demo" }),
          user({ username: "dEMO" }),
          user({ username: "both", password: "p" }),
          { username: "neither" },
        ],
      }),
    ).toEqual([
      'users[1].username: duplicate value "dEMO" (also users[0], case-insensitive)',
      "users[2].password_hash: give exactly one of password or password_hash",
      "users[3].password_hash: give exactly one of password or password_hash",
    ]);
  });

  it("users: a plain-text password only in development", () => {
    const document = { issuer: ISSUER, users: [{ username: "demo", password: "demo-password" }] };
    expect(problems(document)).toEqual([
      'users[0].password: plain-text passwords are only accepted when environment is "development"; use password_hash',
    ]);
    expect(parseConfig({ ...document, environment: "development" }).usersByName.get("demo")!.password).toBe(
      "demo-password",
    );
  });

  it("users: a malformed username, hash or claim", () => {
    const list = problems({
      issuer: ISSUER,
      users: [
        user({ username: "has space" }),
        user({
          username: "b",
          password_hash: "sha256$BjLIdOtslgCUu77CC6s0DQ$3jtATc-i7HIVcl-hYZD7Tr_SIRdUEMolgvDP8kccf0A",
        }),
        user({ username: "c", claims: { address: { country: "SE" } } }),
        user({ username: "d", role: "admin" }),
      ],
    });
    expect(list).toEqual([
      expect.stringMatching(/^users\[0\]\.username: must be 1 to 100 of/),
      expect.stringMatching(/^users\[1\]\.password_hash: must be "pbkdf2-sha256\$/),
      expect.stringMatching(/^users\[2\]\.claims\.address: /),
      "users[3].role: unknown field",
    ]);
  });

  it("authenticators: a duplicate id, and approval-link only in development", () => {
    const document = {
      issuer: ISSUER,
      authenticators: [
        { id: "form", type: "html-form" },
        { id: "approval", type: "approval-link" },
        { id: "form", type: "html-form", title: "Again" },
      ],
    };
    expect(problems(document)).toEqual([
      'authenticators[1].type: approval-link is a demonstration, only allowed when environment is "development"',
      'authenticators[2].id: duplicate value "form" (also authenticators[0])',
    ]);
    expect(problems({ ...document, environment: "development" })).toEqual([
      'authenticators[2].id: duplicate value "form" (also authenticators[0])',
    ]);
  });

  it("authenticators: an empty list, a malformed id, an unknown type", () => {
    expect(problems({ issuer: ISSUER, authenticators: [] })[0]).toMatch(/^authenticators: /);
    expect(problems({ issuer: ISSUER, authenticators: [{ id: "Form_1", type: "html-form" }] })).toEqual([
      "authenticators[0].id: must be lower-case letters, digits and dashes",
    ]);
    expect(problems({ issuer: ISSUER, authenticators: [{ id: "sms", type: "sms-otp" }] })[0]).toMatch(
      /^authenticators\[0\]\.type: unsupported value "sms-otp"/,
    );
  });

  it("a client naming an unknown authenticator", () => {
    expect(
      problems({
        issuer: ISSUER,
        authenticators: [{ id: "form", type: "html-form" }],
        clients: [loginClient({ authenticators: ["form", "html-form", "ghost"] })],
      }),
    ).toEqual([
      'clients[0].authenticators[1]: no authenticator "html-form"',
      'clients[0].authenticators[2]: no authenticator "ghost"',
    ]);
    expect(problems({ issuer: ISSUER, clients: [loginClient({ authenticators: [] })] })[0]).toMatch(
      /^clients\[0\]\.authenticators: /,
    );
  });

  it("authorization_code without redirect_uris", () => {
    expect(
      problems({
        issuer: ISSUER,
        clients: [loginClient({ redirect_uris: undefined }), loginClient({ client_id: "d", redirect_uris: [] })],
      }),
    ).toEqual([
      "clients[0].redirect_uris: required because grant_types contains authorization_code",
      "clients[1].redirect_uris: required because grant_types contains authorization_code",
    ]);
    // refresh_token alone (or client_credentials) needs none.
    expect(() =>
      parseConfig({
        issuer: ISSUER,
        clients: [secretClient({ grant_types: ["client_credentials", "refresh_token"] })],
      }),
    ).not.toThrow();
  });

  it("login bounds", () => {
    expect(problems({ issuer: ISSUER, login: { authorization_code_ttl: 601 } })[0]).toMatch(
      /^login\.authorization_code_ttl: /,
    );
    expect(problems({ issuer: ISSUER, login: { session_ttl: 59 } })[0]).toMatch(/^login\.session_ttl: /);
    expect(problems({ issuer: ISSUER, login: { max_failed_attempts: 0 } })[0]).toMatch(/^login\.max_failed_attempts: /);
    expect(problems({ issuer: ISSUER, login: { consent: true } })).toEqual(["login.consent: unknown field"]);
  });

  it("uaf: facet IDs, access keys, authorization and AAIDs, each naming its field", () => {
    const production = { issuer: "https://as.example" };
    expect(problems({ ...production, uaf: { facets: ["android:apk-key-hash:not-a-hash"] } })).toEqual([
      "uaf.facets[0]: not a facet ID (facet_android_hash_invalid)",
    ]);
    expect(problems({ ...production, uaf: { facets: ["ios:bundle-id:io.example.app", "ftp://x"] } })).toEqual([
      "uaf.facets[1]: not a facet ID (facet_scheme_unknown)",
    ]);
    expect(problems({ ...production, uaf: { api_access_key: "0123456789abcdef0123" } })[0]).toMatch(
      /^uaf\.api_access_key: plain-text keys are only accepted when environment is "development"/,
    );
    expect(problems({ ...production, uaf: { api_access_key_hash: "0123" } })[0]).toMatch(
      /^uaf\.api_access_key_hash: must be "sha256\$<salt>\$<digest>"/,
    );
    expect(problems({ ...production, uaf: { authorization: "none" } })[0]).toMatch(
      /^uaf\.authorization: "none" .* only allowed when environment is "development"/,
    );
    expect(problems({ ...production, uaf: { aaids: ["F1D0#0001", "F1D0#0001"] } })).toEqual([
      'uaf.aaids[1]: duplicate value "F1D0#0001" (also uaf.aaids[0])',
    ]);
    expect(problems({ ...production, uaf: { aaids: ["f1d0-0001"] } })[0]).toMatch(/^uaf\.aaids\[0\]: must be an AAID/);
    expect(
      problems({
        ...production,
        uaf: { attestation: { metadata_roots: ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"] } },
      })[0],
    ).toMatch(/^uaf\.attestation\.metadata_roots\[0\]: not a readable certificate/);
    expect(
      problems({
        ...production,
        uaf: { enabled: false },
        authenticators: [{ id: "mobile", type: "uaf-mobile-approval" }],
      }),
    ).toEqual(["authenticators[0].type: uaf-mobile-approval needs the UAF server (uaf.enabled is false)"]);
    expect(problems({ ...production, uaf: { counter_regression: "ignore" } })[0]).toMatch(/^uaf\.counter_regression: /);
  });
});
