/**
 * The strict UAF TLV parser ("UAFV1TLV" assertions; FIDO UAF Authenticator Commands v1.1 §3 and
 * Registry §3.1): UINT16 little-endian tag, UINT16 little-endian length, then the value. A tag with
 * bit 0x1000 set is composite: its value is itself a series of TLVs and is parsed recursively.
 *
 * Strict on purpose (signatures cover raw bytes, so two readings of the same bytes must be
 * impossible): every length is bounded by its enclosing buffer, a composite's children fill it
 * exactly, nothing may follow the root element, and composites nest at most MAX_TLV_DEPTH deep.
 * Each element keeps its raw bytes including the 4-byte header, because the UAF signatures cover
 * the whole KRD / SIGNED_DATA TLV, header included.
 *
 * `readFields` then checks one composite's children against a layout (which tags, how many, in
 * which order), so the assertion readers never look at an unexpected, repeated or misplaced tag.
 *
 * Pure: no I/O, no clock.
 */
import { fail, ok, type Result } from "../verifiers/result";

/** UAF TLV tags (FIDO UAF Registry of Predefined Values v1.1 §3.1). */
export const TAG = {
  REG_ASSERTION: 0x3e01,
  AUTH_ASSERTION: 0x3e02,
  KRD: 0x3e03,
  SIGNED_DATA: 0x3e04,
  ATTESTATION_CERT: 0x2e05,
  SIGNATURE: 0x2e06,
  ATTESTATION_BASIC_FULL: 0x3e07,
  ATTESTATION_BASIC_SURROGATE: 0x3e08,
  ATTESTATION_ECDAA: 0x3e09,
  KEYID: 0x2e09,
  FINAL_CHALLENGE_HASH: 0x2e0a,
  AAID: 0x2e0b,
  PUB_KEY: 0x2e0c,
  COUNTERS: 0x2e0d,
  ASSERTION_INFO: 0x2e0e,
  AUTHENTICATOR_NONCE: 0x2e0f,
  TRANSACTION_CONTENT_HASH: 0x2e10,
  EXTENSION: 0x3e11,
  EXTENSION_NON_CRITICAL: 0x3e12,
  EXTENSION_ID: 0x2e13,
  EXTENSION_DATA: 0x2e14,
} as const;

/** Bit that marks a composite tag. */
export const COMPOSITE = 0x1000;

/** Composite nesting limit. UAF assertions need 4 (assertion > KRD > extension > its fields). */
export const MAX_TLV_DEPTH = 6;

export type TlvReason =
  | "tlv_truncated"
  | "tlv_trailing_bytes"
  | "tlv_too_deep"
  | "tlv_unexpected_tag"
  | "tlv_duplicate_tag"
  | "tlv_out_of_order"
  | "tlv_missing_tag"
  | "tlv_bad_length";

export interface TlvElement {
  readonly tag: number;
  /** Offset of the tag in the buffer given to parseTlv. */
  readonly offset: number;
  /** The value (without the 4-byte header). */
  readonly value: Uint8Array;
  /** Header and value: the exact bytes a UAF signature covers. */
  readonly raw: Uint8Array;
  /** Parsed children of a composite tag; empty for a primitive one. */
  readonly children: readonly TlvElement[];
}

const hexTag = (tag: number): string => `0x${tag.toString(16).padStart(4, "0")}`;

type Parsed = Result<TlvElement[], TlvReason>;

/** Parse `bytes[start, end)` as a series of TLVs that fills it exactly. */
function parseSeries(bytes: Uint8Array, start: number, end: number, depth: number): Parsed {
  const elements: TlvElement[] = [];
  let offset = start;
  while (offset < end) {
    if (end - offset < 4) return fail("tlv_truncated", { offset, why: "incomplete header" });
    const tag = bytes[offset]! | (bytes[offset + 1]! << 8);
    const length = bytes[offset + 2]! | (bytes[offset + 3]! << 8);
    const valueStart = offset + 4;
    const valueEnd = valueStart + length;
    if (valueEnd > end) return fail("tlv_truncated", { offset, tag: hexTag(tag), length, available: end - valueStart });
    let children: TlvElement[] = [];
    if (tag & COMPOSITE) {
      if (depth >= MAX_TLV_DEPTH) return fail("tlv_too_deep", { offset, tag: hexTag(tag), limit: MAX_TLV_DEPTH });
      const inner = parseSeries(bytes, valueStart, valueEnd, depth + 1);
      if (!inner.ok) return inner;
      children = inner.value;
    }
    elements.push({
      tag,
      offset,
      value: bytes.subarray(valueStart, valueEnd),
      raw: bytes.subarray(offset, valueEnd),
      children,
    });
    offset = valueEnd;
  }
  return ok(elements);
}

/**
 * Parse exactly one root TLV element that spans all of `bytes` (an assertion). Nothing may follow
 * it: `tlv_trailing_bytes`.
 */
export function parseTlv(bytes: Uint8Array): Result<TlvElement, TlvReason> {
  if (bytes.length < 4) return fail("tlv_truncated", { offset: 0, why: "incomplete header" });
  const length = bytes[2]! | (bytes[3]! << 8);
  const rootEnd = 4 + length;
  if (rootEnd > bytes.length)
    return fail("tlv_truncated", {
      offset: 0,
      tag: hexTag(bytes[0]! | (bytes[1]! << 8)),
      length,
      available: bytes.length - 4,
    });
  if (rootEnd < bytes.length) return fail("tlv_trailing_bytes", { offset: rootEnd, count: bytes.length - rootEnd });
  const parsed = parseSeries(bytes, 0, rootEnd, 0);
  if (!parsed.ok) return parsed;
  return ok(parsed.value[0]!);
}

/** One slot of a composite's layout: one tag (or alternatives) and how many times it may occur. */
export interface FieldSpec {
  readonly tag: number | readonly number[];
  /** Default 1 (required). */
  readonly min?: number;
  /** Default 1. */
  readonly max?: number;
}

export interface Fields {
  /** The first element of the slot that contains `tag` (undefined when absent). */
  one(tag: number): TlvElement | undefined;
  /** Every element with `tag`, in order. */
  all(tag: number): readonly TlvElement[];
}

/**
 * Check `parent`'s children against `layout`: each child's tag must belong to a slot, slots appear
 * in layout order, each within its min..max. The UAF specs list the fields of each composite in a
 * fixed order and every known authenticator writes them that way, so a reordered assertion is
 * refused (`tlv_out_of_order`) rather than guessed at.
 */
export function readFields(parent: TlvElement, layout: readonly FieldSpec[]): Result<Fields, TlvReason> {
  const slotOf = (tag: number): number =>
    layout.findIndex((spec) => (typeof spec.tag === "number" ? spec.tag === tag : spec.tag.includes(tag)));
  const counts = layout.map(() => 0);
  let current = 0;
  for (const child of parent.children) {
    const slot = slotOf(child.tag);
    if (slot === -1)
      return fail("tlv_unexpected_tag", { parent: hexTag(parent.tag), tag: hexTag(child.tag), offset: child.offset });
    const max = layout[slot]!.max ?? 1;
    if (counts[slot]! >= max)
      return fail("tlv_duplicate_tag", { parent: hexTag(parent.tag), tag: hexTag(child.tag), offset: child.offset });
    if (slot < current)
      return fail("tlv_out_of_order", { parent: hexTag(parent.tag), tag: hexTag(child.tag), offset: child.offset });
    counts[slot]!++;
    current = slot;
  }
  for (const [slot, spec] of layout.entries()) {
    if (counts[slot]! < (spec.min ?? 1)) {
      const tags = typeof spec.tag === "number" ? [spec.tag] : spec.tag;
      return fail("tlv_missing_tag", { parent: hexTag(parent.tag), tag: tags.map(hexTag).join("|") });
    }
  }
  return ok({
    one: (tag) => parent.children.find((child) => child.tag === tag),
    all: (tag) => parent.children.filter((child) => child.tag === tag),
  });
}

/** A primitive field whose length is fixed by the spec; `tlv_bad_length` otherwise. */
export function fixedLength(element: TlvElement, length: number): Result<Uint8Array, TlvReason> {
  return element.value.length === length
    ? ok(element.value)
    : fail("tlv_bad_length", { tag: hexTag(element.tag), expected: length, actual: element.value.length });
}

/** Little-endian unsigned integers inside TLV values (callers have checked the length). */
export const u16 = (bytes: Uint8Array, at: number): number => bytes[at]! | (bytes[at + 1]! << 8);
export const u32 = (bytes: Uint8Array, at: number): number =>
  (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
