/**
 * Evaluate a model directory under the fixed protocol (tasks/evaluation.ts).
 *
 *   deno task eval --task wall --model models/wall/fp32 --episodes 20 --seed 0 --budget 50
 *
 * --samples, --iterations, --topk and --horizon override the preset's sampler, as the HTTP
 * API's planner options do.
 * The last line printed is JSON: success_rate, success_at (replan
 * checkpoints) and plan latency percentiles.
 */
import { CliError, intFlag, parseFlags, runCli, stringFlag } from "../tasks/cli.ts";
import { evaluate } from "../tasks/evaluation.ts";
import { Progress } from "../tasks/progress.ts";
import { getTask } from "../tasks/registry.ts";
import { type PlannerMethod, type PlanPreset, PRESETS, presetWith, worldModelPlanner } from "./planner.ts";
import { type BackendName, WorldModel } from "./world_model.ts";

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      task: { type: "string" },
      model: { type: "string" },
      episodes: { type: "string", default: "20" },
      seed: { type: "string", default: "0" },
      budget: { type: "string", default: "50" },
      planner: { type: "string" },
      preset: { type: "string", default: "fast" },
      execute: { type: "string" },
      samples: { type: "string" },
      iterations: { type: "string" },
      topk: { type: "string" },
      horizon: { type: "string" },
      backend: { type: "string", default: "web" },
      threads: { type: "string", default: "2" },
    });
    const task = getTask(stringFlag(f.task, "task"));
    if (f.planner !== undefined && f.planner !== "cem" && f.planner !== "mppi") {
      throw new CliError(`--planner must be cem or mppi, got ${f.planner}`);
    }
    if (!(f.preset as string in PRESETS)) {
      throw new CliError(`--preset must be one of ${Object.keys(PRESETS).join(", ")}`);
    }
    if (f.backend !== "web" && f.backend !== "node") throw new CliError(`--backend must be web or node`);
    const base: PlanPreset = PRESETS[f.preset as keyof typeof PRESETS];
    const samples = f.samples ? intFlag(f.samples, "samples", 2, 2000) : base.sampler.samples;
    const preset = presetWith(base, {
      method: f.planner as PlannerMethod | undefined,
      samples,
      iterations: f.iterations ? intFlag(f.iterations, "iterations", 1, 100) : undefined,
      topk: f.topk ? intFlag(f.topk, "topk", 1, samples) : undefined,
      horizon: f.horizon ? intFlag(f.horizon, "horizon", 1, 20) : undefined,
      execute: f.execute ? intFlag(f.execute, "execute", 1, 100) : undefined,
    });
    const model = await WorldModel.load(stringFlag(f.model, "model"), {
      backend: f.backend as BackendName,
      threads: intFlag(f.threads, "threads", 1, 64),
    });
    if (model.card.task !== task.name) throw new CliError(`model is for task ${model.card.task}, not ${task.name}`);
    const episodes = intFlag(f.episodes, "episodes", 1);
    const bar = new Progress(`eval ${task.name}`, episodes, "episodes");
    let hits = 0, done = 0;
    const r = await evaluate(task, worldModelPlanner(model, preset), {
      episodes,
      seed: intFlag(f.seed, "seed", 0, 2 ** 32 - 1),
      budget: intFlag(f.budget, "budget", 1, 1000),
      execute: preset.execute,
      imageSize: model.card.image_size,
      onEpisode: (e) => {
        if (e.successAt !== null) hits++;
        bar.update(++done, `success ${hits}/${done}`);
      },
    });
    const ms = r.results.flatMap((e) => e.planMs);
    console.log(JSON.stringify({
      task: r.task,
      model: f.model,
      planner: { method: preset.method, ...preset.sampler, execute: preset.execute },
      episodes: r.episodes,
      budget: r.budget,
      success_rate: r.success_rate,
      success_at: r.success_at,
      plan_ms: { p50: +percentile(ms, 50).toFixed(1), p95: +percentile(ms, 95).toFixed(1) },
      final_distance_mean: +(r.results.reduce((a, e) => a + e.finalDistance, 0) / r.episodes).toFixed(3),
    }));
  });
}
