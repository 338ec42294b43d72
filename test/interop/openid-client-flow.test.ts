/**
 * Interop: openid-client (panva), a relying party nobody here wrote, does the OAuth side of the HAAPI
 * login flow: discovery, the authorization URL (PKCE S256, state, nonce), then redeems the code from the
 * HAAPI `oauth-authorization-response` and refreshes, both with DPoP (its handle learns nonces), and
 * validates the ID token (signature against the published JWKS, iss, aud, nonce). The HAAPI part in
 * between is what an app's SDK does (test/helpers/flow.ts).
 */
import { exports } from "cloudflare:workers";
import { calculateJwkThumbprint, createRemoteJWKSet, customFetch as joseFetch, exportJWK, jwtVerify } from "jose";
import * as client from "openid-client";
import { beforeAll, describe, expect, it } from "vitest";
import { newDevice, type Device } from "../helpers/attestation";
import { actionOf, FlowClient, haapiTokenFor } from "../helpers/flow";
import { BASE, jsonOf } from "../helpers/server";

const fetchWorker = (url: string, init?: RequestInit) => exports.default.fetch(url, init);
const jwks = createRemoteJWKSet(new URL(`${BASE}/oauth/v2/oauth-jwks`), {
  [joseFetch]: (url, init) => fetchWorker(url, init as RequestInit),
});

/**
 * openid-client's view of a configured client: discovery, client_secret_basic (or no client authentication
 * at all without a secret), every request into the Worker.
 */
async function discover(clientId: string, secret?: string): Promise<client.Configuration> {
  const config = await client.discovery(
    new URL(BASE),
    clientId,
    undefined,
    secret === undefined ? client.None() : client.ClientSecretBasic(secret),
    {
      execute: [client.allowInsecureRequests],
      [client.customFetch]: fetchWorker as typeof fetch,
    },
  );
  // Also verify the signature of every ID token against jwks_uri (openid-client skips it by default).
  client.enableNonRepudiationChecks(config);
  return config;
}

async function dpopKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
}

async function thumbprint(pair: CryptoKeyPair): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(pair.publicKey), "sha256");
}

interface Authorization {
  readonly callback: URL;
  readonly checks: client.AuthorizationCodeGrantChecks;
}

/**
 * The authorization URL as openid-client builds it, followed through HAAPI: a HAAPI token for `device`,
 * the login form, username and password. Answers the redirect URI the app would be called with.
 */
async function logIn(
  config: client.Configuration,
  clientId: string,
  secret: string,
  device: Device,
): Promise<Authorization> {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: "app://haapi",
    scope: "openid profile email",
    state: expectedState,
    nonce: expectedNonce,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: "S256",
  });
  const flow = new FlowClient(await haapiTokenFor(clientId, secret, device), device);
  const start = await flow.request(url.href);
  const step = await jsonOf(start);
  expect(start.status, JSON.stringify(step)).toBe(200);
  const done = await flow.request(actionOf(step, "login").model.href as string, {
    form: { userName: "demo", password: "demo-password" },
  });
  const response = (await jsonOf(done)) as { type: string; links: { href: string; rel: string }[] };
  expect(done.status, JSON.stringify(response)).toBe(200);
  expect(response.type).toBe("oauth-authorization-response");
  const link = response.links.find((candidate) => candidate.rel === "authorization-response")!;
  const callback = new URL(link.href);
  expect(`${callback.protocol}//${callback.host}`).toBe("app://haapi");
  expect(callback.searchParams.get("state")).toBe(expectedState);
  expect(callback.searchParams.get("iss")).toBe(BASE);
  return { callback, checks: { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true } };
}

describe("openid-client authorizationCodeGrant and refreshTokenGrant after a HAAPI login", () => {
  // The first request into the Worker loads its module graph; keep that out of the first test's time.
  beforeAll(async () => {
    await fetchWorker(`${BASE}/.well-known/openid-configuration`);
  }, 30_000);

  it("discovers the login endpoints", async () => {
    const metadata = (await discover("flow-client", "flow-secret")).serverMetadata();
    expect(metadata).toMatchObject({
      issuer: BASE,
      authorization_endpoint: `${BASE}/oauth/v2/oauth-authorize`,
      token_endpoint: `${BASE}/oauth/v2/oauth-token`,
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
    });
    expect(metadata.supportsPKCE()).toBe(true);
  });

  it("an unbound code (flow-client): redeemed with client_secret_basic and any DPoP key; refresh rotates; reuse revokes", async () => {
    const config = await discover("flow-client", "flow-secret");
    const { callback, checks } = await logIn(config, "flow-client", "flow-secret", await newDevice());
    const keyPair = await dpopKeyPair();
    const DPoP = client.getDPoPHandle(config, keyPair);

    const tokens = await client.authorizationCodeGrant(config, callback, checks, undefined, { DPoP });
    expect(tokens.token_type).toBe("dpop");
    expect(tokens.scope).toBe("openid profile email");
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({
      iss: BASE,
      aud: "flow-client",
      sub: "demo",
      nonce: checks.expectedNonce,
      cal: "none",
      amr: ["pwd"],
    });
    expect(claims.auth_time).toEqual(expect.any(Number));
    const { payload: access } = await jwtVerify(tokens.access_token, jwks, {
      issuer: BASE,
      audience: BASE,
      typ: "at+jwt",
      algorithms: ["ES256"],
    });
    expect(access).toMatchObject({
      sub: "demo",
      client_id: "flow-client",
      scope: "openid profile email",
      cal: "none",
      cnf: { jkt: await thumbprint(keyPair) },
    });

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
    expect(refreshed.token_type).toBe("dpop");
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    // The refreshed ID token is about the same login (OpenID Connect Core §12.2).
    expect(refreshed.claims()).toMatchObject({
      iss: BASE,
      aud: "flow-client",
      sub: "demo",
      auth_time: claims.auth_time,
    });
    const { payload: refreshedAccess } = await jwtVerify(refreshed.access_token, jwks, {
      issuer: BASE,
      audience: BASE,
      typ: "at+jwt",
      algorithms: ["ES256"],
    });
    expect(refreshedAccess).toMatchObject({ sub: "demo", cnf: { jkt: await thumbprint(keyPair) } });

    // Presenting the rotated-away refresh token again revokes the grant: the current one stops working too.
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP })).rejects.toMatchObject({
      error: "invalid_grant",
    });
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token!, undefined, { DPoP })).rejects.toMatchObject(
      { error: "invalid_grant" },
    );
  });

  it("a token-bound code (bound-flow-client): only the HAAPI token's DPoP key redeems it, and the refresh token stays bound", async () => {
    const config = await discover("bound-flow-client", "bound-flow-secret");
    const device = await newDevice();
    const { callback, checks } = await logIn(config, "bound-flow-client", "bound-flow-secret", device);

    // Another key: refused, and the code is not spent by the attempt.
    await expect(
      client.authorizationCodeGrant(config, callback, checks, undefined, {
        DPoP: client.getDPoPHandle(config, await dpopKeyPair()),
      }),
    ).rejects.toMatchObject({
      error: "invalid_dpop_proof",
    });

    const DPoP = client.getDPoPHandle(config, device.pair);
    const tokens = await client.authorizationCodeGrant(config, callback, checks, undefined, { DPoP });
    expect(tokens.claims()).toMatchObject({
      sub: "demo",
      aud: "bound-flow-client",
      nonce: checks.expectedNonce,
      cal: "none",
    });
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: BASE,
      audience: BASE,
      typ: "at+jwt",
      algorithms: ["ES256"],
    });
    expect(payload.cnf).toEqual({ jkt: device.jkt });

    await expect(
      client.refreshTokenGrant(config, tokens.refresh_token!, undefined, {
        DPoP: client.getDPoPHandle(config, await dpopKeyPair()),
      }),
    ).rejects.toMatchObject({
      error: "invalid_dpop_proof",
    });
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
    expect(refreshed.claims()).toMatchObject({ sub: "demo", aud: "bound-flow-client" });
  });

  it("a token-bound code is redeemed by the HAAPI app without its secret (client_id and the key's proof); an unbound one is not", async () => {
    const device = await newDevice();
    const { callback, checks } = await logIn(
      await discover("bound-flow-client", "bound-flow-secret"),
      "bound-flow-client",
      "bound-flow-secret",
      device,
    );
    const app = await discover("bound-flow-client");
    const DPoP = client.getDPoPHandle(app, device.pair);
    const tokens = await client.authorizationCodeGrant(app, callback, checks, undefined, { DPoP });
    expect(tokens.claims()).toMatchObject({ sub: "demo", aud: "bound-flow-client", nonce: checks.expectedNonce });
    const refreshed = await client.refreshTokenGrant(app, tokens.refresh_token!, undefined, { DPoP });
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);

    const unbound = await logIn(await discover("flow-client", "flow-secret"), "flow-client", "flow-secret", device);
    const publicFlowClient = await discover("flow-client");
    await expect(
      client.authorizationCodeGrant(publicFlowClient, unbound.callback, unbound.checks, undefined, {
        DPoP: client.getDPoPHandle(publicFlowClient, device.pair),
      }),
    ).rejects.toMatchObject({ error: "invalid_client" });
  });

  it("a wrong PKCE verifier or state is refused", async () => {
    const config = await discover("flow-client", "flow-secret");
    const { callback, checks } = await logIn(config, "flow-client", "flow-secret", await newDevice());
    const DPoP = client.getDPoPHandle(config, await dpopKeyPair());
    // openid-client checks the state itself, before any request.
    const wrongState = await client
      .authorizationCodeGrant(config, callback, { ...checks, expectedState: "other" }, undefined, { DPoP })
      .catch((error: unknown) => error);
    expect(wrongState).toMatchObject({
      code: "OAUTH_INVALID_RESPONSE",
      cause: { message: expect.stringMatching(/state/) },
    });
    await expect(
      client.authorizationCodeGrant(
        config,
        callback,
        { ...checks, pkceCodeVerifier: client.randomPKCECodeVerifier() },
        undefined,
        { DPoP },
      ),
    ).rejects.toMatchObject({
      error: "invalid_grant",
    });
  });
});
