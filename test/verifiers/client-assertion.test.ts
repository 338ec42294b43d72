/**
 * private_key_jwt (RFC 7523 §3): verifyClientAssertion with the fixture client keys.
 */
import {
  base64url,
  CompactSign,
  createLocalJWKSet,
  generateKeyPair,
  importJWK,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  verifyClientAssertion,
  type AssertionDeps,
  type AssertionFailure,
  type AssertionPolicy,
} from "../../src/verifiers/client-assertion";
import keys from "../fixtures/keys.json";
import { withOverrides } from "../helpers/dpop";

const NOW = 1_795_000_000;
const ISSUER = "http://127.0.0.1:8787";
const TOKEN_ENDPOINT = "http://127.0.0.1:8787/oauth/v2/oauth-token";
const CLIENT_ID = "jwt-client";

const POLICY: AssertionPolicy = {
  clientId: CLIENT_ID,
  audiences: [ISSUER, TOKEN_ENDPOINT],
  algorithms: ["ES256"],
  maxLifetime: 300,
  clockSkew: 30,
};

interface MarkCall {
  readonly jti: string;
  readonly expiresAt: number;
}

interface Harness {
  readonly deps: AssertionDeps;
  readonly markCalls: MarkCall[];
}

function harness(): Harness {
  const used = new Set<string>();
  const markCalls: MarkCall[] = [];
  return {
    markCalls,
    deps: {
      keys: createLocalJWKSet({ keys: [keys.jwtClient.public as JWK] }),
      markUsed: async (jti, expiresAt) => {
        markCalls.push({ jti, expiresAt });
        if (used.has(jti)) return false;
        used.add(jti);
        return true;
      },
    },
  };
}

let clientKey: CryptoKey;
let otherKey: CryptoKey;

beforeAll(async () => {
  clientKey = (await importJWK(keys.jwtClient.private as JWK, "ES256")) as CryptoKey;
  otherKey = (await importJWK(keys.otherJwtKey.private as JWK, "ES256")) as CryptoKey;
});

interface AssertionOptions {
  /** Replace or add claims (undefined deletes one). */
  claims?: Record<string, unknown>;
  /** Replace or add protected header members (undefined deletes one). */
  header?: Record<string, unknown>;
  key?: CryptoKey | Uint8Array;
}

function assertion({ claims, header, key = clientKey }: AssertionOptions = {}): Promise<string> {
  const payload = withOverrides(
    { iss: CLIENT_ID, sub: CLIENT_ID, aud: TOKEN_ENDPOINT, jti: crypto.randomUUID(), iat: NOW, exp: NOW + 120 },
    claims,
  );
  const protectedHeader = withOverrides({ alg: "ES256", kid: keys.jwtClient.public.kid }, header);
  return new SignJWT(payload as JWTPayload).setProtectedHeader(protectedHeader as { alg: string }).sign(key);
}

async function expectRejected(jwt: string, reason: AssertionFailure, h: Harness = harness()): Promise<Harness> {
  const result = await verifyClientAssertion(jwt, POLICY, h.deps, NOW);
  expect(result).toMatchObject({ ok: false, reason });
  if (reason !== "replayed") expect(h.markCalls).toEqual([]);
  return h;
}

async function expectAccepted(jwt: string, h: Harness = harness()) {
  const result = await verifyClientAssertion(jwt, POLICY, h.deps, NOW);
  expect(result.ok).toBe(true);
  return result;
}

describe("valid assertions", () => {
  it("accepts aud = token endpoint, returns jti and exp, and records the jti past exp + skew", async () => {
    const h = harness();
    const result = await expectAccepted(await assertion({ claims: { jti: "a-1", exp: NOW + 120 } }), h);
    expect(result).toEqual({ ok: true, value: { jti: "a-1", exp: NOW + 120 } });
    expect(h.markCalls).toHaveLength(1);
    expect(h.markCalls[0]!.jti).toBe("a-1");
    expect(h.markCalls[0]!.expiresAt).toBeGreaterThanOrEqual(NOW + 120 + POLICY.clockSkew);
  });

  it("accepts aud = issuer", async () => {
    await expectAccepted(await assertion({ claims: { aud: ISSUER } }));
  });

  it("accepts an aud array holding one accepted audience", async () => {
    await expectAccepted(await assertion({ claims: { aud: ["https://elsewhere.example", ISSUER] } }));
  });

  it("accepts an assertion without kid (the only key is tried)", async () => {
    await expectAccepted(await assertion({ header: { kid: undefined } }));
  });

  it('accepts typ "JWT" and "client-authentication+jwt"', async () => {
    await expectAccepted(await assertion({ header: { typ: "JWT" } }));
    await expectAccepted(await assertion({ header: { typ: "client-authentication+jwt" } }));
  });

  it("accepts an assertion without iat whose exp is within maxLifetime", async () => {
    await expectAccepted(await assertion({ claims: { iat: undefined, exp: NOW + 300 } }));
  });

  it("accepts exp passed by less than the clock skew", async () => {
    await expectAccepted(await assertion({ claims: { iat: NOW - 100, exp: NOW - 10 } }));
  });

  it("accepts nbf within the clock skew", async () => {
    await expectAccepted(await assertion({ claims: { nbf: NOW + 20 } }));
  });
});

describe("iss and sub are the client_id", () => {
  it("rejects another iss as iss_mismatch", async () => {
    await expectRejected(await assertion({ claims: { iss: "other-client" } }), "iss_mismatch");
  });

  it("rejects a missing iss as iss_mismatch", async () => {
    await expectRejected(await assertion({ claims: { iss: undefined } }), "iss_mismatch");
  });

  it("rejects another sub as sub_mismatch", async () => {
    await expectRejected(await assertion({ claims: { sub: "other-client" } }), "sub_mismatch");
  });
});

describe("aud is the issuer or the token endpoint", () => {
  it("rejects another aud as aud_mismatch", async () => {
    await expectRejected(await assertion({ claims: { aud: "https://other-as.example/token" } }), "aud_mismatch");
  });

  it("rejects an aud array without an accepted audience as aud_mismatch", async () => {
    await expectRejected(
      await assertion({ claims: { aud: ["https://a.example", "https://b.example"] } }),
      "aud_mismatch",
    );
  });

  it("rejects a missing aud as aud_mismatch", async () => {
    await expectRejected(await assertion({ claims: { aud: undefined } }), "aud_mismatch");
  });

  it("rejects the token endpoint with a trailing slash as aud_mismatch (exact match)", async () => {
    await expectRejected(await assertion({ claims: { aud: `${TOKEN_ENDPOINT}/` } }), "aud_mismatch");
  });
});

describe("exp, nbf, iat", () => {
  it("rejects an assertion without exp as exp_missing", async () => {
    await expectRejected(await assertion({ claims: { exp: undefined } }), "exp_missing");
  });

  it("rejects a string exp as exp_missing", async () => {
    await expectRejected(await assertion({ claims: { exp: String(NOW + 60) } }), "exp_missing");
  });

  it("rejects an exp passed by more than the clock skew as expired", async () => {
    await expectRejected(await assertion({ claims: { iat: NOW - 200, exp: NOW - 31 } }), "expired");
  });

  it("rejects an exp further ahead than maxLifetime + skew as lifetime_too_long", async () => {
    await expectRejected(await assertion({ claims: { iat: undefined, exp: NOW + 331 } }), "lifetime_too_long");
  });

  it("rejects exp - iat above maxLifetime as lifetime_too_long", async () => {
    await expectRejected(await assertion({ claims: { iat: NOW - 100, exp: NOW + 201 } }), "lifetime_too_long");
  });

  it("rejects an iat in the future beyond the skew as not_yet_valid", async () => {
    await expectRejected(await assertion({ claims: { iat: NOW + 31, exp: NOW + 120 } }), "not_yet_valid");
  });

  it("rejects an nbf in the future beyond the skew as not_yet_valid", async () => {
    await expectRejected(await assertion({ claims: { nbf: NOW + 31 } }), "not_yet_valid");
  });
});

describe("jti, single use", () => {
  it("rejects an assertion without jti as jti_missing", async () => {
    await expectRejected(await assertion({ claims: { jti: undefined } }), "jti_missing");
  });

  it("rejects an empty jti as jti_missing", async () => {
    await expectRejected(await assertion({ claims: { jti: "" } }), "jti_missing");
  });

  it("rejects a replayed jti as replayed", async () => {
    const h = harness();
    const jwt = await assertion({ claims: { jti: "once" } });
    await expectAccepted(jwt, h);
    await expectRejected(jwt, "replayed", h);
  });

  it("rejects a new assertion reusing a jti as replayed", async () => {
    const h = harness();
    await expectAccepted(await assertion({ claims: { jti: "reused" } }), h);
    await expectRejected(await assertion({ claims: { jti: "reused", iat: NOW + 1 } }), "replayed", h);
  });

  it("does not consume the jti of an assertion rejected for another reason", async () => {
    const h = harness();
    await expectRejected(
      await assertion({ claims: { jti: "keep", aud: "https://elsewhere.example" } }),
      "aud_mismatch",
      h,
    );
    await expectAccepted(await assertion({ claims: { jti: "keep" } }), h);
  });
});

describe("signature and algorithm", () => {
  it("rejects an assertion signed by another key with the registered kid as signature", async () => {
    expect(keys.otherJwtKey.private.kid).toBe(keys.jwtClient.public.kid);
    await expectRejected(await assertion({ key: otherKey }), "signature");
  });

  it("rejects an assertion signed by another key with an unknown kid as no_matching_key", async () => {
    await expectRejected(await assertion({ key: otherKey, header: { kid: "unknown-key" } }), "no_matching_key");
  });

  it("rejects a tampered payload as signature", async () => {
    const jwt = await assertion({ claims: { sub: "other-client", iss: "other-client" } });
    const [header, , signature] = jwt.split(".");
    const payload = base64url.encode(
      new TextEncoder().encode(
        JSON.stringify({ iss: CLIENT_ID, sub: CLIENT_ID, aud: TOKEN_ENDPOINT, jti: "t", iat: NOW, exp: NOW + 60 }),
      ),
    );
    await expectRejected(`${header}.${payload}.${signature}`, "signature");
  });

  it("rejects an ES384 assertion when only ES256 is allowed as alg_not_allowed", async () => {
    const { privateKey } = await generateKeyPair("ES384");
    await expectRejected(await assertion({ key: privateKey, header: { alg: "ES384" } }), "alg_not_allowed");
  });

  it("rejects HS256 (signed with a shared secret) as alg_not_allowed", async () => {
    const secret = new TextEncoder().encode("a-shared-secret-of-32-bytes-long!");
    await expectRejected(await assertion({ key: secret, header: { alg: "HS256" } }), "alg_not_allowed");
  });

  it('rejects an unsigned alg "none" assertion as alg_not_allowed', async () => {
    const encode = (value: unknown) => base64url.encode(new TextEncoder().encode(JSON.stringify(value)));
    const unsigned = `${encode({ alg: "none" })}.${encode({ iss: CLIENT_ID, sub: CLIENT_ID, aud: TOKEN_ENDPOINT, jti: "n", exp: NOW + 60 })}.`;
    await expectRejected(unsigned, "alg_not_allowed");
  });
});

describe("typ", () => {
  it('rejects typ "dpop+jwt" (a DPoP proof is not a client assertion)', async () => {
    await expectRejected(await assertion({ header: { typ: "dpop+jwt" } }), "typ");
  });

  it('rejects typ "at+jwt" (an access token is not a client assertion)', async () => {
    await expectRejected(await assertion({ header: { typ: "at+jwt" } }), "typ");
  });
});

describe("malformed input", () => {
  for (const [label, value] of [
    ["a random string", "not-a-jwt"],
    ["an empty string", ""],
    ["three segments of garbage", "a.b.c"],
  ] as const) {
    it(`rejects ${label} as malformed`, async () => {
      await expectRejected(value, "malformed");
    });
  }

  it("rejects a signed assertion whose payload is not JSON as malformed", async () => {
    const jws = await new CompactSign(new TextEncoder().encode("not json"))
      .setProtectedHeader({ alg: "ES256", kid: keys.jwtClient.public.kid })
      .sign(clientKey);
    await expectRejected(jws, "malformed");
  });
});
