/**
 * Plan latency benchmark: p50/p95 of one replan (encode observation + goal,
 * then the sampler through the predictor, as one HTTP plan does) per model and
 * backend, measured side by side in one run, with the FLOPs of one plan, the
 * GFLOP/s achieved, and the plans per second `--clients` concurrent clients get
 * from one loaded model. By default it times every task's fp32 model beside its
 * served default (models/defaults.json) and ends with a table of the ratios.
 *
 *   deno task bench [--tasks wall,pusht] [--plans 20]
 *   deno task bench --model models/wall/fp32,models/wall/rtn-w4g32 --preset fast
 *
 * Each model plans with its own served planner unless planner flags (agent/planner_flags.ts) say otherwise.
 *
 * Backends: onnxruntime-web with 1 and 2 threads (separate processes, since
 * the wasm thread count is fixed at first use), and onnxruntime-node.
 */
import { parseFlags, runCli } from "../lib/cli.ts";
import { getTask } from "../tasks/registry.ts";
import { Rng } from "../lib/rng.ts";
import { evaluationEpisode } from "../tasks/evaluation.ts";
import { percentile } from "../lib/stats.ts";
import { rolloutsPerReplan, worldModelPlanner } from "./planners/world_model_planner.ts";
import { cardPreset, describePlanner, type PlannerOptions } from "../model/planner_options.ts";
import { PLANNER_FLAGS, plannerFromFlags } from "./planner_flags.ts";
import { type BackendName, WorldModel } from "./world_model.ts";
import type { ModelCard } from "../model/model_card.ts";
import { DEFAULT_LOW_BIT, type LowBitMode } from "../model/ort.ts";

/** Multiply-adds x 2 of one predictor call per sample (dense layers + attention). */
export function predictorFlops(card: ModelCard): number {
  const cfg = (card.training as { predictor: { config: Record<string, number> } }).predictor.config;
  const T = (card.tokens + 1) * card.num_hist, W = cfg.width, C = card.latent_dim + cfg.action_emb + cfg.proprio_emb;
  const perBlock = T * (3 * W * W + W * W + 2 * cfg.mlp_ratio * W * W) + 2 * T * T * W;
  return 2 * (cfg.depth * perBlock + T * C * W + T * W * card.latent_dim + T * W * card.proprio_dim);
}

/** A configuration every model is timed in: planner options and how low-bit weights run. */
interface Config {
  name: string;
  options: PlannerOptions;
  lowBit?: LowBitMode;
}

/**
 * `--baseline`: the configuration before the speed work (issue 33), timed beside the served one in the same
 * rounds: the "fast" CEM (64 samples x 4 iterations) with low-bit weights run natively on every backend.
 */
const BASELINE: Config = { name: "before", options: { preset: "fast" }, lowBit: "native" };

/** One loaded model in a child: its planner and how to time one plan of a fresh evaluation episode. */
async function load(
  dir: string,
  backend: BackendName,
  threads: number,
  options: PlannerOptions,
  lowBit: LowBitMode | undefined,
  config: string,
) {
  const model = await WorldModel.load(dir, { backend, threads, lowBit });
  const preset = plannerFromFlags(options, cardPreset(model.card));
  const task = getTask(model.card.task);
  const planOnce = async (planner: ReturnType<typeof worldModelPlanner>, i: number) => {
    const ep = evaluationEpisode(task, 99, i);
    const img = (s: Float64Array) => () => task.render(s, model.card.image_size);
    const t0 = performance.now();
    await planner.plan(
      { state: ep.start, proprio: task.proprio(ep.start), image: img(ep.start) },
      { state: ep.goal, proprio: task.proprio(ep.goal), image: img(ep.goal) },
      undefined,
      new Rng(i),
    );
    return performance.now() - t0;
  };
  return { dir, config, model, preset, task, planOnce, planner: worldModelPlanner(model, preset), ms: [] as number[] };
}

/**
 * Every model of `dirs` on one backend, in this process: `rounds` rounds, each timing `plans` plans of every
 * model in turn (so that a slow spell of the machine falls on all of them alike), then the throughput of
 * `clients` concurrent clients on each one loaded model (as a planning worker serves them).
 */
async function measureAll(
  dirs: string[],
  backend: BackendName,
  threads: number,
  o: { plans: number; rounds: number; clients: number; configs: Config[] },
) {
  const models = [];
  for (const c of o.configs) {
    for (const d of dirs) models.push(await load(d, backend, threads, c.options, c.lowBit, c.name));
  }
  for (const m of models) for (let i = 0; i < 2; i++) await m.planOnce(m.planner, i); // warm up
  for (let r = 0; r < o.rounds; r++) {
    for (const m of models) {
      for (let i = 0; i < o.plans; i++) m.ms.push(await m.planOnce(m.planner, 2 + r * o.plans + i));
    }
  }
  const out = [];
  for (const m of models) {
    const perClient = Math.max(2, Math.ceil(o.plans / 2));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: o.clients }, async (_, w) => {
      const p = worldModelPlanner(m.model, m.preset);
      for (let i = 0; i < perClient; i++) await m.planOnce(p, 1000 + w * perClient + i);
    }));
    const concurrentPerS = (o.clients * perClient) / ((performance.now() - t0) / 1000);
    const flops = predictorFlops(m.model.card) * rolloutsPerReplan(m.preset) * m.preset.sampler.horizon;
    const p50 = percentile(m.ms, 50);
    out.push({
      model: m.dir,
      config: m.config,
      task: m.task.name,
      backend: backend === "web" ? `web-${threads}t` : `node-${threads}t`,
      low_bit: o.configs.find((c) => c.name === m.config)!.lowBit ?? DEFAULT_LOW_BIT[backend],
      planner: describePlanner(m.preset),
      plans: m.ms.length,
      p50_ms: +p50.toFixed(1),
      p95_ms: +percentile(m.ms, 95).toFixed(1),
      plans_per_s: +(1000 / p50).toFixed(2),
      clients: o.clients,
      plans_per_s_clients: +concurrentPerS.toFixed(2),
      gflop_per_plan: +(flops / 1e9).toFixed(3),
      gflop_per_s: +(flops / 1e9 / (p50 / 1000)).toFixed(2),
    });
  }
  return out;
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      model: { type: "string", help: "comma-separated model directories (default: fp32 and the default of --tasks)" },
      tasks: { type: "string", help: "tasks whose fp32 and served default are timed (default: every task)" },
      plans: { type: "int", default: 10, min: 1, max: 10000, help: "timed plans per model, backend and round" },
      rounds: { type: "int", default: 3, min: 1, max: 100, help: "rounds, every model timed in each" },
      clients: { type: "int", default: 8, min: 1, max: 64, help: "concurrent clients for the throughput figure" },
      "low-bit": { type: "enum", values: ["native", "unpack"], help: "how low-bit weights run (default: per backend)" },
      baseline: { type: "boolean", help: "also time the configuration before issue 33 (fast CEM, native low-bit)" },
      ...PLANNER_FLAGS,
      backend: { type: "enum", values: ["web", "node"], help: "one backend only (a child of the full run)" },
      threads: { type: "int", default: 1, min: 1, max: 64 },
    }, "deno task bench [--model DIRS]: replan latency per model and backend, side by side in one run");
    const { plans } = f;
    // The planner flags given, passed on to each backend's child as they were.
    const plannerArgs = Object.keys(PLANNER_FLAGS).flatMap((k) => {
      const v = f[k as keyof typeof PLANNER_FLAGS];
      return v === undefined ? [] : [`--${k}`, String(v)];
    });
    const defaults = JSON.parse(Deno.readTextFileSync("models/defaults.json")) as Record<string, string>;
    const tasks = f.tasks ? f.tasks.split(",") : Object.keys(defaults);
    const dirs = f.model
      ? f.model.split(",").filter(Boolean)
      : tasks.flatMap((t) => [`models/${t}/fp32`, ...(defaults[t] !== "fp32" ? [`models/${t}/${defaults[t]}`] : [])]);
    if (f.backend) { // one configuration (a child of the run below)
      const served: Config = { name: "served", options: f, lowBit: f["low-bit"] };
      const o = { plans, rounds: f.rounds, clients: f.clients, configs: f.baseline ? [BASELINE, served] : [served] };
      for (const line of await measureAll(dirs, f.backend, f.threads, o)) console.log(JSON.stringify(line));
      return;
    }
    const results: Result[] = [];
    // The server's configurations: wasm with 1 thread (its default) and 2; node with 1 thread per session (its
    // default: at these sizes a second intra-op thread costs more than it gives).
    for (const [backend, threads] of [["web", 1], ["web", 2], ["node", 1]] as const) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          import.meta.filename!,
          "--model",
          dirs.join(","),
          "--plans",
          String(plans),
          "--rounds",
          String(f.rounds),
          ...(f.baseline ? ["--baseline"] : []),
          "--clients",
          String(f.clients),
          ...(f["low-bit"] ? ["--low-bit", f["low-bit"]] : []),
          ...plannerArgs,
          "--backend",
          backend,
          "--threads",
          String(threads),
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n").filter((l) => l.startsWith("{"));
      for (const l of lines) {
        console.log(l);
        results.push(JSON.parse(l));
      }
    }
    console.log(ratioTable(results, defaults));
  });
}

type Result = Awaited<ReturnType<typeof measureAll>>[number];

/**
 * A markdown table: per task, backend and configuration, fp32 and the served default side by side, their
 * ratio, and (with a baseline) each figure's ratio to the baseline's.
 */
export function ratioTable(results: Result[], defaults: Record<string, string>): string {
  const lines = [
    "| task | backend | config | fp32 p50 / p95 ms | default p50 / p95 ms | default / fp32 | p50 vs before (fp32, default) | GFLOP per plan | plans/s, clients (fp32 / default) |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const find = (r: Result, config: string, variant: string) =>
    results.find((x) =>
      x.task === r.task && x.backend === r.backend && x.config === config && x.model.endsWith(`/${variant}`)
    );
  for (const r of results.filter((r) => r.model.endsWith("/fp32"))) {
    const d = find(r, r.config, defaults[r.task]);
    const b32 = find(r, "before", "fp32"), bd = find(r, "before", defaults[r.task]);
    const pair = (x?: Result) => (x ? `${x.p50_ms} / ${x.p95_ms}` : "-");
    const vs = r.config === "before" || !b32
      ? "-"
      : `${(r.p50_ms / b32.p50_ms).toFixed(2)}x, ${d && bd ? (d.p50_ms / bd.p50_ms).toFixed(2) : "-"}x`;
    lines.push(
      `| ${r.task} | ${r.backend} | ${r.config} | ${pair(r)} | ${pair(d)} | ${
        d ? (d.p50_ms / r.p50_ms).toFixed(3) : "-"
      } | ${vs} | ` +
        `${r.gflop_per_plan} | ${r.plans_per_s_clients} / ${d?.plans_per_s_clients ?? "-"} (${r.clients}) |`,
    );
  }
  return lines.join("\n");
}
