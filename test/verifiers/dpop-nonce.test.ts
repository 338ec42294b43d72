/**
 * Stateless DPoP nonces (RFC 9449 §8): HMAC over a time step, valid during its step and the next.
 */
import { base64url } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { dpopNonceForStep, isDpopNonceValid, nonceStep } from "../../src/verifiers/dpop-nonce";

const NOW = 1_795_000_000;
const STEP = 60;

function hmacKey(fill: number): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new Uint8Array(32).fill(fill), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
}

let key: CryptoKey;
let otherKey: CryptoKey;

beforeAll(async () => {
  [key, otherKey] = await Promise.all([hmacKey(7), hmacKey(8)]);
});

describe("nonceStep", () => {
  it("is floor(now / stepSeconds)", () => {
    expect(nonceStep(NOW, STEP)).toBe(Math.floor(NOW / STEP));
    expect(nonceStep(119, 60)).toBe(1);
    expect(nonceStep(120, 60)).toBe(2);
    expect(nonceStep(0, 60)).toBe(0);
  });

  it("puts a step boundary exactly at a multiple of stepSeconds", () => {
    const boundary = 28_000_000 * STEP;
    expect(nonceStep(boundary - 1, STEP)).toBe(27_999_999);
    expect(nonceStep(boundary, STEP)).toBe(28_000_000);
  });
});

describe("dpopNonceForStep", () => {
  it('is base64url of the first 16 bytes of HMAC-SHA-256(key, "dpop-nonce:" + step)', async () => {
    const step = nonceStep(NOW, STEP);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`dpop-nonce:${step}`)));
    expect(await dpopNonceForStep(key, step)).toBe(base64url.encode(mac.slice(0, 16)));
  });

  it("is 22 base64url characters", async () => {
    const nonce = await dpopNonceForStep(key, 123);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("is the same for the same key and step (stateless: every isolate derives it)", async () => {
    const again = await hmacKey(7);
    expect(await dpopNonceForStep(again, 42)).toBe(await dpopNonceForStep(key, 42));
  });

  it("differs between steps", async () => {
    expect(await dpopNonceForStep(key, 42)).not.toBe(await dpopNonceForStep(key, 43));
  });

  it("differs between keys", async () => {
    expect(await dpopNonceForStep(otherKey, 42)).not.toBe(await dpopNonceForStep(key, 42));
  });
});

describe("isDpopNonceValid", () => {
  const step = nonceStep(NOW, STEP);
  const stepStart = step * STEP;

  it("accepts the nonce of the current step", async () => {
    expect(await isDpopNonceValid(await dpopNonceForStep(key, step), key, NOW, STEP)).toBe(true);
  });

  it("accepts the nonce of the previous step", async () => {
    expect(await isDpopNonceValid(await dpopNonceForStep(key, step - 1), key, NOW, STEP)).toBe(true);
  });

  it("rejects the nonce of two steps ago (stale)", async () => {
    expect(await isDpopNonceValid(await dpopNonceForStep(key, step - 2), key, NOW, STEP)).toBe(false);
  });

  it("rejects the nonce of the next step (not issued yet)", async () => {
    expect(await isDpopNonceValid(await dpopNonceForStep(key, step + 1), key, NOW, STEP)).toBe(false);
  });

  it("keeps a nonce valid until the end of the following step, and not one second longer", async () => {
    const nonce = await dpopNonceForStep(key, step);
    expect(await isDpopNonceValid(nonce, key, stepStart, STEP)).toBe(true);
    expect(await isDpopNonceValid(nonce, key, stepStart + 2 * STEP - 1, STEP)).toBe(true);
    expect(await isDpopNonceValid(nonce, key, stepStart + 2 * STEP, STEP)).toBe(false);
    expect(await isDpopNonceValid(nonce, key, stepStart - 1, STEP)).toBe(false);
  });

  it("rejects a nonce made under another key", async () => {
    expect(await isDpopNonceValid(await dpopNonceForStep(otherKey, step), key, NOW, STEP)).toBe(false);
  });

  it("rejects a nonce with one character changed", async () => {
    const nonce = await dpopNonceForStep(key, step);
    const changed = (nonce[0] === "A" ? "B" : "A") + nonce.slice(1);
    expect(await isDpopNonceValid(changed, key, NOW, STEP)).toBe(false);
  });

  it("rejects a valid nonce with extra characters", async () => {
    const nonce = await dpopNonceForStep(key, step);
    expect(await isDpopNonceValid(`${nonce}A`, key, NOW, STEP)).toBe(false);
    expect(await isDpopNonceValid(nonce.slice(0, 21), key, NOW, STEP)).toBe(false);
  });

  it("rejects the empty string", async () => {
    expect(await isDpopNonceValid("", key, NOW, STEP)).toBe(false);
  });

  it("depends on the step size: a nonce of another step size is not valid", async () => {
    const nonce = await dpopNonceForStep(key, nonceStep(NOW, 3600));
    expect(await isDpopNonceValid(nonce, key, NOW, STEP)).toBe(false);
    expect(await isDpopNonceValid(nonce, key, NOW, 3600)).toBe(true);
  });
});
