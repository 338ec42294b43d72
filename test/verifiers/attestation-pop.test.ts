/**
 * verifyAttestationPop (src/verifiers/attestation-pop.ts): OAuth-Client-Attestation-PoP
 * (draft-ietf-oauth-attestation-based-client-auth §5.2). Every AttestationPopFailure is reached;
 * every call passes a fixed `now`. Single use is the caller's (test/routes/cat-errors.test.ts covers a replayed PoP).
 */
import { base64url, exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ATTESTATION_POP_TYP,
  verifyAttestationPop,
  type AttestationPopFailure,
  type AttestationPopPolicy,
} from "../../src/verifiers/attestation-pop";
import { deviceKey, type DeviceKey } from "../helpers/dpop";

const NOW = 1_795_000_000;
const ISSUER = "https://as.example.com";
const TOKEN_ENDPOINT = `${ISSUER}/oauth/v2/oauth-token`;
const MAX_AGE = 300;
const SKEW = 60;
const POLICY: AttestationPopPolicy = {
  audiences: [ISSUER, TOKEN_ENDPOINT],
  algorithms: ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
  maxAge: MAX_AGE,
  clockSkew: SKEW,
};

let device: DeviceKey;
let stranger: DeviceKey;

beforeAll(async () => {
  device = await deviceKey();
  stranger = await deviceKey();
});

async function pop(
  payload: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  signer: DeviceKey = device,
): Promise<string> {
  const body: Record<string, unknown> = {
    iss: "attested-only",
    aud: ISSUER,
    iat: NOW,
    jti: crypto.randomUUID(),
    ...payload,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete body[name];
  const protectedHeader: Record<string, unknown> = { alg: signer.alg, typ: ATTESTATION_POP_TYP, ...header };
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete protectedHeader[name];
  return new SignJWT(body).setProtectedHeader(protectedHeader as { alg: string }).sign(signer.privateKey);
}

async function expectFailure(
  token: string,
  reason: AttestationPopFailure,
  options: { key?: JWK; policy?: AttestationPopPolicy; now?: number } = {},
) {
  const result = await verifyAttestationPop(
    token,
    options.policy ?? POLICY,
    options.key ?? device.publicJwk,
    options.now ?? NOW,
  );
  expect(result.ok, JSON.stringify(result)).toBe(false);
  if (!result.ok) expect(result.reason).toBe(reason);
  return { result };
}

describe("verifyAttestationPop: success", () => {
  it("accepts a fresh PoP by the attested key, and says how long its jti must be remembered (iat + maxAge + skew)", async () => {
    const result = await verifyAttestationPop(
      await pop({ jti: "pop-1", iat: NOW - 10 }),
      POLICY,
      device.publicJwk,
      NOW,
    );
    expect(result).toEqual({ ok: true, value: { jti: "pop-1", expiresAt: NOW - 10 + MAX_AGE + SKEW } });
  });

  it("accepts the token endpoint as aud, and an aud array that contains the issuer", async () => {
    expect((await verifyAttestationPop(await pop({ aud: TOKEN_ENDPOINT }), POLICY, device.publicJwk, NOW)).ok).toBe(
      true,
    );
    expect(
      (await verifyAttestationPop(await pop({ aud: ["https://other.example", ISSUER] }), POLICY, device.publicJwk, NOW))
        .ok,
    ).toBe(true);
  });

  it("accepts an iat at the edges of the window", async () => {
    expect((await verifyAttestationPop(await pop({ iat: NOW - MAX_AGE }), POLICY, device.publicJwk, NOW)).ok).toBe(
      true,
    );
    expect((await verifyAttestationPop(await pop({ iat: NOW + SKEW }), POLICY, device.publicJwk, NOW)).ok).toBe(true);
  });

  it("ignores a challenge claim (none issued by this server)", async () => {
    expect((await verifyAttestationPop(await pop({ challenge: "anything" }), POLICY, device.publicJwk, NOW)).ok).toBe(
      true,
    );
  });

  it("derives the algorithm from the key: EdDSA and P-384 keys without alg", async () => {
    const ed = await deviceKey("EdDSA");
    expect((await verifyAttestationPop(await pop({}, {}, ed), POLICY, ed.publicJwk, NOW)).ok).toBe(true);
    const p384 = await deviceKey("ES384");
    expect((await verifyAttestationPop(await pop({}, {}, p384), POLICY, p384.publicJwk, NOW)).ok).toBe(true);
  });

  it("accepts an RSA key (RS256 by default)", async () => {
    const rsa = await deviceKey("RS256");
    const { alg: _alg, ...withoutAlg } = rsa.publicJwk;
    expect((await verifyAttestationPop(await pop({}, {}, rsa), POLICY, withoutAlg, NOW)).ok).toBe(true);
  });
});

describe("verifyAttestationPop: malformed", () => {
  it.each([
    ["empty", ""],
    ["garbage", "garbage"],
    ["two segments", "eyJhbGciOiJFUzI1NiJ9.e30"],
    ["header not JSON", `${base64url.encode("x")}.e30.AAAA`],
  ])("%s", async (_, token) => {
    await expectFailure(token, "malformed");
  });

  it("an attested key that cannot be imported", async () => {
    await expectFailure(await pop(), "malformed", { key: { kty: "EC", crv: "P-256", x: "AAAA", y: "AAAA" } });
  });

  it("iat that is not a number (jose refuses it before the verifier looks)", async () => {
    await expectFailure(await pop({ iat: "now" }), "malformed");
  });
});

describe("verifyAttestationPop: typ", () => {
  it.each([
    ["JWT", "JWT"],
    ["the attestation's typ", "oauth-client-attestation+jwt"],
    ["dpop+jwt", "dpop+jwt"],
  ])("%s", async (_, typ) => {
    await expectFailure(await pop({}, { typ }), "typ");
  });

  it("typ absent", async () => {
    await expectFailure(await pop({}, { typ: undefined }), "typ");
  });
});

describe("verifyAttestationPop: alg_not_allowed", () => {
  it("an algorithm outside the policy", async () => {
    await expectFailure(await pop(), "alg_not_allowed", { policy: { ...POLICY, algorithms: ["EdDSA"] } });
  });

  it("alg none (unsecured)", async () => {
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: ATTESTATION_POP_TYP }));
    const payload = base64url.encode(JSON.stringify({ aud: ISSUER, iat: NOW, jti: "x" }));
    await expectFailure(`${header}.${payload}.`, "alg_not_allowed");
  });

  it("HS256 (symmetric)", async () => {
    const secret = new TextEncoder().encode("0123456789abcdef0123456789abcdef");
    const token = await new SignJWT({ aud: ISSUER, iat: NOW, jti: "x" })
      .setProtectedHeader({ alg: "HS256", typ: ATTESTATION_POP_TYP })
      .sign(secret);
    await expectFailure(token, "alg_not_allowed");
  });
});

describe("verifyAttestationPop: signature", () => {
  it("signed by another key than the attested one", async () => {
    await expectFailure(await pop({}, {}, stranger), "signature");
  });

  it("payload tampered after signing", async () => {
    const [header, , signature] = (await pop()).split(".");
    const forged = base64url.encode(JSON.stringify({ aud: ISSUER, iat: NOW, jti: "forged" }));
    await expectFailure(`${header}.${forged}.${signature}`, "signature");
  });
});

describe("verifyAttestationPop: aud_mismatch", () => {
  it.each([
    ["another server", { aud: "https://other.example" }],
    ["the CAT endpoint", { aud: `${ISSUER}/oauth/v2/oauth-token/cat` }],
    ["a trailing slash", { aud: `${ISSUER}/` }],
    ["no aud", { aud: undefined }],
    ["an empty array", { aud: [] }],
    ["a number", { aud: 1 }],
  ])("%s", async (_, payload) => {
    await expectFailure(await pop(payload), "aud_mismatch");
  });

  it("says what was expected and received", async () => {
    const { result } = await expectFailure(await pop({ aud: "https://other.example" }), "aud_mismatch");
    expect(!result.ok && result.detail).toEqual({
      expected: [ISSUER, TOKEN_ENDPOINT],
      received: ["https://other.example"],
    });
  });
});

describe("verifyAttestationPop: iat", () => {
  it("iat_missing", async () => {
    await expectFailure(await pop({ iat: undefined }), "iat_missing");
  });

  it("iat_too_old: older than maxAge", async () => {
    const { result } = await expectFailure(await pop({ iat: NOW - MAX_AGE - 1 }), "iat_too_old");
    expect(!result.ok && result.detail).toEqual({ iat: NOW - MAX_AGE - 1, now: NOW });
  });

  it("iat_too_old: an exp that has passed", async () => {
    await expectFailure(await pop({ iat: NOW - 10, exp: NOW - 1 }), "iat_too_old");
  });

  it("iat_in_future: beyond the skew", async () => {
    const { result } = await expectFailure(await pop({ iat: NOW + SKEW + 1 }), "iat_in_future");
    expect(!result.ok && result.detail).toEqual({ iat: NOW + SKEW + 1, now: NOW });
  });
});

describe("verifyAttestationPop: jti", () => {
  it.each([
    ["absent", { jti: undefined }],
    ["empty", { jti: "" }],
    ["not a string", { jti: 7 }],
    ["longer than 256 characters", { jti: "j".repeat(257) }],
  ])("jti_missing: %s", async (_, payload) => {
    await expectFailure(await pop(payload), "jti_missing");
  });

  it("accepts a 256-character jti", async () => {
    expect((await verifyAttestationPop(await pop({ jti: "j".repeat(256) }), POLICY, device.publicJwk, NOW)).ok).toBe(
      true,
    );
  });
});

describe("verifyAttestationPop: the attested key's own alg", () => {
  it("is used when the JWK names one", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), alg: "ES256" };
    const key: DeviceKey = { alg: "ES256", privateKey, publicJwk: jwk, jkt: "unused" };
    expect((await verifyAttestationPop(await pop({}, {}, key), POLICY, jwk, NOW)).ok).toBe(true);
  });
});
