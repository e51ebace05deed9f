/** Test helpers. */
import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { encodePng } from "../lib/png.ts";

/**
 * Assert two byte or number arrays are equal, reporting the first difference.
 * (node's deepEqual builds a full diff of large typed arrays, which can
 * exhaust memory.)
 */
export function assertSameArray(a: ArrayLike<number>, b: ArrayLike<number>, what = "arrays"): void {
  assert.equal(a.length, b.length, `${what}: lengths ${a.length} and ${b.length} differ`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
      assert.fail(`${what}: first difference at index ${i}: ${a[i]} vs ${b[i]}`);
    }
  }
}

/** Toy planning problem for the sampling planners: squared distance of a [5 x 2] sequence to a fixed target. */
export const TOY_TARGET = Float32Array.from({ length: 10 }, (_, i) => Math.sin(i) * 0.8);
export function toyQuadratic(batch: Float32Array, n: number): Float64Array {
  const J = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < 10; j++) J[i] += (batch[i * 10 + j] - TOY_TARGET[j]) ** 2;
  return J;
}

/** A PNG whose 64x64 RGB header hides `rawBytes` of compressed zeros (a decompression bomb). */
export function pngBomb(rawBytes: number): Uint8Array {
  const small = encodePng(new Uint8Array(64 * 64 * 3), 64, 64);
  const idat = new Uint8Array(deflateSync(new Uint8Array(rawBytes), { level: 9 }));
  const ihdr = small.subarray(8, 8 + 25); // length, type, 13 data bytes, CRC: copied as is
  const chunk = (type: string, data: Uint8Array) => {
    const c = new Uint8Array(12 + data.length), dv = new DataView(c.buffer);
    dv.setUint32(0, data.length);
    for (let i = 0; i < 4; i++) c[4 + i] = type.charCodeAt(i);
    c.set(data, 8);
    let crc = 0xffffffff;
    for (const byte of c.subarray(4, 8 + data.length)) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    }
    dv.setUint32(8 + data.length, (crc ^ 0xffffffff) >>> 0);
    return c;
  };
  const parts = [small.subarray(0, 8), ihdr, chunk("IDAT", idat), chunk("IEND", new Uint8Array())];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
