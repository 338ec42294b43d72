/// <reference types="vite/client" />
/**
 * The tolerant KeyDescription parser on synthetic encodings: unknown and out-of-order tags are
 * accepted, truncation and garbage are KeyDescriptionError, never another exception.
 */
import { describe, expect, it } from "vitest";
import {
  KEY_DESCRIPTION_OID,
  KeyDescriptionError,
  parseAttestationApplicationId,
  parseKeyDescription,
} from "../../src/x509/android-key-description";
import { parseDerCertificate, pemToDer } from "../../src/x509/parse-certificate";
import tokay from "../vectors/android-key-attestation/testdata/tokay/sdk37/TEE_MLDSA_RKP.pem?raw";

// A minimal DER encoder for test inputs.
const len = (n: number): number[] => (n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]);
const tlv = (tag: number[], content: number[]): number[] => [...tag, ...len(content.length), ...content];
const seq = (...items: number[][]): number[] => tlv([0x30], items.flat());
const set = (...items: number[][]): number[] => tlv([0x31], items.flat());
const int = (n: number): number[] => tlv([0x02], n < 0x80 ? [n] : [n >> 8, n & 0xff]);
const enumerated = (n: number): number[] => tlv([0x0a], [n]);
const octets = (bytes: number[] | string): number[] =>
  tlv([0x04], typeof bytes === "string" ? [...new TextEncoder().encode(bytes)] : bytes);
const nul = (): number[] => [0x05, 0x00];
const bool = (b: number): number[] => [0x01, 0x01, b];
/** [tag] EXPLICIT, high-tag-number form when needed. */
const explicit = (tag: number, value: number[]): number[] =>
  tlv(tag < 31 ? [0xa0 | tag] : tag < 128 ? [0xbf, tag] : [0xbf, 0x80 | (tag >> 7), tag & 0x7f], value);

const appId = octets(seq(set(seq(octets("com.example.app"), int(7))), set(octets([1, 2, 3]))));
const rootOfTrust = seq(octets(new Array(32).fill(0)), bool(0xff), enumerated(0), octets(new Array(32).fill(1)));

function keyDescription(software: number[][], hardware: number[][], extra: number[][] = []): Uint8Array {
  return new Uint8Array(
    seq(
      int(300),
      enumerated(1),
      int(300),
      enumerated(1),
      octets("challenge"),
      octets([]),
      seq(...software),
      seq(...hardware),
      ...extra,
    ),
  );
}

const malformed = (input: Uint8Array): void => {
  expect(() => parseKeyDescription(input)).toThrow(KeyDescriptionError);
};

describe("parseKeyDescription", () => {
  it("parses the fields, skipping unknown tags and recording them", () => {
    const kd = parseKeyDescription(
      keyDescription(
        [explicit(701, int(1000)), explicit(709, appId)],
        [
          explicit(1, set(int(2), int(3))),
          explicit(11, int(1)),
          explicit(405, int(5)),
          explicit(508, nul()),
          explicit(702, int(0)),
          explicit(704, rootOfTrust),
          explicit(999, int(1)),
          explicit(5000, octets("future")),
        ],
      ),
    );
    expect(kd).toMatchObject({
      attestationVersion: 300,
      attestationSecurityLevel: "TRUSTED_ENVIRONMENT",
      keyMintSecurityLevel: "TRUSTED_ENVIRONMENT",
      nonDerBoolean: false,
    });
    expect(new TextDecoder().decode(kd.attestationChallenge)).toBe("challenge");
    expect(kd.softwareEnforced.creationDateTime).toBe(1000);
    expect(kd.softwareEnforced.attestationApplicationId).toEqual({
      packages: [{ name: "com.example.app", version: 7 }],
      signatures: [new Uint8Array([1, 2, 3])],
    });
    expect(kd.hardwareEnforced).toMatchObject({
      purposes: [2, 3],
      mlDsaVariant: 1,
      usageCountLimit: 5,
      trustedConfirmationRequired: true,
      origin: "GENERATED",
      rootOfTrust: { deviceLocked: true, verifiedBootState: "VERIFIED" },
      tagsOrdered: true,
      unknownTags: [999, 5000],
    });
  });

  it("accepts out-of-order tags and flags them", () => {
    const kd = parseKeyDescription(
      keyDescription([], [explicit(702, int(0)), explicit(2, int(3)), explicit(1, set(int(2)))]),
    );
    expect(kd.hardwareEnforced).toMatchObject({
      origin: "GENERATED",
      algorithms: 3,
      purposes: [2],
      tagsOrdered: false,
    });
  });

  it("ignores extra trailing KeyDescription fields (future versions)", () => {
    expect(parseKeyDescription(keyDescription([], [], [octets("future")])).attestationVersion).toBe(300);
  });

  it("reads a BER boolean as true and flags it", () => {
    const rot = seq(octets([0]), bool(0x01), enumerated(2));
    const kd = parseKeyDescription(keyDescription([], [explicit(704, rot)]));
    expect(kd.hardwareEnforced.rootOfTrust).toMatchObject({ deviceLocked: true, verifiedBootState: "UNVERIFIED" });
    expect(kd.hardwareEnforced.rootOfTrust?.verifiedBootHash).toBeUndefined();
    expect(kd.nonDerBoolean).toBe(true);
  });

  it("rejects truncation, trailing bytes, garbage, wrong types and duplicate tags", () => {
    const good = keyDescription([explicit(709, appId)], [explicit(702, int(0))]);
    for (let cut = 0; cut < good.length; cut++) malformed(good.subarray(0, cut));
    malformed(new Uint8Array([...good, 0]));
    malformed(new TextEncoder().encode("garbage"));
    malformed(new Uint8Array([0x30, 0x80, 0x00, 0x00])); // indefinite length
    malformed(keyDescription([], [explicit(702, octets("0"))])); // origin must be an INTEGER
    malformed(keyDescription([], [explicit(1, int(2))])); // purposes must be a SET
    malformed(keyDescription([], [explicit(702, int(0)), explicit(702, int(0))]));
    malformed(keyDescription([], [explicit(704, seq(octets([0]), bool(0xff), enumerated(9)))])); // unknown boot state
    malformed(keyDescription([explicit(709, octets("not DER"))], []));
    malformed(keyDescription([], [int(1)])); // not a context tag
    malformed(new Uint8Array(seq(int(3), enumerated(1), int(4))));
    malformed(new Uint8Array(seq(int(3), enumerated(7), int(4), enumerated(1), octets(""), octets(""), seq(), seq()))); // unknown level
  });

  it("parses a real ML-DSA KeyDescription (tag 11) that strict schema parsers refuse", () => {
    const leaf = parseDerCertificate(pemToDer(tokay)[0]!);
    const kd = parseKeyDescription(leaf.extension(KEY_DESCRIPTION_OID)!.value);
    expect(kd.attestationVersion).toBe(500);
    expect(kd.hardwareEnforced.mlDsaVariant).toBe(1);
    expect(kd.hardwareEnforced.algorithms).toBe(4);
  });

  it("parseAttestationApplicationId accepts several packages and digests", () => {
    const der = seq(set(seq(octets("a"), int(1)), seq(octets("b"), int(2))), set(octets([1]), octets([2])));
    expect(parseAttestationApplicationId(new Uint8Array(der))).toEqual({
      packages: [
        { name: "a", version: 1 },
        { name: "b", version: 2 },
      ],
      signatures: [new Uint8Array([1]), new Uint8Array([2])],
    });
  });
});
