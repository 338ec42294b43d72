/**
 * Certificate parsing for attestation chains: exactly one DER certificate, read with the
 * @peculiar/asn1-x509 schema, plus the exact byte ranges (TBS, issuer, subject, SPKI) that signatures
 * and name linkage are checked on, taken with the DER reader so nothing is re-serialized.
 *
 * (mTLS client certificates, matched by RFC 4514 subject DN and SANs, go through ./certificate.ts.)
 */
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate, type Name } from "@peculiar/asn1-x509";
import { fromBase64, toHex } from "../bytes";
import { fail, ok, type Result } from "../verifiers/result";
import { readChildren, readWhole, type Tlv } from "./der";

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
  const hex = toHex(bytes).replace(/^0+/, "");
  return hex === "" ? "0" : hex;
}

/**
 * Parse exactly one DER certificate. Throws X509Error("malformed_certificate") on anything else:
 * truncation, trailing bytes, indefinite lengths, garbage.
 */
export function parseDerCertificate(input: Uint8Array): ParsedCertificate {
  if (!(input instanceof Uint8Array)) throw new TypeError("certificate must be a Uint8Array");
  const der = new Uint8Array(input); // own copy: callers cannot mutate what was verified
  const top = readWhole(der, 0x30);
  if (!top) throw malformed("not a single DER SEQUENCE");
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

/**
 * Parse a chain, leaf first. A certificate that is not one (or not bytes) is `malformed_certificate`
 * with its `index` and the parser's `why`; callers name it in their own reasons.
 */
export function parseCertificateChain(
  ders: readonly Uint8Array[],
): Result<ParsedCertificate[], "malformed_certificate"> {
  const chain: ParsedCertificate[] = [];
  for (const [index, der] of ders.entries()) {
    try {
      chain.push(parseDerCertificate(der));
    } catch (error) {
      if (error instanceof X509Error || error instanceof TypeError)
        return fail("malformed_certificate", { index, why: error.message });
      throw error;
    }
  }
  return ok(chain);
}

/** PEM text (one or more CERTIFICATE blocks) to DER, in order. Throws X509Error("malformed_pem"). */
export function pemToDer(pem: string): Uint8Array[] {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new X509Error("malformed_pem", "no CERTIFICATE block");
  return blocks.map((block) => {
    try {
      return fromBase64(block[1]!.replace(/\s+/g, ""));
    } catch {
      throw new X509Error("malformed_pem", "CERTIFICATE block is not base64");
    }
  });
}
