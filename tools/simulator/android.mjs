// Simulated Android Key Attestation: a KeyMint v400 style certificate chain, leaf first,
// signed by the local test CA's Android-style (factory) intermediate instead of Google's.
//
// Which key is attested: on a real device the attested key is an Android Keystore key (the app
// generates it with setAttestationChallenge and typically uses it as its DPoP key). The simulator
// attests the DPoP key pair itself by default, so the leaf's public key equals the DPoP proof's
// `jwk`; a separate key pair may be passed as `deviceKey` to model an app that attests a
// different key (the challenge still binds the DPoP key through its thumbprint).
//
// Plain ESM on WebCrypto + @peculiar/asn1-*: runs in Node 22 and workerd.

import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AttestationApplicationId,
  AttestationPackageInfo,
  AuthorizationList,
  IntegerSet,
  KeyMintKeyDescription,
  RootOfTrust,
  id_ce_keyDescription,
} from "@peculiar/asn1-android";
import { getDefaultTestCa } from "./test-ca.mjs";
import {
  DEFAULT_ANDROID_PACKAGE,
  DEFAULT_ANDROID_PACKAGE_VERSION,
  DEFAULT_ANDROID_SIGNATURE_DIGEST,
} from "./defaults.mjs";
import {
  KU,
  buildName,
  extension,
  fromBase64,
  issueCertificate,
  keyUsageExt,
  sha256,
  subjectOf,
  toBase64,
} from "./x509.mjs";

/** KeyDescription extension OID 1.3.6.1.4.1.11129.2.1.17 */
export const KEY_DESCRIPTION_OID = id_ce_keyDescription;

/** @typedef {"software" | "trusted-environment" | "strongbox"} AndroidSecurityLevel */
/** @typedef {"verified" | "self-signed" | "unverified" | "failed"} AndroidBootState */

const SECURITY_LEVELS = { software: 0, "trusted-environment": 1, strongbox: 2 };
const BOOT_STATES = { verified: 0, "self-signed": 1, unverified: 2, failed: 3 };

// KeyMint enum values (hardware/interfaces/security/keymint/aidl).
const KM_PURPOSE_SIGN = 2;
const KM_PURPOSE_VERIFY = 3;
const KM_ALGORITHM_EC = 3;
const KM_DIGEST_SHA_2_256 = 4;
const KM_EC_CURVE_P_256 = 1;
const KM_ORIGIN_GENERATED = 0;

/**
 * @typedef {object} AndroidAttestationOptions
 * @property {Uint8Array} challenge attestationChallenge bytes: SHA-256(UTF-8(challenge + "." + jkt)) for the CAT endpoint (at most 128 bytes)
 * @property {CryptoKeyPair} deviceKey the attested key pair (ECDSA P-256); normally the DPoP key pair
 * @property {string} [packageName] default io.haapiedge.simulator
 * @property {number} [packageVersion] versionCode, default 1
 * @property {string[]} [signatureDigests] base64 SHA-256 of the signing certificates; default the simulator digest
 * @property {AndroidSecurityLevel} [securityLevel] default "trusted-environment" (used for both attestation and KeyMint levels)
 * @property {AndroidBootState} [bootState] default "verified"
 * @property {boolean} [deviceLocked] default true
 * @property {number} [osVersion] e.g. 160000 for Android 16; default 160000
 * @property {number} [osPatchLevel] YYYYMM; default the current month
 * @property {number} [attestationVersion] default 400
 * @property {number} [keyMintVersion] default 400
 * @property {Uint8Array} [verifiedBootKey] 32 bytes; default SHA-256("haapi-edge simulator verified boot key")
 * @property {Uint8Array} [verifiedBootHash] 32 bytes; default SHA-256("haapi-edge simulator vbmeta digest")
 * @property {Date} [now] creationDateTime; default the current time
 * @property {import("./test-ca.mjs").TestCa} [ca] default the committed development test CA
 * @property {boolean} [includeRoot] append the root certificate (default true)
 */

/**
 * Build a simulated Android Key Attestation certificate chain.
 * @param {AndroidAttestationOptions} o
 * @returns {Promise<string[]>} base64 DER certificates, leaf first: leaf, intermediate, root
 */
export async function makeAndroidAttestation(o) {
  const ca = o.ca ?? (await getDefaultTestCa());
  const now = o.now ?? new Date();
  const level = SECURITY_LEVELS[o.securityLevel ?? "trusted-environment"];
  if (level === undefined) throw new Error(`unknown securityLevel ${o.securityLevel}`);
  const bootState = BOOT_STATES[o.bootState ?? "verified"];
  if (bootState === undefined) throw new Error(`unknown bootState ${o.bootState}`);
  if (o.challenge.length > 128) throw new Error("KeyMint caps attestationChallenge at 128 bytes");
  const patch = o.osPatchLevel ?? now.getUTCFullYear() * 100 + now.getUTCMonth() + 1;

  const appId = new AttestationApplicationId({
    packageInfos: [
      new AttestationPackageInfo({
        packageName: new OctetString(new TextEncoder().encode(o.packageName ?? DEFAULT_ANDROID_PACKAGE)),
        version: o.packageVersion ?? DEFAULT_ANDROID_PACKAGE_VERSION,
      }),
    ],
    signatureDigests: (o.signatureDigests ?? [DEFAULT_ANDROID_SIGNATURE_DIGEST]).map(
      (d) => new OctetString(fromBase64(d)),
    ),
  });

  // Key properties enforced by the secure environment (or by software, for a software level).
  const keyProps = {
    purpose: new IntegerSet([KM_PURPOSE_SIGN, KM_PURPOSE_VERIFY]),
    algorithm: KM_ALGORITHM_EC,
    keySize: 256,
    digest: new IntegerSet([KM_DIGEST_SHA_2_256]),
    ecCurve: KM_EC_CURVE_P_256,
    noAuthRequired: null,
    origin: KM_ORIGIN_GENERATED,
    rootOfTrust: new RootOfTrust({
      verifiedBootKey: new OctetString(o.verifiedBootKey ?? (await sha256("haapi-edge simulator verified boot key"))),
      deviceLocked: o.deviceLocked ?? true,
      verifiedBootState: bootState,
      verifiedBootHash: new OctetString(o.verifiedBootHash ?? (await sha256("haapi-edge simulator vbmeta digest"))),
    }),
    osVersion: o.osVersion ?? 160000,
    osPatchLevel: patch,
    vendorPatchLevel: patch * 100 + 5,
    bootPatchLevel: patch * 100 + 5,
  };
  const appProps = {
    creationDateTime: now.getTime(),
    attestationApplicationId: new OctetString(AsnConvert.serialize(appId)),
  };

  // A software-only Keystore (emulator) reports everything in the software list.
  const software = level === 0;
  const keyDescription = new KeyMintKeyDescription({
    attestationVersion: o.attestationVersion ?? 400,
    attestationSecurityLevel: level,
    keyMintVersion: o.keyMintVersion ?? 400,
    keyMintSecurityLevel: level,
    attestationChallenge: new OctetString(o.challenge),
    uniqueId: new OctetString(new Uint8Array(0)),
    softwareEnforced: new AuthorizationList(software ? { ...keyProps, ...appProps } : appProps),
    hardwareEnforced: new AuthorizationList(software ? {} : keyProps),
  });

  const leaf = await issueCertificate({
    subject: buildName([["CN", "Android Keystore Key"]]),
    issuer: subjectOf(ca.android.certificateDer),
    serialNumber: new Uint8Array([1]),
    notBefore: new Date("1970-01-01T00:00:00Z"),
    notAfter: new Date("2048-01-01T00:00:00Z"),
    publicKey: o.deviceKey.publicKey,
    signingKey: ca.android.privateKey,
    hash: "SHA-256",
    extensions: [
      keyUsageExt(KU.digitalSignature),
      extension(KEY_DESCRIPTION_OID, false, AsnConvert.serialize(keyDescription)),
    ],
  });

  const chain = [leaf, ca.android.certificateDer];
  if (o.includeRoot !== false) chain.push(ca.root.certificateDer);
  return chain.map(toBase64);
}
