/**
 * Evaluate a model directory under the fixed protocol (tasks/evaluation.ts).
 *
 *   deno task eval --task wall --model models/wall/fp32 --episodes 20 --seed 0 --budget 50
 *
 * --preset, --method, --samples, --iterations, --topk, --horizon, --temperature and --execute are
 * the HTTP API's planner options (agent/planner_flags.ts).
 * The last line printed is JSON: success_rate, success_at (replan
 * checkpoints) and plan latency percentiles.
 */
import { CliError, parseFlags, runCli } from "../lib/cli.ts";
import { percentile } from "../lib/stats.ts";
import { evaluate, type ProtocolOptions, type ProtocolResult } from "../tasks/evaluation.ts";
import { Progress } from "../lib/progress.ts";
import { getTask } from "../tasks/registry.ts";
import { type Task, TASK_NAMES } from "../tasks/task.ts";
import { cardPreset, describePlanner, type PlanPreset } from "../model/planner_options.ts";
import { PLANNER_FLAGS, plannerFromFlags } from "./planner_flags.ts";
import { worldModelPlanner } from "./planners/world_model_planner.ts";
import { WorldModel } from "./world_model.ts";

/** The fixed protocol through a loaded world model and a planner, with a progress line per episode. */
export async function evaluateModel(
  task: Task,
  model: WorldModel,
  preset: PlanPreset,
  o: Pick<ProtocolOptions, "episodes" | "seed" | "budget" | "onState">,
  label = `eval ${task.name}`,
): Promise<ProtocolResult> {
  if (model.card.task !== task.name) throw new CliError(`model is for task ${model.card.task}, not ${task.name}`);
  const bar = new Progress(label, o.episodes, "episodes");
  let hits = 0, done = 0;
  return await evaluate(task, worldModelPlanner(model, preset), {
    ...o,
    execute: preset.execute,
    imageSize: model.card.image_size,
    onEpisode: (e) => {
      if (e.successAt !== null) hits++;
      bar.update(++done, `success ${hits}/${done}`);
    },
  });
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      task: { type: "string", required: true, help: TASK_NAMES.join(" | ") },
      model: { type: "string", required: true, help: "model directory" },
      episodes: { type: "int", default: 20, min: 1 },
      seed: { type: "int", default: 0, min: 0, max: 2 ** 32 - 1 },
      budget: { type: "int", default: 50, min: 1, max: 1000, help: "MPC replans per episode" },
      ...PLANNER_FLAGS,
      backend: { type: "enum", values: ["web", "node"], default: "web" },
      threads: { type: "int", default: 2, min: 1, max: 64 },
    }, "deno task eval --task T --model DIR: the fixed evaluation protocol through a world model");
    const task = getTask(f.task);
    const model = await WorldModel.load(f.model, { backend: f.backend, threads: f.threads });
    const preset = plannerFromFlags(f, cardPreset(model.card));
    const r = await evaluateModel(task, model, preset, { episodes: f.episodes, seed: f.seed, budget: f.budget });
    const ms = r.results.flatMap((e) => e.planMs);
    console.log(JSON.stringify({
      task: r.task,
      model: f.model,
      planner: { ...preset, description: describePlanner(preset) },
      episodes: r.episodes,
      budget: r.budget,
      success_rate: r.success_rate,
      success_at: r.success_at,
      plan_ms: { p50: +percentile(ms, 50).toFixed(1), p95: +percentile(ms, 95).toFixed(1) },
      final_distance_mean: +(r.results.reduce((a, e) => a + e.finalDistance, 0) / r.episodes).toFixed(3),
      // Per episode (paired comparisons between planners or variants on the same episodes) and in all.
      success_at_episode: r.results.map((e) => e.successAt),
      final_distance_episode: r.results.map((e) => e.finalDistance),
      replans: ms.length,
    }));
  });
}
