/**
 * verifyCat (src/verifiers/cat.ts): a CAT this server issued, presented back at the token endpoint.
 * Every CatFailure is reached; every call passes a fixed `now`. CATs are signed with signCat (the
 * issuer's own code) for the success path and with SignJWT for broken ones.
 */
import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { CAT_TYP, signCat, type CatClaims } from "../../src/tokens/cat";
import type { ServerKeys } from "../../src/tokens/server-keys";
import { verifyCat, type CatFailure, type CatPolicy } from "../../src/verifiers/cat";
import { deviceKey, type DeviceKey } from "../helpers/dpop";
import { testServerKeys } from "../helpers/server-keys";

const NOW = 1_795_000_000;
const ISSUER = "https://as.example.com";
const KID = "server-key-1";
const POLICY: CatPolicy = { issuer: ISSUER, maxLifetime: 120 };

let server: ServerKeys;
let keySet: JWTVerifyGetKey;
let otherServer: CryptoKey;
let device: DeviceKey;

beforeAll(async () => {
  ({ server, keySet } = await testServerKeys(KID, NOW + 3600));
  otherServer = (await generateKeyPair("ES256")).privateKey;
  device = await deviceKey();
});

function claims(overrides: Partial<CatClaims> = {}): CatClaims {
  return {
    issuer: ISSUER,
    clientId: "attested-only",
    jwk: device.publicJwk,
    ttl: 120,
    cal: "by-policy",
    attestation: { platform: "android", security_level: "trusted-environment" },
    ...overrides,
  };
}

/** A CAT built by hand: payload and header members replaceable (undefined deletes one). */
async function handmade(
  payload: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  key: CryptoKey = server.signingKey,
): Promise<string> {
  const base: Record<string, unknown> = {
    iss: ISSUER,
    sub: "attested-only",
    iat: NOW,
    exp: NOW + 120,
    jti: "cat-jti-1",
    cnf: { jwk: device.publicJwk },
    cal: "by-policy",
    attestation: { platform: "android" },
  };
  const body = { ...base, ...payload };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete body[name];
  const protectedHeader = { alg: "ES256", typ: CAT_TYP, kid: KID, ...header } as Record<string, unknown>;
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete protectedHeader[name];
  return new SignJWT(body).setProtectedHeader(protectedHeader as { alg: string }).sign(key);
}

async function expectFailure(token: string, reason: CatFailure, at = NOW, policy = POLICY) {
  const result = await verifyCat(token, policy, keySet, at);
  expect(result.ok, JSON.stringify(result)).toBe(false);
  if (!result.ok) expect(result.reason).toBe(reason);
  return result;
}

describe("verifyCat: success", () => {
  it("accepts a CAT from signCat and returns its claims with the key's thumbprint", async () => {
    const { cat, jti, exp } = await signCat(server, claims(), NOW);
    const result = await verifyCat(cat, POLICY, keySet, NOW);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toEqual({
      clientId: "attested-only",
      jti,
      exp,
      jwk: device.publicJwk,
      jkt: await calculateJwkThumbprint(device.publicJwk, "sha256"),
      cal: "by-policy",
      attestation: { platform: "android", security_level: "trusted-environment" },
    });
    expect(result.value.jkt).toBe(device.jkt);
    expect(exp).toBe(NOW + 120);
  });

  it("accepts every assurance level", async () => {
    for (const cal of ["by-policy", "by-provisioned-key", "none"] as const) {
      const { cat } = await signCat(server, claims({ cal }), NOW);
      const result = await verifyCat(cat, POLICY, keySet, NOW);
      expect(result.ok && result.value.cal).toBe(cal);
    }
  });

  it("accepts up to one second before exp, and exactly maxLifetime", async () => {
    const { cat } = await signCat(server, claims(), NOW);
    expect((await verifyCat(cat, POLICY, keySet, NOW + 119)).ok).toBe(true);
  });

  it("accepts a bound EdDSA key (cnf is any public asymmetric key)", async () => {
    const ed = await deviceKey("EdDSA");
    const { cat } = await signCat(server, claims({ jwk: ed.publicJwk }), NOW);
    const result = await verifyCat(cat, POLICY, keySet, NOW);
    expect(result.ok && result.value.jkt).toBe(ed.jkt);
  });
});

describe("verifyCat: malformed", () => {
  it.each([
    ["empty", ""],
    ["garbage", "not a jwt"],
    ["two segments", "eyJhbGciOiJFUzI1NiJ9.e30"],
    ["header not JSON", `${base64url.encode("nope")}.e30.AAAA`],
  ])("%s", async (_, token) => {
    await expectFailure(token, "malformed");
  });

  it("a payload that is not JSON (signature over it valid)", async () => {
    const jws = await new (await import("jose")).CompactSign(new TextEncoder().encode("not json"))
      .setProtectedHeader({ alg: "ES256", typ: CAT_TYP, kid: KID })
      .sign(server.signingKey);
    await expectFailure(jws, "malformed");
  });

  it("alg other than ES256 (ES384 under a P-384 key)", async () => {
    const p384 = await generateKeyPair("ES384");
    await expectFailure(await handmade({}, { alg: "ES384" }, p384.privateKey), "malformed");
  });

  it("alg none (unsecured JWT)", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: CAT_TYP }));
    const payload = base64url.encode(
      JSON.stringify({ iss: ISSUER, sub: "attested-only", iat: NOW, exp: NOW + 60, jti: "x" }),
    );
    await expectFailure(`${header}.${payload}.`, "malformed");
  });
});

describe("verifyCat: typ", () => {
  it.each([
    ["JWT", "JWT"],
    ["the PoP's typ", "oauth-client-attestation-pop+jwt"],
    ["dpop+jwt", "dpop+jwt"],
  ])("%s", async (_, typ) => {
    await expectFailure(await handmade({}, { typ }), "typ");
  });

  it("typ absent", async () => {
    await expectFailure(await handmade({}, { typ: undefined }), "typ");
  });
});

describe("verifyCat: signature", () => {
  it("signed by another key under the server's kid", async () => {
    await expectFailure(await handmade({}, {}, otherServer), "signature");
  });

  it("a kid the server does not publish", async () => {
    await expectFailure(await handmade({}, { kid: "unknown-kid" }, otherServer), "signature");
  });

  it("payload tampered after signing", async () => {
    const { cat } = await signCat(server, claims({ cal: "none" }), NOW);
    const [header, payload, signature] = cat.split(".");
    const decoded = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
    const tampered = base64url.encode(JSON.stringify({ ...decoded, cal: "by-policy" }));
    await expectFailure(`${header}.${tampered}.${signature}`, "signature");
  });

  it("signature bytes flipped", async () => {
    const { cat } = await signCat(server, claims(), NOW);
    const [header, payload, signature] = cat.split(".");
    const bytes = base64url.decode(signature!);
    bytes[10] = bytes[10]! ^ 0x01;
    await expectFailure(`${header}.${payload}.${base64url.encode(bytes)}`, "signature");
  });
});

describe("verifyCat: issuer", () => {
  it("another issuer", async () => {
    const { cat } = await signCat(server, claims({ issuer: "https://evil.example" }), NOW);
    await expectFailure(cat, "issuer");
  });

  it("no iss at all", async () => {
    await expectFailure(await handmade({ iss: undefined }), "issuer");
  });
});

describe("verifyCat: expired", () => {
  it("at exp", async () => {
    const { cat } = await signCat(server, claims(), NOW);
    await expectFailure(cat, "expired", NOW + 120);
  });

  it("signed ten minutes ago", async () => {
    const { cat } = await signCat(server, claims(), NOW - 600);
    await expectFailure(cat, "expired");
  });
});

describe("verifyCat: lifetime_too_long", () => {
  it("exp - iat over maxLifetime", async () => {
    const { cat } = await signCat(server, claims({ ttl: 121 }), NOW);
    const result = await expectFailure(cat, "lifetime_too_long");
    expect(!result.ok && result.detail).toEqual({ lifetime: 121, max: 120 });
  });

  it("an iat far in the past with a long exp", async () => {
    await expectFailure(await handmade({ iat: NOW - 10_000, exp: NOW + 60 }), "lifetime_too_long");
  });
});

describe("verifyCat: claims_missing", () => {
  it.each(["exp", "iat", "sub", "jti"])("no %s", async (claim) => {
    const result = await expectFailure(await handmade({ [claim]: undefined }), "claims_missing");
    expect(!result.ok && result.detail).toEqual({ claim });
  });

  it.each([
    ["sub not a string", { sub: 42 }],
    ["jti not a string", { jti: 42 }],
    ["iat not a number", { iat: "now" }],
    ["cal absent", { cal: undefined }],
    ["cal unknown", { cal: "by-magic" }],
    ["cal not a string", { cal: 1 }],
    ["attestation absent", { attestation: undefined }],
    ["attestation not an object", { attestation: "android" }],
  ])("%s", async (_, payload) => {
    await expectFailure(await handmade(payload), "claims_missing");
  });
});

describe("verifyCat: cnf_invalid", () => {
  it.each([
    ["no cnf", { cnf: undefined }],
    ["cnf without jwk", { cnf: {} }],
    ["cnf.jwk a string", { cnf: { jwk: "key" } }],
    ["cnf.jwk an array", { cnf: { jwk: [] } }],
    ["cnf.jwk incomplete (EC without crv)", { cnf: { jwk: { kty: "EC", x: "AAAA", y: "AAAA" } } }],
    ["cnf.jwk of unknown kty", { cnf: { jwk: { kty: "XYZ" } } }],
    ["cnf.jwk symmetric", { cnf: { jwk: { kty: "oct", k: "c2VjcmV0" } } }],
  ])("%s", async (_, payload) => {
    await expectFailure(await handmade(payload), "cnf_invalid");
  });

  it("cnf.jwk a private key (d present)", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = (await exportJWK(privateKey)) as JWK;
    expect(jwk.d).toBeTruthy();
    await expectFailure(await handmade({ cnf: { jwk } }), "cnf_invalid");
  });
});
