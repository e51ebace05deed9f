// Closed-loop suites: seeded episodes driven through the HTTP app (image in, actions out,
// warm start sent back by the client) and scored by the fixed protocol, next to the oracle.
// Thresholds are set from measured runs (models/README.md); they sit below the measured rates
// so the test catches regressions without flaking on a seed. One file per task, so that
// `deno test --parallel` spreads the four over the cores; runs are shared within a file.
import assert from "node:assert/strict";
import { createApp } from "../../agent/http/app.ts";
import { WorldModel } from "../../agent/world_model.ts";
import { evaluate, evaluationEpisode, type Planner, type ProtocolResult } from "../../tasks/evaluation.ts";
import { runOracle } from "../../agent/planners/oracle.ts";
import { getTask } from "../../tasks/registry.ts";
import { cardPreset, PlannerOptions, resolvePlanner } from "../../model/planner_options.ts";

export const EPISODES = 20;
// The served defaults are compared at 30 replans; fp32 runs once per task at 30, and its suite reads
// success by replan 20 from that run (an episode that succeeds ends early, so 30 costs only on failures).
export const BUDGET = { suite: 20, defaults: 30 };

/** The variant `models/defaults.json` serves for each task. */
export const DEFAULTS: Record<string, string> = JSON.parse(Deno.readTextFileSync("models/defaults.json"));

/** A protocol Planner that asks the HTTP app, as a remote client would. */
function httpPlanner(
  app: ReturnType<typeof createApp>,
  task: string,
  variant: string,
  planner: Record<string, unknown>,
): Planner {
  let calls = 0; // a fresh seed per request, as a client replanning should send
  return {
    async plan(obs, goal, warm) {
      const res = await app.request("/v1/plan", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          task,
          variant,
          observation: { image: { rgb: Array.from(obs.image()) }, proprio: Array.from(obs.proprio) },
          goal: { image: { rgb: Array.from(goal.image()) }, proprio: Array.from(goal.proprio) },
          planner,
          warm_start: warm ? Array.from(warm) : undefined,
          seed: calls++,
        }),
      });
      const json = await res.json();
      assert.equal(res.status, 200, JSON.stringify(json));
      return { actions: Float32Array.from(json.actions.flat()), warm: Float32Array.from(json.warm_start.actions) };
    },
  };
}

/** Runs kept by (task, variant, planner, budget): fp32's serve as the reference for the served default. */
const RUNS = new Map<string, Promise<ProtocolResult>>();

/** `EPISODES` episodes of seed 0 planned through the HTTP app by `models/<task>/<variant>`. */
export function runModel(
  task: string,
  variant: string,
  planner = "fast",
  budget = BUDGET.suite,
): Promise<ProtocolResult> {
  const key = `${task}/${variant}/${planner}/${budget}`;
  if (!RUNS.has(key)) {
    RUNS.set(
      key,
      (async () => {
        // One wasm thread, as the server runs each planning worker: with two, onnxruntime-web has
        // hung for good under load (a CI run stopped here at its 90-minute limit), and no timer can fire
        // while the wasm spins. Measured cost of one thread here: ~10% on wall's suite (29.5 s vs 26.5 s, 10 episodes).
        const model = await WorldModel.load(`models/${task}/${variant}`, { threads: 1 });
        const app = createApp({ models: new Map([[`${task}/${variant}`, model]]), isReady: () => true, log: () => {} });
        // "served": no preset named, so the model's own planner (its card's `planner`) plans, as a client gets it.
        const options = planner === "served" ? {} : { preset: planner };
        // The client executes what the planner is set to (pusht's card plans 5 actions a replan) and sends
        // frames of the model's size (pusht's 96 px).
        const preset = resolvePlanner(options as PlannerOptions, cardPreset(model.card));
        return evaluate(getTask(task), httpPlanner(app, task, variant, options), {
          episodes: EPISODES,
          seed: 0,
          budget,
          execute: preset.execute,
          imageSize: model.card.image_size,
        });
      })(),
    );
  }
  return RUNS.get(key)!;
}

/** fp32 must reach `min` success by replan 20, and the oracle at least as much on the same episodes. */
export function fp32Suite(task: string, planner: string, min: number): void {
  const runBudget = planner === "fast" || planner === "served" ? BUDGET.defaults : BUDGET.suite;
  Deno.test(`${task}: the fp32 model (${planner}) reaches >= ${min} success by replan ${BUDGET.suite} over ${EPISODES} episodes, the oracle more`, async () => {
    const r = await runModel(task, "fp32", planner, runBudget);
    const oracle = await runOracle(getTask(task), EPISODES, 0, BUDGET.suite);
    console.log(JSON.stringify({ model: `${task}/fp32`, planner, success: r.success_at, oracle: oracle.success_at }));
    const byBudget = r.success_at[String(BUDGET.suite)];
    assert.ok(
      byBudget >= min,
      `model success by replan ${BUDGET.suite}: ${byBudget} (${JSON.stringify(r.success_at)})`,
    );
    assert.ok(oracle.success_rate >= byBudget, "the oracle is the upper bound");
  });
}

/**
 * The served low-bit default (models/defaults.json, chosen by the quantization study's rule) against fp32
 * on the same episodes, both with the planner they are served with: it may lose at most 3 episodes net
 * (0.15) and must stay above `floor`.
 */
export function servedDefaultSuite(task: string, floor: number, budget = BUDGET.defaults): void {
  const variant = DEFAULTS[task];
  Deno.test({
    name:
      `${task}: the served default ${variant} plans within 0.15 of fp32 on the same ${EPISODES} episodes (budget ${budget})`,
    ignore: variant === undefined || variant === "fp32",
    async fn() {
      const q = await runModel(task, variant, "served", budget);
      const f = await runModel(task, "fp32", "served", budget);
      console.log(JSON.stringify({ task, variant, success: q.success_at, fp32: f.success_at }));
      assert.ok(q.success_rate >= f.success_rate - 0.15, `${variant} ${q.success_rate} vs fp32 ${f.success_rate}`);
      assert.ok(q.success_rate >= floor, `${variant} success ${q.success_rate}`);
    },
  });
}

/** Mean task distance (in success tolerances) at the start of a run's episodes and at their end. */
export function distances(task: string, r: ProtocolResult): { start: number; final: number } {
  const t = getTask(task);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const start = mean(r.results.map((e) => {
    const ep = evaluationEpisode(t, 0, e.index);
    return t.distance(ep.start, ep.goal);
  }));
  return { start, final: mean(r.results.map((e) => e.finalDistance)) };
}
