/**
 * Byte helpers: views as WebCrypto takes them, joining, and the text forms (base64, hex) logs and
 * stored records use. base64url lives in jose (and src/uaf/base64url.ts for UAF's wire rules).
 */

/**
 * TypeScript's DOM library (Deno's) types `BufferSource` as views of an ArrayBuffer only, not of a
 * SharedArrayBuffer; Workers' types do not make the distinction. The server's byte arrays are all views
 * of plain ArrayBuffers (parsed input, digests, encodings), so this only states that to the type checker.
 */
export function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

/** The parts, one after another, in a new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** base64 with the standard alphabet and padding (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The bytes of standard base64 text; throws (atob's error) when it is not base64. */
export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

/** Lower-case hex, two digits a byte. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
