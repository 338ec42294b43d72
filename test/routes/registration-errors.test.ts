/**
 * Refusals at the registration endpoint (RFC 7591 §3.2.2, RFC 6750 §3.1, RFC 9449 §7.1), through HTTP:
 * every bad request gets its precise status and error code, never a 500, and a refused registration
 * writes nothing: no client, no spent initial access token.
 */
import { createExecutionContext, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { base64url, decodeJwt, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { workerApp } from "../helpers/runtime";
import { configFor } from "../../src/config/load";
import type { DynamicClientRecord } from "../../src/kv/dynamic-client";
import { rateLimitKey } from "../../src/kv/rate-limiter";
import type { DynamicClientStore } from "../../src/kv/workers/classes";
import { RECORD } from "../../src/kv/workers/host";
import { testKeys } from "../helpers/runtime";
import { signAccessToken, type AccessTokenClaims } from "../../src/tokens/access-token";
import keys from "../fixtures/keys.json";
import testConfig from "../fixtures/test-config.json";
import { claimsOf, HAAPI_SCOPE } from "../helpers/attestation";
import { deviceKey, proof, replaceSegment, encodeJson, type DeviceKey } from "../helpers/dpop";
import {
  clientAssertion,
  freshSource,
  initialAccessToken,
  JWT_BEARER,
  REGISTRATION_URL,
  registrationRequest,
  type RegisterOptions,
} from "../helpers/registration";
import { basic, BASE, jsonOf, TOKEN_URL, tokenRequest } from "../helpers/server";
import { postStreamed, streamedBody } from "../helpers/streamed-body";

type Json = Record<string, any>;

const MAIN = basic("dcr-main", "dcr-main-secret");
const STATEMENT_ISSUER = "https://statements.example";

async function expectError(response: Response, status: number, error: string): Promise<Json> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = JSON.parse(text) as Json;
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe("string");
  return body;
}

async function expectCreated(response: Response): Promise<Json> {
  const body = await jsonOf(response);
  expect(response.status, JSON.stringify(body)).toBe(201);
  expect(body.client_id).toMatch(/^[0-9a-f]{64}$/);
  return body;
}

function register(body: unknown, options: RegisterOptions = {}): Promise<Response> {
  return registrationRequest(body, options);
}

/** `token` was not spent by whatever was refused before: it still registers a client. */
async function expectUnspent(token: string, metadata: Json = { software_id: "dcr-template" }): Promise<Json> {
  return expectCreated(await register(metadata, { authorization: `Bearer ${token}` }));
}

/** An access token signed with the server's own current key, for claims the token endpoint never issues. */
async function serverSignedToken(claims: Partial<AccessTokenClaims>, issuedAt: number): Promise<string> {
  const config = configFor(env.CONFIG);
  const serverKeys = await testKeys(Math.floor(Date.now() / 1000));
  return signAccessToken(
    serverKeys,
    {
      issuer: config.issuer,
      audience: config.issuer,
      subject: "dcr-main",
      clientId: "dcr-main",
      scope: "dcr",
      ttl: 120,
      cal: "none",
      ...claims,
    },
    issuedAt,
  );
}

async function statement(claims: Json, key: JWK = keys.otherJwtKey.private as JWK, header: Json = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: STATEMENT_ISSUER, software_id: "dcr-template", iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: "ES256", kid: key.kid as string, ...header })
    .sign(await importJWK(key, "ES256"));
}

// The first request creates the server's signing keys; under load that alone can outlast a test's timeout.
beforeAll(async () => {
  await initialAccessToken("dcr-main", "dcr-main-secret");
}, 60_000);

describe("the initial access token", () => {
  it("no credential at all: 401 invalid_token with a Bearer challenge, for every template", async () => {
    for (const software_id of ["dcr-template", "dcr-keys-template", "dcr-attest-template"]) {
      const response = await register({ software_id });
      await expectError(response, 401, "invalid_token");
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer error="invalid_token"/);
    }
  });

  it("an unsupported Authorization scheme: 401 invalid_token", async () => {
    const response = await register({ software_id: "dcr-template" }, { authorization: "Negotiate abc" });
    await expectError(response, 401, "invalid_token");
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer error="invalid_token"/);
  });

  const badTokens: { name: string; token: () => Promise<string> }[] = [
    { name: "garbage", token: async () => "not-a-token" },
    {
      name: "a JWT-shaped garbage",
      token: async () => `${encodeJson({ alg: "ES256", typ: "at+jwt" })}.${encodeJson({ scope: "dcr" })}.AAAA`,
    },
    {
      name: "a tampered signature",
      token: async () => {
        const token = await initialAccessToken("dcr-main", "dcr-main-secret");
        const signature = base64url.decode(token.split(".")[2]!);
        signature[10] = signature[10]! ^ 0xff;
        return replaceSegment(token, 2, base64url.encode(signature));
      },
    },
    {
      name: "a tampered payload (another main client)",
      token: async () => {
        const token = await initialAccessToken("dcr-other-main", "dcr-other-secret");
        return replaceSegment(token, 1, encodeJson({ ...claimsOf(token), client_id: "dcr-main", sub: "dcr-main" }));
      },
    },
    {
      name: "an expired token (signed by the server, issued 10 minutes ago)",
      token: () => serverSignedToken({}, Math.floor(Date.now() / 1000) - 600),
    },
    {
      name: "a token for another audience",
      token: () => serverSignedToken({ audience: "https://elsewhere.example" }, Math.floor(Date.now() / 1000)),
    },
    {
      name: "a token for a template, not a main client",
      token: () =>
        serverSignedToken({ clientId: "dcr-template", subject: "dcr-template" }, Math.floor(Date.now() / 1000)),
    },
    {
      name: "a token for an unknown client",
      token: () => serverSignedToken({ clientId: "nobody", subject: "nobody" }, Math.floor(Date.now() / 1000)),
    },
  ];

  for (const { name, token } of badTokens) {
    it(`${name}: 401 invalid_token with a Bearer challenge`, async () => {
      const response = await register({ software_id: "dcr-template" }, { authorization: `Bearer ${await token()}` });
      await expectError(response, 401, "invalid_token");
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer error="invalid_token"/);
    });
  }

  it("a token without the dcr scope (a normal client_credentials token): 403 insufficient_scope", async () => {
    const response = await tokenRequest({
      body: { grant_type: "client_credentials", scope: "read" },
      headers: { Authorization: basic("plain-client", "plain-secret") },
    });
    expect(response.status).toBe(200);
    const token = (await jsonOf(response)).access_token as string;
    const refused = await register({ software_id: "dcr-template" }, { authorization: `Bearer ${token}` });
    await expectError(refused, 403, "insufficient_scope");
    expect(refused.headers.get("WWW-Authenticate")).toBe('Bearer error="insufficient_scope", scope="dcr"');
    // The same, from a main client whose token was signed without dcr.
    const noDcr = await register(
      { software_id: "dcr-template" },
      { authorization: `Bearer ${await serverSignedToken({ scope: HAAPI_SCOPE }, Math.floor(Date.now() / 1000))}` },
    );
    await expectError(noDcr, 403, "insufficient_scope");
  });

  it("lives initial_access_token_ttl (120 s here), and the token endpoint says so", async () => {
    const response = await tokenRequest({
      body: { grant_type: "client_credentials", scope: "dcr" },
      headers: { Authorization: MAIN },
    });
    const body = await jsonOf(response);
    expect(response.status).toBe(200);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 120, scope: "dcr" });
    const claims = decodeJwt(body.access_token as string);
    expect(claims.exp! - claims.iat!).toBe(120);
    expect(claims).toMatchObject({ client_id: "dcr-main", scope: "dcr", aud: BASE });
  });

  it("five registrations racing with one token: exactly one 201, the others 401 invalid_token", async () => {
    const token = await initialAccessToken("dcr-main", "dcr-main-secret");
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => register({ software_id: "dcr-template" }, { authorization: `Bearer ${token}` })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([201, 401, 401, 401, 401]);
    for (const response of responses) {
      if (response.status === 201) await expectCreated(response);
      else await expectError(response, 401, "invalid_token");
    }
  });

  describe("DPoP-bound", () => {
    async function boundToken(key: DeviceKey): Promise<string> {
      const response = await tokenRequest({
        body: { grant_type: "client_credentials", scope: "dcr" },
        headers: { Authorization: MAIN, DPoP: await proof(key) },
      });
      const body = await jsonOf(response);
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(body.token_type).toBe("DPoP");
      expect(claimsOf(body.access_token as string).cnf).toEqual({ jkt: key.jkt });
      return body.access_token as string;
    }

    function withDpop(token: string, dpop: string | null): RegisterOptions {
      return { authorization: `DPoP ${token}`, ...(dpop !== null ? { headers: { DPoP: dpop } } : {}) };
    }

    it("refused as Bearer, or with a proof of another key, without ath, or for another URL; then accepted with its key", async () => {
      const key = await deviceKey();
      const other = await deviceKey();
      const token = await boundToken(key);
      const body = { software_id: "dcr-template" };

      const asBearer = await register(body, { authorization: `Bearer ${token}` });
      await expectError(asBearer, 401, "invalid_token");
      expect(asBearer.headers.get("WWW-Authenticate")).toMatch(/^DPoP error="invalid_token"/);

      const refusals: [string, string | null][] = [
        ["no proof", null],
        ["another key", await proof(other, { htu: REGISTRATION_URL, accessToken: token })],
        ["no ath", await proof(key, { htu: REGISTRATION_URL })],
        ["the ath of another token", await proof(key, { htu: REGISTRATION_URL, accessToken: `${token}x` })],
        ["the token endpoint's URL", await proof(key, { accessToken: token })],
        ["another method", await proof(key, { htu: REGISTRATION_URL, htm: "PUT", accessToken: token })],
      ];
      for (const [name, dpop] of refusals) {
        const response = await register(body, withDpop(token, dpop));
        expect(response.status, name).toBe(401);
        expect((await jsonOf(response)).error, name).toBe("invalid_dpop_proof");
        expect(response.headers.get("WWW-Authenticate"), name).toMatch(/^DPoP error="invalid_dpop_proof"/);
      }

      const accepted = await register(
        body,
        withDpop(token, await proof(key, { htu: REGISTRATION_URL, accessToken: token })),
      );
      await expectCreated(accepted);
      // Spent: a fresh, valid proof does not make it usable twice.
      const again = await register(
        body,
        withDpop(token, await proof(key, { htu: REGISTRATION_URL, accessToken: token })),
      );
      await expectError(again, 401, "invalid_token");
    });

    it("a token that is not DPoP-bound, sent with the DPoP scheme: 401 invalid_token, and it stays usable", async () => {
      const key = await deviceKey();
      const token = await initialAccessToken("dcr-main", "dcr-main-secret");
      const response = await register(
        { software_id: "dcr-template" },
        withDpop(token, await proof(key, { htu: REGISTRATION_URL, accessToken: token })),
      );
      await expectError(response, 401, "invalid_token");
      await expectUnspent(token);
    });
  });
});

describe("the dcr scope at the token endpoint", () => {
  /** The test configuration plus main clients for which the dcr rules are reachable without attestation. */
  const customEnv = {
    ...env,
    CONFIG: JSON.stringify({
      ...testConfig,
      clients: [
        // The config refuses a dcr scope on a client no template names as a main client.
        ...testConfig.clients.map((client) =>
          client.client_id === "dcr-attest-template"
            ? {
                ...client,
                dynamic_client_registration_template: {
                  authenticate_client_by: ["dcr-main", "dcr-read-main", "dcr-haapi-open"],
                },
              }
            : client,
        ),
        {
          client_id: "dcr-read-main",
          client_secret: "dcr-read-secret",
          scope: "read dcr",
          grant_types: ["client_credentials"],
        },
        {
          client_id: "dcr-haapi-open",
          client_secret: "dcr-haapi-open-secret",
          scope: `${HAAPI_SCOPE} dcr`,
          capabilities: { haapi: { allow_without_attestation: true } },
        },
      ],
    }),
  };
  const app = workerApp();
  async function customTokenRequest(
    clientId: string,
    secret: string,
    form: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return app.fetch(
      new Request(TOKEN_URL, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Authorization: basic(clientId, secret),
          ...headers,
        },
        body: new URLSearchParams({ grant_type: "client_credentials", ...form }).toString(),
      }),
      customEnv,
      createExecutionContext(),
    );
  }

  it("dcr must be requested alone: 400 invalid_scope", async () => {
    await expectError(
      await customTokenRequest("dcr-read-main", "dcr-read-secret", { scope: "dcr read" }),
      400,
      "invalid_scope",
    );
    // With the HAAPI scope: refused on the scope, before DPoP is even looked at.
    await expectError(
      await customTokenRequest("dcr-haapi-open", "dcr-haapi-open-secret", { scope: `dcr ${HAAPI_SCOPE}` }),
      400,
      "invalid_scope",
    );
  });

  // The dcr-alone rule is checked with the scope, before DPoP and the HAAPI attestation rule.
  it("dcr-main asking for dcr together with the HAAPI scope: 400 invalid_scope", async () => {
    await expectError(
      await tokenRequest({
        body: { grant_type: "client_credentials", scope: `dcr ${HAAPI_SCOPE}` },
        headers: { Authorization: MAIN },
      }),
      400,
      "invalid_scope",
    );
  });

  it("a client without dcr in its scope asking for it: 400 invalid_scope", async () => {
    await expectError(
      await tokenRequest({
        body: { grant_type: "client_credentials", scope: "dcr" },
        headers: { Authorization: basic("plain-client", "plain-secret") },
      }),
      400,
      "invalid_scope",
    );
    await expectError(
      await tokenRequest({
        body: { grant_type: "client_credentials", scope: "read dcr" },
        headers: { Authorization: basic("plain-client", "plain-secret") },
      }),
      400,
      "invalid_scope",
    );
  });

  it("no scope parameter never grants dcr, even to a main client that may have it", async () => {
    const response = await customTokenRequest("dcr-read-main", "dcr-read-secret", {});
    const body = await jsonOf(response);
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.scope).toBe("read");
    expect(claimsOf(body.access_token as string).scope).toBe("read");
    const dcr = await jsonOf(await customTokenRequest("dcr-read-main", "dcr-read-secret", { scope: "dcr" }));
    expect(dcr.scope).toBe("dcr");
  });
});

describe("who may register from which template", () => {
  it("software_id that names no template: 400 invalid_client_metadata, and the token is not spent", async () => {
    const token = await initialAccessToken("dcr-main", "dcr-main-secret");
    for (const software_id of ["nope", "plain-client", "dcr-main"]) {
      const refused = await expectError(
        await register({ software_id }, { authorization: `Bearer ${token}` }),
        400,
        "invalid_client_metadata",
      );
      expect(refused.error_description).toContain("software_id");
    }
    await expectUnspent(token);
  });

  it("software_id missing, empty or not a string: 400 invalid_client_metadata (before any authentication)", async () => {
    for (const body of [
      {},
      { software_id: "" },
      { software_id: 42 },
      { software_id: ["dcr-template"] },
      { software_id: null },
    ]) {
      const refused = await expectError(await register(body, { authorization: MAIN }), 400, "invalid_client_metadata");
      expect(refused.error_description).toContain("software_id");
      await expectError(await register(body), 400, "invalid_client_metadata");
    }
  });

  it("a template the main client may not use: 403 unauthorized_client, and its token is not spent", async () => {
    const basicResponse = await register(
      { software_id: "dcr-template" },
      { authorization: basic("dcr-other-main", "dcr-other-secret") },
    );
    await expectError(basicResponse, 403, "unauthorized_client");
    const token = await initialAccessToken("dcr-other-main", "dcr-other-secret");
    await expectError(
      await register({ software_id: "dcr-template" }, { authorization: `Bearer ${token}` }),
      403,
      "unauthorized_client",
    );
    await expectError(
      await register({ software_id: "dcr-attest-template" }, { authorization: `Bearer ${token}` }),
      403,
      "unauthorized_client",
    );
    // dcr-other-main may use dcr-keys-template.
    const { publicKey } = await generateKeyPair("ES256", { extractable: true });
    await expectUnspent(token, { software_id: "dcr-keys-template", jwks: { keys: [await exportJWK(publicKey)] } });
  });

  it("a wrong main-client secret: 401 invalid_client with a Basic challenge", async () => {
    const response = await register(
      { software_id: "dcr-template" },
      { authorization: basic("dcr-main", "wrong-secret") },
    );
    await expectError(response, 401, "invalid_client");
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
  });

  it("Basic for an unknown client, a template, or a client that is not a main client: 401 invalid_client / 403", async () => {
    await expectError(
      await register({ software_id: "dcr-template" }, { authorization: basic("nobody", "secret") }),
      401,
      "invalid_client",
    );
    await expectError(
      await register({ software_id: "dcr-template" }, { authorization: basic("dcr-template", "secret") }),
      401,
      "invalid_client",
    );
    await expectError(
      await register({ software_id: "dcr-template" }, { authorization: basic("plain-client", "plain-secret") }),
      403,
      "unauthorized_client",
    );
  });

  it("a dynamic client's own credentials do not authorize registrations", async () => {
    const client = await expectCreated(await register({ software_id: "dcr-template" }, { authorization: MAIN }));
    await expectError(
      await register({ software_id: "dcr-template" }, { authorization: basic(client.client_id, client.client_secret) }),
      401,
      "invalid_client",
    );
  });

  it("a private_key_jwt assertion signed with the wrong key: 401 invalid_client", async () => {
    const assertion = await clientAssertion("dcr-jwt-main", {}, keys.otherJwtKey.private as JWK);
    await expectError(
      await register({ software_id: "dcr-template", client_assertion_type: JWT_BEARER, client_assertion: assertion }),
      401,
      "invalid_client",
    );
  });

  it("a client assertion of the wrong type or missing: 400 invalid_request", async () => {
    const assertion = await clientAssertion("dcr-jwt-main");
    await expectError(
      await register({
        software_id: "dcr-template",
        client_assertion_type: "urn:example:other",
        client_assertion: assertion,
      }),
      400,
      "invalid_request",
    );
    await expectError(
      await register({ software_id: "dcr-template", client_assertion_type: JWT_BEARER }),
      400,
      "invalid_request",
    );
    await expectError(
      await register({ software_id: "dcr-template", client_assertion_type: JWT_BEARER, client_assertion: 42 }),
      400,
      "invalid_request",
    );
    // The assertion was not used by the refusals above.
    await expectCreated(
      await register({ software_id: "dcr-template", client_assertion_type: JWT_BEARER, client_assertion: assertion }),
    );
  });

  it("a client assertion for a main client registered with a secret: 401 invalid_client", async () => {
    const assertion = await clientAssertion("dcr-main");
    await expectError(
      await register({ software_id: "dcr-template", client_assertion_type: JWT_BEARER, client_assertion: assertion }),
      401,
      "invalid_client",
    );
  });
});

describe("metadata outside the template: 400, the field named, nothing registered", () => {
  async function deviceJwk(extra: Json = {}): Promise<Json> {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    return {
      public: { ...(await exportJWK(publicKey)), ...extra },
      private: { ...(await exportJWK(privateKey)), ...extra },
    };
  }

  const cases: { name: string; body: () => Promise<Json>; error?: string; field: string }[] = [
    {
      name: "a scope the template does not allow",
      body: async () => ({ software_id: "dcr-template", scope: "openid write" }),
      field: "scope",
    },
    { name: "an empty scope", body: async () => ({ software_id: "dcr-template", scope: "" }), field: "scope" },
    {
      name: "a grant type the template does not allow",
      body: async () => ({ software_id: "dcr-template", grant_types: ["client_credentials", "password"] }),
      field: "grant_types",
    },
    {
      name: "no grant types",
      body: async () => ({ software_id: "dcr-template", grant_types: [] }),
      field: "grant_types",
    },
    {
      name: "a redirect URI the template does not allow",
      body: async () => ({
        software_id: "dcr-template",
        redirect_uris: ["app://haapi", "https://evil.example/callback"],
      }),
      error: "invalid_redirect_uri",
      field: "redirect_uris",
    },
    {
      name: "token_endpoint_auth_method none",
      body: async () => ({ software_id: "dcr-template", token_endpoint_auth_method: "none" }),
      field: "token_endpoint_auth_method",
    },
    {
      name: "token_endpoint_auth_method tls_client_auth",
      body: async () => ({ software_id: "dcr-template", token_endpoint_auth_method: "tls_client_auth" }),
      field: "token_endpoint_auth_method",
    },
    {
      name: "jwks with private members",
      body: async () => ({ software_id: "dcr-template", jwks: { keys: [(await deviceJwk()).private] } }),
      field: "jwks.keys[0]",
    },
    {
      name: "jwks that is not a key set",
      body: async () => ({ software_id: "dcr-template", jwks: [(await deviceJwk()).public] }),
      field: "jwks",
    },
    {
      name: "a symmetric key",
      body: async () => ({ software_id: "dcr-template", jwks: { keys: [{ kty: "oct", k: "c2VjcmV0" }] } }),
      field: "jwks.keys[0]",
    },
    {
      name: "jwks_uri",
      body: async () => ({ software_id: "dcr-template", jwks_uri: "https://app.example/jwks" }),
      field: "jwks_uri",
    },
    {
      name: "a secret method on dcr-keys-template",
      body: async () => ({ software_id: "dcr-keys-template", token_endpoint_auth_method: "client_secret_basic" }),
      field: "token_endpoint_auth_method",
    },
    { name: "no keys on dcr-keys-template", body: async () => ({ software_id: "dcr-keys-template" }), field: "jwks" },
    {
      name: "private_key_jwt without jwks",
      body: async () => ({ software_id: "dcr-template", token_endpoint_auth_method: "private_key_jwt" }),
      field: "jwks",
    },
    {
      name: "jwks with a secret method",
      body: async () => ({
        software_id: "dcr-template",
        token_endpoint_auth_method: "client_secret_basic",
        jwks: { keys: [(await deviceJwk()).public] },
      }),
      field: "jwks",
    },
    {
      name: "dpop_bound_access_tokens false on dcr-keys-template",
      body: async () => ({
        software_id: "dcr-keys-template",
        jwks: { keys: [(await deviceJwk()).public] },
        dpop_bound_access_tokens: false,
      }),
      field: "dpop_bound_access_tokens",
    },
    {
      name: "dpop_bound_access_tokens as a string",
      body: async () => ({ software_id: "dcr-template", dpop_bound_access_tokens: "true" }),
      field: "dpop_bound_access_tokens",
    },
    { name: "scope as a number", body: async () => ({ software_id: "dcr-template", scope: 42 }), field: "scope" },
    {
      name: "grant_types as a string",
      body: async () => ({ software_id: "dcr-template", grant_types: "client_credentials" }),
      field: "grant_types",
    },
    {
      name: "redirect_uris as an object",
      body: async () => ({ software_id: "dcr-template", redirect_uris: { uri: "app://haapi" } }),
      field: "redirect_uris",
    },
    {
      name: "client_name as a number",
      body: async () => ({ software_id: "dcr-template", client_name: 7 }),
      field: "client_name",
    },
    {
      name: "response_types other than code",
      body: async () => ({ software_id: "dcr-template", response_types: ["token"] }),
      field: "response_types",
    },
    {
      name: "response_types code without the authorization_code grant",
      body: async () => ({
        software_id: "dcr-template",
        grant_types: ["client_credentials"],
        response_types: ["code"],
      }),
      field: "response_types",
    },
    {
      name: "token_endpoint_auth_signing_alg HS256",
      body: async () => ({
        software_id: "dcr-template",
        jwks: { keys: [(await deviceJwk()).public] },
        token_endpoint_auth_signing_alg: "HS256",
      }),
      field: "token_endpoint_auth_signing_alg",
    },
  ];

  for (const { name, body, error = "invalid_client_metadata", field } of cases) {
    it(`${name}: ${error}`, async () => {
      const refused = await expectError(await register(await body(), { authorization: MAIN }), 400, error);
      expect(refused.error_description.startsWith(`${field}:`), refused.error_description).toBe(true);
    });
  }

  it("none of these refusals spends the initial access token", async () => {
    const token = await initialAccessToken("dcr-main", "dcr-main-secret");
    for (const { name, body } of cases) {
      const response = await register(await body(), { authorization: `Bearer ${token}` });
      expect(response.status, name).toBe(400);
    }
    await expectUnspent(token);
  });

  it("unknown members are ignored and not echoed", async () => {
    const client = await expectCreated(
      await register(
        {
          software_id: "dcr-template",
          foo: "bar",
          logo_uri: "https://app.example/logo.png",
          contacts: [1, 2],
          nested: { deep: true },
        },
        { authorization: MAIN },
      ),
    );
    for (const member of ["foo", "logo_uri", "contacts", "nested"]) expect(client).not.toHaveProperty(member);
  });
});

/** A POST to the registration endpoint with any body, from a fresh source. */
function postRaw(body: BodyInit, headers: Record<string, string>): Promise<Response> {
  return exports.default.fetch(
    new Request(REGISTRATION_URL, {
      method: "POST",
      headers: { "CF-Connecting-IP": freshSource(), Authorization: MAIN, ...headers },
      body,
    }),
  );
}

describe("malformed requests", () => {
  const JSON_TYPE = { "Content-Type": "application/json" };
  const cases: { name: string; send: () => Promise<Response>; status: number; error: string }[] = [
    {
      name: "Content-Type text/plain",
      send: () => postRaw(JSON.stringify({ software_id: "dcr-template" }), { "Content-Type": "text/plain" }),
      status: 400,
      error: "invalid_request",
    },
    {
      name: "Content-Type form",
      send: () => postRaw("software_id=dcr-template", { "Content-Type": "application/x-www-form-urlencoded" }),
      status: 400,
      error: "invalid_request",
    },
    {
      name: "a body that is not JSON",
      send: () => postRaw("{software_id: dcr-template", JSON_TYPE),
      status: 400,
      error: "invalid_request",
    },
    { name: "an empty body", send: () => postRaw("", JSON_TYPE), status: 400, error: "invalid_request" },
    {
      name: "a body that is not UTF-8",
      send: () => postRaw(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), JSON_TYPE),
      status: 400,
      error: "invalid_request",
    },
    {
      name: "a JSON array",
      send: () => postRaw('[{"software_id":"dcr-template"}]', JSON_TYPE),
      status: 400,
      error: "invalid_client_metadata",
    },
    { name: "JSON null", send: () => postRaw("null", JSON_TYPE), status: 400, error: "invalid_client_metadata" },
    {
      name: "a JSON string",
      send: () => postRaw('"dcr-template"', JSON_TYPE),
      status: 400,
      error: "invalid_client_metadata",
    },
    {
      name: "a body over limits.max_body_bytes",
      send: () => postRaw(JSON.stringify({ software_id: "dcr-template", padding: "x".repeat(16_384) }), JSON_TYPE),
      status: 413,
      error: "invalid_request",
    },
    {
      name: "a streamed body over the limit, without Content-Length",
      send: () =>
        postStreamed(
          REGISTRATION_URL,
          { "CF-Connecting-IP": freshSource(), Authorization: MAIN, ...JSON_TYPE },
          streamedBody(8, 4096, " "),
        ),
      status: 413,
      error: "invalid_request",
    },
  ];

  for (const { name, send, status, error } of cases) {
    it(`${name}: ${status} ${error}`, async () => {
      await expectError(await send(), status, error);
    });
  }

  it("a JSON content type with parameters is accepted", async () => {
    await expectCreated(
      await postRaw(JSON.stringify({ software_id: "dcr-template" }), {
        "Content-Type": "Application/JSON; charset=utf-8",
      }),
    );
  });

  it("a refused malformed request does not spend the initial access token", async () => {
    const token = await initialAccessToken("dcr-main", "dcr-main-secret");
    await expectError(
      await register(null, { authorization: `Bearer ${token}`, raw: "[]" }),
      400,
      "invalid_client_metadata",
    );
    await expectError(await register(null, { authorization: `Bearer ${token}`, raw: "{" }), 400, "invalid_request");
    await expectUnspent(token);
  });
});

describe("software statements", () => {
  it("an approved statement registers, and its claims win over the body's", async () => {
    const signed = await statement({ client_name: "From statement", scope: "openid" });
    const client = await expectCreated(
      await register(
        { software_statement: signed, software_id: "dcr-keys-template", client_name: "From body", scope: HAAPI_SCOPE },
        { authorization: MAIN },
      ),
    );
    expect(client).toMatchObject({
      software_id: "dcr-template",
      client_name: "From statement",
      scope: "openid",
      token_endpoint_auth_method: "client_secret_basic",
    });
    // RFC 7591 §3.2.1: returned unmodified.
    expect(client.software_statement).toBe(signed);
    // Registered JWT claims are not client metadata.
    for (const claim of ["iss", "iat", "exp"]) expect(client).not.toHaveProperty(claim);
  });

  it("the statement is kept: GET returns it, and on PUT its claims still win; another statement is refused", async () => {
    const signed = await statement({ client_name: "From statement" });
    const client = await expectCreated(await register({ software_statement: signed }, { authorization: MAIN }));
    const auth = { Authorization: `Bearer ${client.registration_access_token}` };
    const uri = client.registration_client_uri as string;
    const read = await jsonOf(await exports.default.fetch(uri, { headers: auth }));
    expect(read.software_statement).toBe(signed);
    const put = (body: Record<string, unknown>) =>
      exports.default.fetch(uri, {
        method: "PUT",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    const updated = await put({ client_id: client.client_id, client_name: "Renamed", scope: HAAPI_SCOPE });
    expect(updated.status).toBe(200);
    expect(await jsonOf(updated)).toMatchObject({
      client_name: "From statement",
      scope: HAAPI_SCOPE,
      software_statement: signed,
    });
    await expectError(
      await put({ client_id: client.client_id, software_statement: await statement({ client_name: "Other" }) }),
      400,
      "invalid_client_metadata",
    );
  });

  it("a statement's claims are held to the template too: invalid_client_metadata", async () => {
    const refused = await expectError(
      await register({ software_statement: await statement({ scope: "write" }) }, { authorization: MAIN }),
      400,
      "invalid_client_metadata",
    );
    expect(refused.error_description).toContain("scope");
  });

  it("an issuer that is not approved: 400 unapproved_software_statement", async () => {
    const signed = await statement({ iss: "https://elsewhere.example" });
    await expectError(
      await register({ software_statement: signed, software_id: "dcr-template" }, { authorization: MAIN }),
      400,
      "unapproved_software_statement",
    );
  });

  const invalid: { name: string; statement: () => Promise<unknown> }[] = [
    { name: "a bad signature (another key, same kid)", statement: () => statement({}, keys.jwtClient.private as JWK) },
    {
      name: "a tampered payload",
      statement: async () =>
        replaceSegment(
          await statement({}),
          1,
          encodeJson({ iss: STATEMENT_ISSUER, software_id: "dcr-template", scope: "openid" }),
        ),
    },
    {
      name: "expired",
      statement: () =>
        statement({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }),
    },
    { name: "not yet valid", statement: () => statement({ nbf: Math.floor(Date.now() / 1000) + 3600 }) },
    { name: "not a JWT", statement: async () => "not-a-jwt" },
    { name: "not a string", statement: async () => 42 },
    {
      name: "alg none",
      statement: async () =>
        `${encodeJson({ alg: "none", typ: "JWT" })}.${encodeJson({ iss: STATEMENT_ISSUER, software_id: "dcr-template" })}.`,
    },
    {
      name: "alg HS256",
      statement: async () =>
        new SignJWT({ iss: STATEMENT_ISSUER, software_id: "dcr-template" })
          .setProtectedHeader({ alg: "HS256" })
          .sign(new TextEncoder().encode("a-shared-secret-of-at-least-32-bytes")),
    },
    { name: "without a software_id claim", statement: () => statement({ software_id: undefined }) },
    { name: "without an issuer", statement: () => statement({ iss: undefined }) },
  ];

  for (const { name, statement: make } of invalid) {
    it(`${name}: 400 invalid_software_statement`, async () => {
      await expectError(
        await register({ software_statement: await make(), software_id: "dcr-template" }, { authorization: MAIN }),
        400,
        "invalid_software_statement",
      );
    });
  }

  it("no refused statement spends the initial access token", async () => {
    const token = await initialAccessToken("dcr-main", "dcr-main-secret");
    await expectError(
      await register(
        { software_statement: await statement({ iss: "https://elsewhere.example" }), software_id: "dcr-template" },
        { authorization: `Bearer ${token}` },
      ),
      400,
      "unapproved_software_statement",
    );
    for (const { name, statement: make } of invalid) {
      const response = await register(
        { software_statement: await make(), software_id: "dcr-template" },
        { authorization: `Bearer ${token}` },
      );
      expect(response.status, name).toBe(400);
    }
    const client = await expectUnspent(token, {
      software_statement: await statement({ client_name: "From statement" }),
    });
    expect(client.client_name).toBe("From statement");
  });
});

describe("rate limits", () => {
  it("per main client: dcr-limited-main registers 3 clients, then 429 too_many_requests with Retry-After", async () => {
    const limited = basic("dcr-limited-main", "dcr-limited-secret");
    for (let i = 0; i < 3; i++)
      await expectCreated(await register({ software_id: "dcr-template" }, { authorization: limited }));
    const refused = await register({ software_id: "dcr-template" }, { authorization: limited });
    await expectError(refused, 429, "too_many_requests");
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    // Through an initial access token too; other main clients are not affected.
    const token = await initialAccessToken("dcr-limited-main", "dcr-limited-secret");
    await expectError(
      await register({ software_id: "dcr-template" }, { authorization: `Bearer ${token}` }),
      429,
      "too_many_requests",
    );
    await expectCreated(await register({ software_id: "dcr-template" }, { authorization: MAIN }));
  });

  it("per source: 30 requests from one address, even unauthenticated and malformed ones, then 429 for anything", async () => {
    const source = freshSource();
    const responses = await Promise.all(Array.from({ length: 30 }, () => register({}, { source })));
    for (const response of responses) await expectError(response, 400, "invalid_client_metadata");
    const refused = await register({ software_id: "dcr-template" }, { source, authorization: MAIN });
    await expectError(refused, 429, "too_many_requests");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    await expectError(await register({}, { source }), 429, "too_many_requests");
    // Another address is not affected.
    await expectCreated(await register({ software_id: "dcr-template" }, { authorization: MAIN }));
  });

  // Alarms are at-least-once: one that runs before the bucket refilled must not reset a drained limit.
  it("an alarm that runs before the bucket refilled does not reset the limit", async () => {
    const source = freshSource();
    await Promise.all(Array.from({ length: 30 }, () => register({}, { source })));
    await expectError(await register({}, { source }), 429, "too_many_requests");
    await runDurableObjectAlarm(
      env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`rate-limit:${rateLimitKey.registrationBySource(source)}`)),
    );
    await expectError(await register({}, { source }), 429, "too_many_requests");
  });
});

describe("clean-up of dynamic clients", () => {
  const now = () => Math.floor(Date.now() / 1000);

  function objectOf(clientId: string): DurableObjectStub<DynamicClientStore> {
    return env.DYNAMIC_CLIENTS.get(env.DYNAMIC_CLIENTS.idFromString(clientId));
  }

  async function changeRecord(
    clientId: string,
    change: (record: DynamicClientRecord) => Partial<DynamicClientRecord>,
  ): Promise<DynamicClientRecord> {
    return runInDurableObject(objectOf(clientId), (_instance: DynamicClientStore, state) => {
      const record = state.storage.kv.get<DynamicClientRecord>(RECORD);
      expect(record).toBeDefined();
      const updated = { ...record!, ...change(record!) };
      state.storage.kv.put(RECORD, updated);
      return updated;
    });
  }

  async function storedRecord(
    clientId: string,
  ): Promise<{ record: DynamicClientRecord | undefined; keys: number; alarm: number | null }> {
    return runInDurableObject(objectOf(clientId), async (_instance: DynamicClientStore, state) => ({
      record: state.storage.kv.get<DynamicClientRecord>(RECORD),
      keys: [...state.storage.kv.list()].length,
      alarm: await state.storage.getAlarm(),
    }));
  }

  function useClient(client: Json): Promise<Response> {
    return tokenRequest({
      body: { grant_type: "client_credentials", scope: "openid" },
      headers: { Authorization: basic(client.client_id, client.client_secret) },
    });
  }

  async function newClient(): Promise<Json> {
    return expectCreated(await register({ software_id: "dcr-template" }, { authorization: MAIN }));
  }

  it("a client that never obtained a token is deleted by the alarm once its unused deadline passes", async () => {
    const client = await newClient();
    const stored = await storedRecord(client.client_id);
    expect(stored.record).toMatchObject({
      used_at: null,
      unused_deadline: client.client_id_issued_at + 3600,
      secret_expires_at: 0,
    });
    expect(stored.alarm).toBe(stored.record!.unused_deadline * 1000);

    await changeRecord(client.client_id, () => ({ unused_deadline: now() - 1 }));
    expect(await runDurableObjectAlarm(objectOf(client.client_id))).toBe(true);

    expect(await storedRecord(client.client_id)).toEqual({ record: undefined, keys: 0, alarm: null });
    await expectError(await useClient(client), 401, "invalid_client");
    await expectError(
      await registrationRequest(undefined, {
        method: "GET",
        url: client.registration_client_uri,
        authorization: `Bearer ${client.registration_access_token}`,
      }),
      401,
      "invalid_token",
    );
  });

  it("a client that obtained a token is not deleted by the unused rule", async () => {
    const client = await newClient();
    expect((await useClient(client)).status).toBe(200);
    const used = await storedRecord(client.client_id);
    expect(used.record!.used_at).not.toBeNull();

    await changeRecord(client.client_id, () => ({ unused_deadline: now() - 1 }));
    await runDurableObjectAlarm(objectOf(client.client_id));

    expect((await storedRecord(client.client_id)).record).toMatchObject({
      client_id: client.client_id,
      used_at: used.record!.used_at,
    });
    expect((await useClient(client)).status).toBe(200);
  });

  it("a client whose secret expired is refused before any alarm runs, and the alarm deletes it", async () => {
    const client = await newClient();
    expect((await useClient(client)).status).toBe(200);
    await changeRecord(client.client_id, () => ({ secret_expires_at: now() - 1 }));

    await expectError(await useClient(client), 401, "invalid_client");
    await expectError(
      await registrationRequest(undefined, {
        method: "GET",
        url: client.registration_client_uri,
        authorization: `Bearer ${client.registration_access_token}`,
      }),
      401,
      "invalid_token",
    );
    // Refused, yet not yet deleted: that is the alarm's job.
    expect((await storedRecord(client.client_id)).record).toBeDefined();

    // An alarm pending (as when the secret's expiry was scheduled at registration), run now.
    await runInDurableObject(objectOf(client.client_id), (_instance: DynamicClientStore, state) =>
      state.storage.setAlarm(Date.now() + 600_000),
    );
    expect(await runDurableObjectAlarm(objectOf(client.client_id))).toBe(true);
    expect(await storedRecord(client.client_id)).toEqual({ record: undefined, keys: 0, alarm: null });
  });
});
