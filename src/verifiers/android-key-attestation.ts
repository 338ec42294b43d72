/**
 * Android Key Attestation (https://developer.android.com/privacy-and-security/security-key-attestation),
 * following the checks of Google's android/keyattestation verifier.
 *
 * Steps, in order: parse every certificate; the KeyDescription extension is on the leaf and on no
 * other certificate (blocks appending a certificate below the attested key); the chain links by
 * name and signature up to a trusted root matched by public key (the root may be omitted);
 * validity dates: never the leaf's (devices write 1970 -> 2048/2106), strict for remotely
 * provisioned (RKP) intermediates, and expired certificates ignored in factory-provisioned and
 * software chains (Google's rule since 2026-04-20: Root 1 and factory intermediates expired on
 * 2026-05-24 and cannot rotate); software-attestation roots only when allowed; revocation of every
 * serial against Google's status list; then the KeyDescription: challenge, security levels,
 * origin, root of trust and boot state, package and signing-certificate digests.
 *
 * Decisions:
 * - Signature digests: every digest the device reports must be configured, and it must report at
 *   least one (so an app also signed by an unknown key is refused). An empty configured set matches nothing.
 * - Revocation: REVOKED and SUSPENDED entries are both refused (reason `revoked`, `detail.status`
 *   says which): a suspended key is not trusted now. Google's newer library refuses only REVOKED.
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
import { parseDerCertificate, verifyChain, X509Error, type ParsedCertificate, type TrustAnchor } from "../x509/chain";
import { fail, ok, type Result } from "./result";
import { bufferSource } from "../bytes";

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

/** Google's attestation status list (https://android.googleapis.com/attestation/status). */
export interface RevocationStatusList {
  readonly entries: Readonly<
    Record<string, { readonly status: "REVOKED" | "SUSPENDED" | string; readonly reason?: string }>
  >;
}

export interface AndroidAttestationDeps {
  /** Hardware attestation roots (Google Roots 1-4, Key Attestation CA1). */
  readonly anchors: readonly TrustAnchor[];
  /** "Android Keystore Software Attestation" roots: recognised, trusted only with allowSoftwareRoot. */
  readonly softwareAnchors: readonly TrustAnchor[];
  /** The status list, or "unavailable"/undefined when it could not be fetched. */
  readonly revocation: RevocationStatusList | "unavailable" | undefined;
}

export type AndroidAttestationFailure =
  | "malformed_chain"
  | "chain_untrusted"
  | "issuer_mismatch"
  | "bad_signature"
  | "unsupported_algorithm"
  | "certificate_expired"
  | "certificate_not_yet_valid"
  | "software_root_not_allowed"
  | "revoked"
  | "revocation_unavailable"
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

export type Provisioning = "factory" | "rkp" | "software";
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

const PROVISIONING_INFO_OID = "1.3.6.1.4.1.11129.2.1.30";
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

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** RKP chains: an intermediate carries ProvisioningInfo, or the chain passes through a "Droid CA". */
function isRemotelyProvisioned(chain: readonly ParsedCertificate[]): boolean {
  return chain
    .slice(1)
    .some(
      (cert) =>
        cert.extension(PROVISIONING_INFO_OID) !== undefined || /(^|, )CN=Droid CA\d*(,|$)/.test(cert.subjectName),
    );
}

function parseChain(chainDer: readonly Uint8Array[]): Out<ParsedCertificate[]> {
  if (!Array.isArray(chainDer) || chainDer.length === 0) return fail("malformed_chain", { why: "empty chain" });
  const chain: ParsedCertificate[] = [];
  for (const [index, der] of chainDer.entries()) {
    try {
      chain.push(parseDerCertificate(der));
    } catch (error) {
      if (error instanceof X509Error || error instanceof TypeError)
        return fail("malformed_chain", { index, why: error.message });
      throw error;
    }
  }
  return ok(chain);
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

async function checkTrust(
  chain: readonly ParsedCertificate[],
  policy: AndroidAttestationPolicy,
  deps: AndroidAttestationDeps,
  now: Date,
): Promise<Out<Provisioning>> {
  const rkp = isRemotelyProvisioned(chain);
  const result = await verifyChain(chain, [...deps.anchors, ...deps.softwareAnchors], {
    now,
    // Never the leaf; RKP strictly; factory and software chains: only certificates not yet expired
    // are checked (so a not-yet-valid one still fails).
    checkValidity: (cert, index) => index !== 0 && (rkp || now.getTime() <= cert.notAfter.getTime()),
  });
  if (!result.ok) {
    const reason = (
      {
        empty_chain: "malformed_chain",
        issuer_mismatch: "issuer_mismatch",
        bad_signature: "bad_signature",
        unsupported_algorithm: "unsupported_algorithm",
        expired: "certificate_expired",
        not_yet_valid: "certificate_not_yet_valid",
        untrusted_root: "chain_untrusted",
      } as const
    )[result.reason];
    return fail(reason, result.detail);
  }
  if (deps.softwareAnchors.includes(result.value.anchor)) {
    if (!policy.allowSoftwareRoot) return fail("software_root_not_allowed", { root: result.value.anchor.label });
    return ok("software");
  }
  return ok(rkp ? "rkp" : "factory");
}

function checkRevocation(
  chain: readonly ParsedCertificate[],
  policy: AndroidAttestationPolicy,
  deps: AndroidAttestationDeps,
): Out<boolean> {
  if (policy.revocation === "off") return ok(false);
  const list = deps.revocation;
  if (list === undefined || list === "unavailable" || typeof list.entries !== "object" || list.entries === null) {
    return policy.revocation === "fail-closed" ? fail("revocation_unavailable") : ok(false);
  }
  for (const [index, cert] of chain.entries()) {
    const entry = Object.hasOwn(list.entries, cert.serialNumberHex) ? list.entries[cert.serialNumberHex] : undefined;
    if (entry && (entry.status === "REVOKED" || entry.status === "SUSPENDED")) {
      return fail("revoked", {
        index,
        serial: cert.serialNumberHex,
        status: entry.status,
        ...(entry.reason ? { revocationReason: entry.reason } : {}),
      });
    }
  }
  return ok(true);
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
    return fail("challenge_mismatch", { expected: hex(policy.challenge), actual: hex(kd.attestationChallenge) });
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
  const digests = appId.signatures.map(base64);
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
  const spki = base64(leaf.spki);
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
    const trust = await checkTrust(chain, policy, deps, now);
    if (!trust.ok) return trust;
    provisioning = trust.value;
    const revocation = checkRevocation(chain, policy, deps);
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
