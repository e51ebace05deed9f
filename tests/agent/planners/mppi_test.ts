import assert from "node:assert/strict";
import { mppi, mppiWeights } from "../../../agent/planners/mppi.ts";
import { Rng } from "../../../lib/rng.ts";
import { TOY_TARGET, toyQuadratic } from "../../_helpers.ts";

const target = TOY_TARGET, quadratic = toyQuadratic;
const opts = { horizon: 5, samples: 200, iterations: 12, initStd: 1, temperature: 0.3 };

Deno.test("mppiWeights: a softmin over costs in units of their spread", () => {
  const J = Float64Array.of(1, 2, 3, NaN, 1);
  const w = mppiWeights(J, 0.5);
  assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.equal(w[3], 0, "NaN costs get no weight");
  assert.equal(w[0], w[4]);
  assert.ok(w[0] > w[1] && w[1] > w[2]);
  // Reference: std of [1, 2, 3, 1] is sqrt(0.6875); weight ratio of cost 1 to cost 2 is e^(1 / (0.5 std)).
  const std = Math.sqrt(0.6875);
  assert.ok(Math.abs(w[0] / w[1] - Math.exp(1 / (0.5 * std))) < 1e-9);
  // Scaling every cost leaves the weights unchanged (the temperature is scale-free).
  const w10 = mppiWeights(J.map((v) => v * 10), 0.5);
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(w10[i] - w[i]) < 1e-12);
  // Equal costs: uniform weights.
  assert.deepEqual(Array.from(mppiWeights(Float64Array.of(2, 2), 0.5)), [0.5, 0.5]);
});

Deno.test("mppi() converges to the minimum of a quadratic cost", async () => {
  const r = await mppi(quadratic, 2, opts, new Rng(0));
  const err = Math.max(...r.plan.map((v, j) => Math.abs(v - target[j])));
  assert.ok(err < 0.1, `max error ${err}`);
  assert.ok(r.history.at(-1)! < r.history[0], "best cost falls across iterations");
});

Deno.test("mppi() is seeded, keeps samples in bounds and starts from the warm start", async () => {
  const a = await mppi(quadratic, 2, opts, new Rng(5)), b = await mppi(quadratic, 2, opts, new Rng(5));
  assert.deepEqual(a.plan, b.plan);
  let first: Float32Array | null = null;
  const bounded = (batch: Float32Array, n: number) => {
    first ??= batch.slice(0, 10);
    for (const v of batch) assert.ok(v >= -0.5 && v <= 0.25, `sample ${v} out of bounds`);
    return quadratic(batch, n);
  };
  const warm = new Float32Array(10).fill(0.1);
  await mppi(bounded, 2, { ...opts, iterations: 2, low: [-0.5, -0.5], high: [0.25, 0.25] }, new Rng(1), warm);
  assert.deepEqual(Array.from(first!), Array.from(warm), "the first sample is the warm start itself");
});
