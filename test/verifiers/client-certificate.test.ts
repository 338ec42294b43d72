/**
 * Mutual-TLS client authentication (RFC 8705 §2): DN normalisation, tls_client_auth matching,
 * self_signed_tls_client_auth thumbprints, and the certificate parser feeding them.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { clientSchema, type ClientConfig } from "../../src/config/schema";
import {
  normalizeDN,
  verifySelfSignedTlsClientAuth,
  verifyTlsClientAuth,
  type ClientCertificate,
} from "../../src/verifiers/client-certificate";
import { parseCertificate, sha256Thumbprint } from "../../src/x509/certificate";
import keys from "../fixtures/keys.json";

const MTLS_DN = "CN=mtls-client,O=haapi-edge test,C=SE";
const MTLS_SAN_DNS = "mtls-client.example";

function der(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

function client(settings: Record<string, unknown>): ClientConfig {
  return clientSchema.parse({ client_id: "mtls-client", token_endpoint_auth_method: "tls_client_auth", ...settings });
}

const NO_SAN = { dns: [], uri: [], ip: [], email: [] };

let mtlsThumbprint: string;
let selfSignedThumbprint: string;
let strangerThumbprint: string;

beforeAll(async () => {
  [mtlsThumbprint, selfSignedThumbprint, strangerThumbprint] = await Promise.all([
    sha256Thumbprint(der(keys.certificates.mtls)),
    sha256Thumbprint(der(keys.certificates.selfSigned)),
    sha256Thumbprint(der(keys.certificates.stranger)),
  ]);
});

/** The mTLS fixture as a trusted proxy header would deliver it (whole certificate: SANs known). */
function fromHeader(overrides: Partial<ClientCertificate> = {}): ClientCertificate {
  return {
    source: "header",
    verified: true,
    thumbprintS256: mtlsThumbprint,
    subjectDN: MTLS_DN,
    san: { ...NO_SAN, dns: [MTLS_SAN_DNS] },
    ...overrides,
  };
}

/** The mTLS fixture as Cloudflare's request.cf.tlsClientAuth delivers it (no SANs). */
function fromCloudflare(overrides: Partial<ClientCertificate> = {}): ClientCertificate {
  return {
    source: "cloudflare",
    verified: true,
    thumbprintS256: mtlsThumbprint,
    subjectDN: MTLS_DN,
    san: null,
    ...overrides,
  };
}

describe("normalizeDN", () => {
  it("drops spaces around separators and around =", () => {
    expect(normalizeDN("CN = mtls-client , O = haapi-edge test , C = SE")).toBe(normalizeDN(MTLS_DN));
    expect(normalizeDN("CN=mtls-client, O=haapi-edge test, C=SE")).toBe(normalizeDN(MTLS_DN));
  });

  it("collapses runs of spaces inside a value", () => {
    expect(normalizeDN("CN=mtls-client,O=haapi-edge    test,C=SE")).toBe(normalizeDN(MTLS_DN));
  });

  it("upper-cases attribute types", () => {
    expect(normalizeDN("cn=mtls-client,o=haapi-edge test,c=SE")).toBe(normalizeDN(MTLS_DN));
  });

  it("case-folds attribute values", () => {
    expect(normalizeDN("CN=MTLS-Client,O=HAAPI-EDGE Test,C=se")).toBe(normalizeDN(MTLS_DN));
  });

  it("gives the canonical form: types upper-case, values lower-case, no spaces around separators", () => {
    expect(JSON.parse(normalizeDN("cn = MTLS-Client ,  o=Haapi-Edge  Test, c=SE"))).toEqual([
      ["CN", "mtls-client"],
      ["O", "haapi-edge test"],
      ["C", "se"],
    ]);
  });

  it("accepts ; as an RDN separator (RFC 1779)", () => {
    expect(normalizeDN("CN=mtls-client; O=haapi-edge test; C=SE")).toBe(normalizeDN(MTLS_DN));
  });

  it("keeps an escaped comma inside its value", () => {
    expect(JSON.parse(normalizeDN("CN=Doe\\, John,O=Example"))).toEqual([
      ["CN", "doe, john"],
      ["O", "example"],
    ]);
  });

  it("does not confuse an escaped comma with an RDN separator", () => {
    expect(normalizeDN("CN=Doe\\,O=Example")).not.toBe(normalizeDN("CN=Doe,O=Example"));
  });

  it("keeps RDN order significant", () => {
    expect(normalizeDN("C=SE,O=haapi-edge test,CN=mtls-client")).not.toBe(normalizeDN(MTLS_DN));
  });

  it("keeps different values apart", () => {
    expect(normalizeDN("CN=mtls-client2,O=haapi-edge test,C=SE")).not.toBe(normalizeDN(MTLS_DN));
    expect(normalizeDN("CN=mtls-client,O=haapi-edge test")).not.toBe(normalizeDN(MTLS_DN));
  });
});

describe("normalizeDN: RFC 4514 hex escapes", () => {
  // RFC 4514 §2.4 lets any character be escaped as \XX (UTF-8 bytes in hex); "\2C" and "\," are the
  // same comma, and OpenSSL-style RFC 2253 output escapes non-ASCII bytes this way. normalizeDN keeps
  // escapes verbatim, so equal DNs in different encodings do not match (fails closed).
  it('treats "\\2C" as the same value as "\\,"', () => {
    expect(normalizeDN("CN=Doe\\2C John,O=Example")).toBe(normalizeDN("CN=Doe\\, John,O=Example"));
  });

  it("treats UTF-8 hex escapes as the characters they encode", () => {
    expect(normalizeDN("CN=caf\\C3\\A9,O=Example")).toBe(normalizeDN("CN=café,O=Example"));
  });
});

describe("tls_client_auth: certificate present and CA-validated", () => {
  it("rejects no certificate as certificate_missing", () => {
    expect(verifyTlsClientAuth(null, client({ tls_client_auth_subject_dn: MTLS_DN }))).toMatchObject({
      ok: false,
      reason: "certificate_missing",
    });
  });

  it("rejects an unverified certificate as certificate_unverified, even with a matching subject", () => {
    expect(
      verifyTlsClientAuth(fromCloudflare({ verified: false }), client({ tls_client_auth_subject_dn: MTLS_DN })),
    ).toMatchObject({
      ok: false,
      reason: "certificate_unverified",
    });
  });

  it("rejects an unverified certificate as certificate_unverified, even with a matching SAN", () => {
    expect(
      verifyTlsClientAuth(fromHeader({ verified: false }), client({ tls_client_auth_san_dns: MTLS_SAN_DNS })),
    ).toMatchObject({
      ok: false,
      reason: "certificate_unverified",
    });
  });
});

describe("tls_client_auth: subject DN", () => {
  it("accepts the registered subject DN and returns the certificate", () => {
    const certificate = fromCloudflare();
    expect(verifyTlsClientAuth(certificate, client({ tls_client_auth_subject_dn: MTLS_DN }))).toEqual({
      ok: true,
      value: certificate,
    });
  });

  it("accepts a subject DN that differs only in spaces and case", () => {
    const certificate = fromCloudflare({ subjectDN: "CN=MTLS-client, O=haapi-edge test, C=SE" });
    expect(
      verifyTlsClientAuth(certificate, client({ tls_client_auth_subject_dn: "cn=mtls-client,o=haapi-edge test,c=se" }))
        .ok,
    ).toBe(true);
  });

  it("rejects another subject as subject_mismatch", () => {
    expect(
      verifyTlsClientAuth(
        fromCloudflare({ subjectDN: "CN=stranger,O=elsewhere" }),
        client({ tls_client_auth_subject_dn: MTLS_DN }),
      ),
    ).toMatchObject({
      ok: false,
      reason: "subject_mismatch",
    });
  });

  it("rejects a certificate without a known subject as subject_mismatch", () => {
    expect(
      verifyTlsClientAuth(fromCloudflare({ subjectDN: null }), client({ tls_client_auth_subject_dn: MTLS_DN })),
    ).toMatchObject({
      ok: false,
      reason: "subject_mismatch",
    });
  });

  it("rejects a subject that only ends with the registered DN as subject_mismatch", () => {
    const certificate = fromCloudflare({ subjectDN: `OU=extra,${MTLS_DN}` });
    expect(verifyTlsClientAuth(certificate, client({ tls_client_auth_subject_dn: MTLS_DN }))).toMatchObject({
      ok: false,
      reason: "subject_mismatch",
    });
  });

  it("matches the subject DN parsed from the fixture certificate", async () => {
    const facts = await parseCertificate(der(keys.certificates.mtls));
    const certificate = fromHeader({
      subjectDN: facts.subjectDN,
      san: facts.san,
      thumbprintS256: facts.thumbprintS256,
    });
    expect(verifyTlsClientAuth(certificate, client({ tls_client_auth_subject_dn: MTLS_DN })).ok).toBe(true);
  });
});

describe("tls_client_auth: subject alternative names", () => {
  it("accepts the registered dNSName SAN", () => {
    const certificate = fromHeader();
    expect(verifyTlsClientAuth(certificate, client({ tls_client_auth_san_dns: MTLS_SAN_DNS }))).toEqual({
      ok: true,
      value: certificate,
    });
  });

  it("rejects another dNSName as san_mismatch", () => {
    expect(verifyTlsClientAuth(fromHeader(), client({ tls_client_auth_san_dns: "other.example" }))).toMatchObject({
      ok: false,
      reason: "san_mismatch",
    });
  });

  it("does not take a dNSName SAN for a URI SAN", () => {
    expect(verifyTlsClientAuth(fromHeader(), client({ tls_client_auth_san_uri: MTLS_SAN_DNS }))).toMatchObject({
      ok: false,
      reason: "san_mismatch",
    });
  });

  it("accepts the registered URI, IP and email SANs", () => {
    const certificate = fromHeader({
      san: { dns: [], uri: ["https://client.example/app"], ip: ["192.0.2.7"], email: ["ops@client.example"] },
    });
    expect(verifyTlsClientAuth(certificate, client({ tls_client_auth_san_uri: "https://client.example/app" })).ok).toBe(
      true,
    );
    expect(verifyTlsClientAuth(certificate, client({ tls_client_auth_san_ip: "192.0.2.7" })).ok).toBe(true);
    expect(verifyTlsClientAuth(certificate, client({ tls_client_auth_san_email: "ops@client.example" })).ok).toBe(true);
  });

  it("rejects SAN matching when the source is Cloudflare (san unknown) as san_unavailable", () => {
    expect(verifyTlsClientAuth(fromCloudflare(), client({ tls_client_auth_san_dns: MTLS_SAN_DNS }))).toMatchObject({
      ok: false,
      reason: "san_unavailable",
    });
  });

  it("rejects a certificate without SANs as san_mismatch", () => {
    expect(
      verifyTlsClientAuth(fromHeader({ san: NO_SAN }), client({ tls_client_auth_san_dns: MTLS_SAN_DNS })),
    ).toMatchObject({ ok: false, reason: "san_mismatch" });
  });

  it("matches the SAN parsed from the fixture certificate", async () => {
    const facts = await parseCertificate(der(keys.certificates.mtls));
    const certificate = fromHeader({
      subjectDN: facts.subjectDN,
      san: facts.san,
      thumbprintS256: facts.thumbprintS256,
    });
    expect(verifyTlsClientAuth(certificate, client({ tls_client_auth_san_dns: MTLS_SAN_DNS })).ok).toBe(true);
  });
});

describe("self_signed_tls_client_auth: thumbprint of a registered certificate", () => {
  const selfSigned = (overrides: Partial<ClientCertificate> = {}): ClientCertificate =>
    fromHeader({
      thumbprintS256: selfSignedThumbprint,
      subjectDN: "CN=self-signed-client,O=haapi-edge test",
      san: NO_SAN,
      ...overrides,
    });

  it("accepts the certificate whose thumbprint is registered and returns it", () => {
    const certificate = selfSigned();
    expect(verifySelfSignedTlsClientAuth(certificate, [selfSignedThumbprint])).toEqual({
      ok: true,
      value: certificate,
    });
  });

  it("accepts it when it is one of several registered certificates", () => {
    expect(verifySelfSignedTlsClientAuth(selfSigned(), [mtlsThumbprint, selfSignedThumbprint]).ok).toBe(true);
  });

  it("accepts a certificate no CA validated (self-signed by design)", () => {
    expect(
      verifySelfSignedTlsClientAuth(selfSigned({ verified: false, source: "cloudflare", san: null }), [
        selfSignedThumbprint,
      ]).ok,
    ).toBe(true);
  });

  it("rejects a certificate that is not registered as certificate_not_registered", () => {
    const stranger = selfSigned({ thumbprintS256: strangerThumbprint, subjectDN: "CN=stranger,O=elsewhere" });
    expect(verifySelfSignedTlsClientAuth(stranger, [selfSignedThumbprint])).toMatchObject({
      ok: false,
      reason: "certificate_not_registered",
    });
  });

  it("rejects a certificate with the registered subject but another key as certificate_not_registered", () => {
    expect(
      verifySelfSignedTlsClientAuth(selfSigned({ thumbprintS256: strangerThumbprint }), [selfSignedThumbprint]),
    ).toMatchObject({
      ok: false,
      reason: "certificate_not_registered",
    });
  });

  it("rejects any certificate when none is registered as certificate_not_registered", () => {
    expect(verifySelfSignedTlsClientAuth(selfSigned(), [])).toMatchObject({
      ok: false,
      reason: "certificate_not_registered",
    });
  });

  it("rejects no certificate as certificate_missing", () => {
    expect(verifySelfSignedTlsClientAuth(null, [selfSignedThumbprint])).toMatchObject({
      ok: false,
      reason: "certificate_missing",
    });
  });

  it("matches the thumbprint of the x5c[0] registered in the fixture JWK", async () => {
    const registered = await sha256Thumbprint(der(keys.selfSignedJwk.x5c[0]!));
    expect(verifySelfSignedTlsClientAuth(selfSigned(), [registered]).ok).toBe(true);
  });
});

describe("parseCertificate", () => {
  it("reads the mTLS fixture: subject DN, dNSName SAN, thumbprint, validity", async () => {
    const facts = await parseCertificate(der(keys.certificates.mtls));
    expect(normalizeDN(facts.subjectDN)).toBe(normalizeDN(MTLS_DN));
    expect(facts.san).toEqual({ dns: [MTLS_SAN_DNS], uri: [], ip: [], email: [] });
    expect(facts.thumbprintS256).toBe(mtlsThumbprint);
    expect(facts.notBefore.toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(facts.notAfter.toISOString()).toBe("2036-01-01T00:00:00.000Z");
  });

  it("gives the subject DN as an RFC 4514 string, most specific RDN first", async () => {
    const facts = await parseCertificate(der(keys.certificates.mtls));
    expect(facts.subjectDN.replace(/,\s+/g, ",")).toBe(MTLS_DN);
  });

  it("reads the self-signed fixture: subject, no SANs", async () => {
    const facts = await parseCertificate(der(keys.certificates.selfSigned));
    expect(normalizeDN(facts.subjectDN)).toBe(normalizeDN("CN=self-signed-client,O=haapi-edge test"));
    expect(facts.san).toEqual(NO_SAN);
    expect(facts.thumbprintS256).toBe(selfSignedThumbprint);
  });

  it("reads the stranger fixture", async () => {
    const facts = await parseCertificate(der(keys.certificates.stranger));
    expect(normalizeDN(facts.subjectDN)).toBe(normalizeDN("CN=stranger,O=elsewhere"));
    expect(facts.thumbprintS256).toBe(strangerThumbprint);
  });

  it("gives base64url(SHA-256(DER)) as the thumbprint", async () => {
    const bytes = der(keys.certificates.mtls);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const expected = btoa(String.fromCharCode(...digest))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    expect(await sha256Thumbprint(bytes)).toBe(expected);
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("gives different certificates different thumbprints", () => {
    expect(new Set([mtlsThumbprint, selfSignedThumbprint, strangerThumbprint]).size).toBe(3);
  });

  it("throws on truncated DER", async () => {
    const bytes = der(keys.certificates.mtls);
    await expect(parseCertificate(bytes.slice(0, Math.floor(bytes.length / 2)))).rejects.toThrow();
  });

  it("throws on DER missing only its last byte", async () => {
    const bytes = der(keys.certificates.mtls);
    await expect(parseCertificate(bytes.slice(0, -1))).rejects.toThrow();
  });

  // Trailing bytes would otherwise end up in the thumbprint (x5t#S256) of a certificate that parsed.
  it("throws on a certificate followed by trailing bytes", async () => {
    const bytes = der(keys.certificates.mtls);
    await expect(parseCertificate(new Uint8Array([...bytes, 0x01, 0x02, 0x03]))).rejects.toThrow();
  });

  it("throws on bytes that are not DER at all", async () => {
    await expect(parseCertificate(new TextEncoder().encode("not a certificate"))).rejects.toThrow();
  });

  it("throws on an empty input", async () => {
    await expect(parseCertificate(new Uint8Array(0))).rejects.toThrow();
  });
});
