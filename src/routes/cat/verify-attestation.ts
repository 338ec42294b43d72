/**
 * Step: verify the device's attestation with the platform's verifier and the client's policy, over
 * the attested bytes SHA-256(challenge + "." + jkt). Turns configuration into verifier policies,
 * gathers the dependencies (trust anchors, the Android status list, a stored App Attest key), and
 * maps every failure reason to one public error; the reason goes to the log.
 */
import { calculateJwkThumbprint, type JWK } from "jose";
import type { Client, Config } from "../../config/load";
import type { AndroidPolicy, IosPolicy } from "../../config/schema";
import { OAuthError } from "../../errors";
import type { AttestationRejection, CatReason } from "../oauth-reasons";
import { appAttestKeyName } from "../../kv/replay";
import type { Stores } from "../../kv/stores";
import { androidStatusList } from "../../kv/revocation-list";
import type { ClientAssuranceLevel } from "../../tokens/access-token";
import type { AttestationSummary } from "../../tokens/cat";
import { verifyAndroidKeyAttestation } from "../../verifiers/android-key-attestation";
import { verifyAppAttestation } from "../../verifiers/app-attest";
import { verifyAppAttestAssertion } from "../../verifiers/app-attest-assertion";
import { verifyWebAttestation } from "../../verifiers/web-origin";
import { importTrustAnchors, type TrustAnchor } from "../../x509/chain";
import { APPLE_APP_ATTESTATION_ROOT_CA_PEM } from "../../x509/roots/apple";
import { ANDROID_SOFTWARE_ATTESTATION_ROOTS } from "../../x509/roots/android-software";
import { GOOGLE_ATTESTATION_ROOTS } from "../../x509/roots/google";
import type { ChallengeResponse } from "./challenge-response";

/** How long a registered App Attest key is kept after its last use (the app keeps it until reinstalled). */
export const APP_ATTEST_KEY_RETENTION = 90 * 86_400;

export interface VerifiedAttestation {
  readonly cal: ClientAssuranceLevel;
  readonly summary: AttestationSummary;
  /** Runs once the challenge is spent: stores what later requests need (a new App Attest key). */
  readonly commit?: () => Promise<void>;
}

export interface AttestationContext {
  readonly config: Config;
  readonly stores: Stores;
  readonly client: Client;
  readonly jkt: string;
  readonly attested: Uint8Array;
  /** The request's Origin and Sec-Fetch-Site headers (web attestation). */
  readonly origin: string | null;
  readonly fetchSite: string | null;
  readonly now: number;
}

// Trust anchors, imported once per isolate per policy (parsing is the cost; keys are cached by src/x509/signature.ts).
const bundled = {
  google: lazy(() => importTrustAnchors(GOOGLE_ATTESTATION_ROOTS)),
  androidSoftware: lazy(() => importTrustAnchors(ANDROID_SOFTWARE_ATTESTATION_ROOTS)),
  apple: lazy(() => importTrustAnchors([APPLE_APP_ATTESTATION_ROOT_CA_PEM])),
};
const configured = new WeakMap<object, TrustAnchor[]>();

function anchorsOf(policy: AndroidPolicy | IosPolicy, fallback: () => TrustAnchor[]): TrustAnchor[] {
  if (!policy.trust_anchors) return fallback();
  let anchors = configured.get(policy);
  if (!anchors) {
    anchors = importTrustAnchors(policy.trust_anchors);
    configured.set(policy, anchors);
  }
  return anchors;
}

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

function rejected<P extends keyof AttestationRejection>(
  context: AttestationContext,
  platform: P,
  reason: AttestationRejection[P],
  detail?: Readonly<Record<string, unknown>>,
): OAuthError {
  // Public text stays vague in production; a development server tells the app developer why.
  const why = context.config.environment === "development" ? `: ${reason}` : "";
  return new OAuthError("invalid_client_attestation", `${platform} attestation rejected${why}`, {
    status: 400,
    // In the union by construction: `platform` and `reason` are checked together at every call.
    reason: `attestation_${platform}_${reason}` as CatReason,
    ...(detail ? { detail } : {}),
  });
}

/** `disable_attestation_validation` (development only): a parsed attestation is accepted with `cal: none`. */
function acceptUnvalidated(
  platform: "android" | "ios",
  reason: string | undefined,
  summary: AttestationSummary | undefined,
): VerifiedAttestation {
  return {
    cal: "none",
    summary: {
      ...(summary ?? { platform }),
      validation: "disabled",
      ...(reason ? { validation_failure: reason } : {}),
    },
  };
}

async function android(context: AttestationContext, chain: readonly Uint8Array[]): Promise<VerifiedAttestation> {
  const settings = context.client.attestation!.android!;
  const policy = context.client.attestationPolicies.android!;
  const revocation =
    policy.revocation === "off" || policy.do_not_validate_certificate_chain
      ? undefined
      : await androidStatusList(
          {
            cache: context.stores.cache,
            url: context.config.attestation.revocation_list_url,
            ttl: context.config.attestation.revocation_list_cache_ttl,
          },
          context.now,
        );
  const result = await verifyAndroidKeyAttestation(
    chain,
    {
      challenge: context.attested,
      packageNames: settings.package_names,
      signatureDigests: settings.signature_digests,
      verifyBootState: policy.verify_boot_state,
      minimumSecurityLevel: policy.minimum_security_level,
      doNotValidateCertificateChain: policy.do_not_validate_certificate_chain,
      allowSoftwareRoot: policy.allow_software_root,
      revocation: policy.revocation,
    },
    { anchors: anchorsOf(policy, bundled.google), softwareAnchors: bundled.androidSoftware(), revocation },
    new Date(context.now * 1000),
  );
  const disabled = context.client.attestation!.disable_attestation_validation;
  if (!result.ok) {
    if (
      disabled &&
      result.reason !== "malformed_chain" &&
      result.reason !== "key_description_malformed" &&
      result.reason !== "key_description_missing"
    ) {
      return acceptUnvalidated("android", result.reason, undefined);
    }
    throw rejected(context, "android", result.reason, result.detail);
  }
  const value = result.value;
  const attestedKeyIsDpopKey = value.attestedKey.jwk
    ? (await calculateJwkThumbprint(value.attestedKey.jwk as JWK).catch(() => null)) === context.jkt
    : false;
  const summary: AttestationSummary = {
    platform: "android",
    security_level: value.securityLevel,
    boot_state: value.bootState,
    device_locked: value.deviceLocked,
    package_name: value.packageName,
    attestation_version: value.attestationVersion,
    os_patch_level: value.osPatchLevel,
    provisioning: value.provisioning,
    revocation_checked: value.revocationChecked,
    chain_validated: value.chainValidated,
    dpop_key_attested: attestedKeyIsDpopKey,
  };
  if (disabled) return acceptUnvalidated("android", undefined, summary);
  return { cal: "by-policy", summary };
}

async function iosAttestation(
  context: AttestationContext,
  keyId: Uint8Array,
  attestationObject: Uint8Array,
): Promise<VerifiedAttestation> {
  const settings = context.client.attestation!.ios!;
  const policy = context.client.attestationPolicies.ios!;
  const result = await verifyAppAttestation(
    attestationObject,
    { keyId, clientDataHash: context.attested },
    { appIds: [settings.app_id], mode: policy.mode },
    { anchors: anchorsOf(policy, bundled.apple) },
    new Date(context.now * 1000),
  );
  const disabled = context.client.attestation!.disable_attestation_validation;
  if (!result.ok) {
    if (disabled && result.reason !== "malformed" && result.reason !== "format")
      return acceptUnvalidated("ios", result.reason, undefined);
    throw rejected(context, "ios", result.reason, result.detail);
  }
  const value = result.value;
  const summary: AttestationSummary = {
    platform: "ios",
    app_id: value.appId,
    environment: value.environment,
    key_id: value.keyId,
  };
  const commit = async () => {
    const key = await context.stores.appAttestKeys.named(appAttestKeyName(context.jkt, value.keyId));
    await key.run(
      "register",
      {
        keyId: value.keyId,
        clientId: context.client.client_id,
        appId: value.appId,
        publicKey: value.publicKey,
        counter: 0,
        expiresAt: context.now + APP_ATTEST_KEY_RETENTION,
      },
      context.now,
    );
  };
  if (disabled) return { ...acceptUnvalidated("ios", undefined, summary), commit };
  return { cal: "by-policy", summary, commit };
}

/** A CAT refreshed with an assertion from an App Attest key this device (same DPoP key) attested before. */
async function iosAssertion(
  context: AttestationContext,
  keyId: Uint8Array,
  assertion: Uint8Array,
): Promise<VerifiedAttestation> {
  const keyIdText = btoa(String.fromCharCode(...keyId));
  const key = await context.stores.appAttestKeys.named(appAttestKeyName(context.jkt, keyIdText));
  const record = await key.run("read", null, context.now);
  if (!record || record.clientId !== context.client.client_id)
    throw rejected(context, "ios", "assertion_unknown_key", { key_id: keyIdText });
  const result = await verifyAppAttestAssertion(
    assertion,
    { clientDataHash: context.attested },
    { appIds: [context.client.attestation!.ios!.app_id] },
    { publicKey: record.publicKey, previousCounter: record.counter },
  );
  if (!result.ok) throw rejected(context, "ios", `assertion_${result.reason}`, result.detail);
  const summary: AttestationSummary = {
    platform: "ios",
    app_id: result.value.appId,
    key_id: keyIdText,
    assertion_counter: result.value.counter,
  };
  const counter = result.value.counter;
  return {
    cal: context.client.attestation!.disable_attestation_validation ? "none" : "by-policy",
    summary,
    // Compare-and-set: of two assertions racing with the same counter, one wins.
    commit: async () => {
      if (!(await key.run("advance", { counter, expiresAt: context.now + APP_ATTEST_KEY_RETENTION }, context.now))) {
        throw rejected(context, "ios", "assertion_counter_not_increasing", { counter });
      }
    },
  };
}

function web(context: AttestationContext, attestedOrigin: string | undefined): VerifiedAttestation {
  const settings = context.client.attestation!.web!;
  const policy = context.client.attestationPolicies.web!;
  const result = verifyWebAttestation(
    {
      requestOrigin: context.origin,
      fetchSite: context.fetchSite,
      ...(attestedOrigin !== undefined ? { attestedOrigin } : {}),
    },
    {
      allowedOrigins: settings.allowed_origins,
      disableOriginVerification: policy.disable_origin_verification,
      serverOrigin: context.config.issuer,
    },
  );
  if (!result.ok) throw rejected(context, "web", result.reason, result.detail);
  return {
    cal: "by-policy",
    summary: {
      platform: "web",
      origin: result.value.origin ?? undefined,
      origin_verified: result.value.verified,
      origin_via: result.value.via,
    },
  };
}

export async function verifyAttestation(
  context: AttestationContext,
  response: ChallengeResponse,
): Promise<VerifiedAttestation> {
  const configuredPlatforms = context.client.attestation!;
  if (!configuredPlatforms[response.platform]) {
    throw new OAuthError("unauthorized_client", `the client is not configured for ${response.platform} attestation`, {
      reason: "platform_not_configured",
      detail: { platform: response.platform },
    });
  }
  switch (response.platform) {
    case "android":
      return android(context, response.chain);
    case "ios":
      return response.attestationObject
        ? iosAttestation(context, response.keyId, response.attestationObject)
        : iosAssertion(context, response.keyId, response.assertion!);
    case "web":
      return web(context, response.origin);
  }
}
