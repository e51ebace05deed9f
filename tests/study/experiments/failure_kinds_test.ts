// failure_kinds: the model's cost of observed frames (the goal itself costs nothing, a far start much more),
// and which failures count as ones the latent barely sees.
import assert from "node:assert/strict";
import { WorldModel } from "../../../agent/world_model.ts";
import {
  blindFailures,
  type EpisodeKind,
  observedCost,
  rescore,
  seenShare,
} from "../../../study/experiments/failure_kinds.ts";
import { evaluationEpisode } from "../../../tasks/evaluation.ts";
import { getTask } from "../../../tasks/registry.ts";

Deno.test("observedCost: the goal frame costs ~0, the episode's start far more, in the order the planner sees", async () => {
  const task = getTask("pusht"), model = await WorldModel.load("models/pusht/fp32", { threads: 1 });
  const ep = evaluationEpisode(task, 0, 3);
  const [atGoal, atStart] = await observedCost(model, task, [ep.goal, ep.start], ep.goal);
  assert.ok(atGoal < 1e-4, `the goal against itself costs ${atGoal}`);
  assert.ok(atStart > 1, `a start ${task.distance(ep.start, ep.goal).toFixed(1)} tolerances away costs ${atStart}`);
  // Batched or one at a time, the same numbers.
  const [alone] = await observedCost(model, task, [ep.start], ep.goal);
  assert.ok(Math.abs(alone - atStart) < 1e-4 * atStart, `${alone} vs ${atStart}`);
});

Deno.test("blindFailures: a failure whose cost fell far more than its true distance; successes never count", () => {
  const k = (success: boolean, distance: number, cost: number): EpisodeKind => ({
    episode: 0,
    success,
    distance,
    startDistance: 10,
    cost,
    startCost: 2,
    start: [],
    last: [],
    goal: [],
  });
  const seen = k(false, 5, 1), blind = k(false, 6, 0.3), won = k(true, 0.5, 0.01);
  assert.equal(seenShare(seen), 1); // half the distance left, half the cost
  assert.ok(Math.abs(seenShare(blind) - 0.25) < 1e-12); // 60% of the distance left, 15% of the cost
  assert.deepEqual(blindFailures([seen, blind, won]), [blind]);
  assert.deepEqual(blindFailures([seen, blind, won], 0.2), []);
});

Deno.test("rescore: an earlier run's episodes keep their states and get this model's costs", async () => {
  const task = getTask("pusht"), model = await WorldModel.load("models/pusht/fp32", { threads: 1 });
  const ep = evaluationEpisode(task, 0, 3), dir = await Deno.makeTempDir();
  const k = {
    episode: 3,
    success: false,
    distance: task.distance(ep.start, ep.goal),
    startDistance: task.distance(ep.start, ep.goal),
    cost: -1,
    startCost: -1,
    start: Array.from(ep.start),
    last: Array.from(ep.start),
    goal: Array.from(ep.goal),
  };
  await Deno.writeTextFile(`${dir}/kinds.jsonl`, JSON.stringify(k) + "\n\n");
  const [again] = await rescore(model, task, `${dir}/kinds.jsonl`);
  const [want] = await observedCost(model, task, [ep.start], ep.goal);
  assert.ok(Math.abs(again.cost - want) < 1e-6 && again.startCost === again.cost, `${again.cost} vs ${want}`);
  assert.deepEqual(again.goal, k.goal);
  assert.ok(Math.abs(seenShare(again) - 1) < 1e-9, "a run that never moved shows all of its error");
  await Deno.remove(dir, { recursive: true });
});
