/**
 * Test-side UAF authenticator: builds real registration and authentication assertions with
 * WebCrypto keys on the simulator's TLV encoder (tools/simulator/uaf-tlv.mjs, written from the UAF
 * Registry's tag table independently of src/uaf/tlv.ts), so the production parser is checked against
 * bytes it did not produce. Every field can be overridden or corrupted to build the broken variants.
 */
import { base64url } from "jose";
import { expect } from "vitest";
import { TAG as T, tlv as encodeTlv, uintLE } from "../../tools/simulator/uaf-tlv.mjs";
import { concat, ecdsaRawToDer, sha256 } from "../../tools/simulator/x509.mjs";
import type { UafReason } from "../../src/uaf/status";

/** `T`: the tags (FIDO UAF Registry v1.1 §3.1), as the simulator names them. */
export { concat, sha256, T };

export const APP_ID = "https://login.example.com/_app/uaf/1.1/facets";
export const FACET = "android:apk-key-hash:bE0f1WtRJrZv/C0y9CM73bAUqiI";
export const CHALLENGE = "H9iW9yA9aAXF_lelQoi_DhUk514Ad8Tqv0zCnCqKDpo";
export const AAID = "F1D0#0001";
export const NOW = new Date("2026-03-01T12:00:00Z");

const encoder = new TextEncoder();

export const u16 = (n: number): Uint8Array => uintLE(n, 2);
export const u32 = (n: number): Uint8Array => uintLE(n, 4);
export const ascii = (text: string): Uint8Array => encoder.encode(text);
export const b64u = (bytes: Uint8Array): string => base64url.encode(bytes);
export const fromB64u = (text: string): Uint8Array => base64url.decode(text.replace(/=+$/, ""));

/** One TLV: tag, length (both UINT16 little-endian), then the value parts. `length` overrides the real one. */
export function tlv(tag: number, value: Uint8Array | Uint8Array[], length?: number): Uint8Array {
  return encodeTlv(tag, Array.isArray(value) ? concat(...value) : value, length);
}

/** A copy of `bytes` with the lowest bit of one byte flipped (a negative index counts from the end). */
export function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[index < 0 ? copy.length + index : index]! ^= 0x01;
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Keys and signatures

export interface UafKey {
  readonly pair: CryptoKeyPair;
  readonly family: "ec" | "rsa";
}

export async function ecKey(): Promise<UafKey> {
  return {
    pair: (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair,
    family: "ec",
  };
}

export async function rsaKey(): Promise<UafKey> {
  const pair = (await crypto.subtle.generateKey(
    { name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  return { pair, family: "rsa" };
}

/** PUB_KEY bytes for key algorithm 0x100 (raw point), 0x101/0x103 (SPKI) or 0x102 (n || e). */
export async function publicKeyBytes(key: UafKey, alg: number): Promise<Uint8Array> {
  if (alg === 0x100) return new Uint8Array((await crypto.subtle.exportKey("raw", key.pair.publicKey)) as ArrayBuffer);
  if (alg === 0x102) {
    const jwk = (await crypto.subtle.exportKey("jwk", key.pair.publicKey)) as JsonWebKey;
    return concat(fromB64u(jwk.n!), fromB64u(jwk.e!));
  }
  return new Uint8Array((await crypto.subtle.exportKey("spki", key.pair.publicKey)) as ArrayBuffer);
}

/** A signature in the encoding of UAF signature algorithm `signAlg` (0x01-0x04). */
export async function sign(key: UafKey, signAlg: number, data: Uint8Array): Promise<Uint8Array> {
  if (key.family === "ec") {
    const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.pair.privateKey, data));
    return signAlg === 0x02 ? ecdsaRawToDer(raw) : raw;
  }
  const s = new Uint8Array(await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, key.pair.privateKey, data));
  return signAlg === 0x04 ? concat(new Uint8Array([0x04, 0x82, 0x01, 0x00]), s) : s;
}

// ---------------------------------------------------------------------------------------------
// fcParams and responses

export interface FcParamsFields {
  appID?: unknown;
  challenge?: unknown;
  facetID?: unknown;
  channelBinding?: unknown;
}

export function fcParamsOf(fields: FcParamsFields = {}): string {
  const json = { appID: APP_ID, challenge: CHALLENGE, channelBinding: {}, facetID: FACET, ...fields };
  return b64u(encoder.encode(JSON.stringify(json)));
}

export interface ResponseParts {
  op?: "Reg" | "Auth" | "Dereg";
  upv?: { major: number; minor: number };
  appID?: string;
  fcParams: string;
  assertions: { assertionScheme: string; assertion: string }[];
}

export function response({
  op = "Reg",
  upv = { major: 1, minor: 1 },
  appID = APP_ID,
  fcParams,
  assertions,
}: ResponseParts) {
  return { header: { upv, op, appID, serverData: "opaque" }, fcParams, assertions };
}

export const uafv1 = (assertion: Uint8Array | string) => ({
  assertionScheme: "UAFV1TLV",
  assertion: typeof assertion === "string" ? assertion : b64u(assertion),
});

// ---------------------------------------------------------------------------------------------
// Registration assertions

export interface RegOptions {
  key: UafKey;
  fcParams: string;
  aaid?: string;
  keyId?: Uint8Array;
  signAlg?: number;
  pubKeyAlg?: number;
  authenticatorVersion?: number;
  mode?: number;
  signCounter?: number;
  regCounter?: number;
  /** Replace the PUB_KEY bytes. */
  publicKey?: Uint8Array;
  /** Replace the KRD's fields (after encoding) with these TLVs, to reorder, repeat or drop. */
  krdFields?: (fields: Uint8Array[]) => Uint8Array[];
  /** Default a surrogate attestation made by `key`. */
  attestation?:
    | { type: "surrogate" }
    | { type: "full"; key: UafKey; certificates: Uint8Array[] }
    | { type: "raw"; tlv: (krd: Uint8Array) => Promise<Uint8Array> };
  /** Change the signature after signing. */
  corruptSignature?: (signature: Uint8Array) => Uint8Array;
}

export interface BuiltReg {
  readonly assertion: Uint8Array;
  readonly krd: Uint8Array;
  readonly keyId: Uint8Array;
  readonly publicKey: Uint8Array;
}

export async function regAssertion(options: RegOptions): Promise<BuiltReg> {
  const signAlg = options.signAlg ?? (options.key.family === "ec" ? 0x01 : 0x03);
  const pubKeyAlg = options.pubKeyAlg ?? (options.key.family === "ec" ? 0x100 : 0x102);
  const keyId = options.keyId ?? crypto.getRandomValues(new Uint8Array(32));
  const publicKey = options.publicKey ?? (await publicKeyBytes(options.key, pubKeyAlg));
  let fields = [
    tlv(T.AAID, ascii(options.aaid ?? AAID)),
    tlv(T.ASSERTION_INFO, [
      u16(options.authenticatorVersion ?? 1),
      new Uint8Array([options.mode ?? 1]),
      u16(signAlg),
      u16(pubKeyAlg),
    ]),
    tlv(T.FINAL_CHALLENGE_HASH, await sha256(options.fcParams)),
    tlv(T.KEYID, keyId),
    tlv(T.COUNTERS, [u32(options.signCounter ?? 0), u32(options.regCounter ?? 0)]),
    tlv(T.PUB_KEY, publicKey),
  ];
  if (options.krdFields) fields = options.krdFields(fields);
  const krd = tlv(T.UAFV1_KRD, fields);
  const corrupt = options.corruptSignature ?? ((signature: Uint8Array) => signature);
  const attestation = options.attestation ?? { type: "surrogate" };
  let attestationTlv: Uint8Array;
  if (attestation.type === "surrogate") {
    attestationTlv = tlv(
      T.ATTESTATION_BASIC_SURROGATE,
      tlv(T.SIGNATURE, corrupt(await sign(options.key, signAlg, krd))),
    );
  } else if (attestation.type === "full") {
    const signature = corrupt(await sign(attestation.key, signAlg, krd));
    attestationTlv = tlv(T.ATTESTATION_BASIC_FULL, [
      tlv(T.SIGNATURE, signature),
      ...attestation.certificates.map((der) => tlv(T.ATTESTATION_CERT, der)),
    ]);
  } else {
    attestationTlv = await attestation.tlv(krd);
  }
  return { assertion: tlv(T.UAFV1_REG_ASSERTION, [krd, attestationTlv]), krd, keyId, publicKey };
}

// ---------------------------------------------------------------------------------------------
// Authentication assertions

export interface AuthOptions {
  key: UafKey;
  fcParams: string;
  keyId: Uint8Array;
  aaid?: string;
  signAlg?: number;
  mode?: number;
  nonce?: Uint8Array;
  transactionHash?: Uint8Array;
  signCounter?: number;
  signedDataFields?: (fields: Uint8Array[]) => Uint8Array[];
  corruptSignature?: (signature: Uint8Array) => Uint8Array;
}

export async function authAssertion(options: AuthOptions): Promise<{ assertion: Uint8Array; signedData: Uint8Array }> {
  const signAlg = options.signAlg ?? (options.key.family === "ec" ? 0x01 : 0x03);
  let fields = [
    tlv(T.AAID, ascii(options.aaid ?? AAID)),
    tlv(T.ASSERTION_INFO, [u16(1), new Uint8Array([options.mode ?? 1]), u16(signAlg)]),
    tlv(T.AUTHENTICATOR_NONCE, options.nonce ?? crypto.getRandomValues(new Uint8Array(32))),
    tlv(T.FINAL_CHALLENGE_HASH, await sha256(options.fcParams)),
    tlv(T.TRANSACTION_CONTENT_HASH, options.transactionHash ?? new Uint8Array(0)),
    tlv(T.KEYID, options.keyId),
    tlv(T.COUNTERS, u32(options.signCounter ?? 0)),
  ];
  if (options.signedDataFields) fields = options.signedDataFields(fields);
  const signedData = tlv(T.UAFV1_SIGNED_DATA, fields);
  const signature = (options.corruptSignature ?? ((s: Uint8Array) => s))(await sign(options.key, signAlg, signedData));
  return { assertion: tlv(T.UAFV1_AUTH_ASSERTION, [signedData, tlv(T.SIGNATURE, signature)]), signedData };
}

// ---------------------------------------------------------------------------------------------

/** A refusal with exactly this reason (its UAF status code is status.test.ts's table). */
export function expectRefused(result: { ok: boolean; reason?: string; detail?: unknown }, reason: UafReason): void {
  expect(result.ok, `expected refusal ${reason}, got ${JSON.stringify(result)}`).toBe(false);
  expect(result.reason).toBe(reason);
}
