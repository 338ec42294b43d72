/**
 * Path building: a chain, leaf first, to a trust anchor. Each link is checked by name (issuer bytes equal
 * the parent's subject bytes) and by signature (./signature.ts); the path ends at an anchor matched by
 * public key (SPKI bytes), whether or not the root certificate itself was sent; then validity dates at
 * an injected `now`.
 *
 * Used by the Android Key Attestation and iOS App Attest verifiers and by FIDO UAF attestation.
 * No name constraints, policies or basicConstraints path-length checks: attestation chains are
 * short and rooted in single-purpose CAs; callers add their own format-specific rules.
 */
import { toBase64 } from "../bytes";
import { equalBytes } from "../verifiers/constant-time";
import { fail, ok, type Result } from "../verifiers/result";
import { type ParsedCertificate, parseDerCertificate, pemToDer } from "./parse-certificate";
import { UnsupportedAlgorithmError, verifySignature } from "./signature";

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
 * Verify a chain, leaf first, up to one of `anchors`. Order of checks: linkage and signatures, then
 * the anchor, then validity dates (so an untrusted chain reports that, not its dates). If the last
 * certificate's SPKI is an anchor's, it is the root and is trusted by key (its self-signature is not
 * needed); otherwise the last certificate must be issued (name and signature) by an anchor.
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
    const key = toBase64(anchor.spki);
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
