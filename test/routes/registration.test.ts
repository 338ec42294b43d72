/**
 * The attestation fallback, end to end through HTTP: a device that cannot attest registers a per-device
 * client from a template, authorized by the main client's credential, and gets HAAPI tokens with it.
 */
import { describe, expect, it } from "vitest";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import keys from "../fixtures/keys.json";
import { claimsOf, HAAPI_SCOPE, newDevice } from "../helpers/attestation";
import { basic, jsonOf, tokenRequest } from "../helpers/server";
import {
  clientAssertion,
  haapiTokenWith,
  initialAccessToken,
  initialAccessTokenByAssertion,
  JWT_BEARER,
  REGISTRATION_URL,
  registerClient,
  registrationRequest,
} from "../helpers/registration";

describe("fallback with a secret main client", () => {
  it("fails attestation, registers from the template, and gets HAAPI tokens with cal none", async () => {
    const device = await newDevice();
    // 1. The main client alone may not get a HAAPI token without attestation.
    const refused = await haapiTokenWith({ authorization: basic("dcr-main", "dcr-main-secret") }, device);
    expect(refused.status).toBe(400);
    expect((await jsonOf(refused)).error).toBe("unauthorized_client");

    // 2. Initial access token, then the registration.
    const token = await initialAccessToken("dcr-main", "dcr-main-secret");
    expect(claimsOf(token)).toMatchObject({ client_id: "dcr-main", scope: "dcr", cal: "none" });
    const client = await registerClient(token, { software_id: "dcr-template" });
    expect(client.client_id).toMatch(/^[0-9a-f]{64}$/);
    expect(client.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(client.registration_access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(client.registration_client_uri).toBe(`${REGISTRATION_URL}/${client.client_id}`);
    expect(client.client_secret_expires_at).toBe(0);
    expect(Math.abs(client.client_id_issued_at - Date.now() / 1000)).toBeLessThan(60);
    expect(client).toMatchObject({
      software_id: "dcr-template",
      client_name: "Per-device clients (test)",
      token_endpoint_auth_method: "client_secret_basic",
      scope: `${HAAPI_SCOPE} openid profile`,
      grant_types: ["client_credentials", "authorization_code", "refresh_token"],
      response_types: ["code"],
      redirect_uris: ["app://haapi", "https://app.example/callback"],
    });

    // 3. The HAAPI token right after the registration, with the dynamic credentials.
    const first = await haapiTokenWith({ authorization: basic(client.client_id, client.client_secret) }, device);
    const firstBody = await jsonOf(first);
    expect(first.status, JSON.stringify(firstBody)).toBe(200);
    expect(firstBody).toMatchObject({ token_type: "DPoP", expires_in: 900, scope: HAAPI_SCOPE });
    expect(claimsOf(firstBody.access_token as string)).toMatchObject({
      client_id: client.client_id,
      sub: client.client_id,
      cal: "none",
      cnf: { jkt: device.jkt },
    });

    // 4. Later, a second token with the stored credentials.
    const second = await haapiTokenWith({ authorization: basic(client.client_id, client.client_secret) }, device);
    expect(second.status).toBe(200);
    expect(claimsOf((await jsonOf(second)).access_token as string).cal).toBe("none");
  });

  it("the initial access token is single use", async () => {
    const token = await initialAccessToken("dcr-main", "dcr-main-secret");
    await registerClient(token, { software_id: "dcr-template" });
    const again = await registrationRequest({ software_id: "dcr-template" }, { authorization: `Bearer ${token}` });
    expect(again.status).toBe(401);
    expect(again.headers.get("WWW-Authenticate")).toMatch(/^Bearer error="invalid_token"/);
    expect((await jsonOf(again)).error).toBe("invalid_token");
  });

  it("direct authentication of the main client (Basic) also authorizes a registration", async () => {
    const response = await registrationRequest(
      { software_id: "dcr-template", token_endpoint_auth_method: "client_secret_post" },
      { authorization: basic("dcr-main", "dcr-main-secret") },
    );
    const client = await jsonOf(response);
    expect(response.status, JSON.stringify(client)).toBe(201);
    const token = await haapiTokenWith(
      { body: { client_id: client.client_id as string, client_secret: client.client_secret as string } },
      await newDevice(),
    );
    expect(token.status).toBe(200);
    expect(claimsOf((await jsonOf(token)).access_token as string).cal).toBe("none");
  });
});

describe("fallback with a private_key_jwt main client", () => {
  it("registers through an initial access token and gets HAAPI tokens with cal by-provisioned-key", async () => {
    const token = await initialAccessTokenByAssertion("dcr-jwt-main");
    expect(claimsOf(token).cal).toBe("by-provisioned-key");
    const client = await registerClient(token, { software_id: "dcr-template" });
    const device = await newDevice();
    for (let i = 0; i < 2; i++) {
      const response = await haapiTokenWith({ authorization: basic(client.client_id, client.client_secret) }, device);
      expect(response.status).toBe(200);
      expect(claimsOf((await jsonOf(response)).access_token as string).cal).toBe("by-provisioned-key");
    }
  });

  it("registers with the assertion in the JSON body (direct authentication)", async () => {
    const response = await registrationRequest({
      software_id: "dcr-template",
      client_assertion_type: JWT_BEARER,
      client_assertion: await clientAssertion("dcr-jwt-main"),
    });
    const client = await jsonOf(response);
    expect(response.status, JSON.stringify(client)).toBe(201);
    expect(client).not.toHaveProperty("client_assertion");
    const token = await haapiTokenWith(
      { authorization: basic(client.client_id as string, client.client_secret as string) },
      await newDevice(),
    );
    expect(claimsOf((await jsonOf(token)).access_token as string).cal).toBe("by-provisioned-key");
  });
});

describe("fallback with an mTLS main client", () => {
  it("the certificate authorizes the registration: cal by-provisioned-key", async () => {
    const response = await registrationRequest(
      { software_id: "dcr-template" },
      { headers: { "Client-Cert": `:${keys.certificates.mtls}:` } },
    );
    const client = await jsonOf(response);
    expect(response.status, JSON.stringify(client)).toBe(201);
    const token = await haapiTokenWith(
      { authorization: basic(client.client_id as string, client.client_secret as string) },
      await newDevice(),
    );
    expect(claimsOf((await jsonOf(token)).access_token as string).cal).toBe("by-provisioned-key");
  });

  it("an unknown certificate authorizes nothing", async () => {
    const response = await registrationRequest(
      { software_id: "dcr-template" },
      { headers: { "Client-Cert": `:${keys.certificates.stranger}:` } },
    );
    expect(response.status).toBe(401);
    expect((await jsonOf(response)).error).toBe("invalid_client");
  });
});

describe("a device that registers its own key", () => {
  it("has no shared secret, authenticates with private_key_jwt and gets cal by-provisioned-key", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: "device-1", alg: "ES256" };
    const privateJwk = { ...(await exportJWK(privateKey)), kid: "device-1" } as JWK;
    // The main client authenticated with a secret, yet the device's own key lifts the assurance level.
    const client = await registerClient(await initialAccessToken("dcr-main", "dcr-main-secret"), {
      software_id: "dcr-template",
      jwks: { keys: [publicJwk] },
    });
    expect(client).not.toHaveProperty("client_secret");
    expect(client).not.toHaveProperty("client_secret_expires_at");
    expect(client.token_endpoint_auth_method).toBe("private_key_jwt");
    expect(client.jwks).toEqual({ keys: [publicJwk] });
    const device = await newDevice();
    const response = await haapiTokenWith(
      {
        body: async () => ({
          client_assertion_type: JWT_BEARER,
          client_assertion: await clientAssertion(client.client_id, {}, privateJwk),
        }),
      },
      device,
    );
    const body = await jsonOf(response);
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(claimsOf(body.access_token as string)).toMatchObject({
      client_id: client.client_id,
      cal: "by-provisioned-key",
    });
  });
});

describe("what a dynamic client is", () => {
  it("a template is never a client itself", async () => {
    const response = await tokenRequest({ body: { grant_type: "client_credentials", client_id: "dcr-template" } });
    expect(response.status).toBe(401);
    expect((await jsonOf(response)).error).toBe("invalid_client");
  });

  it("a template without allow_without_attestation gives clients that cannot get HAAPI tokens", async () => {
    const client = await registerClient(await initialAccessToken("dcr-main", "dcr-main-secret"), {
      software_id: "dcr-attest-template",
    });
    const haapi = await haapiTokenWith(
      { authorization: basic(client.client_id, client.client_secret) },
      await newDevice(),
    );
    expect(haapi.status).toBe(400);
    expect((await jsonOf(haapi)).error).toBe("unauthorized_client");
    const read = await tokenRequest({
      body: { grant_type: "client_credentials", scope: "read" },
      headers: { Authorization: basic(client.client_id, client.client_secret) },
    });
    expect(read.status).toBe(200);
    expect(claimsOf((await jsonOf(read)).access_token as string)).toMatchObject({ scope: "read", cal: "none" });
  });

  it("a narrowed registration gets only what it registered", async () => {
    const client = await registerClient(await initialAccessToken("dcr-main", "dcr-main-secret"), {
      software_id: "dcr-template",
      scope: HAAPI_SCOPE,
      grant_types: ["client_credentials"],
      redirect_uris: ["app://haapi"],
    });
    expect(client).toMatchObject({
      scope: HAAPI_SCOPE,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: ["app://haapi"],
    });
    const openid = await tokenRequest({
      body: { grant_type: "client_credentials", scope: "openid" },
      headers: { Authorization: basic(client.client_id, client.client_secret) },
    });
    expect(openid.status).toBe(400);
    expect((await jsonOf(openid)).error).toBe("invalid_scope");
  });

  it("a dynamic client's secret is accepted by HTTP Basic and in the body alike (SDKs differ)", async () => {
    const client = await registerClient(await initialAccessToken("dcr-main", "dcr-main-secret"), {
      software_id: "dcr-template",
    });
    expect(client.token_endpoint_auth_method).toBe("client_secret_basic");
    const post = await haapiTokenWith(
      { body: { client_id: client.client_id, client_secret: client.client_secret } },
      await newDevice(),
    );
    expect(post.status).toBe(200);
    // A configured client stays with its one registered method.
    const staticPost = await tokenRequest({
      body: { grant_type: "client_credentials", scope: "dcr", client_id: "dcr-main", client_secret: "dcr-main-secret" },
    });
    expect(staticPost.status).toBe(401);
  });

  it("a wrong dynamic secret is invalid_client", async () => {
    const client = await registerClient(await initialAccessToken("dcr-main", "dcr-main-secret"), {
      software_id: "dcr-template",
    });
    const response = await haapiTokenWith(
      { authorization: basic(client.client_id, `${client.client_secret}x`) },
      await newDevice(),
    );
    expect(response.status).toBe(401);
    expect((await jsonOf(response)).error).toBe("invalid_client");
  });

  it("a well-formed client_id that was never issued is invalid_client, not a 500", async () => {
    const response = await tokenRequest({
      body: { grant_type: "client_credentials" },
      headers: { Authorization: basic("a".repeat(64), "secret") },
    });
    expect(response.status).toBe(401);
    expect((await jsonOf(response)).error).toBe("invalid_client");
  });

  it("the metadata advertises the registration endpoint", async () => {
    const { exports } = await import("cloudflare:workers");
    const metadata = await jsonOf(
      await exports.default.fetch("http://127.0.0.1:8787/.well-known/oauth-authorization-server"),
    );
    expect(metadata.registration_endpoint).toBe(REGISTRATION_URL);
  });
});
