import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { decodePng, encodePng, PngError } from "../../lib/png.ts";
import { Rng } from "../../lib/rng.ts";
import { pngBomb } from "../_helpers.ts";

function randomImage(w: number, h: number, seed: number): Uint8Array {
  const r = new Rng(seed);
  return Uint8Array.from({ length: w * h * 3 }, () => r.int(256));
}

Deno.test("decodePng(encodePng(x)) returns x", () => {
  const img = randomImage(17, 9, 1);
  const d = decodePng(encodePng(img, 17, 9));
  assert.equal(d.width, 17);
  assert.equal(d.height, 9);
  assert.deepEqual(d.rgb, img);
});

Deno.test("decodePng() undoes every PNG row filter and drops alpha", () => {
  // Hand-build an RGBA PNG whose rows use filters 0..4.
  const w = 5, h = 5, ch = 4;
  const px = randomImage(w * ch, h, 2).subarray(0, w * h * ch);
  const raw = new Uint8Array(h * (1 + w * ch));
  for (let y = 0; y < h; y++) {
    const f = y % 5;
    raw[y * (1 + w * ch)] = f;
    for (let i = 0; i < w * ch; i++) {
      const x = px[y * w * ch + i];
      const a = i >= ch ? px[y * w * ch + i - ch] : 0;
      const b = y > 0 ? px[(y - 1) * w * ch + i] : 0;
      const c = i >= ch && y > 0 ? px[(y - 1) * w * ch + i - ch] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f];
      raw[y * (1 + w * ch) + 1 + i] = (x - pred) & 0xff;
    }
  }
  const rgbPng = encodePng(new Uint8Array(w * h * 3), w, h);
  // Splice: reuse the encoder's framing, swap IHDR colour type and IDAT body.
  const idat = new Uint8Array(deflateSync(raw));
  const build = (type: string, data: Uint8Array) => {
    const c = new Uint8Array(12 + data.length);
    new DataView(c.buffer).setUint32(0, data.length);
    c.set(new TextEncoder().encode(type), 4);
    c.set(data, 8);
    let crc = 0xffffffff;
    for (const byte of c.subarray(4, 8 + data.length)) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    }
    new DataView(c.buffer).setUint32(8 + data.length, (crc ^ 0xffffffff) >>> 0);
    return c;
  };
  const ihdr = rgbPng.slice(16, 29);
  ihdr[9] = 6;
  const parts = [rgbPng.subarray(0, 8), build("IHDR", ihdr), build("IDAT", idat), build("IEND", new Uint8Array())];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    png.set(p, o);
    o += p.length;
  }
  const d = decodePng(png);
  for (let i = 0; i < w * h; i++) {
    assert.deepEqual([...d.rgb.subarray(i * 3, i * 3 + 3)], [...px.subarray(i * 4, i * 4 + 3)]);
  }
});

Deno.test("decodePng() refuses non-PNG, truncated and corrupt files with PngError", () => {
  const png = encodePng(randomImage(8, 8, 3), 8, 8);
  assert.throws(() => decodePng(new TextEncoder().encode("hello world, not a png")), PngError);
  assert.throws(() => decodePng(png.subarray(0, png.length - 20)), /truncated/);
  const bad = png.slice();
  bad[40] ^= 0xff;
  assert.throws(() => decodePng(bad), /CRC|corrupt/);
});

Deno.test("decodePng() never inflates past the header's size: a PNG bomb is refused without the allocation", () => {
  const bomb = pngBomb(50_000_000);
  assert.ok(bomb.length < 100_000, `the bomb is small on the wire (${bomb.length} bytes)`);
  const before = Deno.memoryUsage().rss;
  assert.throws(() => decodePng(bomb), /inflates past the 64x64 the header declares/);
  const grew = Deno.memoryUsage().rss - before;
  assert.ok(grew < 20e6, `RSS grew ${(grew / 1e6).toFixed(1)} MB`);
});

Deno.test("decodePng(bytes, expect): another size is refused from the header, before inflating", () => {
  const png = encodePng(randomImage(32, 16, 3), 32, 16);
  assert.throws(() => decodePng(png, { width: 64, height: 64 }), /image is 32x16; this model takes 64x64/);
  assert.equal(decodePng(png, { width: 32, height: 16 }).rgb.length, 32 * 16 * 3);
});
