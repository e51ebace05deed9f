// Closed-loop suites: seeded episodes driven through the HTTP app (image in, actions out,
// warm start sent back by the client) and scored by the fixed protocol, next to the oracle.
// Thresholds are set from measured runs (models/README.md); they sit below the measured rates
// so the test catches regressions without flaking on a seed.
import assert from "node:assert/strict";
import { createApp } from "../agent/http/app.ts";
import { WorldModel } from "../agent/world_model.ts";
import { evaluate, evaluationEpisode, type Planner } from "../tasks/evaluation.ts";
import { runOracle } from "../agent/planners/oracle.ts";
import { getTask } from "../tasks/registry.ts";

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
      return { actions: Float32Array.from(json.actions.flat()), warm: Float32Array.from(json.warm_start) };
    },
  };
}

// Measured (20 episodes, budget 20, seed 0): with the distance head (models/README.md) wall 1.00 with CEM
// and with MPPI, pointmaze 0.95 (`deno task eval`; before the head, through this suite: wall 0.80,
// pointmaze 0.75); reacher 1.00 over 50 episodes by replan 20 on seeds 0 and 2, 0.98 on seed 1, since its
// proprio reads the wrist as its angle (models/README.md; 0.85 here before). pointmaze plans with the proprio term
// (alpha = 1), reacher with alpha = 3 over every predicted step. Thresholds leave ~0.1-0.15 for sampling spread.
// pusht has its own suite below.
const SUITES = [
  { task: "wall", planner: "fast", min: 0.85 },
  { task: "pointmaze", planner: "fast", min: 0.8 },
  { task: "reacher", planner: "fast", min: 0.9 },
  { task: "wall", planner: "mppi", min: 0.85 },
];
const EPISODES = 20;

/** Runs kept by (task, variant, planner, budget): fp32's serve as the reference for the served defaults below. */
const RUNS = new Map<string, Promise<Awaited<ReturnType<typeof evaluate>>>>();

function runModel(task: string, variant: string, planner = "fast", budget = 20) {
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
        return evaluate(getTask(task), httpPlanner(app, task, variant, { preset: planner }), {
          episodes: EPISODES,
          seed: 0,
          budget,
          execute: 1,
        });
      })(),
    );
  }
  return RUNS.get(key)!;
}

// The served defaults are compared at 30 replans (below); fp32 runs once per task at 30, and its suite reads
// success by replan 20 from that run (an episode that succeeds ends early, so 30 costs only on failures).
const BUDGET = { suite: 20, defaults: 30 };

for (const s of SUITES) {
  const runBudget = s.planner === "fast" ? BUDGET.defaults : BUDGET.suite;
  Deno.test(`${s.task}: the fp32 model (${s.planner}) reaches >= ${s.min} success by replan ${BUDGET.suite} over ${EPISODES} episodes, the oracle more`, async () => {
    const r = await runModel(s.task, "fp32", s.planner, runBudget);
    const oracle = await runOracle(getTask(s.task), EPISODES, 0, BUDGET.suite);
    console.log(
      JSON.stringify({ model: `${s.task}/fp32`, planner: s.planner, success: r.success_at, oracle: oracle.success_at }),
    );
    const byBudget = r.success_at[String(BUDGET.suite)];
    assert.ok(
      byBudget >= s.min,
      `model success by replan ${BUDGET.suite}: ${byBudget} (${JSON.stringify(r.success_at)})`,
    );
    assert.ok(oracle.success_rate >= byBudget, "the oracle is the upper bound");
  });
}

// The served low-bit defaults (models/defaults.json, chosen by the quantization study's rule) against
// fp32 on the same episodes. The study measured, over 50 x 50 (study/REPORT.md): wall gptq-w4g16-whole-encg128
// 0.98 vs 0.98, pointmaze gptq-w4g16-whole-encg128 0.96 vs 1.00, reacher gptq-w4g32-whole 1.00 vs 1.00, pusht
// gptq-w4g32-whole 0.04 vs 0.06. Over these 20 episodes a default may lose at most 3 episodes net (0.15). The budget is 30
// replans: by 20 a variant may still be a replan or two behind fp32 on a few episodes (wall's default: 0.85
// vs 1.00 at 20 through this suite, 1.00 vs 1.00 by 30); pusht stays at 20, its fp32 rarely succeeds at all.
const DEFAULTS: Record<string, string> = JSON.parse(Deno.readTextFileSync("models/defaults.json"));
// pusht's fp32 success (0.05 here) leaves no floor above noise, so its default is held only to fp32's.
const FLOOR: Record<string, number> = { wall: 0.85, pointmaze: 0.8, reacher: 0.85, pusht: 0 };
for (const [task, variant] of Object.entries(DEFAULTS).filter(([, v]) => v !== "fp32")) {
  const budget = task === "pusht" ? BUDGET.suite : BUDGET.defaults;
  Deno.test(`${task}: the served default ${variant} plans within 0.15 of fp32 on the same ${EPISODES} episodes (budget ${budget})`, async () => {
    const q = await runModel(task, variant, "fast", budget);
    const f = await runModel(task, "fp32", "fast", budget);
    console.log(JSON.stringify({ task, variant, success: q.success_at, fp32: f.success_at }));
    assert.ok(q.success_rate >= f.success_rate - 0.15, `${variant} ${q.success_rate} vs fp32 ${f.success_rate}`);
    assert.ok(q.success_rate >= FLOOR[task], `${variant} success ${q.success_rate}`);
  });
}

// pusht's model does not plan the block (success 0.05 here, 1 of 20; 0.06 over 50 x 50): its
// latents do not hold the block's pose (models/README.md, "What the latents hold"), so no success
// threshold above noise exists. What it does do, through the proprio term, is drive the agent to
// the goal's agent position: the mean task distance (agent, block and angle, in success
// tolerances) fell from 12.6 to 7.0 (0.56 of it) when measured through this suite. A planner that
// ignored the goal would keep it at 12.6 (the block moves only when pushed). The threshold, 0.7,
// leaves room for sampling spread; the oracle must still reach >= 0.8 (measured 0.95).
Deno.test("pusht: the served model cuts the distance to the goal state below 0.7 of the start, the oracle succeeds", async () => {
  const task = getTask("pusht");
  const episodes = EPISODES, budget = BUDGET.suite;
  const r = await runModel("pusht", "fp32", "fast", budget);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const start = mean(r.results.map((e) => {
    const ep = evaluationEpisode(task, 0, e.index);
    return task.distance(ep.start, ep.goal);
  }));
  const final = mean(r.results.map((e) => e.finalDistance));
  const oracle = await runOracle(task, episodes, 0, budget);
  console.log(
    JSON.stringify({
      model: "pusht/fp32",
      success: r.success_at,
      distance: { start, final },
      oracle: oracle.success_at,
    }),
  );
  assert.ok(final <= 0.7 * start, `mean distance to the goal ${final.toFixed(2)} of ${start.toFixed(2)} at the start`);
  assert.ok(oracle.success_rate >= 0.8, `oracle success ${oracle.success_rate}`);
  assert.ok(oracle.success_rate > r.success_rate, "the oracle is the upper bound");
});
