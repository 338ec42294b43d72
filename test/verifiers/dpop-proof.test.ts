/**
 * verifyDpopProof (RFC 9449 §4.3), one named check per describe block.
 * Every call passes a fixed `now`; proofs are built with iat relative to it.
 */
import { base64url, calculateJwkThumbprint, CompactSign, exportJWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { dpopNonceForStep, isDpopNonceValid, nonceStep } from "../../src/verifiers/dpop-nonce";
import {
  accessTokenHash,
  NONCE_FAILURES,
  verifyDpopProof,
  type DpopDeps,
  type DpopFailure,
  type DpopPolicy,
} from "../../src/verifiers/dpop-proof";
import { resolvePublicKey } from "../../src/jose/public-key-cache";
import {
  deviceKey,
  encodeJson,
  proof,
  replaceSegment,
  TOKEN_URL,
  type DeviceKey,
  type ProofOptions,
} from "../helpers/dpop";

const NOW = 1_795_000_000;
const SKEW = 60;
const NONCE_STEP = 60;
const HTTPS_URL = "https://as.example.com/oauth/v2/oauth-token";

function policy(overrides: Partial<DpopPolicy> = {}): DpopPolicy {
  return {
    algorithms: ["ES256", "EdDSA", "Ed25519", "PS256", "RS256"],
    clockSkew: SKEW,
    method: "POST",
    url: TOKEN_URL,
    requireNonce: false,
    maxLength: 8192,
    ...overrides,
  };
}

interface MarkCall {
  readonly jkt: string;
  readonly jti: string;
  readonly expiresAt: number;
}

interface Harness {
  readonly deps: DpopDeps;
  readonly markCalls: MarkCall[];
  readonly nonceCalls: string[];
}

let nonceKey: CryptoKey;

/** Deps with a real importer, a real stateless nonce check and an in-memory single-use record. */
function harness(): Harness {
  const used = new Set<string>();
  const markCalls: MarkCall[] = [];
  const nonceCalls: string[] = [];
  return {
    markCalls,
    nonceCalls,
    deps: {
      resolveKey: resolvePublicKey,
      isNonceValid: (nonce, now) => {
        nonceCalls.push(nonce);
        return isDpopNonceValid(nonce, nonceKey, now, NONCE_STEP);
      },
      markUsed: async (jkt, jti, expiresAt) => {
        markCalls.push({ jkt, jti, expiresAt });
        const id = `${jkt}\n${jti}`;
        if (used.has(id)) return false;
        used.add(id);
        return true;
      },
    },
  };
}

/** A proof whose iat defaults to NOW (never the wall clock). */
function make(key: DeviceKey, options: ProofOptions = {}): Promise<string> {
  return proof(key, { iat: NOW, ...options });
}

async function verify(header: string | null, overrides: Partial<DpopPolicy> = {}, h: Harness = harness(), now = NOW) {
  return verifyDpopProof(header, policy(overrides), h.deps, now);
}

/** Assert a rejection with exactly this reason, and that the jti was not consumed (unless replayed). */
async function expectRejected(
  header: string | null,
  reason: DpopFailure,
  overrides: Partial<DpopPolicy> = {},
  now = NOW,
): Promise<Harness> {
  const h = harness();
  const result = await verify(header, overrides, h, now);
  expect(result).toMatchObject({ ok: false, reason });
  if (reason !== "replayed") expect(h.markCalls).toEqual([]);
  return h;
}

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { jti: crypto.randomUUID(), htm: "POST", htu: TOKEN_URL, iat: NOW, ...overrides };
}

let es256: DeviceKey;
let otherEs256: DeviceKey;
let es384: DeviceKey;
let rsa: DeviceKey;

beforeAll(async () => {
  nonceKey = await crypto.subtle.importKey(
    "raw",
    new Uint8Array(32).fill(7),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  [es256, otherEs256, es384, rsa] = await Promise.all([
    deviceKey("ES256"),
    deviceKey("ES256"),
    deviceKey("ES384"),
    deviceKey("RS256"),
  ]);
});

describe("accepts a valid proof, per allowed algorithm", () => {
  for (const alg of ["ES256", "EdDSA", "Ed25519", "PS256", "RS256"]) {
    it(`${alg}: returns the key, its RFC 7638 thumbprint, alg, jti and iat, and consumes the jti`, async () => {
      const key = await deviceKey(alg);
      const jti = `jti-${alg}`;
      const h = harness();
      const result = await verify(await make(key, { jti }), {}, h);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      const expectedJkt = await calculateJwkThumbprint(key.publicJwk, "sha256");
      expect(result.value.jkt).toBe(expectedJkt);
      expect(result.value.jkt).toBe(key.jkt);
      expect(result.value.alg).toBe(alg);
      expect(result.value.jti).toBe(jti);
      expect(result.value.iat).toBe(NOW);
      expect(result.value.jwk).toEqual(key.publicJwk);
      expect(h.markCalls).toHaveLength(1);
      expect(h.markCalls[0]).toMatchObject({ jkt: expectedJkt, jti });
    });
  }

  it("ignores whitespace around the header value", async () => {
    const result = await verify(`  ${await make(es256)}  `);
    expect(result).toMatchObject({ ok: true, value: { jkt: es256.jkt } });
  });

  it("returns only the thumbprint members of the jwk (kid, use, alg dropped)", async () => {
    const jwk = { ...es256.publicJwk, kid: "device-1", use: "sig", alg: "ES256" };
    const result = await verify(await make(es256, { header: { jwk } }));
    expect(result).toMatchObject({ ok: true, value: { jkt: es256.jkt } });
    if (result.ok) expect(Object.keys(result.value.jwk).sort()).toEqual(["crv", "kty", "x", "y"]);
  });
});

describe("shape: exactly one DPoP header holding a compact JWS", () => {
  it("rejects an absent header as missing", async () => {
    await expectRejected(null, "missing");
  });

  it("rejects an empty header as missing", async () => {
    await expectRejected("", "missing");
  });

  it('rejects two headers joined by ", " as multiple', async () => {
    const joined = `${await make(es256)}, ${await make(es256)}`;
    await expectRejected(joined, "multiple");
  });

  it("rejects a header longer than maxLength as too_large", async () => {
    await expectRejected(await make(es256, { claims: { pad: "x".repeat(9000) } }), "too_large");
  });

  it("accepts a proof of exactly maxLength characters and rejects one character less of allowance", async () => {
    const p = await make(es256);
    expect((await verify(p, { maxLength: p.length })).ok).toBe(true);
    await expectRejected(p, "too_large", { maxLength: p.length - 1 });
  });

  it("rejects two segments as malformed", async () => {
    const p = await make(es256);
    await expectRejected(p.split(".").slice(0, 2).join("."), "malformed");
  });

  it("rejects a five-segment JWE-shaped value as malformed", async () => {
    await expectRejected("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "malformed");
  });

  it("rejects characters outside base64url as malformed", async () => {
    const p = await make(es256);
    await expectRejected(replaceSegment(p, 2, "abc+/="), "malformed");
  });

  it('rejects an unsigned alg "none" JWS (empty signature) as malformed', async () => {
    const unsigned = `${encodeJson({ typ: "dpop+jwt", alg: "none", jwk: es256.publicJwk })}.${encodeJson(claims())}.`;
    await expectRejected(unsigned, "malformed");
  });
});

describe("header: JSON, typ, alg", () => {
  it("rejects a header segment that is not JSON as header_invalid", async () => {
    const p = await make(es256);
    await expectRejected(replaceSegment(p, 0, base64url.encode("not json")), "header_invalid");
  });

  it("rejects a header segment that is a JSON array as header_invalid", async () => {
    const p = await make(es256);
    await expectRejected(replaceSegment(p, 0, encodeJson(["dpop+jwt", "ES256"])), "header_invalid");
  });

  it("rejects a header without typ", async () => {
    await expectRejected(await make(es256, { header: { typ: undefined } }), "typ");
  });

  it('rejects typ "jwt"', async () => {
    await expectRejected(await make(es256, { header: { typ: "jwt" } }), "typ");
  });

  it('rejects typ "at+jwt" (an access token is not a proof)', async () => {
    await expectRejected(await make(es256, { header: { typ: "at+jwt" } }), "typ");
  });

  it('rejects alg "none" with a non-empty fake signature as alg_not_allowed', async () => {
    const unsigned = `${encodeJson({ typ: "dpop+jwt", alg: "none", jwk: es256.publicJwk })}.${encodeJson(claims())}.AAAA`;
    await expectRejected(unsigned, "alg_not_allowed");
  });

  it("rejects a header without alg as alg_not_allowed", async () => {
    const noAlg = `${encodeJson({ typ: "dpop+jwt", jwk: es256.publicJwk })}.${encodeJson(claims())}.AAAA`;
    await expectRejected(noAlg, "alg_not_allowed");
  });

  it("rejects HS256 signed with a shared secret as alg_not_allowed", async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const hs = await new SignJWT(claims())
      // jose's header type forbids "k" in an embedded jwk; an attacker's proof need not respect it.
      .setProtectedHeader({ alg: "HS256", typ: "dpop+jwt", jwk: { kty: "oct", k: base64url.encode(secret) } } as {
        alg: string;
      })
      .sign(secret);
    await expectRejected(hs, "alg_not_allowed");
  });

  it("rejects an asymmetric alg missing from the policy (ES384 when only ES256 is allowed)", async () => {
    await expectRejected(await make(es384), "alg_not_allowed", { algorithms: ["ES256"] });
  });

  it("rejects an allowed-by-default alg the policy removed (RS256 when only ES256 is allowed)", async () => {
    await expectRejected(await make(rsa), "alg_not_allowed", { algorithms: ["ES256"] });
  });
});

describe("header: jwk is a public asymmetric key", () => {
  it("rejects a header without jwk as jwk_missing", async () => {
    await expectRejected(await make(es256, { header: { jwk: undefined } }), "jwk_missing");
  });

  it("rejects a jwk that is a string as jwk_missing", async () => {
    await expectRejected(await make(es256, { header: { jwk: JSON.stringify(es256.publicJwk) } }), "jwk_missing");
  });

  it('rejects a jwk carrying the private member "d" as jwk_private', async () => {
    const privateJwk = await exportJWK(es256.privateKey);
    expect(typeof privateJwk.d).toBe("string");
    await expectRejected(await make(es256, { header: { jwk: privateJwk } }), "jwk_private");
  });

  it('rejects an RSA jwk carrying private members "p" and "q" as jwk_private', async () => {
    const privateJwk = await exportJWK(rsa.privateKey);
    const { d: _d, ...withoutD } = privateJwk;
    await expectRejected(await make(rsa, { header: { jwk: withoutD } }), "jwk_private");
  });

  it('rejects a kty "oct" jwk carrying its secret "k" as jwk_private', async () => {
    await expectRejected(await make(es256, { header: { jwk: { kty: "oct", k: "c2VjcmV0" } } }), "jwk_private");
  });

  it('rejects a kty "oct" jwk without "k" as jwk_invalid', async () => {
    await expectRejected(await make(es256, { header: { jwk: { kty: "oct" } } }), "jwk_invalid");
  });

  it("rejects a symmetric proof even when a misconfigured policy lists HS256", async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const hs = await new SignJWT(claims())
      .setProtectedHeader({ alg: "HS256", typ: "dpop+jwt", jwk: { kty: "oct" } })
      .sign(secret);
    await expectRejected(hs, "jwk_invalid", { algorithms: ["ES256", "HS256"] });
  });

  it("rejects a jwk whose type does not fit the alg (RSA key, ES256 alg) as jwk_invalid", async () => {
    await expectRejected(await make(es256, { header: { jwk: rsa.publicJwk } }), "jwk_invalid");
  });
});

describe("signature verifies with the embedded jwk", () => {
  it("rejects a proof whose jwk is not the signing key as signature", async () => {
    await expectRejected(await make(es256, { header: { jwk: otherEs256.publicJwk } }), "signature");
  });

  it("rejects a tampered payload as signature", async () => {
    const p = await make(es256, { htm: "GET" });
    await expectRejected(replaceSegment(p, 1, encodeJson(claims({ htm: "POST" }))), "signature");
  });

  it("rejects a signature from another proof as signature", async () => {
    const a = await make(es256);
    const b = await make(es256);
    await expectRejected(replaceSegment(a, 2, b.split(".")[2]!), "signature");
  });
});

describe("payload is a JSON object", () => {
  it("rejects a correctly signed payload that is not JSON as payload_invalid", async () => {
    const signed = await new CompactSign(new TextEncoder().encode("not json"))
      .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: es256.publicJwk })
      .sign(es256.privateKey);
    await expectRejected(signed, "payload_invalid");
  });

  it("rejects a correctly signed JSON array payload as payload_invalid", async () => {
    const signed = await new CompactSign(new TextEncoder().encode(JSON.stringify([claims()])))
      .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: es256.publicJwk })
      .sign(es256.privateKey);
    await expectRejected(signed, "payload_invalid");
  });
});

describe("jti", () => {
  it("rejects a proof without jti", async () => {
    await expectRejected(await make(es256, { claims: { jti: undefined } }), "jti_invalid");
  });

  it("rejects an empty jti", async () => {
    await expectRejected(await make(es256, { jti: "" }), "jti_invalid");
  });

  it("rejects a numeric jti", async () => {
    await expectRejected(await make(es256, { claims: { jti: 12345 } }), "jti_invalid");
  });

  it("rejects a jti longer than 256 characters", async () => {
    await expectRejected(await make(es256, { jti: "j".repeat(257) }), "jti_invalid");
    expect((await verify(await make(es256, { jti: "j".repeat(256) }))).ok).toBe(true);
  });
});

describe("htm equals the request method", () => {
  it("rejects GET when the request is POST as htm_mismatch", async () => {
    await expectRejected(await make(es256, { htm: "GET" }), "htm_mismatch");
  });

  it('rejects lower-case "post" (methods are case-sensitive) as htm_mismatch', async () => {
    await expectRejected(await make(es256, { htm: "post" }), "htm_mismatch");
  });

  it("rejects a proof without htm as htm_mismatch", async () => {
    await expectRejected(await make(es256, { claims: { htm: undefined } }), "htm_mismatch");
  });
});

describe("htu equals the request URL (query and fragment ignored, normalised)", () => {
  it("rejects a non-string htu as htu_invalid", async () => {
    await expectRejected(await make(es256, { claims: { htu: 8787 } }), "htu_invalid");
  });

  it("rejects an htu array as htu_invalid", async () => {
    await expectRejected(await make(es256, { claims: { htu: [TOKEN_URL] } }), "htu_invalid");
  });

  it("rejects an htu that is not a URL as htu_invalid", async () => {
    await expectRejected(await make(es256, { htu: "/oauth/v2/oauth-token" }), "htu_invalid");
  });

  it("rejects a non-http(s) htu as htu_invalid", async () => {
    await expectRejected(await make(es256, { htu: "ftp://127.0.0.1:8787/oauth/v2/oauth-token" }), "htu_invalid");
  });

  it("rejects another path as htu_mismatch", async () => {
    await expectRejected(await make(es256, { htu: "http://127.0.0.1:8787/oauth/v2/oauth-authorize" }), "htu_mismatch");
  });

  it("rejects another port as htu_mismatch", async () => {
    await expectRejected(await make(es256, { htu: "http://127.0.0.1:8788/oauth/v2/oauth-token" }), "htu_mismatch");
  });

  it("rejects another scheme as htu_mismatch", async () => {
    await expectRejected(await make(es256, { htu: "http://as.example.com/oauth/v2/oauth-token" }), "htu_mismatch", {
      url: HTTPS_URL,
    });
  });

  it("accepts an htu with a query string", async () => {
    expect((await verify(await make(es256, { htu: `${TOKEN_URL}?client_id=x&state=y` }))).ok).toBe(true);
  });

  it("accepts an htu with a fragment", async () => {
    expect((await verify(await make(es256, { htu: `${TOKEN_URL}#frag` }))).ok).toBe(true);
  });

  it("accepts when the request URL (policy.url) carries the query and the htu does not", async () => {
    expect((await verify(await make(es256), { url: `${TOKEN_URL}?a=b` })).ok).toBe(true);
  });

  it("accepts an upper-case scheme and host", async () => {
    expect(
      (await verify(await make(es256, { htu: "HTTPS://AS.EXAMPLE.COM/oauth/v2/oauth-token" }), { url: HTTPS_URL })).ok,
    ).toBe(true);
  });

  it("accepts the explicit default port :443 for https", async () => {
    expect(
      (await verify(await make(es256, { htu: "https://as.example.com:443/oauth/v2/oauth-token" }), { url: HTTPS_URL }))
        .ok,
    ).toBe(true);
  });

  it("accepts the explicit default port :80 for http", async () => {
    const url = "http://as.example.com/oauth/v2/oauth-token";
    expect(
      (await verify(await make(es256, { htu: "http://as.example.com:80/oauth/v2/oauth-token" }), { url })).ok,
    ).toBe(true);
  });

  it("compares the path case-sensitively", async () => {
    await expectRejected(await make(es256, { htu: "http://127.0.0.1:8787/OAUTH/v2/oauth-token" }), "htu_mismatch");
  });
});

describe("iat lies within the acceptance window", () => {
  it("rejects iat older than the window as iat_too_old", async () => {
    await expectRejected(await make(es256, { iat: NOW - SKEW - 1 }), "iat_too_old");
  });

  it("rejects iat further in the future than the window as iat_in_future", async () => {
    await expectRejected(await make(es256, { iat: NOW + SKEW + 1 }), "iat_in_future");
  });

  it("rejects a string iat as iat_invalid", async () => {
    await expectRejected(await make(es256, { claims: { iat: String(NOW) } }), "iat_invalid");
  });

  it("rejects a proof without iat as iat_invalid", async () => {
    await expectRejected(await make(es256, { claims: { iat: undefined } }), "iat_invalid");
  });

  it("accepts iat exactly at the old edge of the window (now - skew)", async () => {
    expect((await verify(await make(es256, { iat: NOW - SKEW }))).ok).toBe(true);
  });

  it("accepts iat exactly at the future edge of the window (now + skew)", async () => {
    expect((await verify(await make(es256, { iat: NOW + SKEW }))).ok).toBe(true);
  });

  it("reports iat and the server time in the rejection detail", async () => {
    const result = await verify(await make(es256, { iat: NOW - 3600 }));
    expect(result).toMatchObject({ ok: false, reason: "iat_too_old", detail: { iat: NOW - 3600, server_time: NOW } });
  });

  it("reports iat and the server time when iat is in the future", async () => {
    const result = await verify(await make(es256, { iat: NOW + 600 }));
    expect(result).toMatchObject({ ok: false, reason: "iat_in_future", detail: { iat: NOW + 600, server_time: NOW } });
  });

  it("uses the configured window", async () => {
    const p = await make(es256, { iat: NOW - 200 });
    await expectRejected(p, "iat_too_old", { clockSkew: 10 });
    expect((await verify(p, { clockSkew: 300 })).ok).toBe(true);
  });
});

describe("ath binds the proof to the presented access token", () => {
  const TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";

  it("accessTokenHash matches the RFC 9449 §7.1 example", async () => {
    expect(await accessTokenHash(TOKEN)).toBe("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
  });

  it("accessTokenHash is base64url(SHA-256(token))", async () => {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("another-token")));
    expect(await accessTokenHash("another-token")).toBe(base64url.encode(digest));
  });

  it("rejects a proof without ath when an access token is presented as ath_missing", async () => {
    await expectRejected(await make(es256), "ath_missing", { accessToken: TOKEN });
  });

  it("rejects the hash of another token as ath_mismatch", async () => {
    await expectRejected(await make(es256, { accessToken: "some-other-token" }), "ath_mismatch", {
      accessToken: TOKEN,
    });
  });

  it("accepts the right ath", async () => {
    expect((await verify(await make(es256, { accessToken: TOKEN }), { accessToken: TOKEN })).ok).toBe(true);
  });
});

describe("jkt equals the expected key thumbprint (cnf.jkt, dpop_jkt)", () => {
  it("rejects a proof from another key as jkt_mismatch", async () => {
    await expectRejected(await make(otherEs256), "jkt_mismatch", { expectedJkt: es256.jkt });
  });

  it("accepts a proof from the bound key", async () => {
    expect((await verify(await make(es256), { expectedJkt: es256.jkt })).ok).toBe(true);
  });
});

describe("nonce, when the server requires one", () => {
  const nonceAt = (now: number) => dpopNonceForStep(nonceKey, nonceStep(now, NONCE_STEP));

  it("rejects a proof without nonce as nonce_missing, without asking the nonce check", async () => {
    const h = await expectRejected(await make(es256), "nonce_missing", { requireNonce: true });
    expect(h.nonceCalls).toEqual([]);
  });

  it("rejects an empty nonce as nonce_missing", async () => {
    await expectRejected(await make(es256, { nonce: "" }), "nonce_missing", { requireNonce: true });
  });

  it("rejects a numeric nonce as nonce_missing", async () => {
    await expectRejected(await make(es256, { claims: { nonce: 42 } }), "nonce_missing", { requireNonce: true });
  });

  it("rejects a wrong nonce as nonce_invalid", async () => {
    await expectRejected(await make(es256, { nonce: "AAAAAAAAAAAAAAAAAAAAAA" }), "nonce_invalid", {
      requireNonce: true,
    });
  });

  it("rejects a nonce from two steps ago (stale) as nonce_invalid", async () => {
    await expectRejected(await make(es256, { nonce: await nonceAt(NOW - 2 * NONCE_STEP) }), "nonce_invalid", {
      requireNonce: true,
    });
  });

  it("rejects a nonce made under another server key as nonce_invalid", async () => {
    const otherKey = await crypto.subtle.importKey(
      "raw",
      new Uint8Array(32).fill(8),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const foreign = await dpopNonceForStep(otherKey, nonceStep(NOW, NONCE_STEP));
    await expectRejected(await make(es256, { nonce: foreign }), "nonce_invalid", { requireNonce: true });
  });

  it("accepts the nonce of the current step", async () => {
    const h = harness();
    const nonce = await nonceAt(NOW);
    expect((await verify(await make(es256, { nonce }), { requireNonce: true }, h)).ok).toBe(true);
    expect(h.nonceCalls).toEqual([nonce]);
  });

  it("accepts the nonce of the previous step", async () => {
    expect(
      (await verify(await make(es256, { nonce: await nonceAt(NOW - NONCE_STEP) }), { requireNonce: true })).ok,
    ).toBe(true);
  });

  it("accepts a valid nonce when nonces are not required", async () => {
    const h = harness();
    const nonce = await nonceAt(NOW);
    expect((await verify(await make(es256, { nonce }), { requireNonce: false }, h)).ok).toBe(true);
    expect(h.nonceCalls).toEqual([nonce]);
  });

  it("rejects a present but invalid nonce as nonce_invalid even when nonces are not required", async () => {
    await expectRejected(await make(es256, { nonce: "AAAAAAAAAAAAAAAAAAAAAA" }), "nonce_invalid", {
      requireNonce: false,
    });
  });

  it("lists exactly nonce_missing and nonce_invalid as use_dpop_nonce failures", () => {
    expect([...NONCE_FAILURES].sort()).toEqual(["nonce_invalid", "nonce_missing"]);
  });
});

describe("jti single use (replay)", () => {
  it("rejects the same proof presented twice as replayed", async () => {
    const h = harness();
    const p = await make(es256);
    expect((await verify(p, {}, h)).ok).toBe(true);
    expect(await verify(p, {}, h)).toMatchObject({ ok: false, reason: "replayed" });
  });

  it("rejects a new proof reusing a jti with the same key as replayed", async () => {
    const h = harness();
    expect((await verify(await make(es256, { jti: "same" }), {}, h)).ok).toBe(true);
    expect(await verify(await make(es256, { jti: "same", iat: NOW + 1 }), {}, h)).toMatchObject({
      ok: false,
      reason: "replayed",
    });
  });

  it("records the jti per key: another key may use the same jti", async () => {
    const h = harness();
    expect((await verify(await make(es256, { jti: "shared" }), {}, h)).ok).toBe(true);
    expect((await verify(await make(otherEs256, { jti: "shared" }), {}, h)).ok).toBe(true);
    expect(h.markCalls.map((call) => call.jkt)).toEqual([es256.jkt, otherEs256.jkt]);
  });

  it("does not consume the jti of a proof rejected for another reason", async () => {
    const h = harness();
    const rejected = await verify(await make(es256, { jti: "keep-me", htm: "GET" }), {}, h);
    expect(rejected).toMatchObject({ ok: false, reason: "htm_mismatch" });
    const late = await verify(await make(es256, { jti: "keep-me", iat: NOW - SKEW - 1 }), {}, h);
    expect(late).toMatchObject({ ok: false, reason: "iat_too_old" });
    const unbound = await verify(await make(es256, { jti: "keep-me" }), { requireNonce: true }, h);
    expect(unbound).toMatchObject({ ok: false, reason: "nonce_missing" });
    expect(h.markCalls).toEqual([]);
    expect((await verify(await make(es256, { jti: "keep-me" }), {}, h)).ok).toBe(true);
    expect(h.markCalls).toHaveLength(1);
  });

  for (const [label, iat] of [
    ["iat = now", NOW],
    ["iat at the old edge", NOW - SKEW],
    ["iat at the future edge", NOW + SKEW],
  ] as const) {
    it(`keeps the replay record at least until iat + clockSkew (${label})`, async () => {
      const h = harness();
      expect((await verify(await make(es256, { iat }), {}, h)).ok).toBe(true);
      expect(h.markCalls).toHaveLength(1);
      expect(h.markCalls[0]!.expiresAt).toBeGreaterThanOrEqual(iat + SKEW);
    });
  }

  it("leaves no replay hole: a store that forgets records at expiresAt still rejects every replay the iat check would accept", async () => {
    // A time-aware store: a record is gone once the clock reaches its expiresAt.
    let clock = NOW;
    const records = new Map<string, number>();
    const deps: DpopDeps = {
      ...harness().deps,
      markUsed: async (jkt, jti, expiresAt) => {
        const id = `${jkt}\n${jti}`;
        const until = records.get(id);
        if (until !== undefined && clock < until) return false;
        records.set(id, expiresAt);
        return true;
      },
    };
    const iat = NOW + SKEW; // the newest proof the window accepts at NOW
    const p = await make(es256, { iat });
    expect((await verifyDpopProof(p, policy(), deps, clock)).ok).toBe(true);
    const outcomes = new Set<string>();
    for (clock = NOW; clock <= iat + SKEW + 1; clock++) {
      const result = await verifyDpopProof(p, policy(), deps, clock);
      outcomes.add(result.ok ? "ok" : result.reason);
    }
    expect([...outcomes].sort()).toEqual(["iat_too_old", "replayed"]);
  });
});
