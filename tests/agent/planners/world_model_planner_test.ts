// The glue between the samplers and the world model: action units, the
// objective the samplers minimise, deadlines, and the protocol Planner built on it.
import assert from "node:assert/strict";
import {
  DeadlineError,
  planLatent,
  type PlanTrace,
  proposalStart,
  ROLLOUT_CHUNK,
  toEnvActions,
  worldModelPlanner,
} from "../../../agent/planners/world_model_planner.ts";
import { WorldModel } from "../../../agent/world_model.ts";
import { resolvePlanner } from "../../../model/planner_options.ts";
import { Rng } from "../../../lib/rng.ts";
import { evaluationEpisode, observe } from "../../../tasks/evaluation.ts";
import { getTask } from "../../../tasks/registry.ts";
import { modelWithToyPolicy } from "../../_onnx_graphs.ts";

const model = await WorldModel.load("models/wall/fp32", { threads: 1 });
const wall = getTask("wall");
const small = resolvePlanner({ preset: "fast", samples: 16, topk: 4, iterations: 3 });

Deno.test("toEnvActions(): z-scored model actions back to env units with the card's statistics", () => {
  const { action_mean: m, action_std: s, action_dim: A } = model.card;
  const z = Float32Array.from({ length: 2 * A }, (_, i) => i % 3 - 1);
  const env = toEnvActions(model, z);
  for (let i = 0; i < z.length; i++) assert.ok(Math.abs(env[i] - (z[i] * s[i % A] + m[i % A])) < 1e-6);
});

async function pair(episode: number) {
  const ep = evaluationEpisode(wall, 0, episode);
  const { start, goal } = await model.encodePair(wall.render(ep.start, 64), wall.render(ep.goal, 64));
  return { start, goal, p0: model.normProprio(wall.proprio(ep.start)), pg: model.normProprio(wall.proprio(ep.goal)) };
}

Deno.test("planLatent(): its cost is the objective of the returned plan's rollout, and it never rises across iterations of the best", async () => {
  const { start, goal, p0, pg } = await pair(0);
  const r = await planLatent(model, start, p0, goal, pg, small, new Rng(1));
  assert.equal(r.plan.length, 5 * model.card.action_dim);
  assert.equal(r.history.length, 3);
  assert.equal(r.cost, r.history.at(-1));
  assert.ok(r.history.at(-1)! <= r.history[0] + 1e-9, `best objective ${r.history}`);
  // The objective of the start itself (the zero plan's first frame is not the goal) is positive.
  assert.ok(r.cost > 0 && Number.isFinite(r.cost));
  const again = await planLatent(model, start, p0, goal, pg, small, new Rng(1));
  assert.deepEqual(again.plan, r.plan, "seeded");
});

Deno.test("planLatent(): its guard runs before every chunk of rollouts and every predictor call, and what it throws stops the plan", async () => {
  const { start, goal, p0, pg } = await pair(1);
  let calls = 0;
  const big = resolvePlanner({ preset: "fast", samples: ROLLOUT_CHUNK * 2 + 1, topk: 8, iterations: 2 });
  await planLatent(model, start, p0, goal, pg, big, new Rng(1), undefined, () => void calls++);
  // 2 iterations x 3 chunks, each guarded before it and before each of its predictor calls after the first (4).
  assert.equal(calls, 2 * 3 * 5, "3 chunks per iteration, 2 iterations, horizon 5");
  let n = 0;
  const deadline = () => {
    if (++n > 2) throw new DeadlineError("past the deadline");
  };
  await assert.rejects(
    () => planLatent(model, start, p0, goal, pg, big, new Rng(1), undefined, deadline),
    DeadlineError,
  );
  assert.equal(n, 3, "stopped inside the first iteration's population");
});

Deno.test("worldModelPlanner(): H env-unit actions, a shifted warm start, and one objective trace per replan", async () => {
  const traces: PlanTrace[] = [];
  const planner = worldModelPlanner(model, small, (t) => traces.push(t));
  const ep = evaluationEpisode(wall, 0, 2);
  const obs = observe(wall, ep.start, 64), goal = observe(wall, ep.goal, 64);
  const r1 = await planner.plan(obs, goal, undefined, new Rng(3));
  const r2 = await planner.plan(obs, goal, r1.warm, new Rng(3));
  assert.equal(r1.actions.length, 5 * model.card.action_dim);
  assert.ok(r1.actions.every((v) => v >= -1 - 1e-6 && v <= 1 + 1e-6), "within the env's action bounds");
  const A = model.card.action_dim;
  assert.deepEqual([...r1.warm!.subarray(4 * A)], new Array(A).fill(0), "warm start shifted by the executed step");
  assert.equal(traces.length, 2);
  assert.equal(traces[0].history.length, 3);
  assert.notDeepEqual(r2.actions, r1.actions, "the warm start changes the search");
});

Deno.test("proposalStart(): the warm start's steps planned before, then the policy's plan, zeros past its horizon", () => {
  const policy = Float32Array.from([1, 2, 3, 4]), warm = Float32Array.from([9, 8, 7, 0, 0, 0]);
  assert.deepEqual([...proposalStart(policy, 6, 3, warm)], [9, 8, 7, 4, 0, 0]);
  assert.deepEqual([...proposalStart(policy, 6, 3)], [1, 2, 3, 4, 0, 0], "no warm start: the policy's plan");
  assert.deepEqual([...proposalStart(policy, 6, 6, warm)], [1, 2, 3, 4, 0, 0], "all of the warm start executed");
});

Deno.test("planLatent() with proposal 'policy' starts the search from the policy's plan for this frame and goal", async () => {
  const toy = modelWithToyPolicy("models/wall/fp32");
  try {
    const m = await WorldModel.load(toy.dir, { threads: 1 });
    const { start, goal, p0, pg } = await pair(3);
    const plan = await m.propose(start, p0, goal);
    const { global_dim: G, proprio_dim: P, action_dim: A } = m.card, L = toy.H * A;
    for (const j of [0, 7, L - 1]) { // the graph's own arithmetic, in TypeScript
      let want = toy.b[j];
      for (let g = 0; g < G; g++) want += (goal.global[g] - start.global[g]) * toy.W[g * L + j];
      for (let p = 0; p < P; p++) want += p0[p] * toy.V[p * L + j];
      assert.ok(Math.abs(plan[j] - want) < 1e-4, `action ${j}: ${plan[j]} vs ${want}`);
    }
    // With no spread, every sample is the start: the plan returned is the policy's, clipped to the bounds.
    const still = resolvePlanner({ preset: "fast", samples: 2, topk: 1, iterations: 1, proposal: "policy" });
    still.sampler.initStd = 0;
    const r = await planLatent(m, start, p0, goal, pg, still, new Rng(1));
    const low = m.card.action_low.map((v, i) => (v - m.card.action_mean[i]) / m.card.action_std[i]);
    const high = m.card.action_high.map((v, i) => (v - m.card.action_mean[i]) / m.card.action_std[i]);
    for (let j = 0; j < L; j++) {
      const want = Math.min(high[j % A], Math.max(low[j % A], plan[j]));
      assert.ok(Math.abs(r.plan[j] - want) < 1e-6, `step ${j}`);
    }
    const { proposal: _, ...none } = still;
    const z = await planLatent(m, start, p0, goal, pg, none, new Rng(1));
    assert.ok(z.plan.every((v) => v === 0), "without the proposal the search starts from zeros");
    await assert.rejects(
      () => planLatent(model, start, p0, goal, pg, still, new Rng(1)),
      /no proposal policy/,
      "a model without policy.onnx cannot start from one",
    );
  } finally {
    Deno.removeSync(toy.dir, { recursive: true });
  }
});
