/**
 * POST /oauth/v2/oauth-token: client authentication, grants, scopes, tokens and bad input,
 * driven through the real Worker with real Durable Objects.
 */
import { exports } from "cloudflare:workers";
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
} from "jose";
import { describe, expect, it } from "vitest";
import keys from "../fixtures/keys.json";
import { deviceKey, proof } from "../helpers/dpop";
import { BASE, basic, jsonOf, tokenRequest, TOKEN_URL } from "../helpers/server";
import { postStreamed, streamedBody } from "../helpers/streamed-body";

const CC = { grant_type: "client_credentials" };

const jwks = createRemoteJWKSet(new URL(`${BASE}/oauth/v2/oauth-jwks`), {
  [customFetch]: (url, init) => exports.default.fetch(url, init as RequestInit),
});

async function verifyToken(token: string) {
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: BASE,
    audience: BASE,
    typ: "at+jwt",
    algorithms: ["ES256"],
  });
  return { payload, protectedHeader };
}

async function expectError(response: Response, status: number, error: string) {
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  expect(response.headers.get("Content-Type")).toContain("application/json");
  const body = await jsonOf(response);
  expect({ status: response.status, error: body.error }).toEqual({ status, error });
  expect(typeof body.error_description).toBe("string");
  return body;
}

function certHeader(der: string): string {
  return `:${der}:`;
}

async function clientAssertion(overrides: Record<string, unknown> = {}, key: JWK = keys.jwtClient.private as JWK) {
  const privateKey = await importJWK(key, "ES256");
  const now = Math.floor(Date.now() / 1000);
  // Overrides last, so a test can replace any claim (aud, exp, ...).
  return new SignJWT({
    iss: "jwt-client",
    sub: "jwt-client",
    aud: BASE,
    iat: now,
    exp: now + 60,
    jti: crypto.randomUUID(),
    ...overrides,
  })
    .setProtectedHeader({ alg: "ES256", kid: key.kid as string })
    .sign(privateKey);
}

describe("client_secret_basic", () => {
  it("issues a Bearer at+jwt with the RFC 9068 claims and cal none", async () => {
    const response = await tokenRequest({
      body: { ...CC, scope: "read" },
      headers: { Authorization: basic("plain-client", "plain-secret") },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = await jsonOf(response);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 120, scope: "read" });
    const { payload, protectedHeader } = await verifyToken(body.access_token as string);
    expect(protectedHeader.typ).toBe("at+jwt");
    expect(payload).toMatchObject({
      iss: BASE,
      sub: "plain-client",
      aud: BASE,
      client_id: "plain-client",
      scope: "read",
      cal: "none",
    });
    expect(payload.exp! - payload.iat!).toBe(120);
    expect(typeof payload.jti).toBe("string");
    expect(payload.cnf).toBeUndefined();
  });

  it("without scope grants every configured scope", async () => {
    const response = await tokenRequest({
      body: CC,
      headers: { Authorization: basic("plain-client", "plain-secret") },
    });
    expect((await jsonOf(response)).scope).toBe("read write");
  });

  it("wrong secret: 401 invalid_client with WWW-Authenticate Basic", async () => {
    const response = await tokenRequest({ body: CC, headers: { Authorization: basic("plain-client", "nope") } });
    await expectError(response, 401, "invalid_client");
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
  });

  it("unknown client: 401 invalid_client", async () => {
    const response = await tokenRequest({ body: CC, headers: { Authorization: basic("nobody", "x") } });
    await expectError(response, 401, "invalid_client");
  });

  it("undecodable Basic credentials: 401 invalid_client", async () => {
    for (const value of ["Basic %%%", `Basic ${btoa("no-colon")}`, `Basic ${btoa("a%ZZ:b")}`]) {
      await expectError(await tokenRequest({ body: CC, headers: { Authorization: value } }), 401, "invalid_client");
    }
  });

  it("form-urlencoded credentials are decoded (RFC 6749 §2.3.1)", async () => {
    // plain-secret has no special characters; the encoding of a space as + must still decode.
    const response = await tokenRequest({
      body: CC,
      headers: { Authorization: `Basic ${btoa("plain-client:plain-secret")}` },
    });
    expect(response.status).toBe(200);
  });

  it("a Basic client using client_secret_post is refused", async () => {
    const response = await tokenRequest({ body: { ...CC, client_id: "plain-client", client_secret: "plain-secret" } });
    await expectError(response, 401, "invalid_client");
  });

  it("pbkdf2-hashed secret", async () => {
    expect(
      (await tokenRequest({ body: CC, headers: { Authorization: basic("pbkdf2-client", "slow-secret") } })).status,
    ).toBe(200);
    await expectError(
      await tokenRequest({ body: CC, headers: { Authorization: basic("pbkdf2-client", "slow-secreT") } }),
      401,
      "invalid_client",
    );
  });
});

describe("client_secret_post", () => {
  it("with a salted-hash secret", async () => {
    const response = await tokenRequest({ body: { ...CC, client_id: "post-client", client_secret: "post-secret" } });
    expect(response.status).toBe(200);
    expect((await jsonOf(response)).token_type).toBe("Bearer");
  });

  it("wrong secret: 401 without WWW-Authenticate Basic", async () => {
    const response = await tokenRequest({ body: { ...CC, client_id: "post-client", client_secret: "wrong" } });
    await expectError(response, 401, "invalid_client");
    expect(response.headers.get("WWW-Authenticate")).toBeNull();
  });
});

describe("private_key_jwt", () => {
  const body = async (overrides: Record<string, unknown> = {}, key?: JWK) => ({
    ...CC,
    scope: "read",
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: await clientAssertion(overrides, key),
  });

  it("issues a token with cal by-provisioned-key", async () => {
    const response = await tokenRequest({ body: await body() });
    expect(response.status).toBe(200);
    const { payload } = await verifyToken((await jsonOf(response)).access_token as string);
    expect(payload).toMatchObject({ client_id: "jwt-client", cal: "by-provisioned-key" });
  });

  it("accepts the token endpoint as aud", async () => {
    expect((await tokenRequest({ body: await body({ aud: TOKEN_URL }) })).status).toBe(200);
  });

  it("the same assertion twice: the second is refused", async () => {
    const form = await body();
    expect((await tokenRequest({ body: form })).status).toBe(200);
    await expectError(await tokenRequest({ body: form }), 401, "invalid_client");
  });

  it("refuses a wrong aud, another key, and a missing exp", async () => {
    await expectError(
      await tokenRequest({ body: await body({ aud: "https://elsewhere.example" }) }),
      401,
      "invalid_client",
    );
    await expectError(
      await tokenRequest({ body: await body({}, { ...keys.otherJwtKey.private, kid: "jwt-client-key-1" } as JWK) }),
      401,
      "invalid_client",
    );
    const noExp = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer("jwt-client")
      .setSubject("jwt-client")
      .setAudience(BASE)
      .sign(await importJWK(keys.jwtClient.private as JWK, "ES256"));
    await expectError(
      await tokenRequest({ body: { ...(await body()), client_assertion: noExp } }),
      401,
      "invalid_client",
    );
  });

  it("an unsupported client_assertion_type is invalid_request", async () => {
    await expectError(
      await tokenRequest({ body: { ...(await body()), client_assertion_type: "urn:other" } }),
      400,
      "invalid_request",
    );
  });

  it("a malformed assertion is invalid_client", async () => {
    await expectError(
      await tokenRequest({ body: { ...(await body()), client_assertion: "not.a.jwt" } }),
      401,
      "invalid_client",
    );
  });
});

describe("mutual TLS", () => {
  it("tls_client_auth from a trusted Client-Cert header: certificate-bound token", async () => {
    const response = await tokenRequest({
      body: { ...CC, client_id: "mtls-client" },
      headers: { "Client-Cert": certHeader(keys.certificates.mtls) },
    });
    expect(response.status).toBe(200);
    const { payload } = await verifyToken((await jsonOf(response)).access_token as string);
    expect(payload.cal).toBe("by-provisioned-key");
    const der = Uint8Array.from(atob(keys.certificates.mtls), (c) => c.charCodeAt(0));
    const expected = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", der))))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    expect((payload.cnf as Record<string, string>)["x5t#S256"]).toBe(expected);
  });

  it("tls_client_auth by SAN dNSName", async () => {
    const response = await tokenRequest({
      body: { ...CC, client_id: "mtls-san-client" },
      headers: { "Client-Cert": certHeader(keys.certificates.mtls) },
    });
    expect(response.status).toBe(200);
  });

  it("tls_client_auth from Cloudflare's request.cf.tlsClientAuth", async () => {
    const der = Uint8Array.from(atob(keys.certificates.mtls), (c) => c.charCodeAt(0));
    const hex = [...new Uint8Array(await crypto.subtle.digest("SHA-256", der))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    const tlsClientAuth = {
      certPresented: "1",
      certVerified: "SUCCESS",
      certFingerprintSHA256: hex,
      certSubjectDNRFC2253: "CN=mtls-client,O=haapi-edge test,C=SE",
    };
    const response = await tokenRequest({ body: { ...CC, client_id: "mtls-client" }, cf: { tlsClientAuth } });
    expect(response.status).toBe(200);
    const unverified = await tokenRequest({
      body: { ...CC, client_id: "mtls-client" },
      cf: { tlsClientAuth: { ...tlsClientAuth, certVerified: "FAILED:self signed certificate" } },
    });
    await expectError(unverified, 401, "invalid_client");
  });

  it("another subject, no certificate, or an unreadable certificate is refused", async () => {
    await expectError(
      await tokenRequest({
        body: { ...CC, client_id: "mtls-client" },
        headers: { "Client-Cert": certHeader(keys.certificates.stranger) },
      }),
      401,
      "invalid_client",
    );
    await expectError(await tokenRequest({ body: { ...CC, client_id: "mtls-client" } }), 401, "invalid_client");
    await expectError(
      await tokenRequest({
        body: { ...CC, client_id: "mtls-client" },
        headers: { "Client-Cert": certHeader(keys.certificates.mtls.slice(0, 200)) },
      }),
      400,
      "invalid_request",
    );
  });

  it("self_signed_tls_client_auth matches the registered certificate", async () => {
    expect(
      (
        await tokenRequest({
          body: { ...CC, client_id: "self-signed-client" },
          headers: { "Client-Cert": certHeader(keys.certificates.selfSigned) },
        })
      ).status,
    ).toBe(200);
    await expectError(
      await tokenRequest({
        body: { ...CC, client_id: "self-signed-client" },
        headers: { "Client-Cert": certHeader(keys.certificates.stranger) },
      }),
      401,
      "invalid_client",
    );
  });
});

describe("one authentication method per request", () => {
  it("Basic and client_secret together: invalid_request", async () => {
    const response = await tokenRequest({
      body: { ...CC, client_id: "plain-client", client_secret: "plain-secret" },
      headers: { Authorization: basic("plain-client", "plain-secret") },
    });
    await expectError(response, 400, "invalid_request");
  });

  it("no authentication at all: 401 invalid_client", async () => {
    await expectError(await tokenRequest({ body: CC }), 401, "invalid_client");
  });

  it("client_id in the body differing from Basic: invalid_client", async () => {
    await expectError(
      await tokenRequest({
        body: { ...CC, client_id: "post-client" },
        headers: { Authorization: basic("plain-client", "plain-secret") },
      }),
      401,
      "invalid_client",
    );
  });

  it("a Bearer Authorization header is not client authentication", async () => {
    await expectError(
      await tokenRequest({ body: CC, headers: { Authorization: "Bearer abc" } }),
      400,
      "invalid_request",
    );
  });
});

describe("grants and scopes", () => {
  it("unknown grant: unsupported_grant_type", async () => {
    await expectError(
      await tokenRequest({
        body: { grant_type: "password" },
        headers: { Authorization: basic("plain-client", "plain-secret") },
      }),
      400,
      "unsupported_grant_type",
    );
  });

  it("missing grant_type: invalid_request", async () => {
    await expectError(
      await tokenRequest({ body: {}, headers: { Authorization: basic("plain-client", "plain-secret") } }),
      400,
      "invalid_request",
    );
  });

  it("a scope the client may not have: invalid_scope", async () => {
    await expectError(
      await tokenRequest({
        body: { ...CC, scope: "read admin" },
        headers: { Authorization: basic("plain-client", "plain-secret") },
      }),
      400,
      "invalid_scope",
    );
  });

  it("a malformed scope: invalid_scope", async () => {
    await expectError(
      await tokenRequest({
        body: { ...CC, scope: "read  write" },
        headers: { Authorization: basic("plain-client", "plain-secret") },
      }),
      400,
      "invalid_scope",
    );
  });

  it("HAAPI without attestation for a client that must attest: unauthorized_client", async () => {
    const key = await deviceKey();
    const response = await tokenRequest({
      body: { ...CC, scope: "urn:se:curity:scopes:haapi" },
      headers: {
        Authorization: basic("attested-only", "attested-secret"),
        DPoP: await proof(key, { claims: { nonce: undefined } }),
      },
    });
    // The nonce comes first; with it, the grant check refuses.
    const nonce = response.headers.get("DPoP-Nonce")!;
    const retry = await tokenRequest({
      body: { ...CC, scope: "urn:se:curity:scopes:haapi" },
      headers: { Authorization: basic("attested-only", "attested-secret"), DPoP: await proof(key, { nonce }) },
    });
    await expectError(retry, 400, "unauthorized_client");
  });
});

describe("bad input never reaches a 500", () => {
  const auth = { Authorization: basic("plain-client", "plain-secret") };

  it("repeated parameters are rejected", async () => {
    await expectError(
      await tokenRequest({ body: "grant_type=client_credentials&scope=read&scope=write", headers: auth }),
      400,
      "invalid_request",
    );
    await expectError(
      await tokenRequest({ body: "grant_type=client_credentials&grant_type=client_credentials", headers: auth }),
      400,
      "invalid_request",
    );
  });

  it("wrong content type: JSON body", async () => {
    const response = await exports.default.fetch(TOKEN_URL, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: '{"grant_type":"client_credentials"',
    });
    await expectError(response, 400, "invalid_request");
  });

  it("no content type", async () => {
    const response = await exports.default.fetch(TOKEN_URL, {
      method: "POST",
      headers: auth,
      body: new Uint8Array([1, 2, 3]),
    });
    await expectError(response, 400, "invalid_request");
  });

  it("oversized body: 413", async () => {
    await expectError(
      await tokenRequest({ body: `grant_type=client_credentials&x=${"a".repeat(20_000)}`, headers: auth }),
      413,
      "invalid_request",
    );
  });

  it("oversized body without Content-Length (streamed): 413", async () => {
    const response = await postStreamed(
      TOKEN_URL,
      { ...auth, "Content-Type": "application/x-www-form-urlencoded" },
      streamedBody(20, 1024),
    );
    await expectError(response, 413, "invalid_request");
  });

  it("oversized Authorization header", async () => {
    await expectError(
      await tokenRequest({ body: CC, headers: { Authorization: `Basic ${"a".repeat(10_000)}` } }),
      400,
      "invalid_request",
    );
  });

  it("a body that is not UTF-8", async () => {
    const response = await exports.default.fetch(TOKEN_URL, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/x-www-form-urlencoded" },
      body: new Uint8Array([0x67, 0x3d, 0xff, 0xfe]),
    });
    await expectError(response, 400, "invalid_request");
  });

  it("a malformed JWT as DPoP proof", async () => {
    await expectError(
      await tokenRequest({ body: CC, headers: { ...auth, DPoP: "eyJ.eyJ.sig" } }),
      400,
      "invalid_dpop_proof",
    );
  });

  it("GET on the token endpoint: 405 with Allow", async () => {
    const response = await exports.default.fetch(TOKEN_URL);
    await expectError(response, 405, "method_not_allowed");
    expect(response.headers.get("Allow")).toBe("POST");
  });

  it("an unknown path: 404 JSON", async () => {
    await expectError(await exports.default.fetch(`${BASE}/nope`), 404, "not_found");
  });
});

describe("token format", () => {
  it("the token's kid is in the JWKS", async () => {
    const response = await tokenRequest({
      body: CC,
      headers: { Authorization: basic("plain-client", "plain-secret") },
    });
    const token = (await jsonOf(response)).access_token as string;
    const set = (await (await exports.default.fetch(`${BASE}/oauth/v2/oauth-jwks`)).json()) as { keys: JWK[] };
    expect(set.keys.map((key) => key.kid)).toContain(decodeProtectedHeader(token).kid);
    expect(set.keys.every((key) => key.d === undefined)).toBe(true);
    expect(decodeJwt(token).jti).not.toBe(
      decodeJwt(
        (
          await jsonOf(
            await tokenRequest({ body: CC, headers: { Authorization: basic("plain-client", "plain-secret") } }),
          )
        ).access_token as string,
      ).jti,
    );
  });
});
