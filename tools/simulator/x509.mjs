// Minimal X.509 certificate issuing for the device simulator and its test CA.
// Plain ESM on WebCrypto + @peculiar/asn1-x509 only, so it runs in Node 22 and in workerd
// (no `node:` imports, no @peculiar/x509, no reflect-metadata).

import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  KeyIdentifier,
  KeyUsage,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
} from "@peculiar/asn1-x509";

/** ecdsa-with-SHA256 / ecdsa-with-SHA384 */
export const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
export const OID_ECDSA_SHA384 = "1.2.840.10045.4.3.3";

/** Short attribute names accepted by {@link buildName}. */
const ATTRIBUTE_OIDS = {
  CN: "2.5.4.3",
  serialNumber: "2.5.4.5",
  C: "2.5.4.6",
  L: "2.5.4.7",
  ST: "2.5.4.8",
  O: "2.5.4.10",
  OU: "2.5.4.11",
};

/** Key usage bits (RFC 5280 order), matching asn1-x509's KeyUsageFlags. */
export const KU = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
};

// ---------------------------------------------------------------------------
// bytes helpers

/** @param {Uint8Array | ArrayBuffer} bytes @returns {string} standard base64 */
export function toBase64(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
}

/** @param {string} b64 standard or url-safe base64 @returns {Uint8Array<ArrayBuffer>} */
export function fromBase64(b64) {
  const std = b64.replace(/-/g, "+").replace(/_/g, "/").replace(/\s+/g, "");
  const bin = atob(std + "===".slice((std.length + 3) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** @param {Uint8Array} bytes @returns {string} lowercase hex */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {string} hex @returns {Uint8Array<ArrayBuffer>} */
export function fromHex(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** @param {...Uint8Array} parts @returns {Uint8Array<ArrayBuffer>} */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** @param {Uint8Array | string} data @returns {Promise<Uint8Array<ArrayBuffer>>} */
export async function sha256(data) {
  const bytes = /** @type {Uint8Array<ArrayBuffer>} */ (
    typeof data === "string" ? new TextEncoder().encode(data) : data
  );
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** @param {Uint8Array | ArrayBuffer} der @param {string} [label] @returns {string} */
export function derToPem(der, label = "CERTIFICATE") {
  const b64 = toBase64(der).replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** First PEM block's DER. @param {string} pem @returns {Uint8Array} */
export function pemToDer(pem) {
  const m = /-----BEGIN [^-]+-----([\s\S]*?)-----END [^-]+-----/.exec(pem);
  if (!m) throw new Error("no PEM block");
  return fromBase64(m[1]);
}

// ---------------------------------------------------------------------------
// DER pieces

/**
 * WebCrypto ECDSA gives raw r||s; X.509 wants DER ECDSA-Sig-Value.
 * @param {Uint8Array} raw @returns {Uint8Array<ArrayBuffer>}
 */
export function ecdsaRawToDer(raw) {
  const half = raw.length / 2;
  /** @param {Uint8Array} n */
  const int = (n) => {
    let i = 0;
    while (i < n.length - 1 && n[i] === 0) i++;
    let v = n.subarray(i);
    if (v[0] & 0x80) v = concat(new Uint8Array([0]), v);
    return concat(new Uint8Array([0x02, v.length]), v);
  };
  const body = concat(int(raw.subarray(0, half)), int(raw.subarray(half)));
  const len = body.length < 0x80 ? new Uint8Array([body.length]) : new Uint8Array([0x81, body.length]);
  return concat(new Uint8Array([0x30]), len, body);
}

/**
 * Build a Name from [attribute, value] pairs, one RDN each, in order.
 * PrintableString when the value allows it (as Android does), UTF8String otherwise.
 * @param {Array<[keyof typeof ATTRIBUTE_OIDS | string, string]>} attrs
 * @returns {Name}
 */
export function buildName(attrs) {
  return new Name(
    attrs.map(([type, value]) => {
      const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value);
      return new RelativeDistinguishedName([
        new AttributeTypeAndValue({
          type: ATTRIBUTE_OIDS[/** @type {keyof typeof ATTRIBUTE_OIDS} */ (type)] ?? type,
          value: new AttributeValue(printable ? { printableString: value } : { utf8String: value }),
        }),
      ]);
    }),
  );
}

/**
 * @param {string} oid @param {boolean} critical @param {Uint8Array | ArrayBuffer} value DER of the extension value
 * @returns {Extension}
 */
export function extension(oid, critical, value) {
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(value) });
}

/** @param {boolean} ca @param {number} [pathLen] */
export function basicConstraintsExt(ca, pathLen) {
  return extension(
    id_ce_basicConstraints,
    true,
    AsnConvert.serialize(new BasicConstraints({ cA: ca, pathLenConstraint: pathLen })),
  );
}

/** @param {number} flags OR of {@link KU} bits */
export function keyUsageExt(flags) {
  return extension(id_ce_keyUsage, true, AsnConvert.serialize(new KeyUsage(flags)));
}

/** @param {Uint8Array} keyId */
export function subjectKeyIdExt(keyId) {
  return extension(id_ce_subjectKeyIdentifier, false, AsnConvert.serialize(new SubjectKeyIdentifier(keyId)));
}

/** @param {Uint8Array} keyId */
export function authorityKeyIdExt(keyId) {
  return extension(
    id_ce_authorityKeyIdentifier,
    false,
    AsnConvert.serialize(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId) })),
  );
}

/**
 * SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 §4.2.1.2 method 1).
 * @param {CryptoKey} publicKey @returns {Promise<Uint8Array>}
 */
export async function keyIdentifier(publicKey) {
  const spki = AsnConvert.parse(await crypto.subtle.exportKey("spki", publicKey), SubjectPublicKeyInfo);
  return new Uint8Array(await crypto.subtle.digest("SHA-1", spki.subjectPublicKey));
}

/**
 * @typedef {object} IssueOptions
 * @property {Name} subject
 * @property {Name} issuer
 * @property {Uint8Array} serialNumber big-endian positive integer bytes
 * @property {Date} notBefore
 * @property {Date} notAfter
 * @property {CryptoKey} publicKey subject's public key
 * @property {CryptoKey} signingKey issuer's ECDSA private key
 * @property {"SHA-256" | "SHA-384"} [hash] signature hash; default SHA-256 (independent of the curve, like Apple's P-384 CA signing with SHA-256)
 * @property {Extension[]} [extensions]
 */

/**
 * Issue an X.509 v3 certificate signed with ECDSA.
 * @param {IssueOptions} o
 * @returns {Promise<Uint8Array>} certificate DER
 */
export async function issueCertificate(o) {
  const hash = o.hash ?? "SHA-256";
  const sigAlg = new AlgorithmIdentifier({ algorithm: hash === "SHA-384" ? OID_ECDSA_SHA384 : OID_ECDSA_SHA256 });
  let serial = o.serialNumber;
  while (serial.length > 1 && serial[0] === 0 && !(serial[1] & 0x80)) serial = serial.subarray(1);
  if (serial[0] & 0x80) serial = concat(new Uint8Array([0]), serial);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial.slice().buffer,
    signature: sigAlg,
    issuer: o.issuer,
    validity: new Validity({ notBefore: o.notBefore, notAfter: o.notAfter }),
    subject: o.subject,
    subjectPublicKeyInfo: AsnConvert.parse(await crypto.subtle.exportKey("spki", o.publicKey), SubjectPublicKeyInfo),
    extensions: o.extensions?.length ? new Extensions(o.extensions) : undefined,
  });
  const tbsDer = AsnConvert.serialize(tbs);
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash }, o.signingKey, tbsDer));
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: sigAlg,
    signatureValue: ecdsaRawToDer(raw).slice().buffer,
  });
  return new Uint8Array(AsnConvert.serialize(cert));
}

/**
 * Subject Name of a certificate (to use as the issuer of the next one).
 * @param {Uint8Array} certDer @returns {Name}
 */
export function subjectOf(certDer) {
  return AsnConvert.parse(certDer, Certificate).tbsCertificate.subject;
}

/** @param {number} [n] @returns {Uint8Array<ArrayBuffer>} */
export function randomBytes(n = 16) {
  return crypto.getRandomValues(new Uint8Array(n));
}
