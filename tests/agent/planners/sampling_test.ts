import assert from "node:assert/strict";
import { sampleClipped, shiftPlan } from "../../../agent/planners/sampling.ts";
import { Rng } from "../../../lib/rng.ts";

Deno.test("shiftPlan() drops executed steps and pads with zeros", () => {
  assert.deepEqual([...shiftPlan(Float32Array.of(1, 2, 3, 4, 5, 6), 2, 1)], [3, 4, 5, 6, 0, 0]);
  assert.deepEqual([...shiftPlan(Float32Array.of(1, 2), 2, 5)], [0, 0], "executing past the horizon leaves zeros");
});

Deno.test("sampleClipped(): the first sample is the mean, the rest have its spread, all within bounds", () => {
  const N = 4000, dim = 2, mu = Float32Array.of(0.5, -0.2, 0, 0), batch = new Float32Array(N * mu.length);
  sampleClipped(batch, mu, Float32Array.of(0.1, 0.1, 1, 1), N, dim, {}, new Rng(3));
  assert.deepEqual([...batch.subarray(0, 4)], [...mu]);
  for (const [j, want] of [[0, 0.1], [3, 1]] as const) {
    const xs = Array.from({ length: N - 1 }, (_, n) => batch[(n + 1) * 4 + j]);
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
    assert.ok(Math.abs(m - mu[j]) < 0.05 * want + 0.01, `column ${j}: mean ${m}`);
    assert.ok(Math.abs(sd - want) < 0.05 * want, `column ${j}: sd ${sd}, want ${want}`);
  }
  // A scalar sigma and per-step bounds: every number is clipped into its dimension's range.
  sampleClipped(batch, mu, 2, N, dim, { low: [-0.5, 0], high: [0.25, 0.1] }, new Rng(4));
  for (let i = 0; i < batch.length; i++) {
    const d = i % dim;
    const lo = Math.fround([-0.5, 0][d]), hi = Math.fround([0.25, 0.1][d]); // the batch is float32
    assert.ok(batch[i] >= lo && batch[i] <= hi, `value ${batch[i]} at ${i}`);
  }
});

Deno.test("sampleClipped() is deterministic for a seed", () => {
  const draw = () => {
    const b = new Float32Array(30);
    sampleClipped(b, new Float32Array(3), 1, 10, 3, {}, new Rng(9));
    return b;
  };
  assert.deepEqual(draw(), draw());
});
