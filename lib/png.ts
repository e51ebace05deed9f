/**
 * PNG encoding and decoding for 8-bit RGB / RGBA / grey images, on node:zlib.
 *
 * Decoding accepts what clients are likely to send (colour types 0, 2, 4, 6
 * at bit depth 8, non-interlaced) and returns RGB; anything else, or a
 * truncated or corrupt file, throws a `PngError` saying what is wrong.
 */
import { UserError } from "./errors.ts";
import { deflateSync, inflateSync } from "node:zlib";

export class PngError extends UserError {
  override name = "PngError";
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data and CRC. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encode RGB uint8 [height, width, 3] as PNG bytes. */
export function encodePng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  if (rgb.length !== width * height * 3) {
    throw new PngError(`expected ${width * height * 3} RGB bytes for ${width}x${height}, got ${rgb.length}`);
  }
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 3)] = 0; // filter: none
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [
    new Uint8Array(SIGNATURE),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", new Uint8Array(deflateSync(raw, { level: 9 }))),
    pngChunk("IEND", new Uint8Array(0)),
  ];
  return concatBytes(parts);
}

export interface DecodedImage {
  width: number;
  height: number;
  /** RGB uint8 [height, width, 3]. */
  rgb: Uint8Array;
}

/**
 * Decode a PNG into RGB; alpha is dropped, grey is expanded. With `expect`, a PNG of another size is
 * refused from its header, before anything is inflated; inflating never produces more than the
 * header's size promises, so a small file cannot unpack into a large allocation.
 */
export function decodePng(bytes: Uint8Array, expect?: { width: number; height: number }): DecodedImage {
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== SIGNATURE[i]) throw new PngError("not a PNG file (bad signature)");
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 8;
  let width = 0, height = 0, colorType = -1;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (o + 12 <= bytes.length) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    if (o + 12 + len > bytes.length) throw new PngError(`truncated PNG: chunk ${type} runs past the end`);
    const data = bytes.subarray(o + 8, o + 8 + len);
    if (crc32(bytes.subarray(o + 4, o + 8 + len)) !== dv.getUint32(o + 8 + len)) {
      throw new PngError(`corrupt PNG: bad CRC in chunk ${type}`);
    }
    if (type === "IHDR") {
      const h = new DataView(data.buffer, data.byteOffset, data.byteLength);
      width = h.getUint32(0);
      height = h.getUint32(4);
      const depth = data[8];
      colorType = data[9];
      if (depth !== 8) throw new PngError(`unsupported PNG bit depth ${depth} (only 8)`);
      if (![0, 2, 4, 6].includes(colorType)) {
        throw new PngError(`unsupported PNG colour type ${colorType} (grey, RGB, grey+alpha, RGBA)`);
      }
      if (data[12] !== 0) throw new PngError("interlaced PNGs are not supported");
      if (width === 0 || height === 0 || width * height > 4096 * 4096) {
        throw new PngError(`unsupported PNG size ${width}x${height}`);
      }
      if (expect && (width !== expect.width || height !== expect.height)) {
        throw new PngError(`image is ${width}x${height}; this model takes ${expect.width}x${expect.height}`);
      }
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      ended = true;
      break;
    }
    o += 12 + len;
  }
  if (colorType < 0) throw new PngError("corrupt PNG: no IHDR chunk");
  if (!ended || idat.length === 0) throw new PngError("truncated PNG: missing image data or IEND");
  const ch = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType as 0 | 2 | 4 | 6];
  const stride = width * ch;
  let raw: Uint8Array;
  try {
    const all = new Uint8Array(idat.reduce((n, p) => n + p.length, 0));
    let p = 0;
    for (const d of idat) {
      all.set(d, p);
      p += d.length;
    }
    raw = new Uint8Array(inflateSync(all, { maxOutputLength: height * (stride + 1) }));
  } catch (e) {
    const msg = (e as Error).message;
    if (/larger than/.test(msg)) {
      throw new PngError(`image data inflates past the ${width}x${height} the header declares (refused)`);
    }
    throw new PngError(`corrupt PNG: image data does not inflate (${msg})`);
  }
  if (raw.length < height * (stride + 1)) throw new PngError("truncated PNG: too little image data");
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = px.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? px.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= ch ? cur[i - ch] : 0, b = prev[i], c = i >= ch ? prev[i - ch] : 0;
      let v: number;
      switch (f) {
        case 0:
          v = line[i];
          break;
        case 1:
          v = line[i] + a;
          break;
        case 2:
          v = line[i] + b;
          break;
        case 3:
          v = line[i] + ((a + b) >> 1);
          break;
        case 4: {
          const pp = a + b - c, pa = Math.abs(pp - a), pb = Math.abs(pp - b), pc = Math.abs(pp - c);
          v = line[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default:
          throw new PngError(`corrupt PNG: unknown filter ${f} on row ${y}`);
      }
      cur[i] = v & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    if (ch >= 3) {
      rgb[i * 3] = px[i * ch];
      rgb[i * 3 + 1] = px[i * ch + 1];
      rgb[i * 3 + 2] = px[i * ch + 2];
    } else {
      rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = px[i * ch];
    }
  }
  return { width, height, rgb };
}

/** The parts back to back in one array. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
