/**
 * Interop: openid-client (panva), a client library nobody here wrote, registers a dynamic client with
 * its Dynamic Client Registration function (discovery, then RFC 7591 with an initial access token), then
 * uses the registered credentials for a DPoP-bound HAAPI token (its DPoP handle retries on the nonce).
 * Every token is verified against the published JWKS with jose.
 */
import { exports } from "cloudflare:workers";
import { createRemoteJWKSet, customFetch as joseFetch, jwtVerify } from "jose";
import * as client from "openid-client";
import { describe, expect, it } from "vitest";
import { HAAPI_SCOPE } from "../helpers/attestation";
import { freshSource, initialAccessToken, initialAccessTokenByAssertion } from "../helpers/registration";
import { BASE } from "../helpers/server";

/** Every request goes into the Worker, from a fresh source address (per-source rate limits). */
const fetchWorker = (url: string, init?: RequestInit) => {
  const headers = new Headers(init?.headers);
  headers.set("CF-Connecting-IP", freshSource());
  return exports.default.fetch(url, { ...init, headers });
};
const jwks = createRemoteJWKSet(new URL(`${BASE}/oauth/v2/oauth-jwks`), {
  [joseFetch]: (url, init) => fetchWorker(url, init as RequestInit),
});
const options: client.DynamicClientRegistrationRequestOptions = {
  execute: [client.allowInsecureRequests],
  [client.customFetch]: fetchWorker as typeof fetch,
};

async function dpopKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
}

describe("openid-client dynamicClientRegistration", () => {
  it("registers from a template with an initial access token and gets a DPoP-bound HAAPI token", async () => {
    const config = await client.dynamicClientRegistration(
      new URL(BASE),
      { software_id: "dcr-template", token_endpoint_auth_method: "client_secret_basic" },
      undefined,
      { ...options, initialAccessToken: await initialAccessToken("dcr-main", "dcr-main-secret") },
    );
    const metadata = config.clientMetadata();
    expect(metadata.client_id).toMatch(/^[0-9a-f]{64}$/);
    expect(metadata.client_secret).toEqual(expect.any(String));
    expect(metadata.registration_access_token).toEqual(expect.any(String));
    expect(metadata.software_id).toBe("dcr-template");
    expect(config.serverMetadata().registration_endpoint).toBe(`${BASE}/token-service/oauth-registration`);

    // The registered credentials, as openid-client uses them (client_secret_basic).
    const registered = new client.Configuration(
      config.serverMetadata(),
      metadata.client_id,
      metadata,
      client.ClientSecretBasic(metadata.client_secret as string),
    );
    client.allowInsecureRequests(registered);
    registered[client.customFetch] = fetchWorker as typeof fetch;
    const DPoP = client.getDPoPHandle(registered, await dpopKeyPair());
    const tokens = await client.clientCredentialsGrant(registered, { scope: HAAPI_SCOPE }, { DPoP });
    expect(tokens.token_type).toBe("dpop");
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: BASE,
      audience: BASE,
      typ: "at+jwt",
    });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload).toMatchObject({ client_id: metadata.client_id, scope: HAAPI_SCOPE, cal: "none" });
  });

  it("a registration through a private_key_jwt main client gives cal by-provisioned-key", async () => {
    const config = await client.dynamicClientRegistration(new URL(BASE), { software_id: "dcr-template" }, undefined, {
      ...options,
      initialAccessToken: await initialAccessTokenByAssertion("dcr-jwt-main"),
    });
    const metadata = config.clientMetadata();
    // Default: openid-client authenticates with client_secret_post; the server registered client_secret_basic,
    // so use the registered method explicitly.
    const registered = new client.Configuration(
      config.serverMetadata(),
      metadata.client_id,
      metadata,
      client.ClientSecretBasic(metadata.client_secret as string),
    );
    client.allowInsecureRequests(registered);
    registered[client.customFetch] = fetchWorker as typeof fetch;
    const tokens = await client.clientCredentialsGrant(
      registered,
      { scope: HAAPI_SCOPE },
      { DPoP: client.getDPoPHandle(registered, await dpopKeyPair()) },
    );
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: BASE, audience: BASE });
    expect(payload.cal).toBe("by-provisioned-key");
  });

  it("a refused registration surfaces as an RFC 7591 error", async () => {
    await expect(
      client.dynamicClientRegistration(new URL(BASE), { software_id: "no-such-template" }, undefined, {
        ...options,
        initialAccessToken: await initialAccessToken("dcr-main", "dcr-main-secret"),
      }),
    ).rejects.toMatchObject({ error: "invalid_client_metadata" });
  });
});
