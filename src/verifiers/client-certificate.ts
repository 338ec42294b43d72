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
  readonly san: {
    readonly dns: readonly string[];
    readonly uri: readonly string[];
    readonly ip: readonly string[];
    readonly email: readonly string[];
  } | null;
}

export type CertificateFailure =
  | "certificate_missing"
  | "certificate_unverified"
  | "subject_mismatch"
  | "san_unavailable"
  | "san_mismatch"
  | "certificate_not_registered";

/** Split on unescaped separators, keeping escapes for the next stage. */
function splitUnescaped(text: string, separators: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === "\\" && i + 1 < text.length) current += char + text[++i];
    else if (separators.includes(char)) {
      parts.push(current);
      current = "";
    } else current += char;
  }
  parts.push(current);
  return parts;
}

/** RFC 4514 §3 escapes: `\,` is the character, `\2C` (and UTF-8 byte runs such as `\C3\A9`) the bytes. */
function unescapeValue(value: string): string {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (char === "\\" && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (char === "\\" && i + 1 < value.length) {
      bytes.push(...encoder.encode(value[++i]!));
    } else bytes.push(...encoder.encode(char));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/**
 * A DN in comparable form: attribute types upper-cased, values unescaped, trimmed, inner white space
 * collapsed and case-folded (caseIgnoreMatch, which the common attributes use). The result is JSON of
 * [type, value] pairs, so an escaped separator inside a value can never pass for a separator.
 */
export function normalizeDN(dn: string): string {
  return JSON.stringify(
    splitUnescaped(dn, ",;").map((rdn) => {
      const [type = "", ...rest] = splitUnescaped(rdn, "=");
      return [type.trim().toUpperCase(), unescapeValue(rest.join("=").trim()).replace(/\s+/g, " ").toLowerCase()];
    }),
  );
}

export function verifyTlsClientAuth(
  certificate: ClientCertificate | null,
  client: ClientConfig,
): Result<ClientCertificate, CertificateFailure> {
  if (!certificate) return fail("certificate_missing");
  if (!certificate.verified) return fail("certificate_unverified", { source: certificate.source });
  if (client.tls_client_auth_subject_dn !== undefined) {
    if (
      certificate.subjectDN !== null &&
      normalizeDN(certificate.subjectDN) === normalizeDN(client.tls_client_auth_subject_dn)
    )
      return ok(certificate);
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
export function verifySelfSignedTlsClientAuth(
  certificate: ClientCertificate | null,
  registeredThumbprints: readonly string[],
): Result<ClientCertificate, CertificateFailure> {
  if (!certificate) return fail("certificate_missing");
  if (!registeredThumbprints.includes(certificate.thumbprintS256))
    return fail("certificate_not_registered", { x5t: certificate.thumbprintS256 });
  return ok(certificate);
}
