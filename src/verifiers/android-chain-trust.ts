/**
 * Trust in an Android Key Attestation chain: it links by name and signature up to a trusted root
 * matched by public key (the root may be omitted), within its validity dates as Google's verifier
 * reads them, through a software-attestation root only when allowed, and no serial in it is revoked.
 *
 * Decisions:
 * - Validity dates: never the leaf's (devices write 1970 -> 2048/2106), strict for remotely
 *   provisioned (RKP) intermediates, and expired certificates ignored in factory-provisioned and
 *   software chains (Google's rule since 2026-04-20: Root 1 and factory intermediates expired on
 *   2026-05-24 and cannot rotate).
 * - Revocation: REVOKED and SUSPENDED entries are both refused (reason `revoked`, `detail.status`
 *   says which): a suspended key is not trusted now. Google's newer library refuses only REVOKED.
 *
 * Pure: `now` and the status list are passed in. The verifier is ./android-key-attestation.ts.
 */
import { type TrustAnchor, verifyChain } from "../x509/chain";
import type { ParsedCertificate } from "../x509/parse-certificate";
import { fail, ok, type Result } from "./result";

export type Provisioning = "factory" | "rkp" | "software";

export type ChainTrustFailure =
  | "malformed_chain"
  | "chain_untrusted"
  | "issuer_mismatch"
  | "bad_signature"
  | "unsupported_algorithm"
  | "certificate_expired"
  | "certificate_not_yet_valid"
  | "software_root_not_allowed";

export type RevocationFailure = "revoked" | "revocation_unavailable";

export interface ChainTrust {
  /** Hardware attestation roots (Google Roots 1-4, Key Attestation CA1). */
  readonly anchors: readonly TrustAnchor[];
  /** "Android Keystore Software Attestation" roots: recognised, trusted only with allowSoftwareRoot. */
  readonly softwareAnchors: readonly TrustAnchor[];
  readonly allowSoftwareRoot: boolean;
}

/** Google's attestation status list (served at https://android.googleapis.com/attestation/status). */
export interface RevocationStatusList {
  readonly entries: Readonly<
    Record<string, { readonly status: "REVOKED" | "SUSPENDED" | string; readonly reason?: string }>
  >;
}

const PROVISIONING_INFO_OID = "1.3.6.1.4.1.11129.2.1.30";

/** RKP chains: an intermediate carries ProvisioningInfo, or the chain passes through a "Droid CA". */
function isRemotelyProvisioned(chain: readonly ParsedCertificate[]): boolean {
  return chain
    .slice(1)
    .some(
      (cert) =>
        cert.extension(PROVISIONING_INFO_OID) !== undefined || /(^|, )CN=Droid CA\d*(,|$)/.test(cert.subjectName),
    );
}

/** Which way the chain was provisioned, once it is trusted at `now`. */
export async function checkChainTrust(
  chain: readonly ParsedCertificate[],
  trust: ChainTrust,
  now: Date,
): Promise<Result<Provisioning, ChainTrustFailure>> {
  const rkp = isRemotelyProvisioned(chain);
  const result = await verifyChain(chain, [...trust.anchors, ...trust.softwareAnchors], {
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
  if (trust.softwareAnchors.includes(result.value.anchor)) {
    if (!trust.allowSoftwareRoot) return fail("software_root_not_allowed", { root: result.value.anchor.label });
    return ok("software");
  }
  return ok(rkp ? "rkp" : "factory");
}

/** Whether every serial was checked against the list (false: not checked, as `mode` allows). */
export function checkRevocation(
  chain: readonly ParsedCertificate[],
  mode: "fail-open" | "fail-closed" | "off",
  list: RevocationStatusList | "unavailable" | undefined,
): Result<boolean, RevocationFailure> {
  if (mode === "off") return ok(false);
  if (list === undefined || list === "unavailable" || typeof list.entries !== "object" || list.entries === null) {
    return mode === "fail-closed" ? fail("revocation_unavailable") : ok(false);
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
