/**
 * Mutual-TLS client authentication (RFC 8705 §2).
 *
 * - tls_client_auth: a CA-validated certificate whose subject DN or one SAN equals the registered value.
 * - self_signed_tls_client_auth: a certificate (validated or not) whose SHA-256 thumbprint equals that of
 *   a certificate (x5c[0]) in the client's registered `jwks`.
 *
 * The certificate arrives as a ClientCertificate: facts converted once from request.cf.tlsClientAuth or
 * from a trusted proxy's Client-Cert header (src/http/client-certificate.ts).
 */
import type { ClientConfig } from "../config/schema";
import { fail, ok, type Result } from "./result";

export interface ClientCertificate {
  readonly source: "cloudflare" | "header";
  /** The TLS terminator validated the chain against its configured CAs. */
  readonly verified: boolean;
  /** base64url(SHA-256(DER)), the `x5t#S256` confirmation value. */
  readonly thumbprintS256: string;
  /** RFC 4514/2253 subject DN. */
  readonly subjectDN: string | null;
  /** SANs; only known when the whole certificate was forwarded. */
  readonly san: { readonly dns: readonly string[]; readonly uri: readonly string[]; readonly ip: readonly string[]; readonly email: readonly string[] } | null;
}

export type CertificateFailure = "certificate_missing" | "certificate_unverified" | "subject_mismatch" | "san_unavailable" | "san_mismatch" | "certificate_not_registered";

/** Normalize a DN for comparison: attribute types upper-cased, spaces around separators dropped, values case-folded. */
export function normalizeDN(dn: string): string {
  const rdns: string[] = [];
  let current = "";
  for (let i = 0; i < dn.length; i++) {
    const char = dn[i]!;
    if (char === "\\" && i + 1 < dn.length) {
      current += char + dn[++i];
    } else if (char === "," || char === ";") {
      rdns.push(current);
      current = "";
    } else current += char;
  }
  rdns.push(current);
  return rdns
    .map((rdn) => {
      const eq = rdn.indexOf("=");
      if (eq < 0) return rdn.trim().toLowerCase();
      return `${rdn.slice(0, eq).trim().toUpperCase()}=${rdn.slice(eq + 1).trim().replace(/\s+/g, " ").toLowerCase()}`;
    })
    .join(",");
}

export function verifyTlsClientAuth(certificate: ClientCertificate | null, client: ClientConfig): Result<ClientCertificate, CertificateFailure> {
  if (!certificate) return fail("certificate_missing");
  if (!certificate.verified) return fail("certificate_unverified", { source: certificate.source });
  if (client.tls_client_auth_subject_dn !== undefined) {
    if (certificate.subjectDN !== null && normalizeDN(certificate.subjectDN) === normalizeDN(client.tls_client_auth_subject_dn)) return ok(certificate);
    return fail("subject_mismatch", { subject: certificate.subjectDN });
  }
  if (!certificate.san) return fail("san_unavailable", { source: certificate.source });
  const expected: Array<[readonly string[], string | undefined]> = [
    [certificate.san.dns, client.tls_client_auth_san_dns],
    [certificate.san.uri, client.tls_client_auth_san_uri],
    [certificate.san.ip, client.tls_client_auth_san_ip],
    [certificate.san.email, client.tls_client_auth_san_email],
  ];
  for (const [values, wanted] of expected) {
    if (wanted !== undefined && values.includes(wanted)) return ok(certificate);
  }
  return fail("san_mismatch");
}

/**
 * @param registeredThumbprints base64url SHA-256 thumbprints of the client's x5c[0] certificates.
 */
export function verifySelfSignedTlsClientAuth(certificate: ClientCertificate | null, registeredThumbprints: readonly string[]): Result<ClientCertificate, CertificateFailure> {
  if (!certificate) return fail("certificate_missing");
  if (!registeredThumbprints.includes(certificate.thumbprintS256)) return fail("certificate_not_registered", { x5t: certificate.thumbprintS256 });
  return ok(certificate);
}
