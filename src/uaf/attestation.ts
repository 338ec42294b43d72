/**
 * UAF registration attestation (FIDO UAF Protocol v1.1 §3.4.6.5 step "verify the attestation";
 * Authenticator Commands v1.1 §4.2.1): the signature over the ENTIRE KRD TLV, header included.
 *
 * - BASIC_FULL: verified with the first ATTESTATION_CERT's key, using the KRD's signature algorithm.
 *   The certificate must be valid at `now`. With metadata roots configured, the certificates
 *   (attestation certificate first) must chain to one of them at `now` (src/x509/chain.ts: a root
 *   is matched by key and may be the attestation certificate itself, as FIDO metadata allows).
 *   Without roots, or when the chain fails, the attestation is accepted only if
 *   `acceptBasicFullWithoutChain`, and reported as `attestationChainVerified: false`.
 * - BASIC_SURROGATE: self-signed by the new key (the KRD's PUB_KEY), iff `acceptSurrogate`.
 * - ECDAA: not supported.
 *
 * Pure: the roots and `now` are passed in.
 */
import { fail, ok, type Result } from "../verifiers/result";
import { type TrustAnchor, verifyChain } from "../x509/chain";
import { type ParsedCertificate, parseCertificateChain } from "../x509/parse-certificate";
import { algorithmsMatch, importUafPublicKey, keyAlgOfSpki, verifyUafSignature } from "./algorithms";
import type { RegAssertion } from "./assertion";

export interface RegistrationTrust {
  /** Metadata attestation roots, imported once by the caller (src/x509/chain.ts importTrustAnchors). */
  readonly roots: readonly TrustAnchor[];
  readonly acceptBasicFullWithoutChain: boolean;
  readonly acceptSurrogate: boolean;
}

export type AttestationReason =
  | "attestation_unsupported"
  | "attestation_surrogate_not_accepted"
  | "attestation_certificate_malformed"
  | "attestation_key_unsupported"
  | "attestation_signature_invalid"
  | "attestation_certificate_expired"
  | "attestation_certificate_not_yet_valid"
  | "attestation_chain_invalid"
  | "attestation_untrusted"
  | "unsupported_algorithm";

export interface VerifiedAttestation {
  readonly attestation: "basic_full" | "basic_surrogate";
  readonly attestationChainVerified: boolean;
}

type Out<T> = Result<T, AttestationReason>;

async function checkSignature(
  signAlg: number,
  key: CryptoKey,
  signature: Uint8Array,
  krd: Uint8Array,
): Promise<Out<null>> {
  const verified = await verifyUafSignature(signAlg, key, signature, krd);
  if (verified.ok) return verified;
  return verified.reason === "unsupported_algorithm"
    ? fail("unsupported_algorithm", verified.detail)
    : fail("attestation_signature_invalid", { why: verified.reason });
}

function checkDates(certificate: ParsedCertificate, now: Date): Out<null> {
  if (now.getTime() < certificate.notBefore.getTime()) {
    return fail("attestation_certificate_not_yet_valid", {
      notBefore: certificate.notBefore.toISOString(),
      now: now.toISOString(),
    });
  }
  if (now.getTime() > certificate.notAfter.getTime()) {
    return fail("attestation_certificate_expired", {
      notAfter: certificate.notAfter.toISOString(),
      now: now.toISOString(),
    });
  }
  return ok(null);
}

async function verifyBasicFull(
  assertion: RegAssertion,
  signature: Uint8Array,
  certificates: readonly Uint8Array[],
  trust: RegistrationTrust,
  now: Date,
): Promise<Out<VerifiedAttestation>> {
  const parsed = parseCertificateChain(certificates);
  if (!parsed.ok) return fail("attestation_certificate_malformed", parsed.detail);
  const chain = parsed.value;
  const leaf = chain[0]!;

  const keyAlg = keyAlgOfSpki(leaf.spki);
  if (keyAlg === null || !algorithmsMatch(assertion.signAlg, keyAlg)) {
    return fail("attestation_key_unsupported", { signAlg: assertion.signAlg, subject: leaf.subjectName });
  }
  const key = await importUafPublicKey(keyAlg, leaf.spki);
  if (!key.ok) return fail("attestation_key_unsupported", { why: key.reason, ...key.detail });
  const signed = await checkSignature(assertion.signAlg, key.value, signature, assertion.krd);
  if (!signed.ok) return signed;
  const dates = checkDates(leaf, now);
  if (!dates.ok) return dates;

  if (trust.roots.length > 0) {
    const verified = await verifyChain(chain, trust.roots, { now });
    if (verified.ok) return ok({ attestation: "basic_full", attestationChainVerified: true });
    if (!trust.acceptBasicFullWithoutChain) {
      return verified.reason === "untrusted_root"
        ? fail("attestation_untrusted", { chain: verified.reason, ...verified.detail })
        : fail("attestation_chain_invalid", { chain: verified.reason, ...verified.detail });
    }
  } else if (!trust.acceptBasicFullWithoutChain) {
    return fail("attestation_untrusted", { why: "no metadata roots configured" });
  }
  return ok({ attestation: "basic_full", attestationChainVerified: false });
}

/**
 * Verify the attestation of a registration assertion. `publicKey` is the KRD's PUB_KEY, already
 * imported (the surrogate signature is made with it).
 */
export async function verifyAttestation(
  assertion: RegAssertion,
  publicKey: CryptoKey,
  trust: RegistrationTrust,
  now: Date,
): Promise<Out<VerifiedAttestation>> {
  const { attestation } = assertion;
  switch (attestation.type) {
    case "ecdaa":
      return fail("attestation_unsupported", { type: "ecdaa" });
    case "basic_surrogate": {
      if (!trust.acceptSurrogate) return fail("attestation_surrogate_not_accepted");
      const signed = await checkSignature(assertion.signAlg, publicKey, attestation.signature, assertion.krd);
      return signed.ok ? ok({ attestation: "basic_surrogate", attestationChainVerified: false }) : signed;
    }
    case "basic_full":
      return verifyBasicFull(assertion, attestation.signature, attestation.certificates, trust, now);
  }
}
