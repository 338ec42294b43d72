/**
 * A minimal, strict DER reader: the exact byte ranges of tag-length-value elements, so that signed bytes
 * are never re-serialized and wire encodings are checked as sent. Truncation, indefinite or non-minimal
 * lengths and trailing bytes are refused (`null`), never guessed at.
 *
 * Whole structures that @peculiar/asn1-x509 and friends describe (a Certificate, RSASSA-PSS parameters)
 * are parsed with those schemas; this reader serves where the exact bytes matter (the TBS a signature
 * covers, a canonical ECDSA signature) or where a schema would refuse what real devices send (Android's
 * KeyDescription). It also writes the few elements that are re-encoded for comparison.
 */

export interface Tlv {
  /** First identifier octet (class, constructed bit and low tag number). */
  readonly tagByte: number;
  /** Tag number (high-tag-number form decoded). */
  readonly tagNumber: number;
  readonly tagClass: "universal" | "application" | "context" | "private";
  readonly constructed: boolean;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the content. */
  readonly end: number;
}

const CLASSES = ["universal", "application", "context", "private"] as const;

/**
 * Read one DER TLV at `offset` that must end at or before `limit`. Returns null on truncation,
 * indefinite length, non-minimal lengths or absurd tag numbers.
 */
export function readTlv(bytes: Uint8Array, offset: number, limit = bytes.length): Tlv | null {
  let i = offset;
  if (i >= limit) return null;
  const tagByte = bytes[i++]!;
  let tagNumber = tagByte & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    for (let n = 0; ; n++) {
      if (i >= limit || n >= 4) return null;
      const b = bytes[i++]!;
      if (n === 0 && b === 0x80) return null; // non-minimal
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (i >= limit) return null;
  const first = bytes[i++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0 || count > 4 || i + count > limit) return null; // indefinite or too long
    if (bytes[i] === 0) return null; // non-minimal
    length = 0;
    for (let k = 0; k < count; k++) length = length * 256 + bytes[i++]!;
    if (length < 0x80) return null; // non-minimal
  }
  const end = i + length;
  if (end > limit) return null;
  return {
    tagByte,
    tagNumber,
    tagClass: CLASSES[tagByte >> 6]!,
    constructed: (tagByte & 0x20) !== 0,
    start: offset,
    contentStart: i,
    end,
  };
}

/** The one TLV that spans all of `bytes` (with identifier octet `tagByte`, when given); null otherwise. */
export function readWhole(bytes: Uint8Array, tagByte?: number): Tlv | null {
  const tlv = readTlv(bytes, 0);
  if (!tlv || tlv.end !== bytes.length || (tagByte !== undefined && tlv.tagByte !== tagByte)) return null;
  return tlv;
}

/** The TLVs directly inside a constructed TLV; null if its content is not exactly a series of TLVs. */
export function readChildren(bytes: Uint8Array, parent: Tlv): Tlv[] | null {
  const children: Tlv[] = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    const child = readTlv(bytes, offset, parent.end);
    if (!child) return null;
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** The content octets of `tlv` (a view into `bytes`). */
export function contentOf(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.contentStart, tlv.end);
}

/** The dotted form of an OBJECT IDENTIFIER TLV; null when `tlv` is not one. */
export function decodeOid(bytes: Uint8Array, tlv: Tlv): string | null {
  if (tlv.tagByte !== 0x06 || tlv.end === tlv.contentStart) return null;
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.contentStart; i < tlv.end; i++) {
    value = value * 128 + (bytes[i]! & 0x7f);
    if ((bytes[i]! & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift();
  if (first === undefined) return null;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...parts].join(".");
}

function encodeLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** The DER encoding of one element with a low tag number: identifier octet, minimal length, content. */
export function encodeTlv(tagByte: number, content: Uint8Array): Uint8Array {
  return new Uint8Array([tagByte, ...encodeLength(content.length), ...content]);
}
