/// <reference types="vite/client" />
/**
 * Android Key Attestation: every real chain from android/keyattestation's testdata (verified at its
 * own creationDateTime, KeyDescription compared with the expected JSON beside it), then mutations.
 */
import { describe, expect, it } from "vitest";
import type { RevocationStatusList } from "../../src/verifiers/android-chain-trust";
import {
  verifyAndroidKeyAttestation,
  type AndroidAttestationDeps,
  type AndroidAttestationPolicy,
} from "../../src/verifiers/android-key-attestation";
import {
  KEY_DESCRIPTION_OID,
  parseKeyDescription,
  type AuthorizationList,
  type KeyDescription,
} from "../../src/x509/android-key-description";
import { importTrustAnchors } from "../../src/x509/chain";
import { parseDerCertificate, pemToDer } from "../../src/x509/parse-certificate";
import { ANDROID_SOFTWARE_ATTESTATION_ROOTS } from "../../src/x509/roots/android-software";
import { GOOGLE_ATTESTATION_ROOTS } from "../../src/x509/roots/google";

const DIR = "../vectors/android-key-attestation/testdata/";
const pems = import.meta.glob("../vectors/android-key-attestation/testdata/**/*.pem", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;
const jsons = import.meta.glob("../vectors/android-key-attestation/testdata/**/*.json", {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

/** The expected JSON files carry `//` comment lines (base64 values may contain "//", so only whole lines). */
const parseJsonWithComments = (text: string): Record<string, unknown> =>
  JSON.parse(
    text
      .split("\n")
      .filter((line) => !line.trim().startsWith("//"))
      .join("\n"),
  ) as Record<string, unknown>;

const pem = (name: string): string => {
  const text = pems[DIR + name];
  if (text === undefined) throw new Error(`no vector ${name}`);
  return text;
};
const chainOf = (name: string): Uint8Array[] => pemToDer(pem(name));
const expectedOf = (name: string): Record<string, unknown> =>
  parseJsonWithComments(jsons[DIR + name.replace(/\.pem$/, ".json")]!);

const b64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** Our parsed AuthorizationList in android/keyattestation's JSON form (integers as strings, bytes as base64). */
function listToJson(list: AuthorizationList): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(list)) {
    if (key === "tagsOrdered" || key === "unknownTags") continue;
    if (typeof value === "number") out[key] = String(value);
    else if (Array.isArray(value)) out[key] = value.map(String);
    else if (value instanceof Uint8Array) out[key] = b64(value);
    else if (key === "rootOfTrust") {
      const rot = value as NonNullable<AuthorizationList["rootOfTrust"]>;
      out[key] = {
        verifiedBootKey: b64(rot.verifiedBootKey),
        deviceLocked: rot.deviceLocked,
        verifiedBootState: rot.verifiedBootState,
        ...(rot.verifiedBootHash ? { verifiedBootHash: b64(rot.verifiedBootHash) } : {}),
      };
    } else if (key === "attestationApplicationId") {
      const app = value as NonNullable<AuthorizationList["attestationApplicationId"]>;
      out[key] = {
        packages: app.packages.map((p) => ({ name: p.name, version: String(p.version) })),
        signatures: app.signatures.map(b64),
      };
    } else out[key] = value;
  }
  return out;
}

function keyDescriptionToJson(kd: KeyDescription): Record<string, unknown> {
  return {
    attestationVersion: String(kd.attestationVersion),
    attestationSecurityLevel: kd.attestationSecurityLevel,
    keyMintVersion: String(kd.keyMintVersion),
    keyMintSecurityLevel: kd.keyMintSecurityLevel,
    attestationChallenge: b64(kd.attestationChallenge),
    uniqueId: b64(kd.uniqueId),
    softwareEnforced: listToJson(kd.softwareEnforced),
    hardwareEnforced: listToJson(kd.hardwareEnforced),
  };
}

/** `areTagsOrdered` is only in some expected files: compare it where present, drop it for the deep comparison. */
function withoutTagOrder(expected: Record<string, unknown>): Record<string, unknown> {
  const strip = (list: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(list).filter(([k]) => k !== "areTagsOrdered"));
  return {
    ...expected,
    softwareEnforced: strip(expected.softwareEnforced as Record<string, unknown>),
    hardwareEnforced: strip(expected.hardwareEnforced as Record<string, unknown>),
  };
}

const TEE_NAME = "tegu/sdk36/TEE_EC_2026_ROOT.pem";
const leafKeyDescription = (chain: Uint8Array[]): KeyDescription =>
  parseKeyDescription(parseDerCertificate(chain[0]!).extension(KEY_DESCRIPTION_OID)!.value);

const anchors = importTrustAnchors([...GOOGLE_ATTESTATION_ROOTS]);
const softwareAnchors = importTrustAnchors([...ANDROID_SOFTWARE_ATTESTATION_ROOTS]);
const DEPS: AndroidAttestationDeps = { anchors, softwareAnchors, revocation: { entries: {} } };

/** A policy the vector satisfies, from its expected JSON. */
function policyFor(
  expected: Record<string, unknown>,
  overrides: Partial<AndroidAttestationPolicy> = {},
): AndroidAttestationPolicy {
  const app = (
    expected.softwareEnforced as { attestationApplicationId: { packages: { name: string }[]; signatures: string[] } }
  ).attestationApplicationId;
  return {
    challenge: unb64(expected.attestationChallenge as string),
    packageNames: app.packages.map((p) => p.name),
    signatureDigests: app.signatures,
    verifyBootState: false,
    minimumSecurityLevel: "trusted-environment",
    doNotValidateCertificateChain: false,
    allowSoftwareRoot: false,
    revocation: "fail-closed",
    ...overrides,
  };
}

const creationTime = (expected: Record<string, unknown>): Date =>
  new Date(Number((expected.softwareEnforced as { creationDateTime: string }).creationDateTime));

const vectorNames = Object.keys(jsons)
  .map((path) => path.slice(DIR.length).replace(/\.json$/, ".pem"))
  .filter((name) => pems[DIR + name] !== undefined)
  .sort();

/** What each chain proves: how it was provisioned, and whether it verifies under the default policy. */
const EXPECTED: Record<string, { provisioning: "factory" | "rkp" | "software"; failure?: string }> = {
  "akita/sdk34/SB_RSA_NONE.pem": { provisioning: "rkp" },
  "akita/sdk34/TEE_EC_NONE.pem": { provisioning: "rkp" },
  // Keys of the "AndroidSystem" package (device-ID attestation) carry no signing-certificate digest:
  // refused by the digest rule (at least one digest, all configured).
  "akita/sdk34/TEE_RSA_BASE+IMEI.pem": { provisioning: "rkp", failure: "signature_digest_mismatch" },
  "akita/sdk34/TEE_RSA_NONE.pem": { provisioning: "rkp" },
  "akita/sdk34/TEE_RSA_NONE_USERAUTH.pem": { provisioning: "rkp" },
  "blueline/sdk28/SB_RSA_NONE.pem": { provisioning: "factory" },
  "blueline/sdk28/SB_RSA_NONE_USERAUTH.pem": { provisioning: "factory" },
  "blueline/sdk28/TEE_EC_NONE.pem": { provisioning: "factory" },
  "blueline/sdk28/TEE_RSA_BASE+IMEI.pem": { provisioning: "factory", failure: "signature_digest_mismatch" },
  "blueline/sdk28/TEE_RSA_NONE.pem": { provisioning: "factory" },
  "caiman/sdk36/SB_EC_RKP.pem": { provisioning: "rkp" },
  "caiman/sdk36/TEE_EC_RKP.pem": { provisioning: "rkp" },
  "marlin/sdk29/TEE_EC_NONE.pem": { provisioning: "software", failure: "software_root_not_allowed" },
  "marlin/sdk29/TEE_RSA_NONE.pem": { provisioning: "software", failure: "software_root_not_allowed" },
  "sony-xperia10-iii/sdk33/TEE_EC.pem": { provisioning: "factory" },
  "tegu/sdk36/SB_EC_2026_ROOT.pem": { provisioning: "rkp" },
  "tegu/sdk36/TEE_EC_2026_ROOT.pem": { provisioning: "rkp" },
  "tegu/sdk37/TEE_MAX_USAGE_COUNT.pem": { provisioning: "rkp" },
  "tegu/sdk37/TEE_TRUSTED_CONF.pem": { provisioning: "rkp" },
  "tokay/sdk37/TEE_MLDSA_FACTORY.pem": { provisioning: "factory" },
  "tokay/sdk37/TEE_MLDSA_RKP.pem": { provisioning: "rkp" },
};

describe("every android/keyattestation chain, at its creationDateTime", () => {
  it("covers every vector with an expected JSON", () => {
    expect(vectorNames).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(vectorNames)("%s: KeyDescription equals the expected JSON", (name) => {
    const expected = expectedOf(name);
    const kd = leafKeyDescription(chainOf(name));
    expect(keyDescriptionToJson(kd)).toEqual(withoutTagOrder(expected));
    for (const list of ["softwareEnforced", "hardwareEnforced"] as const) {
      const ordered = (expected[list] as { areTagsOrdered?: boolean }).areTagsOrdered;
      if (ordered !== undefined) expect(kd[list].tagsOrdered).toBe(ordered);
    }
  });

  it.each(vectorNames)("%s: verifies (or fails with the documented reason)", async (name) => {
    const expected = expectedOf(name);
    const { provisioning, failure } = EXPECTED[name]!;
    const minimumSecurityLevel = provisioning === "software" ? "software" : "trusted-environment";
    const result = await verifyAndroidKeyAttestation(
      chainOf(name),
      policyFor(expected, { minimumSecurityLevel }),
      DEPS,
      creationTime(expected),
    );
    if (failure === "signature_digest_mismatch") {
      expect(result).toMatchObject({ ok: false, reason: failure, detail: { actual: [] } });
      return;
    }
    if (failure) {
      expect(result).toMatchObject({ ok: false, reason: failure });
      const allowed = await verifyAndroidKeyAttestation(
        chainOf(name),
        policyFor(expected, { minimumSecurityLevel, allowSoftwareRoot: true }),
        DEPS,
        creationTime(expected),
      );
      expect(allowed).toMatchObject({ ok: true, value: { provisioning, securityLevel: "software" } });
      return;
    }
    expect(result.ok ? "ok" : { reason: result.reason, detail: result.detail }).toBe("ok");
    expect(result).toMatchObject({
      ok: true,
      value: { platform: "android", provisioning, chainValidated: true, revocationChecked: true },
    });
    if (!result.ok) return;
    const levels: Record<string, string> = { TRUSTED_ENVIRONMENT: "trusted-environment", STRONG_BOX: "strongbox" };
    expect(result.value.securityLevel).toBe(levels[expected.attestationSecurityLevel as string]);
    expect(result.value.attestationVersion).toBe(Number(expected.attestationVersion));
    expect(result.value.packageName).toBe(policyFor(expected).packageNames[0]);
    expect(result.value.signatureDigests).toEqual(policyFor(expected).signatureDigests);
    const rot = (expected.hardwareEnforced as { rootOfTrust: { verifiedBootState: string; deviceLocked: boolean } })
      .rootOfTrust;
    expect(result.value.bootState).toBe(rot.verifiedBootState.toLowerCase().replace("_", "-"));
    expect(result.value.deviceLocked).toBe(rot.deviceLocked);
    expect(result.value.attestedKey.spki).toBe(b64(parseDerCertificate(chainOf(name)[0]!).spki));
  });
});

describe("vectors without an expected JSON", () => {
  it("invalid/tags_not_in_ascending_order: the KeyDescription parses (tags flagged unordered) but the leaf signature fails", async () => {
    const chain = chainOf("invalid/tags_not_in_ascending_order.pem");
    const kd = leafKeyDescription(chain);
    expect(kd.hardwareEnforced.tagsOrdered).toBe(false);
    expect(kd.softwareEnforced.tagsOrdered).toBe(true);
    const now = new Date(kd.softwareEnforced.creationDateTime!);
    const policy = {
      ...policyFor({
        attestationChallenge: b64(kd.attestationChallenge),
        softwareEnforced: { attestationApplicationId: { packages: [], signatures: [] } },
      }),
    };
    expect(await verifyAndroidKeyAttestation(chain, policy, DEPS, now)).toMatchObject({
      ok: false,
      reason: "bad_signature",
      detail: { index: 0 },
    });
  });

  // Not as the folder name suggests: the chain is genuinely signed (a real device quirk), and Google's
  // parser reads the 0x01 BOOLEAN as true (parseFrom_malformedRotDeviceLocked_successfullyParsed).
  // We do the same and flag it (nonDerBoolean) rather than refuse devices with this encoder.
  it("invalid/malformed_rot_device_locked: a BER boolean (0x01) is read as true and flagged; the signed chain verifies", async () => {
    const chain = chainOf("invalid/malformed_rot_device_locked.pem");
    const kd = leafKeyDescription(chain);
    expect(kd.hardwareEnforced.rootOfTrust?.deviceLocked).toBe(true);
    expect(kd.nonDerBoolean).toBe(true);
    expect(leafKeyDescription(chainOf(TEE_NAME)).nonDerBoolean).toBe(false);
    const now = new Date(kd.softwareEnforced.creationDateTime!);
    const app = kd.softwareEnforced.attestationApplicationId!;
    const policy: AndroidAttestationPolicy = {
      ...policyFor({
        attestationChallenge: b64(kd.attestationChallenge),
        softwareEnforced: { attestationApplicationId: { packages: app.packages, signatures: app.signatures.map(b64) } },
      }),
    };
    const result = await verifyAndroidKeyAttestation(chain, policy, DEPS, now);
    expect(result).toMatchObject({
      ok: true,
      value: { provisioning: "factory", deviceLocked: true, bootState: "verified" },
    });
  });

  it("allow_while_on_body: the leaf alone parses but is not a trusted chain", async () => {
    const chain = chainOf("allow_while_on_body.pem");
    const kd = leafKeyDescription(chain);
    expect(kd.hardwareEnforced.allowWhileOnBody ?? kd.softwareEnforced.allowWhileOnBody).toBe(true);
    const policy = policyFor({
      attestationChallenge: b64(kd.attestationChallenge),
      softwareEnforced: { attestationApplicationId: { packages: [], signatures: [] } },
    });
    expect(await verifyAndroidKeyAttestation(chain, policy, DEPS, new Date("2025-04-01"))).toMatchObject({
      ok: false,
      reason: "chain_untrusted",
    });
  });
});

describe("mutations", () => {
  const TEE = "tegu/sdk36/TEE_EC_2026_ROOT.pem";
  const teeExpected = expectedOf(TEE);
  const teeNow = creationTime(teeExpected);
  const teePolicy = policyFor(teeExpected);
  const verifyTee = (
    chain: Uint8Array[],
    policy: Partial<AndroidAttestationPolicy> = {},
    deps: Partial<AndroidAttestationDeps> = {},
    now = teeNow,
  ) => verifyAndroidKeyAttestation(chain, { ...teePolicy, ...policy }, { ...DEPS, ...deps }, now);

  it("accepts the unmodified chain with the documented values", async () => {
    const result = await verifyTee(chainOf(TEE), { verifyBootState: true });
    expect(result).toMatchObject({
      ok: true,
      value: {
        securityLevel: "trusted-environment",
        attestationVersion: 400,
        keyMintVersion: 400,
        bootState: "verified",
        deviceLocked: true,
        packageName: "com.google.android.attestation",
        signatureDigests: ["EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE="],
        osVersion: 160000,
        osPatchLevel: 202602,
        provisioning: "rkp",
      },
    });
    if (result.ok) {
      expect(new TextDecoder().decode(result.value.keyDescription.attestationChallenge)).toBe(
        "6417f92c-daef-4cc1-8828-5bb39338ffd5",
      );
      expect(result.value.attestedKey.jwk).toMatchObject({ kty: "EC", crv: "P-256" });
    }
  });

  it("accepts the chain with the root omitted (matched against CA1 by key)", async () => {
    expect(await verifyTee(chainOf(TEE).slice(0, -1))).toMatchObject({ ok: true, value: { provisioning: "rkp" } });
  });

  it("rejects a flipped signature byte in any certificate", async () => {
    const chain = chainOf(TEE);
    for (let index = 0; index < chain.length - 1; index++) {
      const mutated = chain.map((der) => der.slice());
      mutated[index]![mutated[index]!.length - 3]! ^= 0x01;
      expect(await verifyTee(mutated)).toMatchObject({ ok: false, reason: "bad_signature", detail: { index } });
    }
  });

  it("rejects a wrong package, a wrong digest, an extra digest on the device, a wrong challenge", async () => {
    expect(await verifyTee(chainOf(TEE), { packageNames: ["com.example.other"] })).toMatchObject({
      ok: false,
      reason: "package_not_allowed",
      detail: { expected: ["com.example.other"], actual: ["com.google.android.attestation"] },
    });
    expect(
      await verifyTee(chainOf(TEE), { signatureDigests: ["8P1sW0EPJcslw7UzRsiXL64w+O50Ed+RBICtay1g24M="] }),
    ).toMatchObject({
      ok: false,
      reason: "signature_digest_mismatch",
    });
    expect(await verifyTee(chainOf(TEE), { signatureDigests: [] })).toMatchObject({
      ok: false,
      reason: "signature_digest_mismatch",
    });
    expect(
      await verifyTee(chainOf(TEE), { challenge: new TextEncoder().encode("6417f92c-daef-4cc1-8828-5bb39338ffd6") }),
    ).toMatchObject({
      ok: false,
      reason: "challenge_mismatch",
    });
    // A superset of the device's digests is fine.
    expect(
      await verifyTee(chainOf(TEE), {
        signatureDigests: ["8P1sW0EPJcslw7UzRsiXL64w+O50Ed+RBICtay1g24M=", ...teePolicy.signatureDigests],
      }),
    ).toMatchObject({
      ok: true,
    });
  });

  it("rejects truncated chains: leaf only, a missing intermediate", async () => {
    const chain = chainOf(TEE);
    expect(await verifyTee(chain.slice(0, 1))).toMatchObject({ ok: false, reason: "chain_untrusted" });
    expect(await verifyTee([chain[0]!, ...chain.slice(2)])).toMatchObject({ ok: false, reason: "issuer_mismatch" });
  });

  it("rejects a chain with an extra certificate after the leaf", async () => {
    const chain = chainOf(TEE);
    const other = chainOf("caiman/sdk36/TEE_EC_RKP.pem")[0]!;
    expect(await verifyTee([other, ...chain])).toMatchObject({
      ok: false,
      reason: "key_description_not_on_leaf",
      detail: { index: 1 },
    });
    // A certificate without a KeyDescription in front of the attested key: the new "leaf" has none.
    const intermediate = chainOf("blueline/sdk28/TEE_EC_NONE.pem")[1]!;
    expect(await verifyTee([intermediate, ...chain])).toMatchObject({
      ok: false,
      reason: "key_description_not_on_leaf",
    });
  });

  it("returns an error (never throws) for garbage or truncated DER and empty chains", async () => {
    const chain = chainOf(TEE);
    const cases: Uint8Array[][] = [
      [],
      [new Uint8Array()],
      [new Uint8Array([0x30, 0x82, 0xff])],
      [chain[0]!.subarray(0, chain[0]!.length - 1), ...chain.slice(1)],
      [chain[0]!, chain[1]!.subarray(0, 100), ...chain.slice(2)],
      [new Uint8Array([...chain[0]!, 0x00]), ...chain.slice(1)],
      [new TextEncoder().encode("This is not a certificate")],
    ];
    for (const input of cases) expect(await verifyTee(input)).toMatchObject({ ok: false, reason: "malformed_chain" });
  });

  it("revocation: a revoked or suspended serial fails; an unavailable list fails closed or open; off skips", async () => {
    const chain = chainOf(TEE);
    const serial = parseDerCertificate(chain[2]!).serialNumberHex;
    const revoked: RevocationStatusList = { entries: { [serial]: { status: "REVOKED", reason: "KEY_COMPROMISE" } } };
    expect(await verifyTee(chain, {}, { revocation: revoked })).toMatchObject({
      ok: false,
      reason: "revoked",
      detail: { index: 2, serial, status: "REVOKED", revocationReason: "KEY_COMPROMISE" },
    });
    const suspended: RevocationStatusList = { entries: { [serial]: { status: "SUSPENDED" } } };
    expect(await verifyTee(chain, {}, { revocation: suspended })).toMatchObject({
      ok: false,
      reason: "revoked",
      detail: { status: "SUSPENDED" },
    });
    expect(await verifyTee(chain, { revocation: "fail-closed" }, { revocation: "unavailable" })).toMatchObject({
      ok: false,
      reason: "revocation_unavailable",
    });
    expect(await verifyTee(chain, { revocation: "fail-closed" }, { revocation: undefined })).toMatchObject({
      ok: false,
      reason: "revocation_unavailable",
    });
    expect(await verifyTee(chain, { revocation: "fail-open" }, { revocation: "unavailable" })).toMatchObject({
      ok: true,
      value: { revocationChecked: false },
    });
    expect(await verifyTee(chain, { revocation: "fail-open" }, { revocation: revoked })).toMatchObject({
      ok: false,
      reason: "revoked",
    });
    expect(await verifyTee(chain, { revocation: "off" }, { revocation: revoked })).toMatchObject({
      ok: true,
      value: { revocationChecked: false },
    });
  });

  it("the leaf's serial is checked too", async () => {
    const chain = chainOf("blueline/sdk28/TEE_EC_NONE.pem");
    const expected = expectedOf("blueline/sdk28/TEE_EC_NONE.pem");
    const serial = parseDerCertificate(chain[0]!).serialNumberHex;
    expect(
      await verifyAndroidKeyAttestation(
        chain,
        policyFor(expected),
        { ...DEPS, revocation: { entries: { [serial]: { status: "REVOKED" } } } },
        creationTime(expected),
      ),
    ).toMatchObject({
      ok: false,
      reason: "revoked",
      detail: { index: 0 },
    });
  });

  it("boot state: blueline sdk28 is UNVERIFIED and unlocked", async () => {
    const name = "blueline/sdk28/TEE_EC_NONE.pem";
    const expected = expectedOf(name);
    expect(
      await verifyAndroidKeyAttestation(
        chainOf(name),
        policyFor(expected, { verifyBootState: true }),
        DEPS,
        creationTime(expected),
      ),
    ).toMatchObject({
      ok: false,
      reason: "boot_state_not_verified",
      detail: { verifiedBootState: "UNVERIFIED", deviceLocked: false },
    });
    expect(
      await verifyAndroidKeyAttestation(chainOf(name), policyFor(expected), DEPS, creationTime(expected)),
    ).toMatchObject({
      ok: true,
      value: { bootState: "unverified", deviceLocked: false, attestationVersion: 3, provisioning: "factory" },
    });
  });

  it("minimum security level: strongbox refuses a TEE chain and accepts a StrongBox one", async () => {
    expect(await verifyTee(chainOf(TEE), { minimumSecurityLevel: "strongbox" })).toMatchObject({
      ok: false,
      reason: "security_level_too_low",
      detail: { expected: "strongbox", actual: "trusted-environment" },
    });
    const sb = "tegu/sdk36/SB_EC_2026_ROOT.pem";
    const expected = expectedOf(sb);
    expect(
      await verifyAndroidKeyAttestation(
        chainOf(sb),
        policyFor(expected, { minimumSecurityLevel: "strongbox" }),
        DEPS,
        creationTime(expected),
      ),
    ).toMatchObject({
      ok: true,
      value: { securityLevel: "strongbox" },
    });
  });

  it("software root: refused by default, accepted (as software level) only when allowed and the minimum is software", async () => {
    const name = "marlin/sdk29/TEE_EC_NONE.pem";
    const expected = expectedOf(name);
    const now = creationTime(expected);
    expect(await verifyAndroidKeyAttestation(chainOf(name), policyFor(expected), DEPS, now)).toMatchObject({
      ok: false,
      reason: "software_root_not_allowed",
    });
    expect(
      await verifyAndroidKeyAttestation(chainOf(name), policyFor(expected, { allowSoftwareRoot: true }), DEPS, now),
    ).toMatchObject({
      ok: false,
      reason: "security_level_too_low",
      detail: { actual: "software" },
    });
    expect(
      await verifyAndroidKeyAttestation(
        chainOf(name),
        policyFor(expected, { allowSoftwareRoot: true, minimumSecurityLevel: "software" }),
        DEPS,
        now,
      ),
    ).toMatchObject({ ok: true, value: { provisioning: "software", securityLevel: "software" } });
    // Without the software anchors it is simply untrusted.
    expect(
      await verifyAndroidKeyAttestation(
        chainOf(name),
        policyFor(expected, { allowSoftwareRoot: true }),
        { ...DEPS, softwareAnchors: [] },
        now,
      ),
    ).toMatchObject({
      ok: false,
      reason: "chain_untrusted",
    });
  });

  it("factory expiry rule: sony-xperia10-iii verifies at its creation date, after Root 1 and its intermediates expired", async () => {
    const name = "sony-xperia10-iii/sdk33/TEE_EC.pem";
    const expected = expectedOf(name);
    const now = creationTime(expected);
    expect(now.getTime()).toBeGreaterThan(Date.parse("2026-05-24T17:19:00Z"));
    const result = await verifyAndroidKeyAttestation(
      chainOf(name),
      policyFor(expected, { verifyBootState: true }),
      DEPS,
      now,
    );
    expect(result).toMatchObject({
      ok: true,
      value: {
        provisioning: "factory",
        packageName: "com.android.vending",
        packageVersion: 85162330,
        signatureDigests: ["8P1sW0EPJcslw7UzRsiXL64w+O50Ed+RBICtay1g24M="],
        bootState: "verified",
      },
    });
    expect(b64(leafKeyDescription(chainOf(name)).attestationChallenge)).toBe(
      "Pq/k1d0AkN5aQrQytCSBr1zimWNlayWExZpJLeFtAMk=",
    );
    // A factory certificate that is not yet valid still fails.
    expect(
      await verifyAndroidKeyAttestation(chainOf(name), policyFor(expected), DEPS, new Date("2016-05-01")),
    ).toMatchObject({
      ok: false,
      reason: "certificate_not_yet_valid",
    });
  });

  it("RKP intermediates have strict dates: caiman TEE outside its attestation certificate's validity fails", async () => {
    const name = "caiman/sdk36/TEE_EC_RKP.pem";
    const expected = expectedOf(name);
    const policy = policyFor(expected);
    expect(await verifyAndroidKeyAttestation(chainOf(name), policy, DEPS, creationTime(expected))).toMatchObject({
      ok: true,
      value: { provisioning: "rkp" },
    });
    expect(
      await verifyAndroidKeyAttestation(chainOf(name), policy, DEPS, new Date("2025-10-10T00:00:00Z")),
    ).toMatchObject({
      ok: false,
      reason: "certificate_expired",
      detail: { index: 1 },
    });
    // tegu's Droid CA3 is valid 2026-02-22 -> 03-08.
    expect(await verifyTee(chainOf(TEE), {}, {}, new Date("2026-03-20T00:00:00Z"))).toMatchObject({
      ok: false,
      reason: "certificate_expired",
    });
    expect(await verifyTee(chainOf(TEE), {}, {}, new Date("2026-02-01T00:00:00Z"))).toMatchObject({
      ok: false,
      reason: "certificate_not_yet_valid",
    });
  });

  it("the leaf's own validity is never checked", async () => {
    const name = "sony-xperia10-iii/sdk33/TEE_EC.pem";
    const expected = expectedOf(name);
    expect(
      await verifyAndroidKeyAttestation(chainOf(name), policyFor(expected), DEPS, new Date("2120-01-01")),
    ).toMatchObject({ ok: true });
  });

  it("doNotValidateCertificateChain checks the KeyDescription only", async () => {
    const chain = chainOf(TEE);
    expect(await verifyTee(chain.slice(0, 1), { doNotValidateCertificateChain: true })).toMatchObject({
      ok: true,
      value: { chainValidated: false, revocationChecked: false, provisioning: "unknown" },
    });
    expect(
      await verifyTee(chain.slice(0, 1), { doNotValidateCertificateChain: true, packageNames: ["x"] }),
    ).toMatchObject({ ok: false, reason: "package_not_allowed" });
  });

  it("ML-DSA attested keys: the chain is ECDSA-signed and verifies; the key is returned as SPKI only", async () => {
    const name = "tokay/sdk37/TEE_MLDSA_RKP.pem";
    const expected = expectedOf(name);
    const result = await verifyAndroidKeyAttestation(chainOf(name), policyFor(expected), DEPS, creationTime(expected));
    expect(result).toMatchObject({ ok: true });
    if (result.ok) {
      expect(result.value.attestedKey.jwk).toBeUndefined();
      expect(result.value.keyDescription.hardwareEnforced.mlDsaVariant).toBe(1);
    }
  });

  it("unknown trust: hardware chains with only the software anchors are untrusted", async () => {
    expect(await verifyTee(chainOf(TEE), {}, { anchors: [] })).toMatchObject({ ok: false, reason: "chain_untrusted" });
  });

  describe("KeyDescription checks on an edited leaf (chain validation off, so only the KeyDescription decides)", () => {
    /** Replace the single occurrence of `from` in the leaf with `to` (same length). */
    function patchLeaf(from: number[], to: number[]): Uint8Array[] {
      const chain = chainOf(TEE);
      const leaf = chain[0]!.slice();
      const hits: number[] = [];
      for (let i = 0; i + from.length <= leaf.length; i++) if (from.every((b, k) => leaf[i + k] === b)) hits.push(i);
      expect(hits).toHaveLength(1);
      leaf.set(to, hits[0]!);
      return [leaf, ...chain.slice(1)];
    }
    const levels = [0x02, 0x02, 0x01, 0x90, 0x0a, 0x01, 0x01, 0x02, 0x02, 0x01, 0x90, 0x0a, 0x01, 0x01];
    const edited = { doNotValidateCertificateChain: true };

    it("security_level_mismatch: KeyMint level StrongBox, attestation level TEE", async () => {
      const chain = patchLeaf(levels, [...levels.slice(0, -1), 0x02]);
      expect(await verifyTee(chain, edited)).toMatchObject({
        ok: false,
        reason: "security_level_mismatch",
        detail: { attestationSecurityLevel: "TRUSTED_ENVIRONMENT", keyMintSecurityLevel: "STRONG_BOX" },
      });
      // With the chain validated, the edit breaks the leaf signature first.
      expect(await verifyTee(chain)).toMatchObject({ ok: false, reason: "bad_signature", detail: { index: 0 } });
    });

    it("key_description_malformed: an unknown security level value", async () => {
      expect(await verifyTee(patchLeaf(levels, [...levels.slice(0, -1), 0x07]))).toMatchObject({
        ok: false,
        reason: "key_description_malformed",
      });
    });

    it("origin_not_generated: origin IMPORTED", async () => {
      expect(
        await verifyTee(
          patchLeaf([0xbf, 0x85, 0x3e, 0x03, 0x02, 0x01, 0x00], [0xbf, 0x85, 0x3e, 0x03, 0x02, 0x01, 0x02]),
          edited,
        ),
      ).toMatchObject({
        ok: false,
        reason: "origin_not_generated",
        detail: { actual: "IMPORTED" },
      });
    });

    it("root_of_trust_missing: tag 704 renumbered to an unknown tag", async () => {
      expect(await verifyTee(patchLeaf([0xbf, 0x85, 0x40], [0xbf, 0x85, 0x5e]), edited)).toMatchObject({
        ok: false,
        reason: "root_of_trust_missing",
      });
    });

    it("application_id_missing: tag 709 renumbered to an unknown tag", async () => {
      expect(await verifyTee(patchLeaf([0xbf, 0x85, 0x45], [0xbf, 0x85, 0x5f]), edited)).toMatchObject({
        ok: false,
        reason: "application_id_missing",
      });
    });
  });

  it("key_description_missing: the chain starts at the attestation certificate", async () => {
    expect(await verifyTee(chainOf(TEE).slice(1))).toMatchObject({ ok: false, reason: "key_description_missing" });
  });
});
