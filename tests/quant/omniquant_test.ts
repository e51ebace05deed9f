// OmniQuant (Shao et al. 2024) on known layers: learned clipping beats round to nearest on heavy-tailed
// weights, and with activation quantization the learned scale and shift beat SmoothQuant's fixed ones on
// inputs with outlier channels and offsets; the graph-side bookkeeping ((X - d) / s, + d W) is exact.
import assert from "node:assert/strict";
import { type ActSpec, calibrateActivation, fakeQuantActivations } from "../../quant/activations.ts";
import { matmul, matrix, relOutputError, scaleColumns, shiftColumns } from "../../quant/matrix.ts";
import { METHODS } from "../../quant/methods.ts";
import { omniquant } from "../../quant/omniquant.ts";
import { dequantize, quantizeWeight, type WeightSpec } from "../../quant/quantizer.ts";
import { smoothQuant } from "../../quant/smoothquant.ts";
import { QuantError } from "../../quant/quant_error.ts";
import { Rng } from "../../lib/rng.ts";

/** A layer with heavy-tailed weights (a few large ones stretch every range) and ordinary inputs. */
function heavyTailed(seed: number, K = 32, N = 16, M = 128) {
  const rng = new Rng(seed);
  const w = matrix(Float32Array.from({ length: K * N }, () => rng.normal() * (rng.uniform() < 0.03 ? 6 : 1)), K, N);
  const x = matrix(Float32Array.from({ length: M * K }, () => rng.normal()), M, K);
  return { w, x };
}

/** Inputs with outlier channels and per-channel offsets (what a LayerNorm's beta leaves). */
function outlierInputs(seed: number, K = 32, N = 16, M = 128) {
  const rng = new Rng(seed);
  const w = matrix(Float32Array.from({ length: K * N }, () => rng.normal()), K, N);
  const gain = Array.from({ length: K }, (_, k) => (k % 8 === 0 ? 15 : 1)),
    off = Array.from({ length: K }, () => 3 * rng.normal());
  const x = matrix(Float32Array.from({ length: M * K }, (_, i) => off[i % K] + gain[i % K] * rng.normal()), M, K);
  return { w, x };
}

/** What the rewritten graph computes for a result: Q_a((X - d) * scale) Q_w + d W, against X W. */
function graphError(
  x: ReturnType<typeof heavyTailed>["x"],
  w: ReturnType<typeof heavyTailed>["w"],
  r: ReturnType<typeof omniquant>,
  act?: ActSpec,
) {
  let xs = r.inputScale ? scaleColumns(shiftColumns(x, r.inputShift), r.inputScale) : x;
  if (act) {
    xs = fakeQuantActivations(xs, act, act.mode === "per-tensor" ? calibrateActivation(xs, act.bits) : undefined);
  }
  const c = r.inputShift ? matmul({ data: r.inputShift, rows: 1, cols: x.cols }, w).data : undefined;
  return relOutputError(matmul(x, w), xs, dequantize(r.q), c);
}

Deno.test("omniquant(): learned clipping lowers the output error below round to nearest's (W3, per channel and G16)", () => {
  for (
    const spec of [
      { bits: 3, granularity: "channel", symmetric: false },
      { bits: 3, granularity: "group", group: 16, symmetric: false },
      { bits: 4, granularity: "channel", symmetric: true },
    ] as WeightSpec[]
  ) {
    for (const seed of [1, 2]) {
      const { w, x } = heavyTailed(seed);
      const rtn = relOutputError(matmul(x, w), x, dequantize(quantizeWeight(w, spec)));
      const r = omniquant(w, x, spec);
      const err = graphError(x, w, r);
      assert.ok(err < 0.95 * rtn, `${JSON.stringify(spec)} seed ${seed}: OmniQuant ${err} vs RTN ${rtn}`);
      assert.ok(r.loss.best <= r.loss.start && r.loss.best < r.loss.rtn);
      assert.equal(r.inputScale, undefined, "weight-only: no LET");
    }
  }
});

Deno.test("omniquant(): with W4A4 activations its learned scale and shift beat SmoothQuant on outlier inputs", () => {
  const spec: WeightSpec = { bits: 4, granularity: "channel", symmetric: false };
  const act: ActSpec = { bits: 4, mode: "per-tensor" };
  for (const seed of [3, 4]) {
    const { w, x } = outlierInputs(seed);
    const sq = smoothQuant(w, x, spec);
    const sqErr = graphError(x, w, { q: sq.q, inputScale: sq.inputScale, loss: { start: 0, best: 0, rtn: 0 } }, act);
    const r = omniquant(w, x, spec, act);
    assert.ok(r.inputScale && r.inputShift, "LET learned a scale and a shift");
    const err = graphError(x, w, r, act);
    assert.ok(err < 0.9 * sqErr, `seed ${seed}: OmniQuant ${err} vs SmoothQuant ${sqErr}`);
  }
});

Deno.test("omniquant(): deterministic, never worse than round to nearest, and bad options name their flag", () => {
  const { w, x } = heavyTailed(7, 16, 8, 64);
  const spec: WeightSpec = { bits: 4, granularity: "channel", symmetric: false };
  const a = omniquant(w, x, spec), b = omniquant(w, x, spec);
  assert.deepEqual(a.q.codes, b.q.codes);
  assert.deepEqual(a.q.scales, b.q.scales);
  // No steps at all: the start point, or round to nearest if that is better; never worse than it.
  const none = omniquant(w, x, spec, undefined, { iterations: 0 });
  assert.ok(graphError(x, w, none) <= relOutputError(matmul(x, w), x, dequantize(quantizeWeight(w, spec))) + 1e-12);
  const m = METHODS.omniquant;
  assert.deepEqual(m.options({}), { iterations: 60, lwc_lr: 0.05, let_lr: 0.01, rows: 512 });
  assert.throws(
    () => m.options({ iterations: -1 }),
    (e: Error) => e instanceof QuantError && /--iterations/.test(e.message),
  );
  assert.throws(() => m.options({ lwcLr: 0 }), /--lwc-lr/);
  assert.throws(() => m.options({ letLr: Number.NaN }), /--let-lr/);
  assert.throws(() => m.options({ rows: 2 }), /--rows/);
});
