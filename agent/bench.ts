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

async function measure(
  dir: string,
  backend: BackendName,
  threads: number,
  plans: number,
  clients: number,
  options: PlannerOptions,
  lowBit?: LowBitMode,
) {
  const model = await WorldModel.load(dir, { backend, threads, lowBit });
  const preset = plannerFromFlags(options, cardPreset(model.card));
  const task = getTask(model.card.task);
  const planOnce = async (planner: ReturnType<typeof worldModelPlanner>, i: number) => {
    const ep = evaluationEpisode(task, 99, i);
    const img = (s: Float64Array) => () => task.render(s, model.card.image_size);
    await planner.plan(
      { state: ep.start, proprio: task.proprio(ep.start), image: img(ep.start) },
      { state: ep.goal, proprio: task.proprio(ep.goal), image: img(ep.goal) },
      undefined,
      new Rng(i),
    );
  };
  const planner = worldModelPlanner(model, preset);
  const ms: number[] = [];
  for (let i = 0; i < plans + 2; i++) {
    const t0 = performance.now();
    await planOnce(planner, i);
    if (i >= 2) ms.push(performance.now() - t0); // first two warm up
  }
  // Throughput with `clients` clients planning at once on the one loaded model (as a planning worker does).
  const perClient = Math.max(2, Math.ceil(plans / 4));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, w) => {
    const p = worldModelPlanner(model, preset);
    for (let i = 0; i < perClient; i++) await planOnce(p, 1000 + w * perClient + i);
  }));
  const concurrentPerS = (clients * perClient) / ((performance.now() - t0) / 1000);
  const flops = predictorFlops(model.card) * rolloutsPerReplan(preset) * preset.sampler.horizon;
  const p50 = percentile(ms, 50);
  return {
    model: dir,
    task: task.name,
    backend: backend === "web" ? `web-${threads}t` : "node",
    low_bit: lowBit ?? DEFAULT_LOW_BIT[backend],
    planner: describePlanner(preset),
    plans,
    p50_ms: +p50.toFixed(1),
    p95_ms: +percentile(ms, 95).toFixed(1),
    plans_per_s: +(1000 / p50).toFixed(2),
    clients,
    plans_per_s_clients: +concurrentPerS.toFixed(2),
    gflop_per_plan: +(flops / 1e9).toFixed(3),
    gflop_per_s: +(flops / 1e9 / (p50 / 1000)).toFixed(2),
  };
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      model: { type: "string", help: "comma-separated model directories (default: fp32 and the default of --tasks)" },
      tasks: { type: "string", help: "tasks whose fp32 and served default are timed (default: every task)" },
      plans: { type: "int", default: 20, min: 1, max: 10000, help: "timed plans per model and backend" },
      clients: { type: "int", default: 8, min: 1, max: 64, help: "concurrent clients for the throughput figure" },
      "low-bit": { type: "enum", values: ["native", "unpack"], help: "how low-bit weights run (default: per backend)" },
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
      for (const d of dirs) {
        console.log(JSON.stringify(await measure(d, f.backend, f.threads, plans, f.clients, f, f["low-bit"])));
      }
      return;
    }
    const results: Result[] = [];
    for (const [backend, threads] of [["web", 1], ["web", 2], ["node", 2]] as const) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          import.meta.filename!,
          "--model",
          dirs.join(","),
          "--plans",
          String(plans),
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

type Result = Awaited<ReturnType<typeof measure>>;

/** A markdown table: per task and backend, fp32 and the served default side by side, and their ratio. */
export function ratioTable(results: Result[], defaults: Record<string, string>): string {
  const lines = [
    "| task | backend | fp32 p50 / p95 ms | default p50 / p95 ms | default / fp32 | GFLOP per plan | plans/s, clients (fp32 / default) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of results.filter((r) => r.model.endsWith("/fp32"))) {
    const d = results.find((x) =>
      x.task === r.task && x.backend === r.backend && x.model.endsWith(`/${defaults[r.task]}`)
    );
    const pair = (x?: Result) => (x ? `${x.p50_ms} / ${x.p95_ms}` : "-");
    lines.push(
      `| ${r.task} | ${r.backend} | ${pair(r)} | ${pair(d)} | ${
        d ? (d.p50_ms / r.p50_ms).toFixed(3) : "-"
      } | ${r.gflop_per_plan} | ` +
        `${r.plans_per_s_clients} / ${d?.plans_per_s_clients ?? "-"} (${r.clients}) |`,
    );
  }
  return lines.join("\n");
}
