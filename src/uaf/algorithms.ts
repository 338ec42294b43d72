/**
 * UAF signature and public-key algorithms (FIDO UAF Registry v1.1 §3.6) on WebCrypto.
 *
 * Supported:
 * - signatures 0x01 SECP256R1_ECDSA_SHA256_RAW (r||s, 64 bytes), 0x02 SECP256R1_ECDSA_SHA256_DER
 *   (strict DER ECDSA-Sig-Value, converted to r||s), 0x03 RSASSA_PSS_SHA256_RAW (S, big-endian) and
 *   0x04 RSASSA_PSS_SHA256_DER (S inside a DER OCTET STRING); PSS with MGF1-SHA-256 and a 32-byte salt,
 *   the registry's fixed parameters;
 * - keys 0x100 ECC_X962_RAW (0x04||x||y, 65 bytes), 0x101 ECC_X962_DER (SubjectPublicKeyInfo,
 *   P-256), 0x102 RSA_2048_RAW (n, 256 bytes, then e) and 0x103 RSA_2048_DER (SubjectPublicKeyInfo
 *   with rsaEncryption, or a bare PKCS#1 RSAPublicKey: the registry text allows either reading).
 * Everything else (secp256k1, SM2, PKCS#1 v1.5, other curves and sizes) is `unsupported_algorithm`.
 *
 * A key's stored form is `{ alg, key }`: the PUB_KEY algorithm and base64url of its exact bytes, so
 * it is re-imported exactly as the authenticator sent it.
 */
import { bufferSource, concatBytes } from "../bytes";
import { equalBytes } from "../verifiers/constant-time";
import { fail, ok, type Result } from "../verifiers/result";
import { contentOf, encodeTlv, readChildren, readWhole } from "../x509/der";
import { ecdsaDerToRaw, OID_EC_PUBLIC_KEY, OID_P256, OID_RSA_ENCRYPTION, spkiAlgorithm } from "../x509/signature";
import { encodeBase64url } from "./base64url";

export const UAF_ALG = {
  SIGN_SECP256R1_ECDSA_SHA256_RAW: 0x01,
  SIGN_SECP256R1_ECDSA_SHA256_DER: 0x02,
  SIGN_RSASSA_PSS_SHA256_RAW: 0x03,
  SIGN_RSASSA_PSS_SHA256_DER: 0x04,
  KEY_ECC_X962_RAW: 0x100,
  KEY_ECC_X962_DER: 0x101,
  KEY_RSA_2048_RAW: 0x102,
  KEY_RSA_2048_DER: 0x103,
} as const;

/** A public key as the stores keep it. */
export interface StoredUafPublicKey {
  /** The PUB_KEY algorithm (0x100..0x103). */
  readonly alg: number;
  /** base64url of the PUB_KEY bytes. */
  readonly key: string;
}

export type UafKeyFailure = "unsupported_algorithm" | "public_key_malformed";
export type UafSignatureFailure = "unsupported_algorithm" | "signature_malformed" | "signature_invalid";

type Family = "ec" | "rsa";

const SIGN_FAMILY: Readonly<Record<number, Family>> = { 1: "ec", 2: "ec", 3: "rsa", 4: "rsa" };
const KEY_FAMILY: Readonly<Record<number, Family>> = { 256: "ec", 257: "ec", 258: "rsa", 259: "rsa" };

const EC_IMPORT = { name: "ECDSA", namedCurve: "P-256" } as const;
const RSA_IMPORT = { name: "RSA-PSS", hash: "SHA-256" } as const;
const PSS_SALT_LENGTH = 32;
const RSA_BITS = 2048;

export const isSupportedSignAlg = (alg: number): boolean => SIGN_FAMILY[alg] !== undefined;
export const isSupportedKeyAlg = (alg: number): boolean => KEY_FAMILY[alg] !== undefined;

/** Whether a signature algorithm can be used with a key algorithm (ECDSA with EC keys, PSS with RSA keys). */
export const algorithmsMatch = (signAlg: number, keyAlg: number): boolean =>
  SIGN_FAMILY[signAlg] !== undefined && SIGN_FAMILY[signAlg] === KEY_FAMILY[keyAlg];

/** The key algorithm to import a DER SubjectPublicKeyInfo with (an attestation certificate's key). */
export function keyAlgOfSpki(spki: Uint8Array): number | null {
  const info = spkiAlgorithm(spki);
  if (info?.algorithm === OID_EC_PUBLIC_KEY) return UAF_ALG.KEY_ECC_X962_DER;
  if (info?.algorithm === OID_RSA_ENCRYPTION) return UAF_ALG.KEY_RSA_2048_DER;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Encodings (on the DER reader and writer of src/x509/der.ts)

/** Minimal DER INTEGER content for an unsigned big-endian number. */
function unsignedInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return trimmed[0]! & 0x80 ? new Uint8Array([0, ...trimmed]) : trimmed;
}

/** The canonical DER ECDSA-Sig-Value of raw r||s. */
function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  const r = encodeTlv(0x02, unsignedInteger(raw.subarray(0, half)));
  const s = encodeTlv(0x02, unsignedInteger(raw.subarray(half)));
  return encodeTlv(0x30, concatBytes(r, s));
}

/** r||s of a DER ECDSA P-256 signature, only if it is the one canonical DER encoding. */
function strictEcdsaDer(signature: Uint8Array): Uint8Array | null {
  const raw = ecdsaDerToRaw(signature, 32);
  return raw && equalBytes(ecdsaRawToDer(raw), signature) ? raw : null;
}

/** The content of a DER OCTET STRING spanning all of `bytes`. */
function octetString(bytes: Uint8Array): Uint8Array | null {
  const top = readWhole(bytes, 0x04);
  return top && contentOf(bytes, top);
}

/** Wrap a PKCS#1 RSAPublicKey in a SubjectPublicKeyInfo (rsaEncryption, NULL parameters). */
function rsaPublicKeyToSpki(rsaPublicKey: Uint8Array): Uint8Array {
  const algorithm = new Uint8Array([
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
  ]);
  const bitString = encodeTlv(0x03, concatBytes(new Uint8Array([0]), rsaPublicKey));
  return encodeTlv(0x30, concatBytes(algorithm, bitString));
}

/** Whether `bytes` is exactly one DER SEQUENCE of two INTEGERs (a PKCS#1 RSAPublicKey). */
function isRsaPublicKey(bytes: Uint8Array): boolean {
  const top = readWhole(bytes, 0x30);
  const parts = top && readChildren(bytes, top);
  return parts?.length === 2 && parts.every((part) => part.tagByte === 0x02);
}

// ---------------------------------------------------------------------------------------------

async function importOrFail(
  format: "raw" | "spki" | "jwk",
  data: Uint8Array | JsonWebKey,
  algorithm: typeof EC_IMPORT | typeof RSA_IMPORT,
): Promise<Result<CryptoKey, UafKeyFailure>> {
  try {
    const key =
      format === "jwk"
        ? await crypto.subtle.importKey("jwk", data as JsonWebKey, algorithm, false, ["verify"])
        : await crypto.subtle.importKey(format, bufferSource(data as Uint8Array), algorithm, false, ["verify"]);
    const modulusLength = (key.algorithm as { modulusLength?: number }).modulusLength;
    if (algorithm.name === "RSA-PSS" && modulusLength !== RSA_BITS) {
      return fail("public_key_malformed", { why: `RSA modulus is ${modulusLength} bits, not ${RSA_BITS}` });
    }
    return ok(key);
  } catch (error) {
    return fail("public_key_malformed", { why: (error as Error).message });
  }
}

/**
 * Import a UAF PUB_KEY (or an attestation certificate's SPKI with the alg from keyAlgOfSpki) for
 * verification. `unsupported_algorithm` for an algorithm or curve we do not verify,
 * `public_key_malformed` for bytes that are not a valid key of that algorithm (a point off the
 * curve, a wrong length, an RSA key that is not 2048 bits).
 */
export async function importUafPublicKey(alg: number, bytes: Uint8Array): Promise<Result<CryptoKey, UafKeyFailure>> {
  switch (alg) {
    case UAF_ALG.KEY_ECC_X962_RAW:
      if (bytes.length !== 65 || bytes[0] !== 0x04)
        return fail("public_key_malformed", { why: "not an uncompressed P-256 point (65 bytes, 0x04 first)" });
      return importOrFail("raw", bytes, EC_IMPORT);
    case UAF_ALG.KEY_ECC_X962_DER: {
      const info = spkiAlgorithm(bytes);
      if (!info) return fail("public_key_malformed", { why: "not a DER SubjectPublicKeyInfo" });
      if (info.algorithm !== OID_EC_PUBLIC_KEY || info.curve !== OID_P256) {
        return fail("unsupported_algorithm", { keyAlgorithm: info.algorithm, curve: info.curve });
      }
      return importOrFail("spki", bytes, EC_IMPORT);
    }
    case UAF_ALG.KEY_RSA_2048_RAW: {
      if (bytes.length <= RSA_BITS / 8 || bytes.length > RSA_BITS / 8 + 8)
        return fail("public_key_malformed", { why: "not n (256 bytes) followed by e" });
      const n = bytes.subarray(0, RSA_BITS / 8);
      let e = bytes.subarray(RSA_BITS / 8);
      while (e.length > 1 && e[0] === 0) e = e.subarray(1);
      if ((n[0]! & 0x80) === 0) return fail("public_key_malformed", { why: "modulus is shorter than 2048 bits" });
      return importOrFail("jwk", { kty: "RSA", n: encodeBase64url(n), e: encodeBase64url(e) }, RSA_IMPORT);
    }
    case UAF_ALG.KEY_RSA_2048_DER: {
      if (isRsaPublicKey(bytes)) return importOrFail("spki", rsaPublicKeyToSpki(bytes), RSA_IMPORT);
      const info = spkiAlgorithm(bytes);
      if (!info) return fail("public_key_malformed", { why: "neither a SubjectPublicKeyInfo nor an RSAPublicKey" });
      if (info.algorithm !== OID_RSA_ENCRYPTION) return fail("unsupported_algorithm", { keyAlgorithm: info.algorithm });
      return importOrFail("spki", bytes, RSA_IMPORT);
    }
    default:
      return fail("unsupported_algorithm", { keyAlg: alg });
  }
}

/**
 * Verify `signature` over `data` with `key` (from importUafPublicKey) and the UAF signature
 * algorithm `signAlg`. `signature_malformed`: the encoding is wrong for `signAlg` (length, non
 * canonical DER); `signature_invalid`: well formed but does not verify.
 */
export async function verifyUafSignature(
  signAlg: number,
  key: CryptoKey,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<Result<null, UafSignatureFailure>> {
  const family = SIGN_FAMILY[signAlg];
  const keyFamily: Family | undefined =
    key.algorithm.name === "ECDSA" ? "ec" : key.algorithm.name === "RSA-PSS" ? "rsa" : undefined;
  if (!family || family !== keyFamily) return fail("unsupported_algorithm", { signAlg, key: key.algorithm.name });

  let bytes: Uint8Array | null;
  switch (signAlg) {
    case UAF_ALG.SIGN_SECP256R1_ECDSA_SHA256_RAW:
      bytes = signature.length === 64 ? signature : null;
      break;
    case UAF_ALG.SIGN_SECP256R1_ECDSA_SHA256_DER:
      bytes = strictEcdsaDer(signature);
      break;
    case UAF_ALG.SIGN_RSASSA_PSS_SHA256_RAW:
      bytes = signature.length === RSA_BITS / 8 ? signature : null;
      break;
    default: {
      const inner = octetString(signature);
      bytes = inner && inner.length === RSA_BITS / 8 ? inner : null;
    }
  }
  if (!bytes) return fail("signature_malformed", { signAlg, length: signature.length });

  const valid =
    family === "ec"
      ? await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, bufferSource(bytes), bufferSource(data))
      : await crypto.subtle.verify(
          { name: "RSA-PSS", saltLength: PSS_SALT_LENGTH },
          key,
          bufferSource(bytes),
          bufferSource(data),
        );
  return valid ? ok(null) : fail("signature_invalid", { signAlg });
}
