/**
 * Clients without a secret, through HTTP: a public browser app (`none`, web attestation through the web
 * driver's iframe) and a mobile app whose only credential is its CAT (`attest_jwt_client_auth`). What
 * each may get and with what, the CORS answers of the endpoints a browser app calls itself, and the
 * refusals: a public client presenting a secret or an assertion, a public client without its CAT, a
 * public client at introspection.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  androidResponse,
  CAT_ASSERTION_TYPE,
  catFor,
  claimsOf,
  getChallenge,
  haapiToken,
  HAAPI_SCOPE,
  newDevice,
  postCat,
  type Device,
} from "../helpers/attestation";
import { proof } from "../helpers/dpop";
import { actionOf, authorizeUrl, FlowClient, pkce } from "../helpers/flow";
import { basic, BASE, jsonOf, tokenRequest, type TokenRequest } from "../helpers/server";

const SPA = "spa-public";
const SPA_ORIGIN = "https://spa.example";
const SPA_CALLBACK = "https://spa.example/callback";
const USERINFO_URL = `${BASE}/oauth/v2/oauth-userinfo`;
const REVOKE_URL = `${BASE}/oauth/v2/oauth-revoke`;

/** What the iframe page sends: a same-origin request attesting the embedding origin. */
const FROM_IFRAME = { Origin: BASE, "Sec-Fetch-Site": "same-origin" };

/** The iframe's CAT and HAAPI token for the SPA client. */
async function spaHaapiToken(device: Device, appOrigin = SPA_ORIGIN): Promise<string> {
  const cat = await catFor(SPA, device, async () => ({ platform: "web", origin: appOrigin }), FROM_IFRAME);
  const response = await haapiToken(cat, device, { clientId: SPA });
  const body = await jsonOf(response);
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.access_token as string;
}

/** Log demo in through HAAPI with `token`; the code and the PKCE verifier. */
async function loginFor(
  clientId: string,
  redirectUri: string,
  token: string,
  device: Device,
): Promise<{ code: string; verifier: string }> {
  const flow = new FlowClient(token, device);
  const { verifier, challenge } = await pkce();
  const step = await jsonOf(
    await flow.request(
      authorizeUrl({
        client_id: clientId,
        response_type: "code",
        redirect_uri: redirectUri,
        scope: "openid profile",
        code_challenge: challenge,
        code_challenge_method: "S256",
      }),
    ),
  );
  const done = await jsonOf(
    await flow.request(actionOf(step, "login").model.href, { form: { userName: "demo", password: "demo-password" } }),
  );
  expect(done.type, JSON.stringify(done)).toBe("oauth-authorization-response");
  return { code: (done.properties as Record<string, string>).code!, verifier };
}

function fromPage(origin: string, headers: Record<string, string> = {}): Record<string, string> {
  return { Origin: origin, ...headers };
}

describe("a public browser client (token_endpoint_auth_method none, web attestation)", { timeout: 60_000 }, () => {
  it("gets a HAAPI token with the iframe's CAT and no secret, then the app redeems its code with client_id and PKCE, cross-origin", async () => {
    const device = await newDevice();
    const token = await spaHaapiToken(device);
    expect(claimsOf(token)).toMatchObject({
      client_id: SPA,
      cal: "by-policy",
      scope: HAAPI_SCOPE,
      cnf: { jkt: device.jkt },
    });
    const { code, verifier } = await loginFor(SPA, SPA_CALLBACK, token, device);

    // The app's page redeems the code itself: no secret, no DPoP key (the key stays in the iframe).
    const redeemed = await tokenRequest({
      body: {
        grant_type: "authorization_code",
        code,
        redirect_uri: SPA_CALLBACK,
        code_verifier: verifier,
        client_id: SPA,
      },
      headers: fromPage(SPA_ORIGIN),
    });
    const tokens = await jsonOf(redeemed);
    expect(redeemed.status, JSON.stringify(tokens)).toBe(200);
    expect(redeemed.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    expect(redeemed.headers.get("Access-Control-Expose-Headers")).toContain("DPoP-Nonce");
    expect(redeemed.headers.get("Vary")).toContain("Origin");
    expect(tokens).toMatchObject({ token_type: "Bearer", scope: "openid profile" });
    expect(claimsOf(tokens.access_token as string)).toMatchObject({ sub: "demo", client_id: SPA });

    const info = await exports.default.fetch(USERINFO_URL, {
      headers: fromPage(SPA_ORIGIN, { Authorization: `Bearer ${tokens.access_token}` }),
    });
    expect(info.status).toBe(200);
    expect(info.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    expect(await jsonOf(info)).toMatchObject({ sub: "demo" });

    // A refresh by client_id alone (rotation), then revocation by client_id alone (RFC 7009 §2.1).
    const refreshed = await tokenRequest({
      body: { grant_type: "refresh_token", refresh_token: tokens.refresh_token as string, client_id: SPA },
      headers: fromPage(SPA_ORIGIN),
    });
    const refreshedBody = await jsonOf(refreshed);
    expect(refreshed.status, JSON.stringify(refreshedBody)).toBe(200);
    const revoked = await exports.default.fetch(REVOKE_URL, {
      method: "POST",
      headers: fromPage(SPA_ORIGIN, { "Content-Type": "application/x-www-form-urlencoded" }),
      body: new URLSearchParams({ token: refreshedBody.refresh_token as string, client_id: SPA }).toString(),
    });
    expect(revoked.status).toBe(200);
    expect(revoked.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    expect(
      (
        await exports.default.fetch(USERINFO_URL, {
          headers: { Authorization: `Bearer ${refreshedBody.access_token}` },
        })
      ).status,
    ).toBe(401);
  });

  it("the code still needs PKCE: a wrong or missing verifier is invalid_grant, and errors carry the CORS headers too", async () => {
    const device = await newDevice();
    const { code } = await loginFor(SPA, SPA_CALLBACK, await spaHaapiToken(device), device);
    for (const verifier of [undefined, "x".repeat(43)]) {
      const refused = await tokenRequest({
        body: {
          grant_type: "authorization_code",
          code,
          redirect_uri: SPA_CALLBACK,
          client_id: SPA,
          ...(verifier ? { code_verifier: verifier } : {}),
        },
        headers: fromPage(SPA_ORIGIN),
      });
      expect(refused.status).toBe(400);
      expect(await jsonOf(refused)).toMatchObject({ error: "invalid_grant" });
      expect(refused.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    }
  });

  it("presenting any secret or JWT assertion is refused (invalid_client), and so is client_credentials without a CAT", async () => {
    const device = await newDevice();
    const { code, verifier } = await loginFor(SPA, SPA_CALLBACK, await spaHaapiToken(device), device);
    const redemption = { grant_type: "authorization_code", code, redirect_uri: SPA_CALLBACK, code_verifier: verifier };
    const refusals = [
      await tokenRequest({ body: redemption, headers: { Authorization: basic(SPA, "anything") } }),
      await tokenRequest({ body: { ...redemption, client_id: SPA, client_secret: "anything" } }),
      await tokenRequest({
        body: {
          ...redemption,
          client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
          client_assertion: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzcGEtcHVibGljIn0.c2ln",
        },
      }),
      await tokenRequest({ body: { grant_type: "client_credentials", scope: HAAPI_SCOPE, client_id: SPA } }),
      await tokenRequest({ body: { grant_type: "client_credentials", scope: "openid", client_id: SPA } }),
    ];
    for (const refused of refusals) {
      expect(refused.status).toBe(401);
      expect((await jsonOf(refused)).error).toBe("invalid_client");
    }
    // None of them spent the code.
    expect((await tokenRequest({ body: { ...redemption, client_id: SPA } })).status).toBe(200);
  });

  it("may not introspect (resource servers are confidential clients)", async () => {
    const response = await exports.default.fetch(`${BASE}/oauth/v2/oauth-introspect`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: "anything", client_id: SPA }).toString(),
    });
    expect(response.status).toBe(401);
    expect((await jsonOf(response)).error).toBe("invalid_client");
  });
});

describe("a mobile client whose only credential is its CAT (attest_jwt_client_auth)", { timeout: 60_000 }, () => {
  it("gets a HAAPI token with its CAT, logs in, and redeems its token-bound code with its DPoP key alone", async () => {
    const device = await newDevice();
    const cat = await catFor("mobile-attested", device, (challenge) => androidResponse(challenge, device));
    const issued = await jsonOf(await haapiToken(cat, device));
    expect(claimsOf(issued.access_token as string)).toMatchObject({ client_id: "mobile-attested", cal: "by-policy" });
    const { code, verifier } = await loginFor("mobile-attested", "app://haapi", issued.access_token as string, device);
    const redemption = {
      grant_type: "authorization_code",
      code,
      redirect_uri: "app://haapi",
      code_verifier: verifier,
      client_id: "mobile-attested",
    };
    // Without the bound key's proof it is refused; with it, the code is redeemed.
    const stranger = await newDevice();
    expect(
      (await jsonOf(await tokenRequest({ body: redemption, headers: { DPoP: await proof(stranger) } }))).error,
    ).toBe("invalid_dpop_proof");
    const redeemed = await tokenRequest({ body: redemption, headers: { DPoP: await proof(device) } });
    const tokens = await jsonOf(redeemed);
    expect(redeemed.status, JSON.stringify(tokens)).toBe(200);
    expect(claimsOf(tokens.access_token as string)).toMatchObject({
      sub: "demo",
      client_id: "mobile-attested",
      cnf: { jkt: device.jkt },
    });
  });

  it("any other credential, or none, is refused for client_credentials: a secret, a client_id alone", async () => {
    const device = await newDevice();
    const requests: TokenRequest[] = [
      {
        body: { grant_type: "client_credentials", scope: HAAPI_SCOPE },
        headers: { Authorization: basic("mobile-attested", "guess"), DPoP: await proof(device) },
      },
      {
        body: { grant_type: "client_credentials", scope: HAAPI_SCOPE, client_id: "mobile-attested" },
        headers: { DPoP: await proof(device) },
      },
    ];
    for (const request of requests) {
      const refused = await tokenRequest(request);
      expect(refused.status).toBe(401);
      expect((await jsonOf(refused)).error).toBe("invalid_client");
    }
    // The IETF header form of the CAT works too (DPoP combined mode: the proof's key is the CAT's).
    const cat = await catFor("mobile-attested", device, (challenge) => androidResponse(challenge, device));
    const viaHeader = await haapiToken(cat, device, {
      body: { grant_type: "client_credentials", scope: HAAPI_SCOPE },
      headers: { "OAuth-Client-Attestation": cat },
    });
    expect(viaHeader.status, await viaHeader.clone().text()).toBe(200);
  });
});

describe("CORS at the token, userinfo and revocation endpoints", () => {
  const ENDPOINTS = [
    ["/oauth/v2/oauth-token", "POST"],
    ["/oauth/v2/oauth-userinfo", "GET, POST"],
    ["/oauth/v2/oauth-revoke", "POST"],
  ] as const;

  it("a preflight from an allowed app origin allows Authorization, DPoP and Content-Type", async () => {
    for (const [path, methods] of ENDPOINTS) {
      const response = await exports.default.fetch(`${BASE}${path}`, {
        method: "OPTIONS",
        headers: {
          Origin: SPA_ORIGIN,
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "authorization,dpop,content-type",
        },
      });
      expect(response.status, path).toBe(204);
      expect(response.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
      expect(response.headers.get("Access-Control-Allow-Methods")).toBe(methods);
      expect(response.headers.get("Access-Control-Allow-Headers")?.toLowerCase().split(/, */).sort()).toEqual([
        "authorization",
        "content-type",
        "dpop",
      ]);
      expect(response.headers.get("Access-Control-Allow-Credentials")).toBeNull();
    }
  });

  it("another origin gets no CORS header at all: its preflight is refused, its requests answered without them", async () => {
    for (const [path] of ENDPOINTS) {
      const preflight = await exports.default.fetch(`${BASE}${path}`, {
        method: "OPTIONS",
        headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
      });
      expect(preflight.status).toBe(403);
      expect([...preflight.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
      const actual = await exports.default.fetch(`${BASE}${path}`, {
        method: "POST",
        headers: { Origin: "https://evil.example", "Content-Type": "application/x-www-form-urlencoded" },
        body: "",
      });
      expect(actual.status).toBeGreaterThanOrEqual(400);
      expect([...actual.headers.keys()].filter((name) => name.startsWith("access-control-"))).toEqual([]);
    }
  });

  it("the DPoP nonce challenge is readable cross-origin (DPoP-Nonce exposed)", async () => {
    const device = await newDevice();
    const cat = await catFor(SPA, device, async () => ({ platform: "web", origin: SPA_ORIGIN }), FROM_IFRAME);
    const first = await tokenRequest({
      body: {
        grant_type: "client_credentials",
        client_id: SPA,
        scope: HAAPI_SCOPE,
        client_assertion_type: CAT_ASSERTION_TYPE,
        client_assertion: cat,
      },
      headers: fromPage(SPA_ORIGIN, { DPoP: await proof(device) }),
    });
    expect(first.status).toBe(400);
    expect((await jsonOf(first)).error).toBe("use_dpop_nonce");
    expect(first.headers.get("DPoP-Nonce")).toBeTruthy();
    expect(first.headers.get("Access-Control-Expose-Headers")).toContain("DPoP-Nonce");
  });
});

describe("web attestation from the web driver's iframe", { timeout: 60_000 }, () => {
  it("attests the embedding origin when the request comes from the server's own page (same-origin)", async () => {
    const device = await newDevice();
    const cat = await catFor(
      SPA,
      device,
      async () => ({ platform: "web", origin: "http://localhost:5173" }),
      FROM_IFRAME,
    );
    expect(claimsOf(cat)).toMatchObject({
      sub: SPA,
      cal: "by-policy",
      attestation: { platform: "web", origin: "http://localhost:5173", origin_verified: true, origin_via: "iframe" },
    });
  });

  it("refuses an attested origin that is not allowed, and a request that is not from the server's page", async () => {
    const cases: [Record<string, unknown>, Record<string, string>][] = [
      [{ platform: "web", origin: "https://evil.example" }, FROM_IFRAME],
      [
        { platform: "web", origin: SPA_ORIGIN },
        { Origin: SPA_ORIGIN, "Sec-Fetch-Site": "cross-site" },
      ],
      [
        { platform: "web", origin: SPA_ORIGIN },
        { Origin: BASE, "Sec-Fetch-Site": "cross-site" },
      ],
      [{ platform: "web", origin: SPA_ORIGIN }, { Origin: BASE }],
      [{ platform: "web", origin: SPA_ORIGIN }, { "Sec-Fetch-Site": "same-origin" }],
    ];
    for (const [response, headers] of cases) {
      const device = await newDevice();
      const refused = await postCat({ challenge: await getChallenge(SPA), response, device, headers });
      expect(refused.status, JSON.stringify({ response, headers })).toBe(400);
      expect((await jsonOf(refused)).error).toBe("invalid_client_attestation");
    }
  });

  it("a malformed origin field is invalid_request naming it", async () => {
    for (const origin of [42, "", "x".repeat(301)]) {
      const device = await newDevice();
      const refused = await postCat({
        challenge: await getChallenge(SPA),
        response: { platform: "web", origin },
        device,
        headers: FROM_IFRAME,
      });
      expect(refused.status).toBe(400);
      expect(await jsonOf(refused)).toMatchObject({
        error: "invalid_request",
        error_description: expect.stringContaining("challenge_response.origin"),
      });
    }
  });
});
