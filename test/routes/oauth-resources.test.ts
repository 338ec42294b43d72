/**
 * Userinfo (OIDC Core §5.3), revocation (RFC 7009) and introspection (RFC 7662), through HTTP, with
 * tokens from a real HAAPI login flow. Never a 500.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { configFor } from "../../src/config/load";
import { testKeys } from "../helpers/runtime";
import { signAccessToken } from "../../src/tokens/access-token";
import { claimsOf, HAAPI_SCOPE, newDevice } from "../helpers/attestation";
import { proof, type DeviceKey } from "../helpers/dpop";
import { actionOf, authorizeUrl, FlowClient, haapiTokenFor, pkce } from "../helpers/flow";
import { basic, BASE, jsonOf, tokenRequest } from "../helpers/server";

type Json = Record<string, any>;

const USERINFO_URL = `${BASE}/oauth/v2/oauth-userinfo`;
const REVOKE_URL = `${BASE}/oauth/v2/oauth-revoke`;
const INTROSPECT_URL = `${BASE}/oauth/v2/oauth-introspect`;
const FLOW = basic("flow-client", "flow-secret");

interface Login {
  readonly device: DeviceKey;
  readonly access_token: string;
  readonly refresh_token: string;
  readonly scope: string;
}

/** A HAAPI login of demo for flow-client, tokens DPoP-bound to the device's key. */
async function login(scope = "openid profile email"): Promise<Login> {
  const device = await newDevice();
  const flow = new FlowClient(await haapiTokenFor("flow-client", "flow-secret", device), device);
  const { verifier, challenge } = await pkce();
  const start = await flow.request(
    authorizeUrl({
      client_id: "flow-client",
      response_type: "code",
      redirect_uri: "app://haapi",
      scope,
      state: "s",
      nonce: "n",
      code_challenge: challenge,
      code_challenge_method: "S256",
    }),
  );
  const step = await jsonOf(start);
  expect(start.status, JSON.stringify(step)).toBe(200);
  const done = await flow.request(actionOf(step, "login").model.href, {
    form: { userName: "demo", password: "demo-password" },
  });
  const response = await jsonOf(done);
  expect(done.status, JSON.stringify(response)).toBe(200);
  const code = (response.properties as Record<string, string>).code!;
  const tokens = await tokenRequest({
    body: { grant_type: "authorization_code", code, redirect_uri: "app://haapi", code_verifier: verifier },
    headers: { Authorization: FLOW, DPoP: await proof(device) },
  });
  const body = await jsonOf(tokens);
  expect(tokens.status, JSON.stringify(body)).toBe(200);
  return {
    device,
    access_token: body.access_token as string,
    refresh_token: body.refresh_token as string,
    scope: body.scope as string,
  };
}

/** A userinfo request; with a device, as DPoP with a proof (retried once with the server's nonce). */
async function userinfo(
  token: string,
  options: { device?: DeviceKey; scheme?: string; method?: string; noProof?: boolean } = {},
): Promise<Response> {
  const method = options.method ?? "GET";
  const scheme = options.scheme ?? (options.device ? "DPoP" : "Bearer");
  const send = async (nonce?: string) => {
    const headers: Record<string, string> = { Authorization: `${scheme} ${token}` };
    if (options.device && !options.noProof)
      headers.DPoP = await proof(options.device, {
        htm: method,
        htu: USERINFO_URL,
        accessToken: token,
        ...(nonce ? { nonce } : {}),
      });
    return exports.default.fetch(USERINFO_URL, { method, headers });
  };
  const response = await send();
  if (response.status === 401 && (response.headers.get("WWW-Authenticate") ?? "").includes("use_dpop_nonce"))
    return send(response.headers.get("DPoP-Nonce")!);
  return response;
}

function post(url: string, body: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(body).toString(),
  });
}

async function introspect(token: string, authorization = FLOW): Promise<Json> {
  const response = await post(INTROSPECT_URL, { token }, { Authorization: authorization });
  const body = await jsonOf(response);
  expect(response.status, JSON.stringify(body)).toBe(200);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  return body;
}

async function revoke(
  token: string,
  headers: Record<string, string> = { Authorization: FLOW },
  extra: Record<string, string> = {},
): Promise<void> {
  const response = await post(REVOKE_URL, { token, ...extra }, headers);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(text).toBe("");
}

function refresh(login: Login): Promise<Response> {
  return proof(login.device).then((dpop) =>
    tokenRequest({
      body: { grant_type: "refresh_token", refresh_token: login.refresh_token },
      headers: { Authorization: FLOW, DPoP: dpop },
    }),
  );
}

async function expectError(response: Response, status: number, error: string): Promise<Json> {
  const body = await jsonOf(response);
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(body.error).toBe(error);
  return body;
}

/** An access token signed with the server's own key, as the token endpoint would, at another time. */
async function serverSignedToken(issuedAt: number, ttl: number, extra: { grantId?: string } = {}): Promise<string> {
  const config = configFor(env.CONFIG);
  const keys = await testKeys(Math.floor(Date.now() / 1000));
  return signAccessToken(
    keys,
    {
      issuer: config.issuer,
      audience: config.issuer,
      subject: "demo",
      clientId: "flow-client",
      scope: "openid profile",
      ttl,
      cal: "none",
      ...(extra.grantId
        ? {
            authentication: {
              acr: "urn:se:curity:authentication:html-form:html-form",
              amr: ["pwd"],
              authTime: issuedAt,
              grantId: extra.grantId,
            },
          }
        : {}),
    },
    issuedAt,
  );
}

// The first request creates the server's signing keys; under load that alone can outlast a test's timeout.
beforeAll(async () => {
  await haapiTokenFor("flow-client", "flow-secret", await newDevice());
}, 60_000);

describe("userinfo", () => {
  it("DPoP-bound token with its proof: sub and the claims of its scopes, GET and POST, no-store", async () => {
    const tokens = await login("openid profile email");
    for (const method of ["GET", "POST"]) {
      const response = await userinfo(tokens.access_token, { device: tokens.device, method });
      const body = await jsonOf(response);
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(response.headers.get("Cache-Control")).toBe("no-store");
      expect(body).toEqual({
        sub: "demo",
        name: "Demo User",
        preferred_username: "demo",
        email: "demo@example.com",
        email_verified: true,
      });
    }
  });

  it("only the claims of the scopes granted", async () => {
    const tokens = await login("openid email");
    const response = await userinfo(tokens.access_token, { device: tokens.device });
    expect(await jsonOf(response)).toEqual({ sub: "demo", email: "demo@example.com", email_verified: true });
  });

  it("a DPoP-bound token without a proof: 401 with a DPoP challenge", async () => {
    const tokens = await login();
    const response = await userinfo(tokens.access_token, { device: tokens.device, noProof: true });
    await expectError(response, 401, "invalid_dpop_proof");
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^DPoP error=/);
  });

  it("a DPoP-bound token as Bearer (downgrade): 401 invalid_token", async () => {
    const tokens = await login();
    const response = await userinfo(tokens.access_token);
    await expectError(response, 401, "invalid_token");
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^DPoP error="invalid_token"/);
  });

  it("a proof by another key: 401", async () => {
    const tokens = await login();
    const response = await userinfo(tokens.access_token, { device: await newDevice(), scheme: "DPoP" });
    expect(response.status).toBe(401);
  });

  it("no token at all, or garbage: 401 invalid_token", async () => {
    const none = await exports.default.fetch(USERINFO_URL);
    await expectError(none, 401, "invalid_token");
    expect(none.headers.get("WWW-Authenticate")).toMatch(/^Bearer /);
    await expectError(await userinfo("not-a-token"), 401, "invalid_token");
  });

  it("a token without openid: 403 insufficient_scope", async () => {
    const tokens = await login("profile");
    expect(tokens.scope).toBe("profile");
    const response = await userinfo(tokens.access_token, { device: tokens.device });
    await expectError(response, 403, "insufficient_scope");
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^DPoP error="insufficient_scope".*scope="openid"$/);
  });

  it("client_credentials tokens: a HAAPI token lacks openid (403); with openid but no user behind it, 401", async () => {
    const device = await newDevice();
    const haapi = await haapiTokenFor("flow-client", "flow-secret", device);
    await expectError(await userinfo(haapi, { device }), 403, "insufficient_scope");
    const issued = await tokenRequest({
      body: { grant_type: "client_credentials", scope: "openid" },
      headers: { Authorization: FLOW },
    });
    const body = await jsonOf(issued);
    expect(issued.status, JSON.stringify(body)).toBe(200);
    await expectError(await userinfo(body.access_token as string), 401, "invalid_token");
  });

  it("a signed token naming a grant that does not exist: 401 invalid_token", async () => {
    const token = await serverSignedToken(Math.floor(Date.now() / 1000), 300, { grantId: "f".repeat(64) });
    await expectError(await userinfo(token), 401, "invalid_token");
  });

  it("PUT: 405 with Allow", async () => {
    const response = await exports.default.fetch(USERINFO_URL, { method: "PUT" });
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("GET, POST");
  });
});

describe("revocation", () => {
  it("the refresh token: refresh fails, userinfo and introspection refuse the old access token", async () => {
    const tokens = await login();
    expect((await introspect(tokens.access_token)).active).toBe(true);
    await revoke(tokens.refresh_token, { Authorization: FLOW }, { token_type_hint: "refresh_token" });
    await expectError(await refresh(tokens), 400, "invalid_grant");
    await expectError(await userinfo(tokens.access_token, { device: tokens.device }), 401, "invalid_token");
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
    // Revoking again is no error.
    await revoke(tokens.refresh_token);
  });

  it("an access token revokes its grant", async () => {
    const tokens = await login();
    await revoke(tokens.access_token, { Authorization: FLOW }, { token_type_hint: "access_token" });
    await expectError(await refresh(tokens), 400, "invalid_grant");
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
  });

  it("a rotated-away refresh token revokes the grant too", async () => {
    const tokens = await login();
    const rotated = await refresh(tokens);
    const next = await jsonOf(rotated);
    expect(rotated.status, JSON.stringify(next)).toBe(200);
    await revoke(tokens.refresh_token);
    expect(await introspect(next.access_token as string)).toEqual({ active: false });
  });

  it("a HAAPI app by client_id alone", async () => {
    const tokens = await login();
    await revoke(tokens.refresh_token, {}, { client_id: "flow-client" });
    await expectError(await refresh(tokens), 400, "invalid_grant");
  });

  it("another client's credentials: 200, and nothing revoked", async () => {
    const tokens = await login();
    await revoke(tokens.refresh_token, { Authorization: basic("plain-client", "plain-secret") });
    await revoke(tokens.access_token, { Authorization: basic("plain-client", "plain-secret") });
    expect((await introspect(tokens.access_token)).active).toBe(true);
    const refreshed = await refresh(tokens);
    expect(refreshed.status, await refreshed.text()).toBe(200);
  });

  it("unknown, garbage, a client_credentials token, an unknown grant: 200", async () => {
    const device = await newDevice();
    for (const token of [
      "garbage",
      `${"a".repeat(64)}.${"b".repeat(43)}`,
      "a.b.c",
      "x".repeat(5000),
      await haapiTokenFor("flow-client", "flow-secret", device),
    ]) {
      await revoke(token);
    }
  });

  it("refusals: bad client credentials 401, no token 400, wrong content type 400, GET 405", async () => {
    await expectError(
      await post(REVOKE_URL, { token: "x" }, { Authorization: basic("flow-client", "wrong") }),
      401,
      "invalid_client",
    );
    await expectError(await post(REVOKE_URL, { token: "x" }), 401, "invalid_client");
    await expectError(await post(REVOKE_URL, {}, { Authorization: FLOW }), 400, "invalid_request");
    await expectError(await post(`${REVOKE_URL}`, { token: "x", client_id: "plain-client" }), 401, "invalid_client");
    await expectError(
      await exports.default.fetch(REVOKE_URL, {
        method: "POST",
        headers: { Authorization: FLOW, "Content-Type": "application/json" },
        body: '{"token":"x"}',
      }),
      400,
      "invalid_request",
    );
    const get = await exports.default.fetch(REVOKE_URL);
    expect(get.status).toBe(405);
    expect(get.headers.get("Allow")).toBe("POST");
  });
});

describe("introspection", () => {
  it("a login's access token: active, with its claims", async () => {
    const tokens = await login();
    const body = await introspect(tokens.access_token);
    const claims = claimsOf(tokens.access_token);
    expect(body).toEqual({
      active: true,
      scope: "openid profile email",
      client_id: "flow-client",
      sub: "demo",
      exp: claims.exp,
      iat: claims.iat,
      iss: BASE,
      aud: claims.aud,
      token_type: "DPoP",
      cnf: { jkt: tokens.device.jkt },
      acr: claims.acr,
      amr: ["pwd"],
      auth_time: claims.auth_time,
      cal: "none",
      jti: claims.jti,
    });
  });

  it("a refresh token: active for its client, inactive once rotated away", async () => {
    const tokens = await login();
    const body = await introspect(tokens.refresh_token);
    expect(body).toMatchObject({
      active: true,
      token_type: "refresh_token",
      client_id: "flow-client",
      sub: "demo",
      scope: "openid profile email",
      cnf: { jkt: tokens.device.jkt },
    });
    expect(body.exp).toBeGreaterThan(Math.floor(Date.now() / 1000));
    // Another client (a resource server) learns nothing of it.
    expect(await introspect(tokens.refresh_token, basic("plain-client", "plain-secret"))).toEqual({ active: false });
    expect((await refresh(tokens)).status).toBe(200);
    expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
  });

  it("a HAAPI access token (client_credentials): active by signature, with cal", async () => {
    const device = await newDevice();
    const token = await haapiTokenFor("flow-client", "flow-secret", device);
    const body = await introspect(token, basic("plain-client", "plain-secret"));
    expect(body).toMatchObject({
      active: true,
      client_id: "flow-client",
      sub: "flow-client",
      scope: HAAPI_SCOPE,
      cal: "none",
      token_type: "DPoP",
      cnf: { jkt: device.jkt },
    });
    expect(body.acr).toBeUndefined();
  });

  it("a plain Bearer token", async () => {
    const response = await tokenRequest({
      body: { grant_type: "client_credentials", scope: "read" },
      headers: { Authorization: basic("plain-client", "plain-secret") },
    });
    const token = (await jsonOf(response)).access_token as string;
    expect(await introspect(token)).toMatchObject({
      active: true,
      token_type: "Bearer",
      client_id: "plain-client",
      scope: "read",
    });
  });

  it("garbage, unknown, expired, tampered: active false", async () => {
    const tokens = await login();
    const now = Math.floor(Date.now() / 1000);
    const [header, payload, signature] = tokens.access_token.split(".");
    // Change the last character for sure (appending a fixed one could leave the token unchanged).
    const flipLast = (value: string) => value.slice(0, -1) + (value.endsWith("A") ? "B" : "A");
    const tampered = `${header}.${flipLast(payload!)}.${signature}`;
    for (const token of [
      "garbage",
      "a.b.c",
      `${"a".repeat(64)}.${"b".repeat(43)}`,
      await serverSignedToken(now - 600, 60),
      tampered,
      flipLast(tokens.refresh_token),
      "y".repeat(9000),
    ]) {
      expect(await introspect(token), token.slice(0, 80)).toEqual({ active: false });
    }
  });

  it("bad client credentials: 401 invalid_client; a HAAPI app by client_id alone: 401", async () => {
    const tokens = await login();
    await expectError(
      await post(INTROSPECT_URL, { token: tokens.access_token }, { Authorization: basic("flow-client", "nope") }),
      401,
      "invalid_client",
    );
    await expectError(
      await post(INTROSPECT_URL, { token: tokens.access_token }, { Authorization: basic("nobody", "nope") }),
      401,
      "invalid_client",
    );
    await expectError(
      await post(INTROSPECT_URL, { token: tokens.access_token, client_id: "flow-client" }),
      401,
      "invalid_client",
    );
    await expectError(await post(INTROSPECT_URL, {}, { Authorization: FLOW }), 400, "invalid_request");
  });
});
