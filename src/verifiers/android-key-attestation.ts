/**
 * Android Key Attestation (https://developer.android.com/privacy-and-security/security-key-attestation),
 * following the checks of Google's android/keyattestation verifier.
 *
 * Steps, in order: parse every certificate; the KeyDescription extension is on the leaf and on no
 * other certificate (blocks appending a certificate below the attested key); the chain's trust,
 * validity dates and revocation (./android-chain-trust.ts); then the KeyDescription: challenge,
 * security levels, origin, root of trust and boot state, package and signing-certificate digests.
 *
 * Decisions:
 * - Signature digests: every digest the device reports must be configured, and it must report at
 *   least one (so an app also signed by an unknown key is refused). An empty configured set matches nothing.
 * - Software-root chains (emulators) are `software` level whatever the KeyDescription claims, and
 *   their attestation/KeyMint level mismatch (Keymaster in TEE, attestation key in software) is expected.
 *
 * Pure: no clock, no I/O; `now` and the revocation list are passed in.
 */
import {
  KEY_DESCRIPTION_OID,
  KeyDescriptionError,
  parseKeyDescription,
  type KeyDescription,
  type SecurityLevel,
} from "../x509/android-key-description";
import { bufferSource, toBase64, toHex } from "../bytes";
import type { TrustAnchor } from "../x509/chain";
import { type ParsedCertificate, parseCertificateChain } from "../x509/parse-certificate";
import {
  type ChainTrustFailure,
  checkChainTrust,
  checkRevocation,
  type Provisioning,
  type RevocationFailure,
  type RevocationStatusList,
} from "./android-chain-trust";
import { equalBytes } from "./constant-time";
import { fail, ok, type Result } from "./result";

export type AndroidSecurityLevel = "software" | "trusted-environment" | "strongbox";

export interface AndroidAttestationPolicy {
  /** Expected attestationChallenge bytes. */
  readonly challenge: Uint8Array;
  readonly packageNames: readonly string[];
  /** base64 (standard) of the raw SHA-256 of each app signing certificate. */
  readonly signatureDigests: readonly string[];
  /** Require verifiedBootState VERIFIED and deviceLocked. */
  readonly verifyBootState: boolean;
  readonly minimumSecurityLevel: AndroidSecurityLevel;
  /** Non-production only: check the leaf's KeyDescription but not the chain's trust, dates or revocation. */
  readonly doNotValidateCertificateChain: boolean;
  readonly allowSoftwareRoot: boolean;
  readonly revocation: "fail-open" | "fail-closed" | "off";
}

export interface AndroidAttestationDeps {
  /** Hardware attestation roots (Google Roots 1-4, Key Attestation CA1). */
  readonly anchors: readonly TrustAnchor[];
  /** "Android Keystore Software Attestation" roots: recognised, trusted only with allowSoftwareRoot. */
  readonly softwareAnchors: readonly TrustAnchor[];
  /** The status list, or "unavailable"/undefined when it could not be fetched. */
  readonly revocation: RevocationStatusList | "unavailable" | undefined;
}

/** The chain's failures (./android-chain-trust.ts), then the KeyDescription's. */
export type AndroidAttestationFailure =
  | ChainTrustFailure
  | RevocationFailure
  | "key_description_missing"
  | "key_description_not_on_leaf"
  | "key_description_malformed"
  | "challenge_mismatch"
  | "security_level_mismatch"
  | "security_level_too_low"
  | "origin_not_generated"
  | "root_of_trust_missing"
  | "boot_state_not_verified"
  | "application_id_missing"
  | "package_not_allowed"
  | "signature_digest_mismatch";

export type BootState = "verified" | "self-signed" | "unverified" | "failed";

export interface AndroidAttestation {
  readonly platform: "android";
  readonly securityLevel: AndroidSecurityLevel;
  readonly attestationVersion: number;
  readonly keyMintVersion: number;
  /** Absent only for software attestations without a root of trust. */
  readonly bootState?: BootState;
  readonly deviceLocked?: boolean;
  /** The allowed package the device reported. */
  readonly packageName: string;
  readonly packageVersion: number;
  /** The device's signing-certificate digests, base64. */
  readonly signatureDigests: readonly string[];
  readonly osVersion?: number;
  readonly osPatchLevel?: number;
  readonly vendorPatchLevel?: number;
  readonly bootPatchLevel?: number;
  /** Unknown when the chain was not validated. */
  readonly provisioning: Provisioning | "unknown";
  readonly revocationChecked: boolean;
  readonly chainValidated: boolean;
  /** The attested key: DER SPKI (base64) and, when WebCrypto can import it (EC/RSA), a public JWK. */
  readonly attestedKey: { readonly spki: string; readonly jwk?: JsonWebKey };
  readonly keyDescription: KeyDescription;
}

type Out<T> = Result<T, AndroidAttestationFailure>;

const LEVEL_RANK: Record<AndroidSecurityLevel, number> = { software: 0, "trusted-environment": 1, strongbox: 2 };
const LEVEL_NAME: Record<SecurityLevel, AndroidSecurityLevel> = {
  SOFTWARE: "software",
  TRUSTED_ENVIRONMENT: "trusted-environment",
  STRONG_BOX: "strongbox",
};
const BOOT_NAME = {
  VERIFIED: "verified",
  SELF_SIGNED: "self-signed",
  UNVERIFIED: "unverified",
  FAILED: "failed",
} as const;

function parseChain(chainDer: readonly Uint8Array[]): Out<ParsedCertificate[]> {
  if (!Array.isArray(chainDer) || chainDer.length === 0) return fail("malformed_chain", { why: "empty chain" });
  const chain = parseCertificateChain(chainDer);
  return chain.ok ? chain : fail("malformed_chain", chain.detail);
}

function leafKeyDescription(chain: readonly ParsedCertificate[]): Out<KeyDescription> {
  const elsewhere = chain.findIndex((cert, index) => index > 0 && cert.extension(KEY_DESCRIPTION_OID) !== undefined);
  if (elsewhere !== -1)
    return fail("key_description_not_on_leaf", { index: elsewhere, subject: chain[elsewhere]!.subjectName });
  const extension = chain[0]!.extension(KEY_DESCRIPTION_OID);
  if (!extension) return fail("key_description_missing");
  try {
    return ok(parseKeyDescription(extension.value));
  } catch (error) {
    if (error instanceof KeyDescriptionError) return fail("key_description_malformed", { why: error.message });
    throw error;
  }
}

function checkKeyDescription(
  kd: KeyDescription,
  provisioning: Provisioning | "unknown",
  policy: AndroidAttestationPolicy,
): Out<
  Pick<
    AndroidAttestation,
    "securityLevel" | "bootState" | "deviceLocked" | "packageName" | "packageVersion" | "signatureDigests"
  >
> {
  if (!equalBytes(kd.attestationChallenge, policy.challenge)) {
    return fail("challenge_mismatch", { expected: toHex(policy.challenge), actual: toHex(kd.attestationChallenge) });
  }

  const softwareAttested = provisioning === "software" || kd.attestationSecurityLevel === "SOFTWARE";
  if (!softwareAttested && kd.attestationSecurityLevel !== kd.keyMintSecurityLevel) {
    return fail("security_level_mismatch", {
      attestationSecurityLevel: kd.attestationSecurityLevel,
      keyMintSecurityLevel: kd.keyMintSecurityLevel,
    });
  }
  const securityLevel: AndroidSecurityLevel = softwareAttested ? "software" : LEVEL_NAME[kd.attestationSecurityLevel];
  if (LEVEL_RANK[securityLevel] < LEVEL_RANK[policy.minimumSecurityLevel]) {
    return fail("security_level_too_low", { expected: policy.minimumSecurityLevel, actual: securityLevel });
  }

  // origin and rootOfTrust come from the hardware list; a software attestation may carry them in either.
  const hw = kd.hardwareEnforced;
  const sw = kd.softwareEnforced;
  const origin = softwareAttested ? (hw.origin ?? sw.origin) : hw.origin;
  if (origin !== "GENERATED") return fail("origin_not_generated", { actual: origin ?? null });
  const rootOfTrust = softwareAttested ? (hw.rootOfTrust ?? sw.rootOfTrust) : hw.rootOfTrust;
  if (!rootOfTrust && (!softwareAttested || policy.verifyBootState)) return fail("root_of_trust_missing");
  if (policy.verifyBootState && (rootOfTrust!.verifiedBootState !== "VERIFIED" || !rootOfTrust!.deviceLocked)) {
    return fail("boot_state_not_verified", {
      verifiedBootState: rootOfTrust!.verifiedBootState,
      deviceLocked: rootOfTrust!.deviceLocked,
    });
  }

  // attestationApplicationId is in the software list (Keystore fills it in, not the TEE).
  const appId = sw.attestationApplicationId;
  if (!appId) return fail("application_id_missing");
  const match = appId.packages.find((info) => policy.packageNames.includes(info.name));
  if (!match)
    return fail("package_not_allowed", {
      expected: [...policy.packageNames],
      actual: appId.packages.map((info) => info.name),
    });
  const digests = appId.signatures.map(toBase64);
  const unknown = digests.filter((digest) => !policy.signatureDigests.includes(digest));
  if (digests.length === 0 || unknown.length > 0) {
    return fail("signature_digest_mismatch", { expected: [...policy.signatureDigests], actual: digests });
  }

  return ok({
    securityLevel,
    ...(rootOfTrust
      ? { bootState: BOOT_NAME[rootOfTrust.verifiedBootState], deviceLocked: rootOfTrust.deviceLocked }
      : {}),
    packageName: match.name,
    packageVersion: match.version,
    signatureDigests: digests,
  });
}

/** The attested key as a JWK when WebCrypto can import it (EC P-256/384/521, RSA); else SPKI only (e.g. ML-DSA). */
async function attestedKey(leaf: ParsedCertificate): Promise<AndroidAttestation["attestedKey"]> {
  const spki = toBase64(leaf.spki);
  const algorithms = [
    { name: "ECDSA", namedCurve: "P-256" },
    { name: "ECDSA", namedCurve: "P-384" },
    { name: "ECDSA", namedCurve: "P-521" },
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  ];
  for (const algorithm of algorithms) {
    try {
      const key = await crypto.subtle.importKey("spki", bufferSource(leaf.spki), algorithm, true, ["verify"]);
      const jwk = (await crypto.subtle.exportKey("jwk", key)) as JsonWebKey;
      delete jwk.key_ops;
      delete jwk.ext;
      delete jwk.alg;
      return { spki, jwk };
    } catch {
      // Not this algorithm.
    }
  }
  return { spki };
}

/**
 * Verify an Android Key Attestation certificate chain (leaf first, as the device returns it from
 * KeyStore.getCertificateChain) against `policy` at `now`.
 */
export async function verifyAndroidKeyAttestation(
  chainDer: readonly Uint8Array[],
  policy: AndroidAttestationPolicy,
  deps: AndroidAttestationDeps,
  now: Date,
): Promise<Out<AndroidAttestation>> {
  const parsed = parseChain(chainDer);
  if (!parsed.ok) return parsed;
  const chain = parsed.value;

  const kd = leafKeyDescription(chain);
  if (!kd.ok) return kd;

  let provisioning: Provisioning | "unknown" = "unknown";
  let revocationChecked = false;
  if (!policy.doNotValidateCertificateChain) {
    const trust = await checkChainTrust(chain, { ...deps, allowSoftwareRoot: policy.allowSoftwareRoot }, now);
    if (!trust.ok) return trust;
    provisioning = trust.value;
    const revocation = checkRevocation(chain, policy.revocation, deps.revocation);
    if (!revocation.ok) return revocation;
    revocationChecked = revocation.value;
  }

  const checked = checkKeyDescription(kd.value, provisioning, policy);
  if (!checked.ok) return checked;

  const hw = kd.value.hardwareEnforced;
  const sw = kd.value.softwareEnforced;
  const osVersion = hw.osVersion ?? sw.osVersion;
  const osPatchLevel = hw.osPatchLevel ?? sw.osPatchLevel;
  const vendorPatchLevel = hw.vendorPatchLevel ?? sw.vendorPatchLevel;
  const bootPatchLevel = hw.bootPatchLevel ?? sw.bootPatchLevel;
  return ok({
    platform: "android",
    ...checked.value,
    attestationVersion: kd.value.attestationVersion,
    keyMintVersion: kd.value.keyMintVersion,
    ...(osVersion !== undefined ? { osVersion } : {}),
    ...(osPatchLevel !== undefined ? { osPatchLevel } : {}),
    ...(vendorPatchLevel !== undefined ? { vendorPatchLevel } : {}),
    ...(bootPatchLevel !== undefined ? { bootPatchLevel } : {}),
    provisioning,
    revocationChecked,
    chainValidated: !policy.doNotValidateCertificateChain,
    attestedKey: await attestedKey(chain[0]!),
    keyDescription: kd.value,
  });
}
