// FIDO UAF TLV encoding for the UAF client simulator: UINT16 tag, UINT16 length, both little-endian,
// then the value; a composite element's value is its children's TLVs back to back (tag bit 0x1000).
// An encoder only, written independently of the server's parser (src/uaf/) so that each tests the other;
// the server's unit tests (test/uaf/helpers.ts) build their assertions, broken ones included, on it.
// UAF Authenticator Commands v1.1 §3 (TLV tags) and UAF Registry v1.1 §3 (algorithms).
// Plain ESM, no dependencies: runs in Node 22 and workerd.

/** TLV tags (UAF Registry of Predefined Values v1.1 §3.1). Composite tags have bit 0x1000 set. */
export const TAG = Object.freeze({
  UAFV1_REG_ASSERTION: 0x3e01,
  UAFV1_AUTH_ASSERTION: 0x3e02,
  UAFV1_KRD: 0x3e03,
  UAFV1_SIGNED_DATA: 0x3e04,
  ATTESTATION_CERT: 0x2e05,
  SIGNATURE: 0x2e06,
  ATTESTATION_BASIC_FULL: 0x3e07,
  ATTESTATION_BASIC_SURROGATE: 0x3e08,
  ATTESTATION_ECDAA: 0x3e09,
  KEYID: 0x2e09,
  FINAL_CHALLENGE_HASH: 0x2e0a,
  AAID: 0x2e0b,
  PUB_KEY: 0x2e0c,
  COUNTERS: 0x2e0d,
  ASSERTION_INFO: 0x2e0e,
  AUTHENTICATOR_NONCE: 0x2e0f,
  TRANSACTION_CONTENT_HASH: 0x2e10,
  EXTENSION: 0x3e11,
  EXTENSION_NON_CRITICAL: 0x3e12,
  EXTENSION_ID: 0x2e13,
  EXTENSION_DATA: 0x2e14,
});

/** The composite bit of a tag. */
export const COMPOSITE = 0x1000;

/** Authentication algorithms the simulator signs with (UAF Registry §3.6.1). */
export const SIG_ALG = Object.freeze({
  /** ECDSA P-256 / SHA-256, raw r||s (64 bytes): what WebCrypto produces. */
  SECP256R1_ECDSA_SHA256_RAW: 0x01,
  /** ECDSA P-256 / SHA-256, DER ECDSA-Sig-Value. */
  SECP256R1_ECDSA_SHA256_DER: 0x02,
});

/** Public key representation formats (UAF Registry §3.6.2). */
export const PUB_KEY_ALG = Object.freeze({
  /** Uncompressed X9.62 point, 65 bytes starting 0x04. */
  ECC_X962_RAW: 0x100,
  /** DER SubjectPublicKeyInfo. */
  ECC_X962_DER: 0x101,
});

/**
 * A little-endian unsigned integer of `size` bytes.
 * @param {number} value
 * @param {1 | 2 | 4} size
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function uintLE(value, size) {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * size))
    throw new RangeError(`${value} does not fit in ${size} unsigned byte(s)`);
  const out = new Uint8Array(size);
  for (let i = 0, v = value; i < size; i++, v = Math.floor(v / 256)) out[i] = v % 256;
  return out;
}

/**
 * One TLV element: tag, length, value.
 * @param {number} tag
 * @param {Uint8Array} value
 * @param {number} [length] the length field to write, default the value's; another one makes a
 *   malformed element on purpose (the server tests' broken assertions)
 * @returns {Uint8Array<ArrayBuffer>}
 *
 * @example tlv(TAG.AAID, new TextEncoder().encode("F1D0#0001")) // 0b 2e 09 00 46 31 44 30 23 30 30 30 31
 */
export function tlv(tag, value, length = value.length) {
  if (value.length > 0xffff)
    throw new RangeError(`TLV 0x${tag.toString(16)}: value of ${value.length} bytes exceeds the UINT16 length`);
  const out = new Uint8Array(4 + value.length);
  out.set(uintLE(tag, 2), 0);
  out.set(uintLE(length, 2), 2);
  out.set(value, 4);
  return out;
}

/**
 * A composite TLV element wrapping its children, in order.
 * @param {number} tag must have the composite bit 0x1000
 * @param {...Uint8Array} children encoded TLVs
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function composite(tag, ...children) {
  if ((tag & COMPOSITE) === 0) throw new TypeError(`tag 0x${tag.toString(16)} is not composite`);
  const value = new Uint8Array(children.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const child of children) {
    value.set(child, offset);
    offset += child.length;
  }
  return tlv(tag, value);
}
