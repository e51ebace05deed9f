// iCEM on toy costs: colored noise with the spectrum it claims, a population that shrinks, elites kept
// (never evaluated twice), the best sequence returned, bounds held, seeded.
import assert from "node:assert/strict";
import { _population, coloredNoise, icem, type IcemOptions } from "../../../agent/planners/icem.ts";
import { cem } from "../../../agent/planners/cem.ts";
import { Rng } from "../../../lib/rng.ts";
import { TOY_TARGET, toyQuadratic } from "../../_helpers.ts";

const base: IcemOptions = {
  horizon: 5,
  samples: 64,
  topk: 8,
  iterations: 6,
  initStd: 1,
  beta: 2,
  decay: 1.25,
  keepElites: 0.3,
};

Deno.test("coloredNoise(): unit variance; beta 0 is white, beta 2 is correlated between neighbouring steps", () => {
  for (const [beta, lo, hi] of [[0, -0.05, 0.05], [2, 0.6, 0.95]] as const) {
    const rng = new Rng(3), T = 5, M = 4000, x = new Float64Array(T);
    let v0 = 0, v4 = 0, c01 = 0;
    for (let i = 0; i < M; i++) {
      coloredNoise(x, beta, rng);
      v0 += x[0] ** 2 / M;
      v4 += x[4] ** 2 / M;
      c01 += x[0] * x[1] / M;
    }
    for (const v of [v0, v4]) assert.ok(Math.abs(v - 1) < 0.08, `beta ${beta}: variance ${v}`);
    assert.ok(c01 > lo && c01 < hi, `beta ${beta}: correlation of steps 0 and 1 = ${c01}`);
  }
});

Deno.test("_population(): N_0 gamma^-i, never below 2K (or N_0 where that is smaller)", () => {
  assert.deepEqual([0, 1, 2, 3].map((i) => _population(64, 1.25, i, 8)), [64, 51, 41, 33]);
  assert.equal(_population(64, 4, 3, 8), 16);
  assert.equal(_population(10, 1, 5, 8), 10);
});

Deno.test("icem() converges to the minimum of a quadratic, evaluating each iteration's new samples only", async () => {
  const counts: number[] = [];
  const counted = (batch: Float32Array, n: number) => {
    counts.push(n);
    return toyQuadratic(batch, n);
  };
  // The toy's optimum jumps from step to step (sin of the index): white noise (beta 0) can reach it.
  const r = await icem(counted, 2, { ...base, beta: 0, iterations: 10 }, new Rng(0));
  assert.deepEqual(counts, Array.from({ length: 10 }, (_, i) => _population(64, 1.25, i, 8)));
  const err = Math.max(...r.plan.map((v, j) => Math.abs(v - TOY_TARGET[j])));
  assert.ok(err < 0.2, `max error ${err}`);
  for (let i = 1; i < r.history.length; i++) assert.ok(r.history[i] <= r.history[i - 1], "the best never gets worse");
  assert.equal(r.cost, r.history.at(-1));
  assert.equal(toyQuadratic(r.plan, 1)[0], r.cost, "the plan returned is the best sequence seen, with its cost");
});

Deno.test("icem() reaches a lower cost than CEM with the same number of rollouts on a smooth-optimum toy", async () => {
  // The optimum varies slowly over the horizon, as good plans for momentum-driven systems do.
  const smooth = Float32Array.from({ length: 10 * 2 }, (_, j) => 0.8 * Math.sin(Math.floor(j / 2) / 4) + (j % 2) * 0.3);
  const cost = (batch: Float32Array, n: number) => {
    const J = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < 20; j++) J[i] += (batch[i * 20 + j] - smooth[j]) ** 2;
    return J;
  };
  let wins = 0;
  const o = { ...base, horizon: 10, samples: 32, iterations: 4, decay: 1 };
  for (let seed = 0; seed < 10; seed++) {
    const a = await icem(cost, 2, o, new Rng(seed)), b = await cem(cost, 2, o, new Rng(seed));
    if (a.cost < b.cost) wins++;
  }
  assert.ok(wins >= 7, `iCEM better in ${wins} of 10 seeds`);
});

Deno.test("icem() keeps samples within bounds and gives the same plan for the same seed", async () => {
  const bounded = (batch: Float32Array, n: number) => {
    for (const v of batch) assert.ok(v >= -0.5 && v <= 0.25, `sample ${v}`);
    return toyQuadratic(batch, n);
  };
  const o = { ...base, iterations: 3, low: [-0.5, -0.5], high: [0.25, 0.25] };
  const a = await icem(bounded, 2, o, new Rng(1)), b = await icem(bounded, 2, o, new Rng(1));
  assert.deepEqual(a.plan, b.plan);
});
