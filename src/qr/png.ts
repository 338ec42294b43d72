/**
 * QR codes as PNG data URIs, for out-of-band dispatch (`png-qr-code`) and enrollment (`qrCode.dataUri`).
 * The module matrix comes from `uqr`; the PNG is written here: 1-bit greyscale, one IDAT compressed with
 * the platform's zlib (`CompressionStream("deflate")` is the zlib format PNG needs, RFC 1950).
 * PNG: https://www.w3.org/TR/png-3/ (chunks, CRC-32, filter type 0 per scanline).
 */
import { encode } from "uqr";
import { bufferSource, concatBytes, toBase64 } from "../bytes";

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function zlib(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bufferSource(bytes)]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A black-on-white 1-bit PNG of `modules` (true = dark), each module `scale` pixels square. */
export async function pngOfModules(modules: readonly (readonly boolean[])[], scale: number): Promise<Uint8Array> {
  const side = modules.length * scale;
  const rowBytes = Math.ceil(side / 8);
  const raw = new Uint8Array((rowBytes + 1) * side);
  for (let y = 0; y < side; y++) {
    const row = modules[Math.floor(y / scale)]!;
    const offset = y * (rowBytes + 1) + 1; // filter byte 0 (None) first
    for (let x = 0; x < side; x++) {
      // Greyscale bit 1 is white; dark modules stay 0.
      if (!row[Math.floor(x / scale)]) raw[offset + (x >> 3)]! |= 0x80 >> (x & 7);
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, side);
  view.setUint32(4, side);
  header.set([1, 0, 0, 0, 0], 8); // bit depth 1, greyscale, deflate, filter method 0, no interlace
  return concatBytes(
    SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", await zlib(raw)),
    chunk("IEND", new Uint8Array(0)),
  );
}

export interface QrCodeImage {
  readonly type: "image/png";
  /** Width and height in pixels. */
  readonly size: number;
  readonly dataUri: string;
}

/** `text` as a QR code PNG (error correction M, 4-module quiet zone), the whole-pixel module size nearest `size` pixels wide. */
export async function qrCodePng(text: string, size: number): Promise<QrCodeImage> {
  const { data } = encode(text, { ecc: "M", border: 4 });
  const scale = Math.max(1, Math.round(size / data.length));
  const png = await pngOfModules(data, scale);
  return { type: "image/png", size: data.length * scale, dataUri: `data:image/png;base64,${toBase64(png)}` };
}
