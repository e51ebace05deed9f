/**
 * The study's rows on disk: one JSONL line per finished row, in `rows.jsonl` and the shards' own
 * `rows.shard-i-of-n.jsonl` files; which line of a row counts (the latest by finish time), what a row's
 * numbers rest on (its basis: today's fp32 graphs, objective and planner, or the oracle's settings), and
 * merging the shard files into one once a sharded sweep is done.
 */
import { graphFiles, loadModelCard, type ModelCard, sha256 } from "../../model/model_card.ts";
import { cardPreset, type PlanPreset, resolvePlanner } from "../../model/planner_options.ts";
import { ORACLE_PRESETS } from "../../agent/planners/oracle.ts";
import { getTask } from "../../tasks/registry.ts";
import type { RowSpec } from "./grid.ts";

export interface RowResult {
  id: string;
  task: string;
  family: RowSpec["family"];
  kind: RowSpec["kind"];
  status: "done" | "pruned" | "skipped";
  reason?: string;
  /** `rowBasis` when the row ran: the fp32 model (or oracle) it measured. */
  basis?: string;
  episodes: number;
  budget: number;
  seed: number;
  config?: unknown;
  success?: Record<string, number>;
  ci95?: Record<string, [number, number]>;
  /** Replan at which each episode first succeeded, null if never. */
  success_at_episode?: (number | null)[];
  final_distance_mean?: number;
  objective?: {
    /** Mean best objective after sampler iteration i (over every replan). */
    per_iteration: number[];
    /** Mean final objective at replan r (1-based; over the episodes still running). */
    per_replan: number[];
    /** Each episode's objective at its first and last replan. */
    first: number[];
    last: number[];
  };
  latent_error?: { encoder: number; step1: number; step5: number };
  bytes?: { encoder: number; predictor: number; distance?: number; total: number };
  deployable?: boolean;
  layer_fallbacks?: number;
  plan_ms_p50?: number;
  /** Wall seconds; `cpu`: CPU seconds of the process over the row (all its threads), absent in older rows. */
  seconds?: { quantize: number; eval: number; total: number; cpu?: number };
  finished_at?: string;
}

/** Every finished line of every JSONL file in `out` (all shards), with the file it is in, in read order. */
export function readRowLines(out: string): { row: RowResult; file: string }[] {
  const lines: { row: RowResult; file: string }[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = [...Deno.readDirSync(out)];
  } catch { /* nothing yet */ }
  for (
    const e of entries.filter((e) => e.isFile && /^rows.*\.jsonl$/.test(e.name)).sort((a, b) =>
      a.name < b.name ? -1 : 1
    )
  ) {
    for (const l of Deno.readTextFileSync(`${out}/${e.name}`).split("\n")) {
      if (!l.trim()) continue;
      try {
        lines.push({ row: JSON.parse(l), file: e.name });
      } catch { /* a line cut by a kill: that row reruns */ }
    }
  }
  return lines;
}

/** Every finished line of every JSONL file in `out` (all shards). */
export function readRows(out: string): RowResult[] {
  return readRowLines(out).map((l) => l.row);
}

export const rowKey = (r: { task: string; id: string }) => `${r.task}/${r.id}`;

/**
 * What a row's numbers rest on, as a short hash: its task's fp32 graphs and planning objective
 * (every variant is quantized from them and planned with that objective) and the task's study planner, or,
 * for the oracle, its settings and cost (the function's source). A row whose basis differs from today's
 * is stale: the sweep reruns it and the report leaves it out, so new fp32 models re-run the study.
 */
export function rowBasis(task: string, kind: RowSpec["kind"], models: string): string {
  let what: unknown;
  if (kind === "oracle") {
    const p = ORACLE_PRESETS[task as keyof typeof ORACLE_PRESETS], t = getTask(task);
    what = { oracle: { ...p, cost: String(p.cost ?? t.oracleCost ?? "distance") } };
  } else {
    const card = loadModelCard(`${models}/${task}/fp32`);
    what = {
      graphs: Object.fromEntries(graphFiles(card).map((f) => [f, card.files[f].sha256])),
      objective: card.objective,
      // The task's study planner, where it is not "fast" (wall, pointmaze and reacher rows plan with "fast").
      planner: notFast(studyPlanner(task, card)),
    };
  }
  return sha256(new TextEncoder().encode(JSON.stringify(what))).slice(0, 16);
}

/** `rowBasis`, computed once per task and kind of row (it reads and hashes the fp32 model's files). */
export function basisCache(models = "models"): (task: string, kind: RowResult["kind"]) => string {
  const bases = new Map<string, string>();
  return (task, kind) => {
    const k = `${task}/${kind === "oracle" ? "oracle" : "model"}`;
    if (!bases.has(k)) bases.set(k, rowBasis(task, kind, models));
    return bases.get(k)!;
  };
}

/**
 * The rows of `out` measured on today's models and oracle (see `rowBasis`), how many lines are stale, and the
 * file holding each row's line (a line appended there with the same finish time counts next).
 */
export function currentRows(
  out: string,
  models = "models",
): { rows: RowResult[]; stale: number; fileOf: Map<string, string> } {
  const basisOf = basisCache(models);
  const all = readRowLines(out), fresh = all.filter(({ row: r }) => r.basis === basisOf(r.task, r.kind));
  // A row measured again (a skipped row retried, a row rerun by hand, maybe by another shard into another file)
  // counts once: its latest line by finish time, and of lines finished together (or never: pruned, skipped),
  // the one read last.
  const last = new Map<string, { row: RowResult; file: string }>();
  for (const l of fresh) {
    const seen = last.get(rowKey(l.row));
    if (!seen || (l.row.finished_at ?? "") >= (seen.row.finished_at ?? "")) last.set(rowKey(l.row), l);
  }
  return {
    rows: fresh.filter((l) => last.get(rowKey(l.row)) === l).map((l) => l.row),
    stale: all.length - fresh.length,
    fileOf: new Map([...last].map(([k, l]) => [k, l.file])),
  };
}

/**
 * The planner every row of the study plans with: its protocol's, fixed, whatever planner a model is served
 * with (the served planner is what `study speed` times, and what the models' own evaluations measure). A
 * study that compares quantized variants must hold the search constant; it is the CEM the grid was run with.
 */
export const STUDY_PLANNER: PlanPreset = resolvePlanner({ preset: "fast" });

/**
 * Tasks whose rows plan with their fp32 card's own planner instead (held constant across the task's variants,
 * which copy it). pusht's planner is part of its model (issue 39): a search sized to its control period, started
 * from the model's proposal policy (`policy.onnx`, carried unchanged into every variant); under `fast` its fp32
 * model would sit near the floor, where variants cannot differ.
 */
export const SERVED_PLANNER_TASKS: readonly string[] = ["pusht"];

/** The planner a task's rows plan with: `STUDY_PLANNER`, or its fp32 card's served one (`SERVED_PLANNER_TASKS`). */
export function studyPlanner(task: string, fp32: ModelCard): PlanPreset {
  return SERVED_PLANNER_TASKS.includes(task) ? cardPreset(fp32) : STUDY_PLANNER;
}

const FAST = JSON.stringify(STUDY_PLANNER);

/** `p`, or undefined where it is the "fast" preset with no overrides (`STUDY_PLANNER`). */
function notFast(p: PlanPreset): PlanPreset | undefined {
  return JSON.stringify(p) === FAST ? undefined : p;
}

/** The card's resolved planner preset, or undefined where it is the "fast" preset with no overrides. */
export function servedPlanner(card: ModelCard): PlanPreset | undefined {
  return notFast(cardPreset(card)); // resolved: every field spelled out
}

/**
 * Merge every rows file of `out` into `rows.jsonl`, in the order they are read, and remove the shard files.
 * Every line is kept (superseded and stale ones too), and read order within one file is what decides ties,
 * so which line of a row counts does not change. Returns how many lines and files were merged.
 */
export function mergeRowFiles(out: string): { lines: number; files: string[] } {
  const all = readRowLines(out);
  const files = [...new Set(all.map((l) => l.file))];
  const text = all.map((l) => JSON.stringify(l.row)).join("\n") + (all.length ? "\n" : "");
  const tmp = `${out}/rows.jsonl.merging`;
  Deno.writeTextFileSync(tmp, text);
  Deno.renameSync(tmp, `${out}/rows.jsonl`);
  for (const f of files.filter((f) => f !== "rows.jsonl")) Deno.removeSync(`${out}/${f}`);
  return { lines: all.length, files };
}
