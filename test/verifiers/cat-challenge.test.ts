/**
 * CAT challenges (src/verifiers/cat-challenge.ts): issue, read, and the attested bytes.
 * Every ChallengeFailure is reached; every call passes a fixed `now`.
 */
import { base64url } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  attestedBytes,
  issueCatChallenge,
  readCatChallenge,
  type ChallengeFailure,
} from "../../src/verifiers/cat-challenge";
import { attestedChallengeBytes } from "../../tools/simulator/dpop.mjs";

const NOW = 1_795_000_000;
const TTL = 120;
const RANDOM = Uint8Array.from({ length: 16 }, (_, i) => i * 11);

const hmacKey = () =>
  crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]) as Promise<CryptoKey>;

let key: CryptoKey;
let otherKey: CryptoKey;
let challenge: string;

beforeAll(async () => {
  key = await hmacKey();
  otherKey = await hmacKey();
  challenge = await issueCatChallenge(key, "attested-only", RANDOM, NOW + TTL);
});

const parts = (value: string) => value.split(".");
const withPart = (value: string, index: number, part: string) => {
  const split = parts(value);
  split[index] = part;
  return split.join(".");
};

function expectFailure(result: Awaited<ReturnType<typeof readCatChallenge>>, reason: ChallengeFailure) {
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.reason).toBe(reason);
}

describe("issueCatChallenge", () => {
  it("has the documented format: c1.<b64url client_id>.<b64url 16 random bytes>.<expiry>.<b64url HMAC>", () => {
    expect(challenge).toMatch(/^c1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}\.[0-9]+\.[A-Za-z0-9_-]{43}$/);
    const [version, client, id, expiry] = parts(challenge);
    expect(version).toBe("c1");
    expect(new TextDecoder().decode(base64url.decode(client!))).toBe("attested-only");
    expect(base64url.decode(id!)).toEqual(RANDOM);
    expect(Number(expiry)).toBe(NOW + TTL);
  });

  it("is deterministic for the same inputs and differs with the random bytes", async () => {
    expect(await issueCatChallenge(key, "attested-only", RANDOM, NOW + TTL)).toBe(challenge);
    const other = await issueCatChallenge(key, "attested-only", new Uint8Array(16), NOW + TTL);
    expect(other).not.toBe(challenge);
  });

  it.each([0, 15, 17, 32])("refuses %i random bytes (needs exactly 16)", async (length) => {
    await expect(issueCatChallenge(key, "attested-only", new Uint8Array(length), NOW + TTL)).rejects.toThrow(TypeError);
  });
});

describe("readCatChallenge: success", () => {
  it("reads back client, id and expiry", async () => {
    const result = await readCatChallenge(key, challenge, NOW);
    expect(result).toEqual({
      ok: true,
      value: { clientId: "attested-only", id: base64url.encode(RANDOM), expiresAt: NOW + TTL },
    });
  });

  it("is valid until one second before its expiry", async () => {
    expect((await readCatChallenge(key, challenge, NOW + TTL - 1)).ok).toBe(true);
  });

  it("round-trips a non-ASCII client_id (UTF-8)", async () => {
    const issued = await issueCatChallenge(key, "klient-åäö-✓", RANDOM, NOW + TTL);
    const result = await readCatChallenge(key, issued, NOW);
    expect(result.ok && result.value.clientId).toBe("klient-åäö-✓");
  });
});

describe("readCatChallenge: malformed", () => {
  it.each([
    ["empty", ""],
    ["garbage", "not-a-challenge"],
    ["wrong version", "c2.YQ.AAAAAAAAAAAAAAAAAAAAAA.1795000120.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"],
    ["missing part", "c1.YQ.AAAAAAAAAAAAAAAAAAAAAA.1795000120"],
    ["extra part", "c1.YQ.AAAAAAAAAAAAAAAAAAAAAA.1795000120.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ.x"],
    ["id too short", "c1.YQ.AAAAAAAAAAAAAAAAAAAAA.1795000120.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"],
    ["mac too long", "c1.YQ.AAAAAAAAAAAAAAAAAAAAAA.1795000120.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR"],
    ["expiry not digits", "c1.YQ.AAAAAAAAAAAAAAAAAAAAAA.-1.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"],
    ["expiry 13 digits", "c1.YQ.AAAAAAAAAAAAAAAAAAAAAA.1795000120000.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"],
    [
      "standard base64 characters",
      "c1.YQ.AAAAAAAAAAAAAAAAAAAA+/.1795000120.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ",
    ],
    ["padding", "c1.YQ==.AAAAAAAAAAAAAAAAAAAAAA.1795000120.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"],
    ["surrounding whitespace", " c1.YQ.AAAAAAAAAAAAAAAAAAAAAA.1795000120.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"],
  ])("%s", async (_, value) => {
    expectFailure(await readCatChallenge(key, value, NOW), "malformed");
  });

  it("a client part that is not UTF-8", async () => {
    const notUtf8 = base64url.encode(new Uint8Array([0xff, 0xfe]));
    expectFailure(await readCatChallenge(key, withPart(challenge, 1, notUtf8), NOW), "malformed");
  });

  it("a client part of impossible base64url length", async () => {
    expectFailure(await readCatChallenge(key, withPart(challenge, 1, "A"), NOW), "malformed");
  });

  it("whitespace added to a real challenge", async () => {
    expectFailure(await readCatChallenge(key, `${challenge}\n`, NOW), "malformed");
  });
});

describe("readCatChallenge: bad_mac", () => {
  it("under another key", async () => {
    expectFailure(await readCatChallenge(otherKey, challenge, NOW), "bad_mac");
  });

  it("with the MAC tampered", async () => {
    const mac = parts(challenge)[4]!;
    const flipped = (mac[0] === "A" ? "B" : "A") + mac.slice(1);
    expectFailure(await readCatChallenge(key, withPart(challenge, 4, flipped), NOW), "bad_mac");
  });

  it("with the client changed", async () => {
    expectFailure(
      await readCatChallenge(key, withPart(challenge, 1, base64url.encode("strongbox-only")), NOW),
      "bad_mac",
    );
  });

  it("with the id changed", async () => {
    expectFailure(
      await readCatChallenge(key, withPart(challenge, 2, base64url.encode(new Uint8Array(16))), NOW),
      "bad_mac",
    );
  });

  it("with the expiry extended (checked before expiry: a forged expiry never looks merely expired)", async () => {
    expectFailure(await readCatChallenge(key, withPart(challenge, 3, String(NOW + 3600)), NOW), "bad_mac");
    expectFailure(await readCatChallenge(key, withPart(challenge, 3, String(NOW - 3600)), NOW), "bad_mac");
  });

  it("with a leading zero added to the expiry: one challenge has one spelling", async () => {
    expectFailure(await readCatChallenge(key, withPart(challenge, 3, `0${NOW + TTL}`), NOW), "malformed");
  });
});

describe("readCatChallenge: expired", () => {
  it("at its expiry second", async () => {
    const result = await readCatChallenge(key, challenge, NOW + TTL);
    expectFailure(result, "expired");
    expect(!result.ok && result.detail).toEqual({ expired_at: NOW + TTL, now: NOW + TTL });
  });

  it("long after", async () => {
    expectFailure(await readCatChallenge(key, challenge, NOW + 86_400), "expired");
  });

  it("a genuine challenge issued already expired", async () => {
    const old = await issueCatChallenge(key, "attested-only", RANDOM, NOW - 1);
    const result = await readCatChallenge(key, old, NOW);
    expectFailure(result, "expired");
    expect(!result.ok && result.detail).toEqual({ expired_at: NOW - 1, now: NOW });
  });
});

describe("attestedBytes: SHA-256(UTF-8(challenge + '.' + jkt))", () => {
  const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

  it("matches a digest computed outside the runtime (Node's crypto.createHash)", async () => {
    const fixedChallenge =
      "c1.YXR0ZXN0ZWQtb25seQ.AAAAAAAAAAAAAAAAAAAAAA.1795000120.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
    const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    const bytes = await attestedBytes(fixedChallenge, jkt);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.length).toBe(32);
    expect(toHex(bytes)).toBe("bcdc9aef587ea8f0eb210482516c9cd0f6c4c835aa64cfb3a7b75499397d50ee");
  });

  it("encodes non-ASCII as UTF-8", async () => {
    expect(toHex(await attestedBytes("c1", "é.x"))).toBe(
      "e8ec73daeeffa8faeb52b092d446e99e9f11fecaf37a5132cb946c9b107fb6cb",
    );
  });

  it("equals a digest of the concatenation computed here and the simulator's", async () => {
    const jkt = "some-thumbprint";
    const expected = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${challenge}.${jkt}`)),
    );
    expect(await attestedBytes(challenge, jkt)).toEqual(expected);
    expect(await attestedBytes(challenge, jkt)).toEqual(await attestedChallengeBytes(challenge, jkt));
  });

  it("binds both the challenge and the key", async () => {
    const base = toHex(await attestedBytes(challenge, "jkt-a"));
    expect(toHex(await attestedBytes(challenge, "jkt-b"))).not.toBe(base);
    expect(toHex(await attestedBytes(withPart(challenge, 3, "1"), "jkt-a"))).not.toBe(base);
  });
});
