import assert from "node:assert/strict";
import { decodePng } from "../../lib/png.ts";
import { filmstripPng, ring } from "../../tasks/filmstrip.ts";
import { toPixels } from "../../tasks/image_points.ts";
import { getTask } from "../../tasks/registry.ts";

const at = (rgb: Uint8Array, width: number, x: number, y: number) =>
  Array.from(rgb.subarray((y * width + x) * 3, (y * width + x) * 3 + 3));

Deno.test("ring draws a circle of the given radius and nothing at its centre", () => {
  const img = new Uint8Array(32 * 32 * 3);
  ring(img, 32, [16, 16], 6);
  assert.deepEqual(at(img, 32, 16 + 6, 16), [0, 170, 70]);
  assert.deepEqual(at(img, 32, 16, 16 - 7), [0, 170, 70]);
  assert.deepEqual(at(img, 32, 16, 16), [0, 0, 0]);
  assert.deepEqual(at(img, 32, 16 + 3, 16), [0, 0, 0]);
});

Deno.test("a wall filmstrip rings the goal on every frame and ends with the goal framed", () => {
  const wall = getTask("wall"), size = 64;
  const start = new Float64Array([10, 10]), goal = new Float64Array([50, 30]);
  const { rgb, width, height } = decodePng(filmstripPng(wall, [start, start], goal, true, size));
  assert.equal(height, size);
  assert.equal(width, 3 * size + 2 * 4, "two frames and the goal frame");
  const [gx, gy] = toPixels(wall, size, [50, 30]).map(Math.floor);
  for (const frame of [0, 1]) {
    const x0 = frame * (size + 4);
    // The ring passes the goal's left and right at its radius (size / 15, about 4 pixels).
    const hits = [-5, -4, -3, 3, 4, 5].filter((dx) => at(rgb, width, x0 + gx + dx, gy).join() === "0,170,70");
    assert.ok(hits.length >= 2, `frame ${frame}: the ring around the goal at (${gx}, ${gy})`);
  }
  assert.deepEqual(at(rgb, width, 2 * (size + 4), 0), [40, 190, 60], "the goal frame framed green on success");
});
