/**
 * Generic X.509 path checks on WebCrypto: parse DER certificates, verify each link's signature
 * (hash taken from the child's signatureAlgorithm OID, never from the issuer's curve), check
 * issuer/subject linkage and validity at an injected `now`, and end at a trust anchor matched by
 * public key (SPKI bytes), whether or not the root certificate itself was sent.
 *
 * Used by the Android Key Attestation and iOS App Attest verifiers (and later FIDO UAF).
 * No name constraints, policies or basicConstraints path-length checks: attestation chains are
 * short and rooted in single-purpose CAs; callers add their own format-specific rules.
 *
 * Pure apart from a bounded, per-isolate cache of imported issuer keys.
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate, type Name } from "@peculiar/asn1-x509";
import { RsaSaPssParams } from "@peculiar/asn1-rsa";
import { fail, ok, type Result } from "../verifiers/result";
import { equalBytes } from "../verifiers/constant-time";
import { bufferSource } from "../bytes";

export type X509ErrorCode = "malformed_certificate" | "malformed_pem";

/** Thrown by the parsers on input that is not what they expect; `code` is stable. */
export class X509Error extends Error {
  override readonly name = "X509Error";
  constructor(
    readonly code: X509ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// A minimal DER walker: exact byte ranges of TLVs, so signed bytes are never re-serialized.

export interface Tlv {
  /** First identifier octet (class, constructed bit and low tag number). */
  readonly tagByte: number;
  /** Tag number (high-tag-number form decoded). */
  readonly tagNumber: number;
  readonly tagClass: "universal" | "application" | "context" | "private";
  readonly constructed: boolean;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the content. */
  readonly end: number;
}

const CLASSES = ["universal", "application", "context", "private"] as const;

/**
 * Read one DER TLV at `offset` that must end at or before `limit`. Returns null on truncation,
 * indefinite length, non-minimal lengths or absurd tag numbers.
 */
export function readTlv(bytes: Uint8Array, offset: number, limit = bytes.length): Tlv | null {
  let i = offset;
  if (i >= limit) return null;
  const tagByte = bytes[i++]!;
  let tagNumber = tagByte & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    for (let n = 0; ; n++) {
      if (i >= limit || n >= 4) return null;
      const b = bytes[i++]!;
      if (n === 0 && b === 0x80) return null; // non-minimal
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (i >= limit) return null;
  const first = bytes[i++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0 || count > 4 || i + count > limit) return null; // indefinite or too long
    if (bytes[i] === 0) return null; // non-minimal
    length = 0;
    for (let k = 0; k < count; k++) length = length * 256 + bytes[i++]!;
    if (length < 0x80) return null; // non-minimal
  }
  const end = i + length;
  if (end > limit) return null;
  return {
    tagByte,
    tagNumber,
    tagClass: CLASSES[tagByte >> 6]!,
    constructed: (tagByte & 0x20) !== 0,
    start: offset,
    contentStart: i,
    end,
  };
}

/** The TLVs directly inside a constructed TLV; null if its content is not exactly a series of TLVs. */
export function readChildren(bytes: Uint8Array, parent: Tlv): Tlv[] | null {
  const children: Tlv[] = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    const child = readTlv(bytes, offset, parent.end);
    if (!child) return null;
    children.push(child);
    offset = child.end;
  }
  return children;
}

// ---------------------------------------------------------------------------------------------
// Certificates

export interface ParsedExtension {
  readonly critical: boolean;
  /** Content of the extnValue OCTET STRING (the DER of the extension's own value). */
  readonly value: Uint8Array;
}

export interface ParsedCertificate {
  readonly der: Uint8Array;
  /** Exact tbsCertificate bytes from `der` (what the issuer signed). */
  readonly tbs: Uint8Array;
  /** signatureAlgorithm OID of the outer Certificate. */
  readonly signatureAlgorithm: string;
  /** DER of the signatureAlgorithm parameters, if any (RSASSA-PSS). */
  readonly signatureAlgorithmParams: Uint8Array | null;
  readonly signature: Uint8Array;
  /** Raw DER of the issuer and subject Names, for byte comparison. */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  /** Readable forms (RFC 4514 style, most specific RDN first); for logs only. */
  readonly issuerName: string;
  readonly subjectName: string;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  /** Lowercase hex, no leading zeros (the Android status list key format). */
  readonly serialNumberHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Extensions by OID; undefined when absent. */
  extension(oid: string): ParsedExtension | undefined;
  readonly extensionOids: readonly string[];
  /** The asn1-schema object, for anything else. */
  readonly certificate: Certificate;
}

const malformed = (why: string): X509Error => new X509Error("malformed_certificate", why);

const NAME_LABELS: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "title",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "emailAddress",
};

function nameToString(name: Name): string {
  return [...name]
    .reverse()
    .map((rdn) =>
      [...rdn]
        .map((atv) => {
          const label = NAME_LABELS[atv.type] ?? atv.type;
          let value: string;
          try {
            value = atv.value.toString();
          } catch {
            value = "#";
          }
          return `${label}=${value.replace(/([,+"\\<>;])/g, "\\$1")}`;
        })
        .join("+"),
    )
    .join(", ");
}

function hexNoLeadingZeros(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0"))
    .join("")
    .replace(/^0+/, "");
  return hex === "" ? "0" : hex;
}

/**
 * Parse exactly one DER certificate. Throws X509Error("malformed_certificate") on anything else:
 * truncation, trailing bytes, indefinite lengths, garbage.
 */
export function parseDerCertificate(input: Uint8Array): ParsedCertificate {
  if (!(input instanceof Uint8Array)) throw new TypeError("certificate must be a Uint8Array");
  const der = new Uint8Array(input); // own copy: callers cannot mutate what was verified
  const top = readTlv(der, 0);
  if (top?.tagByte !== 0x30 || top.end !== der.length) throw malformed("not a single DER SEQUENCE");
  const parts = readChildren(der, top);
  if (parts?.length !== 3) throw malformed("Certificate must have 3 elements");
  const [tbsTlv, , signatureTlv] = parts as [Tlv, Tlv, Tlv];
  if (tbsTlv.tagByte !== 0x30 || signatureTlv.tagByte !== 0x03) throw malformed("unexpected Certificate element");
  const tbsFields = readChildren(der, tbsTlv);
  if (!tbsFields) throw malformed("tbsCertificate is not DER");
  // version [0] is optional; then serial, signature, issuer, validity, subject, spki.
  const base = tbsFields[0]?.tagByte === 0xa0 ? 1 : 0;
  const issuerTlv = tbsFields[base + 2];
  const subjectTlv = tbsFields[base + 4];
  const spkiTlv = tbsFields[base + 5];
  if (
    !issuerTlv ||
    !subjectTlv ||
    !spkiTlv ||
    issuerTlv.tagByte !== 0x30 ||
    subjectTlv.tagByte !== 0x30 ||
    spkiTlv.tagByte !== 0x30
  ) {
    throw malformed("tbsCertificate fields");
  }

  let certificate: Certificate;
  try {
    certificate = AsnConvert.parse(der, Certificate);
  } catch (error) {
    throw malformed(`ASN.1: ${(error as Error).message}`);
  }
  const tbsCert = certificate.tbsCertificate;
  const extensions = new Map<string, ParsedExtension>();
  for (const ext of tbsCert.extensions ?? []) {
    if (extensions.has(ext.extnID)) throw malformed(`duplicate extension ${ext.extnID}`);
    extensions.set(ext.extnID, { critical: ext.critical, value: new Uint8Array(ext.extnValue.buffer) });
  }
  const params = certificate.signatureAlgorithm.parameters;
  let notBefore: Date;
  let notAfter: Date;
  let issuerName: string;
  let subjectName: string;
  try {
    notBefore = tbsCert.validity.notBefore.getTime();
    notAfter = tbsCert.validity.notAfter.getTime();
    issuerName = nameToString(tbsCert.issuer);
    subjectName = nameToString(tbsCert.subject);
  } catch (error) {
    throw malformed(`fields: ${(error as Error).message}`);
  }
  const signatureBits = der.subarray(signatureTlv.contentStart, signatureTlv.end);
  if (signatureBits.length < 1 || signatureBits[0] !== 0) throw malformed("signature BIT STRING has unused bits");

  return {
    der,
    tbs: der.subarray(tbsTlv.start, tbsTlv.end),
    signatureAlgorithm: certificate.signatureAlgorithm.algorithm,
    signatureAlgorithmParams: params ? new Uint8Array(params) : null,
    signature: signatureBits.subarray(1),
    issuer: der.subarray(issuerTlv.start, issuerTlv.end),
    subject: der.subarray(subjectTlv.start, subjectTlv.end),
    issuerName,
    subjectName,
    spki: der.subarray(spkiTlv.start, spkiTlv.end),
    serialNumberHex: hexNoLeadingZeros(new Uint8Array(tbsCert.serialNumber)),
    notBefore,
    notAfter,
    extension: (oid) => extensions.get(oid),
    extensionOids: [...extensions.keys()],
    certificate,
  };
}

/** PEM text (one or more CERTIFICATE blocks) to DER, in order. Throws X509Error("malformed_pem"). */
export function pemToDer(pem: string): Uint8Array[] {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new X509Error("malformed_pem", "no CERTIFICATE block");
  return blocks.map((block) => {
    const b64 = block[1]!.replace(/\s+/g, "");
    try {
      return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    } catch {
      throw new X509Error("malformed_pem", "CERTIFICATE block is not base64");
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Signatures

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

const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
const OID_RSASSA_PSS = "1.2.840.113549.1.1.10";
const OID_ED25519 = "1.3.101.112";

/** Thrown by verifySignature when the algorithm (signature or key) is not one we verify. */
export class UnsupportedAlgorithmError extends Error {
  override readonly name = "UnsupportedAlgorithmError";
  readonly code = "unsupported_algorithm";
}

/** OID decoding for the SPKI algorithm identifier (we only need a handful of OIDs). */
function decodeOid(bytes: Uint8Array, tlv: Tlv): string | null {
  if (tlv.tagByte !== 0x06 || tlv.end === tlv.contentStart) return null;
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.contentStart; i < tlv.end; i++) {
    value = value * 128 + (bytes[i]! & 0x7f);
    if ((bytes[i]! & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift();
  if (first === undefined) return null;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...parts].join(".");
}

/** The key algorithm OID and, for EC keys, the named curve OID of a DER SubjectPublicKeyInfo. */
export function spkiAlgorithm(spki: Uint8Array): { algorithm: string; curve: string | null } | null {
  const top = readTlv(spki, 0);
  if (top?.tagByte !== 0x30 || top.end !== spki.length) return null;
  const [algTlv] = readChildren(spki, top) ?? [];
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
  const top = readTlv(signature, 0);
  if (top?.tagByte !== 0x30 || top.end !== signature.length) return null;
  const parts = readChildren(signature, top);
  if (parts?.length !== 2) return null;
  const raw = new Uint8Array(size * 2);
  for (const [index, part] of parts.entries()) {
    if (part.tagByte !== 0x02 || part.end === part.contentStart) return null;
    let value = signature.subarray(part.contentStart, part.end);
    if (value[0]! & 0x80) return null; // negative
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > size) return null;
    raw.set(value, index * size + size - value.length);
  }
  return raw;
}

const KEY_CACHE_LIMIT = 64;
const keyCache = new Map<string, Promise<CryptoKey>>();

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Import (once per isolate, bounded) an issuer key for the given WebCrypto algorithm. */
function importKey(
  spki: Uint8Array,
  algorithm: { name: string; hash?: string; namedCurve?: string },
): Promise<CryptoKey> {
  const cacheKey = `${JSON.stringify(algorithm)}:${base64(spki)}`;
  const cached = keyCache.get(cacheKey);
  if (cached) return cached;
  const promise = crypto.subtle.importKey("spki", bufferSource(spki), algorithm, false, ["verify"]);
  promise.catch(() => keyCache.delete(cacheKey));
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(cacheKey, promise);
  return promise;
}

function pssParams(params: Uint8Array | null): { hash: Hash; saltLength: number } | null {
  if (!params) return null;
  try {
    const parsed = AsnConvert.parse(params, RsaSaPssParams);
    const hash = HASH_OIDS[parsed.hashAlgorithm.algorithm];
    const mgfHash = parsed.maskGenAlgorithm.parameters
      ? (() => {
          const mgf = new Uint8Array(parsed.maskGenAlgorithm.parameters);
          const top = readTlv(mgf, 0);
          const [oid] = top ? (readChildren(mgf, top) ?? []) : [];
          return oid ? decodeOid(mgf, oid) : null;
        })()
      : null;
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

// ---------------------------------------------------------------------------------------------
// Trust anchors and chains

export interface TrustAnchor {
  /** For logs: the anchor certificate's subject, or a caller-given label. */
  readonly label: string;
  /** DER SubjectPublicKeyInfo: what the anchor is matched by. */
  readonly spki: Uint8Array;
  /** Raw DER subject Name, when the anchor came from a certificate (matched against an issuer). */
  readonly subject: Uint8Array | null;
  readonly certificate: ParsedCertificate | null;
}

/** Trust anchors from PEM (one or more certificates per string) or DER certificates. */
export function importTrustAnchors(certificates: ReadonlyArray<string | Uint8Array>): TrustAnchor[] {
  return certificates
    .flatMap((item) => (typeof item === "string" ? pemToDer(item) : [item]))
    .map((der) => {
      const certificate = parseDerCertificate(der);
      return { label: certificate.subjectName, spki: certificate.spki, subject: certificate.subject, certificate };
    });
}

export type ChainFailure =
  | "empty_chain"
  | "issuer_mismatch"
  | "bad_signature"
  | "unsupported_algorithm"
  | "expired"
  | "not_yet_valid"
  | "untrusted_root";

export interface ChainInfo {
  readonly length: number;
  /** True when the chain's last certificate is the anchor itself (root sent), false when omitted. */
  readonly rootIncluded: boolean;
}

export interface ChainOptions {
  readonly now: Date;
  /**
   * Whether to check the validity dates of the certificate at `indexFromLeaf` (0 = leaf).
   * Default: check every certificate in the chain. The anchor's own dates (when the root is not in
   * the chain) are never checked: an anchor is trusted by its key.
   */
  readonly checkValidity?: (cert: ParsedCertificate, indexFromLeaf: number, info: ChainInfo) => boolean;
}

export interface VerifiedChain {
  readonly anchor: TrustAnchor;
  readonly rootIncluded: boolean;
  readonly length: number;
}

/**
 * Verify a chain, leaf first, up to one of `anchors`. Order of checks: linkage and signatures,
 * then the anchor, then validity dates (so an untrusted chain reports that, not its dates). If the last certificate's SPKI is an anchor's,
 * it is the root and is trusted by key (its self-signature is not needed); otherwise the last
 * certificate must be issued (name and signature) by an anchor.
 */
export async function verifyChain(
  chain: readonly ParsedCertificate[],
  anchors: readonly TrustAnchor[],
  options: ChainOptions,
): Promise<Result<VerifiedChain, ChainFailure>> {
  if (chain.length === 0) return fail("empty_chain");
  const last = chain[chain.length - 1]!;
  const rootAnchor = anchors.find((anchor) => equalBytes(anchor.spki, last.spki));
  const info: ChainInfo = { length: chain.length, rootIncluded: rootAnchor !== undefined };
  const nowMs = options.now.getTime();

  const checkLink = async (
    child: ParsedCertificate,
    issuerSpki: Uint8Array,
  ): Promise<"ok" | "bad_signature" | "unsupported_algorithm"> => {
    try {
      return (await verifySignature(child, issuerSpki)) ? "ok" : "bad_signature";
    } catch (error) {
      if (error instanceof UnsupportedAlgorithmError) return "unsupported_algorithm";
      return "bad_signature"; // WebCrypto rejected the key or signature encoding
    }
  };
  const checkDates = (): Result<null, ChainFailure> => {
    for (const [index, cert] of chain.entries()) {
      if (options.checkValidity?.(cert, index, info) ?? true) {
        if (nowMs < cert.notBefore.getTime()) {
          return fail("not_yet_valid", {
            index,
            subject: cert.subjectName,
            notBefore: cert.notBefore.toISOString(),
            now: options.now.toISOString(),
          });
        }
        if (nowMs > cert.notAfter.getTime()) {
          return fail("expired", {
            index,
            subject: cert.subjectName,
            notAfter: cert.notAfter.toISOString(),
            now: options.now.toISOString(),
          });
        }
      }
    }

    return ok(null);
  };

  // Links inside the chain. The root (if included) is trusted by key: its self-signature is skipped.
  for (let index = 0; index < chain.length - 1; index++) {
    const child = chain[index]!;
    const parent = chain[index + 1]!;
    if (!equalBytes(child.issuer, parent.subject)) {
      return fail("issuer_mismatch", { index, issuer: child.issuerName, parentSubject: parent.subjectName });
    }
    const outcome = await checkLink(child, parent.spki);
    if (outcome !== "ok")
      return fail(outcome, { index, subject: child.subjectName, algorithm: child.signatureAlgorithm });
  }
  if (rootAnchor) {
    const dates = checkDates();
    return dates.ok ? ok({ anchor: rootAnchor, rootIncluded: true, length: chain.length }) : dates;
  }

  // Root omitted: the last certificate must be issued by an anchor.
  const candidates = anchors.filter((anchor) => anchor.subject === null || equalBytes(anchor.subject, last.issuer));
  if (candidates.length === 0) return fail("untrusted_root", { issuer: last.issuerName });
  let failure: "bad_signature" | "unsupported_algorithm" = "bad_signature";
  const tried = new Set<string>();
  for (const anchor of candidates) {
    const key = base64(anchor.spki);
    if (tried.has(key)) continue; // Google's RSA roots share one key
    tried.add(key);
    const outcome = await checkLink(last, anchor.spki);
    if (outcome === "ok") {
      const dates = checkDates();
      return dates.ok ? ok({ anchor, rootIncluded: false, length: chain.length }) : dates;
    }
    if (outcome === "unsupported_algorithm") failure = outcome;
  }
  return fail(failure, {
    index: chain.length - 1,
    subject: last.subjectName,
    issuer: last.issuerName,
    algorithm: last.signatureAlgorithm,
  });
}
