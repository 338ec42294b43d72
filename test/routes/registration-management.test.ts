/**
 * The client configuration endpoint (RFC 7592), through HTTP: a dynamic client reads, replaces and
 * deletes its registration with the registration access token it was given, and nothing else opens it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { exportJWK, generateKeyPair } from "jose";
import { HAAPI_SCOPE, newDevice } from "../helpers/attestation";
import { basic, jsonOf, tokenRequest } from "../helpers/server";
import { haapiTokenWith, REGISTRATION_URL, registrationRequest } from "../helpers/registration";

type Registered = Record<string, any>;

const TEMPLATE = {
  client_name: "Per-device clients (test)",
  scope: `${HAAPI_SCOPE} openid profile`,
  grant_types: ["client_credentials", "authorization_code", "refresh_token"],
  response_types: ["code"],
  redirect_uris: ["app://haapi", "https://app.example/callback"],
};

/** A dynamic client of dcr-template, registered by dcr-main authenticating directly. */
async function register(metadata: Record<string, unknown> = {}): Promise<Registered> {
  const response = await registrationRequest(
    { software_id: "dcr-template", ...metadata },
    { authorization: basic("dcr-main", "dcr-main-secret") },
  );
  const body = await jsonOf(response);
  if (response.status !== 201) throw new Error(`registration: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** A request to the client's configuration endpoint; `token` defaults to the client's own registration token. */
function manage(
  client: Registered,
  method: string,
  options: { body?: unknown; token?: string | null; authorization?: string; url?: string } = {},
): Promise<Response> {
  const token = options.token === undefined ? (client.registration_access_token as string) : options.token;
  const authorization = options.authorization ?? (token === null ? undefined : `Bearer ${token}`);
  return registrationRequest(options.body ?? {}, {
    method,
    url: options.url ?? (client.registration_client_uri as string),
    ...(authorization !== undefined ? { authorization } : {}),
  });
}

/** The client information a GET returns: what the registration returned, less the one-time secrets. */
function informationOf(client: Registered): Registered {
  const { client_secret: _secret, registration_access_token: _token, ...information } = client;
  return information;
}

async function read(client: Registered): Promise<Registered> {
  const response = await manage(client, "GET");
  const body = await jsonOf(response);
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body;
}

function clientCredentials(client: Registered, scope: string): Promise<Response> {
  return tokenRequest({
    body: { grant_type: "client_credentials", scope },
    headers: { Authorization: basic(client.client_id, client.client_secret) },
  });
}

async function expectError(response: Response, status: number, error: string): Promise<Record<string, unknown>> {
  const body = await jsonOf(response);
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(body.error).toBe(error);
  return body;
}

async function expectInvalidToken(response: Response): Promise<void> {
  await expectError(response, 401, "invalid_token");
  expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer error="invalid_token"/);
}

// The first request creates the server's signing keys; under load that alone can outlast a test's timeout.
beforeAll(async () => {
  await register();
}, 60_000);

describe("GET: read the registration", () => {
  it("returns the client information without the secret or the registration access token", async () => {
    const client = await register();
    const response = await manage(client, "GET");
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const information = await jsonOf(response);
    expect(information).not.toHaveProperty("client_secret");
    expect(information).not.toHaveProperty("registration_access_token");
    expect(information).toEqual(informationOf(client));
    expect(information).toMatchObject({
      client_id: client.client_id,
      client_id_issued_at: client.client_id_issued_at,
      client_secret_expires_at: 0,
      registration_client_uri: `${REGISTRATION_URL}/${client.client_id}`,
      software_id: "dcr-template",
      token_endpoint_auth_method: "client_secret_basic",
      ...TEMPLATE,
    });
  });

  it("reading is repeatable", async () => {
    const client = await register();
    expect(await read(client)).toEqual(await read(client));
  });
});

describe("PUT: replace the metadata", () => {
  it("narrows scope and redirect_uris, and the token endpoint honours the narrowed scope", async () => {
    const client = await register();
    expect((await clientCredentials(client, "openid")).status).toBe(200);

    const response = await manage(client, "PUT", {
      body: { client_id: client.client_id, scope: HAAPI_SCOPE, redirect_uris: ["app://haapi"] },
    });
    const updated = await jsonOf(response);
    expect(response.status, JSON.stringify(updated)).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(updated).not.toHaveProperty("client_secret");
    expect(updated).not.toHaveProperty("registration_access_token");
    expect(updated).toMatchObject({
      client_id: client.client_id,
      scope: HAAPI_SCOPE,
      redirect_uris: ["app://haapi"],
      grant_types: TEMPLATE.grant_types,
    });
    expect(await read(client)).toEqual(updated);

    await expectError(await clientCredentials(client, "openid"), 400, "invalid_scope");
    await expectError(await clientCredentials(client, "profile"), 400, "invalid_scope");
    // The secret is unchanged by an update, and the scope kept still works.
    const haapi = await haapiTokenWith(
      { authorization: basic(client.client_id, client.client_secret) },
      await newDevice(),
    );
    expect(haapi.status).toBe(200);
    expect((await jsonOf(haapi)).scope).toBe(HAAPI_SCOPE);
  });

  it("replaces, not merges: members left out fall back to the template's", async () => {
    const client = await register({
      client_name: "Mine",
      scope: "openid",
      grant_types: ["client_credentials"],
      redirect_uris: ["app://haapi"],
      software_version: "1.0",
    });
    expect(client).toMatchObject({
      client_name: "Mine",
      scope: "openid",
      grant_types: ["client_credentials"],
      response_types: [],
      software_version: "1.0",
    });
    const response = await manage(client, "PUT", { body: { client_id: client.client_id } });
    const updated = await jsonOf(response);
    expect(response.status, JSON.stringify(updated)).toBe(200);
    expect(updated).toMatchObject({
      ...TEMPLATE,
      software_id: "dcr-template",
      token_endpoint_auth_method: "client_secret_basic",
    });
    expect(updated).not.toHaveProperty("software_version");
    expect(await read(client)).toEqual(updated);
    expect((await clientCredentials(client, "profile")).status).toBe(200);
  });

  it("the issued client_secret may be sent and must match", async () => {
    const client = await register();
    const before = await read(client);
    await expectError(
      await manage(client, "PUT", { body: { client_id: client.client_id, client_secret: `${client.client_secret}x` } }),
      400,
      "invalid_client_metadata",
    );
    await expectError(
      await manage(client, "PUT", { body: { client_id: client.client_id, client_secret: 42 } }),
      400,
      "invalid_client_metadata",
    );
    expect(await read(client)).toEqual(before);

    const response = await manage(client, "PUT", {
      body: { client_id: client.client_id, client_secret: client.client_secret, scope: "openid" },
    });
    const updated = await jsonOf(response);
    expect(response.status, JSON.stringify(updated)).toBe(200);
    expect(updated.scope).toBe("openid");
    expect(updated).not.toHaveProperty("client_secret");
    expect((await clientCredentials(client, "openid")).status).toBe(200);
  });

  it("a client without a secret (private_key_jwt) cannot send one", async () => {
    const { publicKey } = await generateKeyPair("ES256", { extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "device-1" }] };
    const client = await register({ jwks });
    expect(client.token_endpoint_auth_method).toBe("private_key_jwt");
    await expectError(
      await manage(client, "PUT", { body: { client_id: client.client_id, jwks, client_secret: "anything" } }),
      400,
      "invalid_client_metadata",
    );
    const switched = await expectError(
      await manage(client, "PUT", {
        body: { client_id: client.client_id, token_endpoint_auth_method: "client_secret_basic" },
      }),
      400,
      "invalid_client_metadata",
    );
    expect(switched.error_description).toContain("token_endpoint_auth_method");
    // Without the secret, and with its keys, the same update is fine.
    const response = await manage(client, "PUT", { body: { client_id: client.client_id, jwks, scope: HAAPI_SCOPE } });
    expect(response.status).toBe(200);
    expect((await jsonOf(response)).jwks).toEqual(jwks);
  });

  describe("refused, leaving the stored client unchanged", () => {
    const cases: {
      name: string;
      body: (client: Registered) => Record<string, unknown>;
      error: string;
      field: string;
    }[] = [
      {
        name: "a scope the template does not allow",
        body: (c) => ({ client_id: c.client_id, scope: "openid write" }),
        error: "invalid_client_metadata",
        field: "scope",
      },
      {
        name: "a grant type the template does not allow",
        body: (c) => ({ client_id: c.client_id, grant_types: ["client_credentials", "password"] }),
        error: "invalid_client_metadata",
        field: "grant_types",
      },
      {
        name: "a redirect URI the template does not allow",
        body: (c) => ({ client_id: c.client_id, redirect_uris: ["https://evil.example/callback"] }),
        error: "invalid_redirect_uri",
        field: "redirect_uris",
      },
      {
        name: "client_id missing",
        body: () => ({ scope: "openid" }),
        error: "invalid_client_metadata",
        field: "client_id",
      },
      {
        name: "another client_id",
        body: () => ({ client_id: "b".repeat(64), scope: "openid" }),
        error: "invalid_client_metadata",
        field: "client_id",
      },
      {
        name: "client_id of the wrong type",
        body: () => ({ client_id: 1, scope: "openid" }),
        error: "invalid_client_metadata",
        field: "client_id",
      },
      {
        name: "registration_access_token sent",
        body: (c) => ({ client_id: c.client_id, registration_access_token: c.registration_access_token }),
        error: "invalid_client_metadata",
        field: "registration_access_token",
      },
      {
        name: "registration_client_uri sent",
        body: (c) => ({ client_id: c.client_id, registration_client_uri: c.registration_client_uri }),
        error: "invalid_client_metadata",
        field: "registration_client_uri",
      },
      {
        name: "client_secret_expires_at sent",
        body: (c) => ({ client_id: c.client_id, client_secret_expires_at: 0 }),
        error: "invalid_client_metadata",
        field: "client_secret_expires_at",
      },
      {
        name: "client_id_issued_at sent",
        body: (c) => ({ client_id: c.client_id, client_id_issued_at: c.client_id_issued_at }),
        error: "invalid_client_metadata",
        field: "client_id_issued_at",
      },
      {
        name: "a change of token_endpoint_auth_method",
        body: (c) => ({ client_id: c.client_id, token_endpoint_auth_method: "client_secret_post" }),
        error: "invalid_client_metadata",
        field: "token_endpoint_auth_method",
      },
      {
        name: "another template",
        body: (c) => ({ client_id: c.client_id, software_id: "dcr-attest-template" }),
        error: "invalid_client_metadata",
        field: "software_id",
      },
      {
        name: "a scope of the wrong type",
        body: (c) => ({ client_id: c.client_id, scope: ["openid"] }),
        error: "invalid_client_metadata",
        field: "scope",
      },
    ];

    for (const { name, body, error, field } of cases) {
      it(`${name}: 400 ${error}`, async () => {
        const client = await register({ scope: "openid", redirect_uris: ["app://haapi"] });
        const before = await read(client);
        const refused = await expectError(await manage(client, "PUT", { body: body(client) }), 400, error);
        expect(refused.error_description).toContain(field);
        expect(await read(client)).toEqual(before);
      });
    }

    it("a change from a secret to the device's own keys (private_key_jwt)", async () => {
      const client = await register();
      const before = await read(client);
      const { publicKey } = await generateKeyPair("ES256", { extractable: true });
      const jwks = { keys: [await exportJWK(publicKey)] };
      const switched = await expectError(
        await manage(client, "PUT", {
          body: { client_id: client.client_id, token_endpoint_auth_method: "private_key_jwt", jwks },
        }),
        400,
        "invalid_client_metadata",
      );
      expect(switched.error_description).toContain("token_endpoint_auth_method");
      // Keys alone keep the registered method, with which keys are not used.
      const keysAlone = await expectError(
        await manage(client, "PUT", { body: { client_id: client.client_id, jwks } }),
        400,
        "invalid_client_metadata",
      );
      expect(keysAlone.error_description).toContain("jwks");
      expect(await read(client)).toEqual(before);
      expect((await clientCredentials(client, "openid")).status).toBe(200);
    });

    it("a body that is not a JSON object of metadata", async () => {
      const client = await register();
      const before = await read(client);
      await expectError(
        await registrationRequest(null, {
          method: "PUT",
          url: client.registration_client_uri,
          authorization: `Bearer ${client.registration_access_token}`,
          raw: "{",
        }),
        400,
        "invalid_request",
      );
      await expectError(
        await registrationRequest([client.client_id], {
          method: "PUT",
          url: client.registration_client_uri,
          authorization: `Bearer ${client.registration_access_token}`,
        }),
        400,
        "invalid_client_metadata",
      );
      await expectError(
        await registrationRequest(null, {
          method: "PUT",
          url: client.registration_client_uri,
          authorization: `Bearer ${client.registration_access_token}`,
          headers: { "Content-Type": "text/plain" },
          raw: JSON.stringify({ client_id: client.client_id }),
        }),
        400,
        "invalid_request",
      );
      expect(await read(client)).toEqual(before);
    });
  });
});

describe("DELETE: remove the client", () => {
  it("204 with no body; the secret and the registration access token stop working at once", async () => {
    const client = await register();
    expect((await clientCredentials(client, "openid")).status).toBe(200);

    const response = await manage(client, "DELETE");
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");

    await expectError(await clientCredentials(client, "openid"), 401, "invalid_client");
    await expectInvalidToken(await manage(client, "GET"));
    await expectInvalidToken(await manage(client, "PUT", { body: { client_id: client.client_id } }));
    await expectInvalidToken(await manage(client, "DELETE"));
    // A PUT did not bring it back.
    await expectError(await clientCredentials(client, "openid"), 401, "invalid_client");
  });

  it("deleting one client leaves another one working", async () => {
    const [doomed, survivor] = await Promise.all([register(), register()]);
    expect((await manage(doomed, "DELETE")).status).toBe(204);
    expect((await clientCredentials(survivor, "openid")).status).toBe(200);
    expect(await read(survivor)).toEqual(informationOf(survivor));
  });
});

describe("authorization of the configuration endpoint", () => {
  const failures: {
    name: string;
    request: (client: Registered, other: Registered) => Partial<Parameters<typeof manage>[2]>;
  }[] = [
    { name: "no Authorization header", request: () => ({ token: null }) },
    { name: "a wrong registration access token", request: (c) => ({ token: `${c.registration_access_token}x` }) },
    {
      name: "a registration access token of the same length but another value",
      request: (c) => ({ token: "A".repeat((c.registration_access_token as string).length) }),
    },
    {
      name: "another client's registration access token",
      request: (_c, other) => ({ token: other.registration_access_token }),
    },
    {
      name: "the client's credentials with Basic instead of Bearer",
      request: (c) => ({ authorization: basic(c.client_id, c.client_secret) }),
    },
    {
      name: "the registration access token with Basic",
      request: (c) => ({ authorization: `Basic ${c.registration_access_token}` }),
    },
    {
      name: "the registration access token with DPoP",
      request: (c) => ({ authorization: `DPoP ${c.registration_access_token}` }),
    },
    { name: "Bearer without a token", request: () => ({ authorization: "Bearer " }) },
    { name: "a malformed client_id in the path", request: () => ({ url: `${REGISTRATION_URL}/nope` }) },
    {
      name: "a well-formed client_id that was never issued",
      request: () => ({ url: `${REGISTRATION_URL}/${"a".repeat(64)}` }),
    },
    {
      name: "an upper-case spelling of the client_id",
      request: (c) => ({ url: `${REGISTRATION_URL}/${(c.client_id as string).toUpperCase()}` }),
    },
    {
      name: "the other client's path with this client's token",
      request: (_c, other) => ({ url: other.registration_client_uri }),
    },
  ];

  for (const method of ["GET", "PUT", "DELETE"]) {
    describe(method, () => {
      for (const { name, request } of failures) {
        it(`${name}: 401 invalid_token, and the clients are untouched`, async () => {
          const [client, other] = await Promise.all([register({ scope: "openid" }), register({ scope: "profile" })]);
          const body = { client_id: client.client_id, scope: "openid profile" };
          await expectInvalidToken(await manage(client, method, { body, ...request(client, other) }));
          expect(await read(client)).toEqual(informationOf(client));
          expect(await read(other)).toEqual(informationOf(other));
        });
      }
    });
  }

  it("POST or PATCH on the client URI: 405 with Allow", async () => {
    const client = await register();
    for (const method of ["POST", "PATCH"]) {
      const response = await manage(client, method, { body: { client_id: client.client_id } });
      await expectError(response, 405, "method_not_allowed");
      expect(response.headers.get("Allow")).toBe("GET, PUT, DELETE");
    }
    expect(await read(client)).toEqual(informationOf(client));
  });

  it("GET on the registration endpoint itself: 405 with Allow POST", async () => {
    const response = await registrationRequest(undefined, { method: "GET" });
    await expectError(response, 405, "method_not_allowed");
    expect(response.headers.get("Allow")).toBe("POST");
  });
});
