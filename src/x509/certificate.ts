/**
 * The facts mutual-TLS client authentication matches (RFC 8705 §2): the certificate's `x5t#S256`, its
 * subject DN as an RFC 4514 string and its SANs, through @peculiar/x509 (which needs a Reflect metadata
 * polyfill loaded before it). Attestation chains are parsed by ./parse-certificate.ts.
 */
import "reflect-metadata";
import { SubjectAlternativeNameExtension, X509Certificate } from "@peculiar/x509";
import { bufferSource, fromBase64 } from "../bytes";
import { sha256Base64url } from "../hash";
import { readWhole } from "./der";

export interface CertificateFacts {
  /** base64url(SHA-256(DER)): the RFC 8705 `x5t#S256` value. */
  readonly thumbprintS256: string;
  /** Subject DN, RFC 4514 string (most specific RDN first). */
  readonly subjectDN: string;
  readonly san: { readonly dns: string[]; readonly uri: string[]; readonly ip: string[]; readonly email: string[] };
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** base64url(SHA-256(DER)): `x5t#S256` (RFC 8705 §3.1). */
export function sha256Thumbprint(der: Uint8Array): Promise<string> {
  return sha256Base64url(der);
}

/** x5t#S256 of the first certificate (x5c[0]) of each key that has one: a client's registered certificates. */
export async function x5cThumbprints(keys: ReadonlyArray<Record<string, unknown>>): Promise<string[]> {
  const certificates = keys.flatMap((key) =>
    Array.isArray(key.x5c) && typeof key.x5c[0] === "string" ? [key.x5c[0] as string] : [],
  );
  const thumbprints: string[] = [];
  for (const b64 of certificates) {
    try {
      thumbprints.push(await sha256Thumbprint(fromBase64(b64)));
    } catch {
      // Not base64: matches nothing.
    }
  }
  return thumbprints;
}

/** Parse a DER certificate. Throws on anything that is not exactly one (truncated, or with trailing bytes). */
export async function parseCertificate(der: Uint8Array): Promise<CertificateFacts> {
  if (!readWhole(der, 0x30)) throw new Error("not a single DER certificate (length mismatch)");
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
