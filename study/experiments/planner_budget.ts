/**
 * How few rollouts plan as well: candidate planners (CEM, iCEM, MPPI at various populations and
 * iterations) against a baseline on the same episodes of every task, through each task's served model,
 * with the fixed protocol. Per (planner, task, seed): success, episodes lost net of the baseline's on the
 * same episodes (paired), rollouts and predictor GFLOP per replan, replan p50, and compute per successful
 * episode (the predictor GFLOP of every replan spent, over the episodes solved).
 *
 *   deno run -A study/experiments/planner_budget.ts --tasks wall,pointmaze,reacher,pusht --seeds 0,1 \
 *     --out study/results/planner_budget/planner_budget
 *
 * Candidates are named in CANDIDATES below; `--only a,b` runs some. Lines are appended to OUT.jsonl as
 * each (planner, task, seed) finishes and skipped when already there, so a rerun resumes; OUT.md is the
 * table of everything in OUT.jsonl.
 */
import { parseFlags, runCli } from "../../lib/cli.ts";
import { percentile } from "../../lib/stats.ts";
import { describePlanner, type PlanPreset, resolvePlanner } from "../../model/planner_options.ts";
import { rolloutsPerReplan, worldModelPlanner } from "../../agent/planners/world_model_planner.ts";
import { WorldModel } from "../../agent/world_model.ts";
import { predictorFlops } from "../../agent/bench.ts";
import { evaluate } from "../../tasks/evaluation.ts";
import { getTask } from "../../tasks/registry.ts";
import { TASK_NAMES } from "../../tasks/task.ts";

/** Pinneri et al. 2020's iCEM: colored noise (beta 2), the population shrinking by 1.25, 30% of elites kept. */
const PAPER_ICEM = { beta: 2, decay: 1.25, keepElites: 0.3 };

/** The planners compared; the first is the baseline every other is paired with. */
export const CANDIDATES: Record<string, PlanPreset> = {
  "cem-64x4": resolvePlanner({ preset: "fast" }),
  "cem-64x2": resolvePlanner({ preset: "fast", iterations: 2 }),
  "cem-32x4": resolvePlanner({ preset: "fast", samples: 32 }),
  "icem-64x4": { ...resolvePlanner({ preset: "fast", method: "icem" }), icem: PAPER_ICEM },
  "icem-48x3": {
    ...resolvePlanner({ preset: "fast", method: "icem", samples: 48, iterations: 3 }),
    icem: PAPER_ICEM,
  },
  "icem-32x4": { ...resolvePlanner({ preset: "fast", method: "icem", samples: 32 }), icem: PAPER_ICEM },
  "icem-64x2": { ...resolvePlanner({ preset: "fast", method: "icem", iterations: 2 }), icem: PAPER_ICEM },
  "icem-32x4-white": {
    ...resolvePlanner({ preset: "fast", method: "icem", samples: 32 }),
    icem: { ...PAPER_ICEM, beta: 0 },
  },
  "icem-32x3": {
    ...resolvePlanner({ preset: "fast", method: "icem", samples: 32, iterations: 3 }),
    icem: PAPER_ICEM,
  },
  "icem-32x3-white": {
    ...resolvePlanner({ preset: "fast", method: "icem", samples: 32, iterations: 3 }),
    icem: { ...PAPER_ICEM, beta: 0 },
  },
  "icem-24x4-white": {
    ...resolvePlanner({ preset: "fast", method: "icem", samples: 24, iterations: 4 }),
    icem: { ...PAPER_ICEM, beta: 0 },
  },
  "icem-48x2-white": {
    ...resolvePlanner({ preset: "fast", method: "icem", samples: 48, iterations: 2 }),
    icem: { ...PAPER_ICEM, beta: 0 },
  },
  "icem-32x4-white-flat": {
    ...resolvePlanner({ preset: "fast", method: "icem", samples: 32 }),
    icem: { beta: 0, decay: 1, keepElites: 0.3 },
  },
  "icem-32x4-white-nokeep": {
    ...resolvePlanner({ preset: "fast", method: "icem", samples: 32 }),
    icem: { beta: 0, decay: 1.25, keepElites: 0 },
  },
};

interface Line {
  planner: string;
  description: string;
  task: string;
  model: string;
  seed: number;
  episodes: number;
  budget: number;
  success: number;
  success_at_episode: (number | null)[];
  final_distance_mean: number;
  replans: number;
  rollouts_per_replan: number;
  gflop_per_replan: number;
  plan_ms_p50: number;
}

function readLines(file: string): Line[] {
  try {
    return Deno.readTextFileSync(file).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

async function run(
  name: string,
  preset: PlanPreset,
  task: string,
  seed: number,
  o: { episodes: number; budget: number },
) {
  const defaults = JSON.parse(Deno.readTextFileSync("models/defaults.json")) as Record<string, string>;
  const dir = `models/${task}/${defaults[task]}`;
  const model = await WorldModel.load(dir, { backend: "node", threads: 1 });
  const r = await evaluate(getTask(task), worldModelPlanner(model, preset), {
    episodes: o.episodes,
    seed,
    budget: o.budget,
    execute: preset.execute,
    imageSize: model.card.image_size,
  });
  const ms = r.results.flatMap((e) => e.planMs);
  const rollouts = rolloutsPerReplan(preset);
  return {
    planner: name,
    description: describePlanner(preset),
    task,
    model: dir,
    seed,
    episodes: o.episodes,
    budget: o.budget,
    success: r.success_rate,
    success_at_episode: r.results.map((e) => e.successAt),
    final_distance_mean: +(r.results.reduce((a, e) => a + e.finalDistance, 0) / r.episodes).toFixed(3),
    replans: ms.length,
    rollouts_per_replan: rollouts,
    gflop_per_replan: +(predictorFlops(model.card) * rollouts * preset.sampler.horizon / 1e9).toFixed(3),
    plan_ms_p50: +percentile(ms, 50).toFixed(1),
  } satisfies Line;
}

function defaultsOf(task: string): string {
  return (JSON.parse(Deno.readTextFileSync("models/defaults.json")) as Record<string, string>)[task];
}

/** Episodes the baseline solved and `x` did not, minus the reverse, on the same episodes. */
function netLoss(x: Line, base: Line): number {
  let n = 0;
  x.success_at_episode.forEach((s, i) => {
    const b = base.success_at_episode[i];
    if (b !== null && s === null) n++;
    if (b === null && s !== null) n--;
  });
  return n;
}

export function table(lines: Line[], baseline: string): string {
  const out = [
    "| planner | model | task | seed | success | net episodes lost vs " + baseline +
    " | final distance | rollouts / replan | GFLOP / replan | replan p50 ms (node, 1 thread) | GFLOP per successful episode |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const l of lines) {
    const base = lines.find((b) =>
      b.planner === baseline && b.task === l.task && b.seed === l.seed && b.model === l.model
    );
    const solved = l.success_at_episode.filter((s) => s !== null).length;
    const perSuccess = solved ? (l.gflop_per_replan * l.replans / solved).toFixed(1) : "-";
    out.push(
      `| ${l.planner} | ${l.model.split("/").at(-1)} | ${l.task} | ${l.seed} | ${l.success.toFixed(2)} | ${
        base ? netLoss(l, base) : "-"
      } | ${
        l.final_distance_mean.toFixed(2)
      } | ${l.rollouts_per_replan} | ${l.gflop_per_replan} | ${l.plan_ms_p50} | ${perSuccess} |`,
    );
  }
  return out.join("\n");
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      tasks: { type: "string", default: TASK_NAMES.join(","), help: "comma-separated tasks" },
      seeds: { type: "string", default: "0", help: "comma-separated evaluation seeds" },
      only: { type: "string", help: "comma-separated candidate names (default: all)" },
      episodes: { type: "int", default: 50, min: 1 },
      budget: { type: "int", default: 50, min: 1 },
      variant: { type: "string", default: "default", help: "which variant of each task: default (served) or a name" },
      out: { type: "string", default: "study/results/planner_budget/planner_budget", help: "OUT.jsonl and OUT.md" },
    }, "study/experiments/planner_budget.ts: candidate planners against the baseline on every task's served model");
    const names = f.only ? f.only.split(",") : Object.keys(CANDIDATES);
    for (const n of names) if (!CANDIDATES[n]) throw new Error(`unknown candidate ${n}`);
    Deno.mkdirSync(f.out.split("/").slice(0, -1).join("/") || ".", { recursive: true });
    const file = `${f.out}.jsonl`;
    for (const seed of f.seeds.split(",").map(Number)) {
      for (const task of f.tasks.split(",")) {
        for (const name of names) {
          const have = readLines(file).some((l) =>
            l.planner === name && l.task === task && l.seed === seed && l.episodes === f.episodes &&
            l.budget === f.budget && l.model.endsWith(`/${f.variant === "default" ? defaultsOf(task) : f.variant}`)
          );
          if (have) continue;
          const t0 = performance.now();
          const line = await run(name, CANDIDATES[name], task, seed, f);
          Deno.writeTextFileSync(file, JSON.stringify(line) + "\n", { append: true });
          console.error(
            `${name} ${task} seed ${seed}: success ${line.success} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
          );
        }
      }
    }
    const all = readLines(file);
    Deno.writeTextFileSync(`${f.out}.md`, table(all, Object.keys(CANDIDATES)[0]) + "\n");
    console.log(table(all, Object.keys(CANDIDATES)[0]));
  });
}
