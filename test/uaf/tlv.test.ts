/**
 * The strict UAF TLV parser: structure, raw bytes with headers, every bound, and the field layout
 * checks (unexpected, duplicate, out-of-order, missing tags; fixed lengths).
 */
import { describe, expect, it } from "vitest";
import {
  fixedLength,
  MAX_TLV_DEPTH,
  parseTlv,
  readFields,
  TAG,
  u16 as readU16,
  u32 as readU32,
} from "../../src/uaf/tlv";
import { concat, T, tlv, u16, u32 } from "./helpers";

const leafA = tlv(T.AAID, new TextEncoder().encode("F1D0#0001"));
const leafB = tlv(T.KEYID, new Uint8Array([1, 2, 3]));
const krd = tlv(T.UAFV1_KRD, [leafA, leafB]);
const root = tlv(T.UAFV1_REG_ASSERTION, [
  krd,
  tlv(T.ATTESTATION_BASIC_SURROGATE, tlv(T.SIGNATURE, new Uint8Array(64).fill(7))),
]);

describe("parseTlv", () => {
  it("parses nested composites and keeps each element's raw bytes, header included", () => {
    const parsed = parseTlv(root);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const top = parsed.value;
    expect(top.tag).toBe(TAG.REG_ASSERTION);
    expect(top.raw).toEqual(root);
    expect(top.children.map((child) => child.tag)).toEqual([TAG.KRD, TAG.ATTESTATION_BASIC_SURROGATE]);
    const krdElement = top.children[0]!;
    expect(krdElement.raw).toEqual(krd);
    expect(krdElement.raw.subarray(0, 4)).toEqual(concat(u16(T.UAFV1_KRD), u16(krd.length - 4)));
    expect(krdElement.children[0]!.value).toEqual(new TextEncoder().encode("F1D0#0001"));
    expect(krdElement.children[1]!.value).toEqual(new Uint8Array([1, 2, 3]));
    expect(krdElement.children[1]!.children).toEqual([]);
  });

  it("accepts a zero-length primitive and an empty composite", () => {
    const parsed = parseTlv(
      tlv(T.UAFV1_SIGNED_DATA, [tlv(T.TRANSACTION_CONTENT_HASH, new Uint8Array(0)), tlv(T.EXTENSION_NON_CRITICAL, [])]),
    );
    expect(parsed.ok && parsed.value.children.map((c) => c.value.length)).toEqual([0, 0]);
  });

  it("refuses a truncation at every point with tlv_truncated", () => {
    for (const length of [0, 1, 3, 4, 5, 8, krd.length, root.length - 65, root.length - 1]) {
      const result = parseTlv(root.subarray(0, length));
      expect(result, `cut at ${length}`).toMatchObject({ ok: false, reason: "tlv_truncated" });
    }
  });

  it("refuses a child whose length runs past its parent (bounded by the enclosing buffer)", () => {
    const lying = tlv(T.UAFV1_KRD, [leafA, tlv(T.KEYID, new Uint8Array([1, 2, 3]), 4)]);
    expect(parseTlv(lying)).toMatchObject({
      ok: false,
      reason: "tlv_truncated",
      detail: { tag: "0x2e09", length: 4, available: 3 },
    });
  });

  it("refuses a child header cut short inside its parent", () => {
    const inner = concat(leafA, new Uint8Array([0x09, 0x2e]));
    expect(parseTlv(tlv(T.UAFV1_KRD, inner))).toMatchObject({ ok: false, reason: "tlv_truncated" });
  });

  it("refuses bytes after the root with tlv_trailing_bytes", () => {
    expect(parseTlv(concat(root, new Uint8Array([0])))).toMatchObject({
      ok: false,
      reason: "tlv_trailing_bytes",
      detail: { count: 1 },
    });
    expect(parseTlv(concat(root, root))).toMatchObject({ ok: false, reason: "tlv_trailing_bytes" });
  });

  it("refuses composites nested deeper than the limit, accepts the limit", () => {
    const nest = (levels: number): Uint8Array => {
      let element = tlv(T.EXTENSION_ID, new Uint8Array([1]));
      for (let i = 0; i < levels; i++) element = tlv(T.EXTENSION_NON_CRITICAL, element);
      return element;
    };
    expect(parseTlv(nest(MAX_TLV_DEPTH)).ok).toBe(true);
    expect(parseTlv(nest(MAX_TLV_DEPTH + 1))).toMatchObject({ ok: false, reason: "tlv_too_deep" });
  });

  it("reads little-endian tags and lengths (a big-endian reading would not parse)", () => {
    const bytes = new Uint8Array([0x0b, 0x2e, 0x02, 0x00, 0xaa, 0xbb]);
    expect(parseTlv(bytes)).toMatchObject({ ok: true, value: { tag: 0x2e0b, value: new Uint8Array([0xaa, 0xbb]) } });
    expect(readU16(new Uint8Array([0x34, 0x12]), 0)).toBe(0x1234);
    expect(readU32(u32(0xfedcba98), 0)).toBe(0xfedcba98);
  });
});

describe("readFields", () => {
  const layout = [{ tag: TAG.AAID }, { tag: TAG.KEYID }, { tag: TAG.ATTESTATION_CERT, min: 0, max: 3 }];
  const parent = (...children: Uint8Array[]) => {
    const parsed = parseTlv(tlv(T.UAFV1_KRD, children));
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  };
  const cert = tlv(T.ATTESTATION_CERT, new Uint8Array([0x30]));

  it("returns the fields of a composite laid out as expected", () => {
    const fields = readFields(parent(leafA, leafB, cert, cert), layout);
    expect(fields.ok).toBe(true);
    if (!fields.ok) return;
    expect(fields.value.one(TAG.KEYID)!.value).toEqual(new Uint8Array([1, 2, 3]));
    expect(fields.value.all(TAG.ATTESTATION_CERT)).toHaveLength(2);
    expect(fields.value.one(TAG.PUB_KEY)).toBeUndefined();
  });

  it("names each layout violation precisely", () => {
    expect(readFields(parent(leafA, tlv(T.PUB_KEY, new Uint8Array(1)), leafB), layout)).toMatchObject({
      ok: false,
      reason: "tlv_unexpected_tag",
      detail: { tag: "0x2e0c" },
    });
    expect(readFields(parent(leafA, leafA, leafB), layout)).toMatchObject({
      ok: false,
      reason: "tlv_duplicate_tag",
      detail: { tag: "0x2e0b" },
    });
    expect(readFields(parent(leafA, leafB, leafA), layout)).toMatchObject({ ok: false, reason: "tlv_duplicate_tag" });
    expect(readFields(parent(leafB, leafA), layout)).toMatchObject({
      ok: false,
      reason: "tlv_out_of_order",
      detail: { tag: "0x2e0b" },
    });
    expect(readFields(parent(leafA), layout)).toMatchObject({
      ok: false,
      reason: "tlv_missing_tag",
      detail: { tag: "0x2e09" },
    });
    expect(readFields(parent(leafA, leafB, cert, cert, cert, cert), layout)).toMatchObject({
      ok: false,
      reason: "tlv_duplicate_tag",
      detail: { tag: "0x2e05" },
    });
  });

  it("treats alternative tags as one slot", () => {
    const alternatives = [{ tag: [TAG.ATTESTATION_BASIC_FULL, TAG.ATTESTATION_BASIC_SURROGATE] }];
    const full = tlv(T.ATTESTATION_BASIC_FULL, []);
    const surrogate = tlv(T.ATTESTATION_BASIC_SURROGATE, []);
    expect(readFields(parent(surrogate), alternatives).ok).toBe(true);
    expect(readFields(parent(full, surrogate), alternatives)).toMatchObject({ ok: false, reason: "tlv_duplicate_tag" });
    expect(readFields(parent(), alternatives)).toMatchObject({
      ok: false,
      reason: "tlv_missing_tag",
      detail: { tag: "0x3e07|0x3e08" },
    });
  });
});

describe("fixedLength", () => {
  it("accepts exactly the length and names the tag and lengths otherwise", () => {
    const parsed = parseTlv(tlv(T.COUNTERS, new Uint8Array(7)));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(fixedLength(parsed.value, 7).ok).toBe(true);
    expect(fixedLength(parsed.value, 8)).toMatchObject({
      ok: false,
      reason: "tlv_bad_length",
      detail: { tag: "0x2e0d", expected: 8, actual: 7 },
    });
  });
});
