import assert from "node:assert/strict";
import { _elites, cem } from "../../../agent/planners/cem.ts";
import { Rng } from "../../../lib/rng.ts";
import { TOY_TARGET, toyQuadratic } from "../../_helpers.ts";

const target = TOY_TARGET, quadratic = toyQuadratic;
const opts = { horizon: 5, samples: 200, topk: 20, iterations: 12, initStd: 1 };

Deno.test("cem() converges to the minimum of a quadratic cost", async () => {
  const r = await cem(quadratic, 2, opts, new Rng(0));
  const err = Math.max(...r.plan.map((v, j) => Math.abs(v - target[j])));
  assert.ok(err < 0.05, `max error ${err}`);
  assert.ok(r.history.at(-1)! < r.history[0], "best cost falls across iterations");
});

Deno.test("cem() gives the same plan for the same seed", async () => {
  const a = await cem(quadratic, 2, opts, new Rng(5)), b = await cem(quadratic, 2, opts, new Rng(5));
  assert.deepEqual(a.plan, b.plan);
});

Deno.test("cem() keeps every sample within the bounds", async () => {
  let seen = 0;
  const bounded = (batch: Float32Array, n: number) => {
    for (const v of batch) assert.ok(v >= -0.5 && v <= 0.25, `sample ${v} out of bounds`);
    seen += n;
    return quadratic(batch, n);
  };
  const r = await cem(bounded, 2, { ...opts, iterations: 3, low: [-0.5, -0.5], high: [0.25, 0.25] }, new Rng(1));
  assert.equal(seen, 600);
  for (const v of r.plan) assert.ok(v >= -0.5 && v <= 0.25);
});

Deno.test("_elites() ranks lowest first and NaN last", () => {
  assert.deepEqual(_elites(Float64Array.of(3, NaN, 1, 2), 3), [2, 3, 0]);
});
