// The examples the docs show run: docs/examples/dot_task.ts is a whole simulator task in one file.
import assert from "node:assert/strict";
import { dot } from "../docs/examples/dot_task.ts";
import { oraclePlanner } from "../agent/planners/oracle.ts";
import { generateEpisode } from "../tasks/dataset.ts";
import { evaluate } from "../tasks/evaluation.ts";

Deno.test("docs/examples/dot_task.ts: a dataset episode in the contract, and the oracle solves it under the protocol", async () => {
  const ep = generateEpisode(dot, 0, 0, 20, 64);
  assert.equal(ep.obs.length, 21 * 64 * 64 * 3);
  assert.equal(ep.actions.length, 20 * 2);
  const preset = { cem: { horizon: 5, samples: 60, topk: 6, iterations: 4, initStd: 1 }, execute: 1 };
  const r = await evaluate(dot, oraclePlanner(dot, preset), { episodes: 4, seed: 0, budget: 20, execute: 1 });
  assert.equal(r.success_rate, 1);
});
