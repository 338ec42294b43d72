/**
 * Interop: a client library nobody here wrote (panva's oauth4webapi) drives the server:
 * discovery, DPoP client_credentials with the nonce retry, and private_key_jwt.
 * Every returned token is verified against the published JWKS with jose.
 */
import { exports } from "cloudflare:workers";
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  customFetch as joseFetch,
  exportJWK,
  importJWK,
  jwtVerify,
  type JWK,
} from "jose";
import * as oauth from "oauth4webapi";
import { beforeAll, describe, expect, it } from "vitest";
import keys from "../fixtures/keys.json";
import { BASE } from "../helpers/server";

const fetchWorker = (url: string, init?: RequestInit) => exports.default.fetch(url, init);
const options = { [oauth.allowInsecureRequests]: true, [oauth.customFetch]: fetchWorker } as const;
const jwks = createRemoteJWKSet(new URL(`${BASE}/oauth/v2/oauth-jwks`), {
  [joseFetch]: (url, init) => fetchWorker(url, init as RequestInit),
});

let as: oauth.AuthorizationServer;

beforeAll(async () => {
  as = await oauth.processDiscoveryResponse(
    new URL(BASE),
    await oauth.discoveryRequest(new URL(BASE), { ...options, algorithm: "oauth2" }),
  );
});

async function dpopKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
}

/** The request as a well-behaved client sends it: once, and once more if the server asks for a nonce. */
async function withNonceRetry(
  request: () => Promise<Response>,
  client: oauth.Client,
): Promise<{ result: oauth.TokenEndpointResponse; retried: boolean }> {
  try {
    return { result: await oauth.processClientCredentialsResponse(as, client, await request()), retried: false };
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    return { result: await oauth.processClientCredentialsResponse(as, client, await request()), retried: true };
  }
}

describe("oauth4webapi", () => {
  it("discovers the server metadata (RFC 8414)", () => {
    expect(as.issuer).toBe(BASE);
    expect(as.token_endpoint).toBe(`${BASE}/oauth/v2/oauth-token`);
    expect(as.dpop_signing_alg_values_supported).toContain("ES256");
  });

  it("DPoP client_credentials with client_secret_basic: nonce retry, then a DPoP-bound HAAPI token", async () => {
    const client: oauth.Client = { client_id: "dev-client" };
    const keyPair = await dpopKeyPair();
    const DPoP = oauth.DPoP(client, keyPair);
    const request = () =>
      oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic("dev-secret"),
        { scope: "urn:se:curity:scopes:haapi" },
        { ...options, DPoP },
      );
    const { result, retried } = await withNonceRetry(request, client);
    expect(retried).toBe(true);
    expect(result.token_type).toBe("dpop");
    const { payload } = await jwtVerify(result.access_token, jwks, {
      issuer: BASE,
      typ: "at+jwt",
      algorithms: ["ES256"],
    });
    expect((payload.cnf as { jkt: string }).jkt).toBe(
      await calculateJwkThumbprint(await exportJWK(keyPair.publicKey), "sha256"),
    );
    expect(payload.client_id).toBe("dev-client");

    // The handle kept the nonce from the successful response: the next request needs no retry.
    const again = await withNonceRetry(request, client);
    expect(again.retried).toBe(false);
  });

  it("private_key_jwt (RFC 7523) with DPoP", async () => {
    const client: oauth.Client = { client_id: "jwt-client" };
    const privateKey = (await importJWK(keys.jwtClient.private as JWK, "ES256")) as CryptoKey;
    const clientAuth = oauth.PrivateKeyJwt({ key: privateKey, kid: keys.jwtClient.private.kid });
    const keyPair = await dpopKeyPair();
    const DPoP = oauth.DPoP(client, keyPair);
    const request = () =>
      oauth.clientCredentialsGrantRequest(
        as,
        client,
        clientAuth,
        { scope: "urn:se:curity:scopes:haapi" },
        { ...options, DPoP },
      );
    const { result } = await withNonceRetry(request, client);
    const { payload } = await jwtVerify(result.access_token, jwks, {
      issuer: BASE,
      typ: "at+jwt",
      algorithms: ["ES256"],
    });
    expect(payload).toMatchObject({ client_id: "jwt-client", cal: "by-provisioned-key" });
  });

  it("client_secret_post without DPoP: a Bearer token", async () => {
    const client: oauth.Client = { client_id: "post-client" };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretPost("post-secret"),
      { scope: "read" },
      options,
    );
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    expect(result.token_type).toBe("bearer");
    expect(result.scope).toBe("read");
  });

  it("a wrong secret surfaces as the library's invalid_client error", async () => {
    const client: oauth.Client = { client_id: "post-client" };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretPost("wrong"),
      {},
      options,
    );
    await expect(oauth.processClientCredentialsResponse(as, client, response)).rejects.toMatchObject({
      error: "invalid_client",
      status: 401,
    });
  });
});
