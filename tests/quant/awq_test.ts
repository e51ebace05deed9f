// AWQ (Lin et al. 2024) on a known layer: inputs with a few salient (large) channels, where scaling those
// channels' weights up before rounding protects them.
import assert from "node:assert/strict";
import { awq, AWQ_ALPHAS } from "../../quant/awq.ts";
import { matmul, matrix, relOutputError, scaleColumns } from "../../quant/matrix.ts";
import { dequantize, quantizeWeight, type WeightSpec } from "../../quant/quantizer.ts";
import { Rng } from "../../lib/rng.ts";

const W3: WeightSpec = { bits: 3, granularity: "group", group: 16, symmetric: false };

/** A layer whose inputs 0..3 are 20x larger than the rest (activation outliers, as AWQ observes). */
function salientLayer(seed: number) {
  const K = 32, N = 24, M = 128, rng = new Rng(seed);
  const w = matrix(Float32Array.from({ length: K * N }, () => rng.normal()), K, N);
  const x = matrix(Float32Array.from({ length: M * K }, (_, i) => (i % K < 4 ? 20 : 1) * rng.normal()), M, K);
  return { w, x };
}

/** What the quantized layer computes: (X / s) Q(diag(s) W), with AWQ's input scale applied to X. */
function awqError(w: ReturnType<typeof salientLayer>["w"], x: ReturnType<typeof salientLayer>["x"], clip: boolean) {
  const r = awq(w, x, W3, clip);
  return { r, err: relOutputError(matmul(x, w), scaleColumns(x, r.inputScale), dequantize(r.q)) };
}

Deno.test("awq(): on inputs with salient channels its output error is below RTN's, at an alpha above 0", () => {
  for (const seed of [1, 2, 3]) {
    const { w, x } = salientLayer(seed);
    const rtn = relOutputError(matmul(x, w), x, dequantize(quantizeWeight(w, W3)));
    const { r, err } = awqError(w, x, false);
    assert.ok(AWQ_ALPHAS.includes(r.alpha));
    assert.ok(r.alpha > 0, `seed ${seed}: alpha ${r.alpha} (0 is plain RTN)`);
    assert.ok(err < 0.8 * rtn, `seed ${seed}: AWQ ${err} vs RTN ${rtn}`);
    // The clip search is kept only where it helps: never worse than the scales alone.
    assert.ok(awqError(w, x, true).err <= err + 1e-12);
  }
});

Deno.test("awq(): the search never loses to RTN (alpha 0 is RTN), on inputs with no salient channel too", () => {
  const K = 16, N = 8, M = 64, rng = new Rng(5);
  const w = matrix(Float32Array.from({ length: K * N }, () => rng.normal()), K, N);
  const x = matrix(Float32Array.from({ length: M * K }, () => rng.normal()), M, K);
  const rtn = relOutputError(matmul(x, w), x, dequantize(quantizeWeight(w, W3)));
  assert.ok(awqError(w, x, false).err <= rtn + 1e-12);
  assert.deepEqual(awq(w, x, W3).q.codes, awq(w, x, W3).q.codes, "deterministic");
});
