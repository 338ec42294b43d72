/**
 * Byte views as WebCrypto takes them. TypeScript's DOM library (Deno's) types `BufferSource` as views of
 * an ArrayBuffer only, not of a SharedArrayBuffer; Workers' types do not make the distinction. The
 * server's byte arrays are all views of plain ArrayBuffers (parsed input, digests, encodings), so this
 * only states that to the type checker.
 */
export function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}
