/**
 * X.509 handling lives here (and only here): parsing a DER certificate into the facts verifiers need.
 * @peculiar/x509 needs a Reflect metadata polyfill loaded before it.
 */
import "reflect-metadata";
import { SubjectAlternativeNameExtension, X509Certificate } from "@peculiar/x509";
import { base64url } from "jose";
import { bufferSource } from "../bytes";

export interface CertificateFacts {
  /** base64url(SHA-256(DER)): the RFC 8705 `x5t#S256` value. */
  readonly thumbprintS256: string;
  /** Subject DN, RFC 4514 string (most specific RDN first). */
  readonly subjectDN: string;
  readonly san: { readonly dns: string[]; readonly uri: string[]; readonly ip: string[]; readonly email: string[] };
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export async function sha256Thumbprint(der: Uint8Array): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", bufferSource(der))));
}

/** x5t#S256 of the first certificate (x5c[0]) of each key that has one: a client's registered certificates. */
export async function x5cThumbprints(keys: ReadonlyArray<Record<string, unknown>>): Promise<string[]> {
  const certificates = keys.flatMap((key) =>
    Array.isArray(key.x5c) && typeof key.x5c[0] === "string" ? [key.x5c[0] as string] : [],
  );
  const thumbprints: string[] = [];
  for (const b64 of certificates) {
    try {
      thumbprints.push(await sha256Thumbprint(Uint8Array.from(atob(b64), (char) => char.charCodeAt(0))));
    } catch {
      // Not base64: matches nothing.
    }
  }
  return thumbprints;
}

/** The length a DER SEQUENCE at the start of `der` declares, header included; null if it is not one. */
function derSequenceLength(der: Uint8Array): number | null {
  if (der.length < 2 || der[0] !== 0x30) return null;
  const first = der[1]!;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  if (count === 0 || count > 4 || der.length < 2 + count) return null;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + der[2 + i]!;
  return 2 + count + length;
}

/** Parse a DER certificate. Throws on anything that is not exactly one (truncated, or with trailing bytes). */
export async function parseCertificate(der: Uint8Array): Promise<CertificateFacts> {
  if (derSequenceLength(der) !== der.length) throw new Error("not a single DER certificate (length mismatch)");
  const certificate = new X509Certificate(bufferSource(der));
  const san = { dns: [] as string[], uri: [] as string[], ip: [] as string[], email: [] as string[] };
  const extension = certificate.getExtension(SubjectAlternativeNameExtension);
  for (const name of extension?.names.items ?? []) {
    if (name.type === "dns") san.dns.push(name.value);
    else if (name.type === "url") san.uri.push(name.value);
    else if (name.type === "ip") san.ip.push(name.value);
    else if (name.type === "email") san.email.push(name.value);
  }
  return {
    thumbprintS256: await sha256Thumbprint(der),
    subjectDN: certificate.subject,
    san,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
  };
}
