/**
 * Just enough of PNG (W3C PNG, third edition) to read the server's QR codes and Chromium's screenshots:
 * not interlaced, greyscale at any bit depth, or 8-bit RGB, grey with alpha, RGBA. The pixels come back
 * as RGBA, the form jsQR reads. Runs in workerd and in Node 22 (DecompressionStream, no node: modules).
 */
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undo the per-scanline filters (types 0-4). */
function unfilter(data: Uint8Array, lineBytes: number, height: number, bpp: number): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let previous = new Uint8Array(lineBytes);
  for (let y = 0; y < height; y++) {
    const start = y * (lineBytes + 1);
    const type = data[start]!;
    const line = data.slice(start + 1, start + 1 + lineBytes);
    for (let i = 0; i < lineBytes; i++) {
      const left = i >= bpp ? line[i - bpp]! : 0;
      const up = previous[i]!;
      const upLeft = i >= bpp ? previous[i - bpp]! : 0;
      const add =
        type === 0
          ? 0
          : type === 1
            ? left
            : type === 2
              ? up
              : type === 3
                ? (left + up) >> 1
                : type === 4
                  ? paeth(left, up, upLeft)
                  : NaN;
      if (Number.isNaN(add)) throw new Error(`PNG filter type ${type}`);
      line[i] = (line[i]! + add) & 0xff;
    }
    lines.push(line);
    previous = line;
  }
  return lines;
}

/** A non-interlaced greyscale (any bit depth), RGB, grey+alpha or RGBA (8-bit) PNG as RGBA pixels. */
export async function pngToRgba(png: Uint8Array): Promise<{ width: number; height: number; rgba: Uint8ClampedArray }> {
  if (!PNG_SIGNATURE.every((byte, i) => png[i] === byte)) throw new Error("not a PNG");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let at = 8;
  let header: { width: number; height: number; depth: number; color: number; interlace: number } | undefined;
  const idat: Uint8Array[] = [];
  while (at < png.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === "IHDR")
      header = {
        width: view.getUint32(at + 8),
        height: view.getUint32(at + 12),
        depth: data[8]!,
        color: data[9]!,
        interlace: data[12]!,
      };
    if (type === "IDAT") idat.push(data);
    if (type === "IEND") break;
    at += 12 + length;
  }
  if (header?.interlace !== 0 || CHANNELS[header.color] === undefined || (header.color !== 0 && header.depth !== 8))
    throw new Error(`unsupported PNG ${JSON.stringify(header)}`);
  const { width, height, depth, color } = header;
  const channels = CHANNELS[color]!;
  const bitsPerPixel = depth * channels;
  const lines = unfilter(
    await inflate(new Uint8Array(await new Blob(idat.map((part) => part.slice())).arrayBuffer())),
    Math.ceil((width * bitsPerPixel) / 8),
    height,
    Math.max(1, bitsPerPixel >> 3),
  );
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const line = lines[y]!;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (color === 0) {
        const bit = x * depth;
        const sample = (line[bit >> 3]! >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
        const grey = Math.round((sample * 255) / ((1 << depth) - 1));
        rgba.set([grey, grey, grey, 255], o);
      } else {
        const p = x * channels;
        const [r, g, b, a] =
          color === 2
            ? [line[p]!, line[p + 1]!, line[p + 2]!, 255]
            : color === 4
              ? [line[p]!, line[p]!, line[p]!, line[p + 1]!]
              : [line[p]!, line[p + 1]!, line[p + 2]!, line[p + 3]!];
        rgba.set([r, g, b, a], o);
      }
    }
  }
  return { width, height, rgba };
}
