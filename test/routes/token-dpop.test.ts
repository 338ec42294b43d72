/**
 * DPoP at the token endpoint (RFC 9449 §5, §8): binding, nonces, replay and races,
 * through the real Worker and the real ReplayGuard Durable Objects.
 */
import { calculateJwkThumbprint, decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { deviceKey, proof, type DeviceKey } from "../helpers/dpop";
import { basic, jsonOf, tokenRequest } from "../helpers/server";

const HAAPI = { grant_type: "client_credentials", scope: "urn:se:curity:scopes:haapi" };
const DEV = { Authorization: basic("dev-client", "dev-secret") };

/** A nonce as a client learns it: from the first (refused) request. */
async function learnNonce(key: DeviceKey): Promise<string> {
  const response = await tokenRequest({ body: HAAPI, headers: { ...DEV, DPoP: await proof(key) } });
  expect(response.status).toBe(400);
  expect((await jsonOf(response)).error).toBe("use_dpop_nonce");
  const nonce = response.headers.get("DPoP-Nonce");
  expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
  return nonce!;
}

describe("HAAPI token without attestation (dev-client)", () => {
  it("first request: 400 use_dpop_nonce with a DPoP-Nonce; retry with it: a DPoP-bound HAAPI token", async () => {
    const key = await deviceKey();
    const nonce = await learnNonce(key);
    const response = await tokenRequest({ body: HAAPI, headers: { ...DEV, DPoP: await proof(key, { nonce }) } });
    expect(response.status).toBe(200);
    expect(response.headers.get("DPoP-Nonce")).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const body = await jsonOf(response);
    expect(body).toMatchObject({ token_type: "DPoP", expires_in: 600, scope: "urn:se:curity:scopes:haapi" });
    const claims = decodeJwt(body.access_token as string);
    expect(claims).toMatchObject({ client_id: "dev-client", cal: "none", scope: "urn:se:curity:scopes:haapi" });
    expect((claims.cnf as { jkt: string }).jkt).toBe(await calculateJwkThumbprint(key.publicJwk, "sha256"));
  });

  it("without a DPoP proof: 400 invalid_dpop_proof", async () => {
    const response = await tokenRequest({ body: HAAPI, headers: DEV });
    expect(response.status).toBe(400);
    expect((await jsonOf(response)).error).toBe("invalid_dpop_proof");
  });

  it("an invented nonce: use_dpop_nonce with a fresh one", async () => {
    const key = await deviceKey();
    const response = await tokenRequest({
      body: HAAPI,
      headers: { ...DEV, DPoP: await proof(key, { nonce: "AAAAAAAAAAAAAAAAAAAAAA" }) },
    });
    expect(response.status).toBe(400);
    expect((await jsonOf(response)).error).toBe("use_dpop_nonce");
    expect(response.headers.get("DPoP-Nonce")).toBeTruthy();
  });

  it("the nonce learned from one key works for another key (stateless, not per key)", async () => {
    const nonce = await learnNonce(await deviceKey());
    const other = await deviceKey();
    expect((await tokenRequest({ body: HAAPI, headers: { ...DEV, DPoP: await proof(other, { nonce }) } })).status).toBe(
      200,
    );
  });

  it("a client with use_legacy_dpop gets its token without a nonce", async () => {
    const key = await deviceKey();
    const response = await tokenRequest({
      body: HAAPI,
      headers: { Authorization: basic("legacy-haapi", "legacy-secret"), DPoP: await proof(key) },
    });
    expect(response.status).toBe(200);
    expect((await jsonOf(response)).token_type).toBe("DPoP");
  });

  it("Ed25519 and RS256 device keys are accepted", async () => {
    for (const alg of ["EdDSA", "RS256"]) {
      const key = await deviceKey(alg);
      const response = await tokenRequest({
        body: HAAPI,
        headers: { Authorization: basic("legacy-haapi", "legacy-secret"), DPoP: await proof(key) },
      });
      expect({ alg, status: response.status }).toEqual({ alg, status: 200 });
    }
  });
});

describe("replay", () => {
  it("the same proof twice: the second is refused", async () => {
    const key = await deviceKey();
    const nonce = await learnNonce(key);
    const dpop = await proof(key, { nonce });
    expect((await tokenRequest({ body: HAAPI, headers: { ...DEV, DPoP: dpop } })).status).toBe(200);
    const second = await tokenRequest({ body: HAAPI, headers: { ...DEV, DPoP: dpop } });
    expect(second.status).toBe(400);
    expect((await jsonOf(second)).error).toBe("invalid_dpop_proof");
  });

  it("the same proof in ten racing requests: exactly one succeeds", async () => {
    const key = await deviceKey();
    const nonce = await learnNonce(key);
    const dpop = await proof(key, { nonce });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => tokenRequest({ body: HAAPI, headers: { ...DEV, DPoP: dpop } })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
    for (const response of responses.filter((r) => r.status === 400))
      expect((await jsonOf(response)).error).toBe("invalid_dpop_proof");
  });

  it("a proof refused for its nonce does not spend its jti", async () => {
    const key = await deviceKey();
    const jti = crypto.randomUUID();
    const first = await tokenRequest({ body: HAAPI, headers: { ...DEV, DPoP: await proof(key, { jti }) } });
    const nonce = first.headers.get("DPoP-Nonce")!;
    // A new proof (it must be: the nonce is signed) with the same jti is still fresh.
    expect(
      (await tokenRequest({ body: HAAPI, headers: { ...DEV, DPoP: await proof(key, { jti, nonce }) } })).status,
    ).toBe(200);
  });
});

describe("proof checks at the route", () => {
  const legacy = { Authorization: basic("legacy-haapi", "legacy-secret") };

  it("htu of another endpoint: invalid_dpop_proof", async () => {
    const key = await deviceKey();
    const response = await tokenRequest({
      body: HAAPI,
      headers: { ...legacy, DPoP: await proof(key, { htu: "http://127.0.0.1:8787/oauth/v2/oauth-authorize" }) },
    });
    const body = await jsonOf(response);
    expect(body.error).toBe("invalid_dpop_proof");
    expect(body.error_description).toContain("htu");
  });

  it("htm GET: invalid_dpop_proof", async () => {
    const key = await deviceKey();
    const response = await tokenRequest({
      body: HAAPI,
      headers: { ...legacy, DPoP: await proof(key, { htm: "GET" }) },
    });
    expect((await jsonOf(response)).error).toBe("invalid_dpop_proof");
  });

  it("iat ten minutes old: the description and Date header give the server time", async () => {
    const key = await deviceKey();
    const response = await tokenRequest({
      body: HAAPI,
      headers: { ...legacy, DPoP: await proof(key, { iat: Math.floor(Date.now() / 1000) - 600 }) },
    });
    const body = await jsonOf(response);
    expect(body.error).toBe("invalid_dpop_proof");
    expect(body.error_description).toMatch(/server time is \d{10}/);
    const serverTime = Number((body.error_description as string).match(/(\d{10})/)![1]);
    expect(Math.abs(serverTime - Date.now() / 1000)).toBeLessThan(60);
    expect(Date.parse(response.headers.get("Date")!)).toBeGreaterThan(0);
  });

  it("two DPoP headers: invalid_dpop_proof", async () => {
    const key = await deviceKey();
    const headers = new Headers(legacy);
    headers.append("DPoP", await proof(key));
    headers.append("DPoP", await proof(key));
    const response = await tokenRequest({ body: HAAPI, headers: Object.fromEntries(headers) });
    expect((await jsonOf(response)).error).toBe("invalid_dpop_proof");
  });

  it("a private key in the proof header: invalid_dpop_proof", async () => {
    const key = await deviceKey();
    const response = await tokenRequest({
      body: HAAPI,
      headers: { ...legacy, DPoP: await proof(key, { header: { jwk: { ...key.publicJwk, d: "AAAA" } } }) },
    });
    expect((await jsonOf(response)).error).toBe("invalid_dpop_proof");
  });
});

describe("DPoP outside HAAPI", () => {
  it("dpop_bound_access_tokens client: proof required, nonce required per client", async () => {
    const auth = { Authorization: basic("dpop-client", "dpop-secret") };
    const body = { grant_type: "client_credentials" };
    expect((await jsonOf(await tokenRequest({ body, headers: auth }))).error).toBe("invalid_dpop_proof");
    const key = await deviceKey();
    const refused = await tokenRequest({ body, headers: { ...auth, DPoP: await proof(key) } });
    expect((await jsonOf(refused)).error).toBe("use_dpop_nonce");
    const nonce = refused.headers.get("DPoP-Nonce")!;
    const granted = await tokenRequest({ body, headers: { ...auth, DPoP: await proof(key, { nonce }) } });
    expect(granted.status).toBe(200);
    expect((await jsonOf(granted)).token_type).toBe("DPoP");
  });

  it("an optional proof is still verified and binds the token", async () => {
    const auth = { Authorization: basic("plain-client", "plain-secret") };
    const key = await deviceKey();
    const bound = await jsonOf(
      await tokenRequest({ body: { grant_type: "client_credentials" }, headers: { ...auth, DPoP: await proof(key) } }),
    );
    expect(bound.token_type).toBe("DPoP");
    expect((decodeJwt(bound.access_token as string).cnf as { jkt: string }).jkt).toBe(key.jkt);
    const broken = await tokenRequest({
      body: { grant_type: "client_credentials" },
      headers: { ...auth, DPoP: await proof(key, { htm: "PUT" }) },
    });
    expect((await jsonOf(broken)).error).toBe("invalid_dpop_proof");
  });
});
