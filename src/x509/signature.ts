/**
 * Certificate signature verification on WebCrypto: is a certificate signed by a given issuer key?
 * The hash comes from the certificate's signatureAlgorithm OID, never from the issuer's curve (a
 * P-384 CA may sign with SHA-256). Also the two key and signature encodings other verifiers share:
 * a SubjectPublicKeyInfo's algorithm, and a DER ECDSA signature as WebCrypto's raw r||s.
 *
 * Pure apart from a bounded, per-isolate cache of imported issuer keys.
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { RsaSaPssParams } from "@peculiar/asn1-rsa";
import { bufferSource, toBase64 } from "../bytes";
import { contentOf, decodeOid, readChildren, readWhole } from "./der";
import type { ParsedCertificate } from "./parse-certificate";

type Hash = "SHA-256" | "SHA-384" | "SHA-512";

const SIGNATURE_ALGORITHMS: Record<string, { kind: "ecdsa" | "rsa" | "rsa-pss" | "ed25519"; hash?: Hash }> = {
  "1.2.840.10045.4.3.2": { kind: "ecdsa", hash: "SHA-256" },
  "1.2.840.10045.4.3.3": { kind: "ecdsa", hash: "SHA-384" },
  "1.2.840.10045.4.3.4": { kind: "ecdsa", hash: "SHA-512" },
  "1.2.840.113549.1.1.11": { kind: "rsa", hash: "SHA-256" },
  "1.2.840.113549.1.1.12": { kind: "rsa", hash: "SHA-384" },
  "1.2.840.113549.1.1.13": { kind: "rsa", hash: "SHA-512" },
  "1.2.840.113549.1.1.10": { kind: "rsa-pss" },
  "1.3.101.112": { kind: "ed25519" },
};

const HASH_OIDS: Record<string, Hash> = {
  "2.16.840.1.101.3.4.2.1": "SHA-256",
  "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
};

const CURVES: Record<string, { name: "P-256" | "P-384" | "P-521"; size: number }> = {
  "1.2.840.10045.3.1.7": { name: "P-256", size: 32 },
  "1.3.132.0.34": { name: "P-384", size: 48 },
  "1.3.132.0.35": { name: "P-521", size: 66 },
};

export const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
export const OID_P256 = "1.2.840.10045.3.1.7";
export const OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
const OID_RSASSA_PSS = "1.2.840.113549.1.1.10";
const OID_ED25519 = "1.3.101.112";

/** Thrown by verifySignature when the algorithm (signature or key) is not one we verify. */
export class UnsupportedAlgorithmError extends Error {
  override readonly name = "UnsupportedAlgorithmError";
  readonly code = "unsupported_algorithm";
}

/** The key algorithm OID and, for EC keys, the named curve OID of a DER SubjectPublicKeyInfo. */
export function spkiAlgorithm(spki: Uint8Array): { algorithm: string; curve: string | null } | null {
  const top = readWhole(spki, 0x30);
  const [algTlv] = (top && readChildren(spki, top)) ?? [];
  if (algTlv?.tagByte !== 0x30) return null;
  const [oidTlv, paramTlv] = readChildren(spki, algTlv) ?? [];
  if (!oidTlv) return null;
  const algorithm = decodeOid(spki, oidTlv);
  if (!algorithm) return null;
  const curve = paramTlv?.tagByte === 0x06 ? decodeOid(spki, paramTlv) : null;
  return { algorithm, curve };
}

/** DER ECDSA-Sig-Value to raw r||s with each integer left-padded to the curve size. */
export function ecdsaDerToRaw(signature: Uint8Array, size: number): Uint8Array | null {
  const top = readWhole(signature, 0x30);
  const parts = top && readChildren(signature, top);
  if (parts?.length !== 2) return null;
  const raw = new Uint8Array(size * 2);
  for (const [index, part] of parts.entries()) {
    if (part.tagByte !== 0x02 || part.end === part.contentStart) return null;
    let value = contentOf(signature, part);
    if (value[0]! & 0x80) return null; // negative
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > size) return null;
    raw.set(value, index * size + size - value.length);
  }
  return raw;
}

const KEY_CACHE_LIMIT = 64;
const keyCache = new Map<string, Promise<CryptoKey>>();

/** Import (once per isolate, bounded) an issuer key for the given WebCrypto algorithm. */
function importKey(
  spki: Uint8Array,
  algorithm: { name: string; hash?: string; namedCurve?: string },
): Promise<CryptoKey> {
  const cacheKey = `${JSON.stringify(algorithm)}:${toBase64(spki)}`;
  const cached = keyCache.get(cacheKey);
  if (cached) return cached;
  const promise = crypto.subtle.importKey("spki", bufferSource(spki), algorithm, false, ["verify"]);
  promise.catch(() => keyCache.delete(cacheKey));
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(cacheKey, promise);
  return promise;
}

/** The MGF1 hash OID of RSASSA-PSS parameters; null when absent or unreadable (then the main hash is used). */
function mgfHashOid(parameters: ArrayBuffer | undefined): string | null {
  if (!parameters) return null;
  try {
    return AsnConvert.parse(parameters, AlgorithmIdentifier).algorithm;
  } catch {
    return null;
  }
}

function pssParams(params: Uint8Array | null): { hash: Hash; saltLength: number } | null {
  if (!params) return null;
  try {
    const parsed = AsnConvert.parse(params, RsaSaPssParams);
    const hash = HASH_OIDS[parsed.hashAlgorithm.algorithm];
    const mgfHash = mgfHashOid(parsed.maskGenAlgorithm.parameters ?? undefined);
    // WebCrypto uses the same hash for MGF1; anything else is unsupported.
    if (!hash || (mgfHash !== null && HASH_OIDS[mgfHash] !== hash)) return null;
    return { hash, saltLength: parsed.saltLength };
  } catch {
    return null;
  }
}

/**
 * Is `child` signed by the key in `issuerSpki`? The hash comes from the child's signatureAlgorithm
 * (a P-384 CA may sign with SHA-256). Throws UnsupportedAlgorithmError for algorithms we do not
 * verify (e.g. ML-DSA); returns false for a malformed or wrong signature.
 */
export async function verifySignature(child: ParsedCertificate, issuerSpki: Uint8Array): Promise<boolean> {
  const sigAlg = SIGNATURE_ALGORITHMS[child.signatureAlgorithm];
  if (!sigAlg) throw new UnsupportedAlgorithmError(`signature algorithm ${child.signatureAlgorithm}`);
  const keyAlg = spkiAlgorithm(issuerSpki);
  if (!keyAlg) return false;
  switch (sigAlg.kind) {
    case "ecdsa": {
      if (keyAlg.algorithm !== OID_EC_PUBLIC_KEY) return false;
      const curve = keyAlg.curve ? CURVES[keyAlg.curve] : undefined;
      if (!curve) throw new UnsupportedAlgorithmError(`EC curve ${keyAlg.curve}`);
      const raw = ecdsaDerToRaw(child.signature, curve.size);
      if (!raw) return false;
      const key = await importKey(issuerSpki, { name: "ECDSA", namedCurve: curve.name });
      return crypto.subtle.verify(
        { name: "ECDSA", hash: sigAlg.hash! },
        key,
        bufferSource(raw),
        bufferSource(child.tbs),
      );
    }
    case "rsa": {
      if (keyAlg.algorithm !== OID_RSA_ENCRYPTION) return false;
      const key = await importKey(issuerSpki, { name: "RSASSA-PKCS1-v1_5", hash: sigAlg.hash! });
      return crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, bufferSource(child.signature), bufferSource(child.tbs));
    }
    case "rsa-pss": {
      if (keyAlg.algorithm !== OID_RSA_ENCRYPTION && keyAlg.algorithm !== OID_RSASSA_PSS) return false;
      const params = pssParams(child.signatureAlgorithmParams);
      if (!params) throw new UnsupportedAlgorithmError("RSASSA-PSS parameters");
      if (keyAlg.algorithm === OID_RSASSA_PSS) throw new UnsupportedAlgorithmError("id-RSASSA-PSS keys");
      const key = await importKey(issuerSpki, { name: "RSA-PSS", hash: params.hash });
      return crypto.subtle.verify(
        { name: "RSA-PSS", saltLength: params.saltLength },
        key,
        bufferSource(child.signature),
        bufferSource(child.tbs),
      );
    }
    case "ed25519": {
      if (keyAlg.algorithm !== OID_ED25519) return false;
      const key = await importKey(issuerSpki, { name: "Ed25519" });
      return crypto.subtle.verify("Ed25519", key, bufferSource(child.signature), bufferSource(child.tbs));
    }
  }
}
