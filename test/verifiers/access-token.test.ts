/**
 * verifyAccessToken (src/verifiers/access-token.ts): access tokens this server issued, presented back
 * to it (initial access tokens at the registration endpoint). Valid tokens come from signAccessToken
 * (the issuer's own code); broken ones from SignJWT. Every call passes a fixed `now`.
 */
import { generateKeyPair, SignJWT, type JWTVerifyGetKey } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { signAccessToken, type AccessTokenClaims } from "../../src/tokens/access-token";
import type { ServerKeys } from "../../src/tokens/server-keys";
import { verifyAccessToken, type AccessTokenFailure, type AccessTokenPolicy } from "../../src/verifiers/access-token";
import { withOverrides } from "../helpers/dpop";
import { testServerKeys } from "../helpers/server-keys";

const NOW = 1_795_000_000;
const ISSUER = "https://login.example.com";
const KID = "server-key-1";
const POLICY: AccessTokenPolicy = { issuer: ISSUER, audience: ISSUER };

let server: ServerKeys;
let keySet: JWTVerifyGetKey;
let otherKey: CryptoKey;

beforeAll(async () => {
  ({ server, keySet } = await testServerKeys(KID, NOW + 3600));
  otherKey = (await generateKeyPair("ES256")).privateKey;
});

function claims(overrides: Partial<AccessTokenClaims> = {}): AccessTokenClaims {
  return {
    issuer: ISSUER,
    audience: ISSUER,
    subject: "haapi-client",
    clientId: "haapi-client",
    scope: "dcr",
    ttl: 120,
    cal: "by-policy",
    ...overrides,
  };
}

/** A token built by hand: payload and header members replaceable (undefined deletes one). */
function handmade(
  payload: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  key: CryptoKey = server.signingKey,
): Promise<string> {
  const body = withOverrides(
    {
      iss: ISSUER,
      aud: ISSUER,
      sub: "haapi-client",
      client_id: "haapi-client",
      scope: "dcr",
      cal: "by-policy",
      iat: NOW,
      exp: NOW + 120,
      jti: "at-1",
    },
    payload,
  );
  const protectedHeader = withOverrides({ alg: "ES256", typ: "at+jwt", kid: KID }, header);
  return new SignJWT(body).setProtectedHeader(protectedHeader as { alg: string }).sign(key);
}

async function expectFailure(token: string, reason: AccessTokenFailure, at = NOW, policy = POLICY) {
  const result = await verifyAccessToken(token, policy, keySet, at);
  expect(result, JSON.stringify(result)).toMatchObject({ ok: false, reason });
  return result;
}

describe("valid access tokens", () => {
  it("returns subject, client, scopes, jti, exp and cal", async () => {
    const token = await signAccessToken(server, claims({ scope: "dcr openid", cal: "by-provisioned-key" }), NOW);
    const result = await verifyAccessToken(token, POLICY, keySet, NOW + 60);
    if (!result.ok) expect.unreachable(JSON.stringify(result));
    expect(result.value).toEqual({
      subject: "haapi-client",
      clientId: "haapi-client",
      scopes: ["dcr", "openid"],
      jti: expect.any(String),
      exp: NOW + 120,
      cal: "by-provisioned-key",
      claims: expect.objectContaining({
        sub: "haapi-client",
        scope: "dcr openid",
        cal: "by-provisioned-key",
        exp: NOW + 120,
      }),
    });
    expect(result.value).not.toHaveProperty("grantId");
    expect(result.value.jti.length).toBeGreaterThan(0);
  });

  it("returns the DPoP key binding from cnf.jkt", async () => {
    const token = await signAccessToken(
      server,
      claims({
        jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
        x5tS256: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2",
      }),
      NOW,
    );
    const result = await verifyAccessToken(token, POLICY, keySet, NOW);
    expect(result).toMatchObject({ ok: true, value: { jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" } });
  });

  it("no jkt for an unbound or certificate-bound token", async () => {
    for (const token of [
      await signAccessToken(server, claims(), NOW),
      await signAccessToken(server, claims({ x5tS256: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" }), NOW),
    ]) {
      const result = await verifyAccessToken(token, POLICY, keySet, NOW);
      expect(result.ok).toBe(true);
      expect(result.ok && result.value).not.toHaveProperty("jkt");
    }
  });

  it("an empty scope is no scopes", async () => {
    const result = await verifyAccessToken(
      await signAccessToken(server, claims({ scope: "" }), NOW),
      POLICY,
      keySet,
      NOW,
    );
    expect(result).toMatchObject({ ok: true, value: { scopes: [] } });
  });

  it("each client assurance level", async () => {
    for (const cal of ["by-policy", "by-provisioned-key", "none"] as const) {
      expect(
        await verifyAccessToken(await signAccessToken(server, claims({ cal }), NOW), POLICY, keySet, NOW),
      ).toMatchObject({ ok: true, value: { cal } });
    }
  });

  it('accepts typ "application/at+jwt" (RFC 9068 §2.1)', async () => {
    expect((await verifyAccessToken(await handmade({}, { typ: "application/at+jwt" }), POLICY, keySet, NOW)).ok).toBe(
      true,
    );
  });
});

describe("refusals", () => {
  it("a wrong or missing typ", async () => {
    await expectFailure(await handmade({}, { typ: "JWT" }), "typ");
    await expectFailure(await handmade({}, { typ: "dpop+jwt" }), "typ");
    await expectFailure(await handmade({}, { typ: "cat+jwt" }), "typ");
    await expectFailure(await handmade({}, { typ: undefined }), "typ");
  });

  it("another issuer, or none", async () => {
    await expectFailure(await signAccessToken(server, claims({ issuer: "https://other.example.com" }), NOW), "issuer");
    await expectFailure(await handmade({ iss: undefined }), "issuer");
    await expectFailure(await signAccessToken(server, claims(), NOW), "issuer", NOW, {
      ...POLICY,
      issuer: "https://other.example.com",
    });
  });

  it("another audience, or none", async () => {
    await expectFailure(
      await signAccessToken(server, claims({ audience: "https://api.example.com" }), NOW),
      "audience",
    );
    await expectFailure(await handmade({ aud: undefined }), "audience");
    await expectFailure(await handmade({ aud: ["https://api.example.com"] }), "audience");
  });

  it("expired at the fixed now (no leeway)", async () => {
    const token = await signAccessToken(server, claims({ ttl: 120 }), NOW);
    expect((await verifyAccessToken(token, POLICY, keySet, NOW + 119)).ok).toBe(true);
    await expectFailure(token, "expired", NOW + 120);
    await expectFailure(token, "expired", NOW + 121);
  });

  it("signed by another key, with the server's kid or another", async () => {
    await expectFailure(await handmade({}, {}, otherKey), "signature");
    await expectFailure(await handmade({}, { kid: "other-key" }, otherKey), "signature");
  });

  it("an algorithm other than ES256 is refused before any key is looked up", async () => {
    const { privateKey } = await generateKeyPair("ES384");
    await expectFailure(await handmade({}, { alg: "ES384" }, privateKey as CryptoKey), "malformed");
    await expectFailure(
      await handmade(
        {},
        { alg: "HS256" },
        new TextEncoder().encode("a-shared-secret-of-32-bytes-long!") as unknown as CryptoKey,
      ),
      "malformed",
    );
  });

  it("missing client_id, sub, jti, exp or iat", async () => {
    for (const claim of ["client_id", "sub", "jti", "exp", "iat"]) {
      const result = await expectFailure(await handmade({ [claim]: undefined }), "claims_missing");
      expect(result.ok === false && result.detail).toEqual({ claim });
    }
  });

  it("a client_id or sub that is not a string", async () => {
    await expectFailure(await handmade({ client_id: 7 }), "claims_missing");
    await expectFailure(await handmade({ sub: 7 }), "claims_missing");
  });

  it("a missing or non-string scope", async () => {
    expect(await expectFailure(await handmade({ scope: undefined }), "claims_missing")).toMatchObject({
      detail: { claim: "scope" },
    });
    await expectFailure(await handmade({ scope: ["dcr"] }), "claims_missing");
  });

  it("a missing or unknown cal", async () => {
    for (const cal of [undefined, "by-magic", 1, "BY-POLICY"]) {
      expect(await expectFailure(await handmade({ cal }), "claims_missing")).toMatchObject({
        detail: { claim: "cal" },
      });
    }
  });

  it("a cnf.jkt that is not a string", async () => {
    expect(await expectFailure(await handmade({ cnf: { jkt: 7 } }), "claims_missing")).toMatchObject({
      detail: { claim: "cnf.jkt" },
    });
  });

  it("garbage is malformed", async () => {
    for (const value of ["", "garbage", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA.BBBB"])
      await expectFailure(value, "malformed");
  });

  it("a truncated signature is signature", async () => {
    await expectFailure((await handmade()).slice(0, -10), "signature");
  });
});
