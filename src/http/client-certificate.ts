/**
 * The client certificate of a request, converted once into the typed value the verifiers take.
 *
 * Sources, in order:
 * 1. Cloudflare's own mTLS: `request.cf.tlsClientAuth` (subject DN and SHA-256 fingerprint; no SANs).
 * 2. A trusted TLS-terminating proxy's header (RFC 9440 `Client-Cert: :<base64 DER>:`), only when
 *    `mtls.certificate_header` names it. The whole certificate is parsed, so SANs are known too.
 */
import { base64url } from "jose";
import { OAuthError } from "../errors";
import type { ClientCertificate } from "../verifiers/client-certificate";
import { parseCertificate } from "../x509/certificate";

interface TlsClientAuth {
  certPresented?: string;
  certVerified?: string;
  certFingerprintSHA256?: string;
  certSubjectDNRFC2253?: string;
  certSubjectDN?: string;
}

function hexToBase64url(hex: string): string | null {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return null;
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return base64url.encode(bytes);
}

function fromCloudflare(cf: TlsClientAuth | undefined): ClientCertificate | null {
  if (cf?.certPresented !== "1") return null;
  const thumbprint = hexToBase64url(cf.certFingerprintSHA256 ?? "");
  if (!thumbprint) return null;
  return {
    source: "cloudflare",
    verified: cf.certVerified === "SUCCESS",
    thumbprintS256: thumbprint,
    subjectDN: cf.certSubjectDNRFC2253 || cf.certSubjectDN || null,
    san: null,
  };
}

async function fromHeader(value: string): Promise<ClientCertificate> {
  // RFC 9440 sf-binary is ":base64:"; some proxies send bare base64 or PEM.
  const text = value
    .trim()
    .replace(/^:|:$/g, "")
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, "")
    .replace(/\s+/g, "");
  try {
    const der = Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
    const facts = await parseCertificate(der);
    return {
      source: "header",
      verified: true,
      thumbprintS256: facts.thumbprintS256,
      subjectDN: facts.subjectDN,
      san: facts.san,
    };
  } catch (error) {
    throw new OAuthError("invalid_request", "client certificate unreadable", {
      reason: "client_certificate_unreadable",
      detail: { error: (error as Error).message },
    });
  }
}

export async function clientCertificateOf(
  request: Request,
  headerName: string | null,
): Promise<ClientCertificate | null> {
  const cf = (request as { cf?: { tlsClientAuth?: TlsClientAuth } }).cf;
  const fromEdge = fromCloudflare(cf?.tlsClientAuth);
  if (fromEdge) return fromEdge;
  if (headerName) {
    const value = request.headers.get(headerName);
    if (value) return fromHeader(value);
  }
  return null;
}
