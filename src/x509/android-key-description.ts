/**
 * A tolerant parser of the Android Key Attestation KeyDescription extension
 * (OID 1.3.6.1.4.1.11129.2.1.17; https://source.android.com/docs/security/features/keystore/attestation#schema).
 *
 * Tolerant where real devices and new Android releases differ from the schema: unknown
 * AuthorizationList tags are skipped (and listed), out-of-order tags are accepted (and flagged,
 * `tagsOrdered: false`), extra trailing KeyDescription fields are ignored, and a BER boolean
 * (0x01 rather than DER's 0xFF) is read as true. Strict where it matters: truncated input,
 * bad lengths, a known tag with the wrong type inside, or a duplicated tag is an error.
 *
 * Why by hand, on the DER reader, and not with @peculiar/asn1-android's schema: a schema parse refuses
 * the unknown and out-of-order AuthorizationList tags real devices send (the ML-DSA KeyDescription in
 * test/x509/android-key-description.test.ts is one). Why one file of about 300 lines: the types, the
 * tag table and the parser are one schema, and most of the lines are its declaration.
 */
import { readChildren, readWhole, type Tlv } from "./der";

export const KEY_DESCRIPTION_OID = "1.3.6.1.4.1.11129.2.1.17";

export type KeyDescriptionErrorCode = "key_description_malformed";

export class KeyDescriptionError extends Error {
  override readonly name = "KeyDescriptionError";
  readonly code: KeyDescriptionErrorCode = "key_description_malformed";
}

export type SecurityLevel = "SOFTWARE" | "TRUSTED_ENVIRONMENT" | "STRONG_BOX";
export type VerifiedBootState = "VERIFIED" | "SELF_SIGNED" | "UNVERIFIED" | "FAILED";
export type KeyOrigin = "GENERATED" | "DERIVED" | "IMPORTED" | "RESERVED" | "SECURELY_IMPORTED";

export interface RootOfTrust {
  readonly verifiedBootKey: Uint8Array;
  readonly deviceLocked: boolean;
  readonly verifiedBootState: VerifiedBootState;
  /** Attestation version 3 and later. */
  readonly verifiedBootHash?: Uint8Array;
}

export interface AttestationPackageInfo {
  readonly name: string;
  readonly version: number;
}

export interface AttestationApplicationId {
  readonly packages: readonly AttestationPackageInfo[];
  /** Raw SHA-256 digests of the app's signing certificates. */
  readonly signatures: readonly Uint8Array[];
}

/** Field names follow android/keyattestation's JSON form. Absent tags are absent fields. */
export interface AuthorizationList {
  purposes?: number[];
  algorithms?: number;
  keySize?: number;
  blockModes?: number[];
  digests?: number[];
  paddings?: number[];
  ecCurve?: number;
  mlDsaVariant?: number;
  rsaPublicExponent?: number;
  rsaOaepMgfDigests?: number[];
  rollbackResistant?: boolean;
  earlyBootOnly?: boolean;
  activeDateTime?: number;
  originationExpireDateTime?: number;
  usageExpireDateTime?: number;
  usageCountLimit?: number;
  noAuthRequired?: boolean;
  userAuthType?: number;
  authTimeout?: number;
  allowWhileOnBody?: boolean;
  trustedUserPresenceRequired?: boolean;
  trustedConfirmationRequired?: boolean;
  unlockedDeviceRequired?: boolean;
  allApplications?: boolean;
  creationDateTime?: number;
  origin?: KeyOrigin;
  rootOfTrust?: RootOfTrust;
  osVersion?: number;
  osPatchLevel?: number;
  attestationApplicationId?: AttestationApplicationId;
  attestationIdBrand?: string;
  attestationIdDevice?: string;
  attestationIdProduct?: string;
  attestationIdSerial?: string;
  attestationIdImei?: string;
  attestationIdMeid?: string;
  attestationIdManufacturer?: string;
  attestationIdModel?: string;
  vendorPatchLevel?: number;
  bootPatchLevel?: number;
  deviceUniqueAttestation?: boolean;
  attestationIdSecondImei?: string;
  moduleHash?: Uint8Array;
  /** False when the device emitted tags out of ascending order (tolerated). */
  tagsOrdered: boolean;
  /** Tags this parser does not know, skipped. */
  unknownTags: number[];
}

export interface KeyDescription {
  readonly attestationVersion: number;
  readonly attestationSecurityLevel: SecurityLevel;
  /** keymasterVersion before attestation version 100. */
  readonly keyMintVersion: number;
  readonly keyMintSecurityLevel: SecurityLevel;
  readonly attestationChallenge: Uint8Array;
  readonly uniqueId: Uint8Array;
  readonly softwareEnforced: AuthorizationList;
  /** `teeEnforced` in the schema. */
  readonly hardwareEnforced: AuthorizationList;
  /** True when a BOOLEAN was BER-encoded (0x01 rather than DER's 0xFF): a known device quirk, tolerated. */
  readonly nonDerBoolean: boolean;
}

type Kind = "int" | "intSet" | "null" | "bytes" | "utf8" | "origin" | "rootOfTrust" | "applicationId";

const TAGS: Record<number, readonly [keyof AuthorizationList, Kind]> = {
  1: ["purposes", "intSet"],
  2: ["algorithms", "int"],
  3: ["keySize", "int"],
  4: ["blockModes", "intSet"],
  5: ["digests", "intSet"],
  6: ["paddings", "intSet"],
  10: ["ecCurve", "int"],
  11: ["mlDsaVariant", "int"],
  200: ["rsaPublicExponent", "int"],
  203: ["rsaOaepMgfDigests", "intSet"],
  303: ["rollbackResistant", "null"],
  305: ["earlyBootOnly", "null"],
  400: ["activeDateTime", "int"],
  401: ["originationExpireDateTime", "int"],
  402: ["usageExpireDateTime", "int"],
  405: ["usageCountLimit", "int"],
  503: ["noAuthRequired", "null"],
  504: ["userAuthType", "int"],
  505: ["authTimeout", "int"],
  506: ["allowWhileOnBody", "null"],
  507: ["trustedUserPresenceRequired", "null"],
  508: ["trustedConfirmationRequired", "null"],
  509: ["unlockedDeviceRequired", "null"],
  600: ["allApplications", "null"],
  701: ["creationDateTime", "int"],
  702: ["origin", "origin"],
  703: ["rollbackResistant", "null"], // Keymaster 2/3 numbering
  704: ["rootOfTrust", "rootOfTrust"],
  705: ["osVersion", "int"],
  706: ["osPatchLevel", "int"],
  709: ["attestationApplicationId", "applicationId"],
  710: ["attestationIdBrand", "utf8"],
  711: ["attestationIdDevice", "utf8"],
  712: ["attestationIdProduct", "utf8"],
  713: ["attestationIdSerial", "utf8"],
  714: ["attestationIdImei", "utf8"],
  715: ["attestationIdMeid", "utf8"],
  716: ["attestationIdManufacturer", "utf8"],
  717: ["attestationIdModel", "utf8"],
  718: ["vendorPatchLevel", "int"],
  719: ["bootPatchLevel", "int"],
  720: ["deviceUniqueAttestation", "null"],
  723: ["attestationIdSecondImei", "utf8"],
  724: ["moduleHash", "bytes"],
};

const SECURITY_LEVELS: readonly SecurityLevel[] = ["SOFTWARE", "TRUSTED_ENVIRONMENT", "STRONG_BOX"];
const BOOT_STATES: readonly VerifiedBootState[] = ["VERIFIED", "SELF_SIGNED", "UNVERIFIED", "FAILED"];
const ORIGINS: readonly KeyOrigin[] = ["GENERATED", "DERIVED", "IMPORTED", "RESERVED", "SECURELY_IMPORTED"];

const bad = (why: string): KeyDescriptionError => new KeyDescriptionError(why);
const utf8 = new TextDecoder();

class Reader {
  nonDerBoolean = false;
  constructor(readonly bytes: Uint8Array) {}

  top(): Tlv {
    const tlv = readWhole(this.bytes);
    if (!tlv) throw bad("not exactly one DER value");
    return tlv;
  }

  children(tlv: Tlv, what: string): Tlv[] {
    if (!tlv.constructed) throw bad(`${what}: not constructed`);
    const children = readChildren(this.bytes, tlv);
    if (!children) throw bad(`${what}: truncated or malformed content`);
    return children;
  }

  expect(tlv: Tlv | undefined, tagByte: number, what: string): Tlv {
    if (!tlv || tlv.tagByte !== tagByte) throw bad(`${what}: expected tag 0x${tagByte.toString(16)}`);
    return tlv;
  }

  content(tlv: Tlv): Uint8Array {
    return this.bytes.slice(tlv.contentStart, tlv.end);
  }

  /** INTEGER or ENUMERATED: a non-negative value that fits a JS number. */
  integer(tlv: Tlv | undefined, what: string, tagByte = 0x02): number {
    const t = this.expect(tlv, tagByte, what);
    const length = t.end - t.contentStart;
    if (length === 0 || length > 7) throw bad(`${what}: integer length ${length}`);
    if (this.bytes[t.contentStart]! & 0x80) throw bad(`${what}: negative integer`);
    let value = 0;
    for (let i = t.contentStart; i < t.end; i++) value = value * 256 + this.bytes[i]!;
    if (!Number.isSafeInteger(value)) throw bad(`${what}: integer too large`);
    return value;
  }

  boolean(tlv: Tlv | undefined, what: string): boolean {
    const t = this.expect(tlv, 0x01, what);
    if (t.end - t.contentStart !== 1) throw bad(`${what}: boolean length`);
    // DER says 0xFF; some devices emit 0x01. Google's parser reads any non-zero as true.
    const byte = this.bytes[t.contentStart]!;
    if (byte !== 0 && byte !== 0xff) this.nonDerBoolean = true;
    return byte !== 0;
  }
}

function enumValue<T>(values: readonly T[], index: number, what: string): T {
  const value = values[index];
  if (value === undefined) throw bad(`${what}: unknown value ${index}`);
  return value;
}

function parseRootOfTrust(r: Reader, tlv: Tlv): RootOfTrust {
  const [key, locked, state, hash] = r.children(r.expect(tlv, 0x30, "rootOfTrust"), "rootOfTrust");
  return {
    verifiedBootKey: r.content(r.expect(key, 0x04, "verifiedBootKey")),
    deviceLocked: r.boolean(locked, "deviceLocked"),
    verifiedBootState: enumValue(BOOT_STATES, r.integer(state, "verifiedBootState", 0x0a), "verifiedBootState"),
    ...(hash ? { verifiedBootHash: r.content(r.expect(hash, 0x04, "verifiedBootHash")) } : {}),
  };
}

/** The content of tag 709: OCTET STRING wrapping SEQUENCE { SET OF packageInfo, SET OF digest }. */
export function parseAttestationApplicationId(der: Uint8Array): AttestationApplicationId {
  const r = new Reader(der);
  const [packagesSet, signaturesSet] = r.children(
    r.expect(r.top(), 0x30, "attestationApplicationId"),
    "attestationApplicationId",
  );
  const packages = r.children(r.expect(packagesSet, 0x31, "packageInfos"), "packageInfos").map((info) => {
    const [name, version] = r.children(r.expect(info, 0x30, "packageInfo"), "packageInfo");
    return {
      name: utf8.decode(r.content(r.expect(name, 0x04, "package name"))),
      version: r.integer(version, "package version"),
    };
  });
  const signatures = r
    .children(r.expect(signaturesSet, 0x31, "signatureDigests"), "signatureDigests")
    .map((digest) => r.content(r.expect(digest, 0x04, "signature digest")));
  return { packages, signatures };
}

function parseAuthorizationList(r: Reader, tlv: Tlv | undefined, what: string): AuthorizationList {
  const list: AuthorizationList = { tagsOrdered: true, unknownTags: [] };
  const fields = list as unknown as Record<string, unknown>;
  const seen = new Set<number>();
  let previous = -1;
  for (const entry of r.children(r.expect(tlv, 0x30, what), what)) {
    if (entry.tagClass !== "context" || !entry.constructed) throw bad(`${what}: entry is not an explicit context tag`);
    const tag = entry.tagNumber;
    if (seen.has(tag)) throw bad(`${what}: duplicate tag ${tag}`);
    seen.add(tag);
    if (tag < previous) list.tagsOrdered = false;
    previous = tag;
    const inner = r.children(entry, `${what}[${tag}]`);
    const known = TAGS[tag];
    if (!known) {
      list.unknownTags.push(tag);
      continue;
    }
    const [field, kind] = known;
    if (inner.length !== 1) throw bad(`${what}[${tag}]: expected one value`);
    const value = inner[0]!;
    const label = `${what}.${field}`;
    switch (kind) {
      case "int":
        fields[field] = r.integer(value, label);
        break;
      case "intSet":
        fields[field] = r.children(r.expect(value, 0x31, label), label).map((item) => r.integer(item, label));
        break;
      case "null":
        r.expect(value, 0x05, label);
        if (value.end !== value.contentStart) throw bad(`${label}: NULL with content`);
        fields[field] = true;
        break;
      case "bytes":
        fields[field] = r.content(r.expect(value, 0x04, label));
        break;
      case "utf8":
        fields[field] = utf8.decode(r.content(r.expect(value, 0x04, label)));
        break;
      case "origin":
        fields[field] = enumValue(ORIGINS, r.integer(value, label), label);
        break;
      case "rootOfTrust":
        fields[field] = parseRootOfTrust(r, value);
        break;
      case "applicationId":
        fields[field] = parseAttestationApplicationId(r.content(r.expect(value, 0x04, label)));
        break;
    }
  }
  return list;
}

/** Parse the extnValue of the KeyDescription extension. Throws KeyDescriptionError. */
export function parseKeyDescription(der: Uint8Array): KeyDescription {
  const r = new Reader(der);
  const fields = r.children(r.expect(r.top(), 0x30, "KeyDescription"), "KeyDescription");
  if (fields.length < 8) throw bad(`KeyDescription: ${fields.length} fields`);
  const [version, attLevel, kmVersion, kmLevel, challenge, uniqueId, software, hardware] = fields;
  const softwareEnforced = parseAuthorizationList(r, software, "softwareEnforced");
  const hardwareEnforced = parseAuthorizationList(r, hardware, "hardwareEnforced");
  return {
    attestationVersion: r.integer(version, "attestationVersion"),
    attestationSecurityLevel: enumValue(
      SECURITY_LEVELS,
      r.integer(attLevel, "attestationSecurityLevel", 0x0a),
      "attestationSecurityLevel",
    ),
    keyMintVersion: r.integer(kmVersion, "keyMintVersion"),
    keyMintSecurityLevel: enumValue(
      SECURITY_LEVELS,
      r.integer(kmLevel, "keyMintSecurityLevel", 0x0a),
      "keyMintSecurityLevel",
    ),
    attestationChallenge: r.content(r.expect(challenge, 0x04, "attestationChallenge")),
    uniqueId: r.content(r.expect(uniqueId, 0x04, "uniqueId")),
    softwareEnforced,
    hardwareEnforced,
    nonDerBoolean: r.nonDerBoolean,
  };
}
