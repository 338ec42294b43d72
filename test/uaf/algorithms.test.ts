/**
 * UAF key and signature algorithms on WebCrypto: each supported form imports and verifies, every
 * other form is refused with the right reason, DER signatures only in their canonical encoding.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { importUafPublicKey, keyAlgOfSpki, verifyUafSignature } from "../../src/uaf/algorithms";
import { concat, ecKey, flipBit, publicKeyBytes, rsaKey, sign, type UafKey } from "./helpers";

const data = new TextEncoder().encode("the KRD or SIGNED_DATA bytes");
let ec: UafKey;
let rsa: UafKey;

beforeAll(async () => {
  [ec, rsa] = await Promise.all([ecKey(), rsaKey()]);
});

async function imported(key: UafKey, alg: number): Promise<CryptoKey> {
  const result = await importUafPublicKey(alg, await publicKeyBytes(key, alg));
  if (!result.ok) throw new Error(`${result.reason} ${JSON.stringify(result.detail)}`);
  return result.value;
}

describe("importUafPublicKey + verifyUafSignature", () => {
  it.each([
    [0x01, 0x100, "ec"],
    [0x01, 0x101, "ec"],
    [0x02, 0x100, "ec"],
    [0x02, 0x101, "ec"],
    [0x03, 0x102, "rsa"],
    [0x03, 0x103, "rsa"],
    [0x04, 0x102, "rsa"],
    [0x04, 0x103, "rsa"],
  ] as const)("signature 0x%s with key 0x%s verifies, and not after a flipped bit", async (signAlg, keyAlg, family) => {
    const key = family === "ec" ? ec : rsa;
    const publicKey = await imported(key, keyAlg);
    const signature = await sign(key, signAlg, data);
    expect(await verifyUafSignature(signAlg, publicKey, signature, data)).toEqual({ ok: true, value: null });
    expect(await verifyUafSignature(signAlg, publicKey, signature, flipBit(data, 0))).toMatchObject({
      ok: false,
      reason: "signature_invalid",
    });
  });

  it("imports an RSA key given as a bare PKCS#1 RSAPublicKey (0x103)", async () => {
    const spki = await publicKeyBytes(rsa, 0x103);
    const rsaPublicKey = spki.subarray(24); // SEQUENCE(4) + AlgorithmIdentifier(15) + BIT STRING header(5)
    expect(rsaPublicKey[0]).toBe(0x30);
    const key = await importUafPublicKey(0x103, rsaPublicKey);
    expect(key.ok).toBe(true);
    if (key.ok) expect((await verifyUafSignature(0x03, key.value, await sign(rsa, 0x03, data), data)).ok).toBe(true);
  });

  it("refuses signatures in the wrong encoding as signature_malformed", async () => {
    const key = await imported(ec, 0x100);
    const raw = await sign(ec, 0x01, data);
    const der = await sign(ec, 0x02, data);
    expect(await verifyUafSignature(0x01, key, der, data)).toMatchObject({ ok: false, reason: "signature_malformed" });
    expect(await verifyUafSignature(0x02, key, raw, data)).toMatchObject({ ok: false, reason: "signature_malformed" });
    expect(await verifyUafSignature(0x01, key, raw.subarray(1), data)).toMatchObject({
      ok: false,
      reason: "signature_malformed",
    });
    expect(await verifyUafSignature(0x02, key, concat(der, new Uint8Array([0])), data)).toMatchObject({
      ok: false,
      reason: "signature_malformed",
    });
    // r with a redundant leading zero: valid BER, not DER.
    const padded = concat(new Uint8Array([0x30, der[1]! + 1, 0x02, der[3]! + 1, 0x00]), der.subarray(4));
    expect(await verifyUafSignature(0x02, key, padded, data)).toMatchObject({
      ok: false,
      reason: "signature_malformed",
    });
    const rsaKeyImported = await imported(rsa, 0x102);
    const s = await sign(rsa, 0x03, data);
    expect(await verifyUafSignature(0x04, rsaKeyImported, s, data)).toMatchObject({
      ok: false,
      reason: "signature_malformed",
    });
    expect(await verifyUafSignature(0x03, rsaKeyImported, s.subarray(1), data)).toMatchObject({
      ok: false,
      reason: "signature_malformed",
    });
  });

  it("refuses a signature algorithm of another family than the key, or unknown", async () => {
    const key = await imported(ec, 0x100);
    expect(await verifyUafSignature(0x03, key, new Uint8Array(256), data)).toMatchObject({
      ok: false,
      reason: "unsupported_algorithm",
    });
    expect(await verifyUafSignature(0x06, key, new Uint8Array(64), data)).toMatchObject({
      ok: false,
      reason: "unsupported_algorithm",
    });
  });

  it("refuses malformed keys and unsupported key algorithms", async () => {
    const raw = await publicKeyBytes(ec, 0x100);
    expect(await importUafPublicKey(0x100, raw.subarray(1))).toMatchObject({
      ok: false,
      reason: "public_key_malformed",
    });
    expect(await importUafPublicKey(0x100, concat(new Uint8Array([0x02]), raw.subarray(1, 33)))).toMatchObject({
      ok: false,
      reason: "public_key_malformed",
    });
    const offCurve = new Uint8Array(raw);
    offCurve[64]! ^= 1;
    expect(await importUafPublicKey(0x100, offCurve)).toMatchObject({ ok: false, reason: "public_key_malformed" });
    expect(await importUafPublicKey(0x101, raw)).toMatchObject({ ok: false, reason: "public_key_malformed" });
    expect(await importUafPublicKey(0x101, await publicKeyBytes(rsa, 0x103))).toMatchObject({
      ok: false,
      reason: "unsupported_algorithm",
    });
    expect(await importUafPublicKey(0x103, await publicKeyBytes(ec, 0x101))).toMatchObject({
      ok: false,
      reason: "unsupported_algorithm",
    });
    expect(await importUafPublicKey(0x102, new Uint8Array(100))).toMatchObject({
      ok: false,
      reason: "public_key_malformed",
    });
    expect(await importUafPublicKey(0x104, raw)).toMatchObject({ ok: false, reason: "unsupported_algorithm" });
    const p384 = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
      "sign",
    ])) as CryptoKeyPair;
    const p384Spki = new Uint8Array((await crypto.subtle.exportKey("spki", p384.publicKey)) as ArrayBuffer);
    expect(await importUafPublicKey(0x101, p384Spki)).toMatchObject({ ok: false, reason: "unsupported_algorithm" });
    const small = (await crypto.subtle.generateKey(
      { name: "RSA-PSS", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign"],
    )) as CryptoKeyPair;
    const smallSpki = new Uint8Array((await crypto.subtle.exportKey("spki", small.publicKey)) as ArrayBuffer);
    expect(await importUafPublicKey(0x103, smallSpki)).toMatchObject({ ok: false, reason: "public_key_malformed" });
  });

  it("names the key algorithm of an SPKI", async () => {
    expect(keyAlgOfSpki(await publicKeyBytes(ec, 0x101))).toBe(0x101);
    expect(keyAlgOfSpki(await publicKeyBytes(rsa, 0x103))).toBe(0x103);
    expect(keyAlgOfSpki(new Uint8Array([0x30, 0x00]))).toBeNull();
  });
});
