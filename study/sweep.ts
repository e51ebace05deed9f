/**
 * The quantization study's sweep: each grid row is quantized (or taken as fp32, the oracle or
 * onnxruntime's own quantizer), scored under the fixed evaluation protocol, and written as one
 * JSONL line the moment it finishes. A rerun skips finished rows, so an interrupted sweep resumes;
 * shards write files of their own and the report merges them.
 *
 * Per row: success at every replan checkpoint with a 95% interval, each episode's first success
 * (paired comparisons), the planning objective per sampler iteration and per replan, open-loop
 * latent error against fp32 after 1 and 5 predicted steps on held-out frames, and bytes per graph.
 */
import process from "node:process";
import { graphFiles, loadModelCard, type ModelCard, sha256 } from "../model/model_card.ts";
import { ownQuantization } from "../model/quantization.ts";
import { type PlanTrace, worldModelPlanner } from "../agent/planners/world_model_planner.ts";
import { cardPreset, DEFAULT_PRESET, type PlanPreset, resolvePlanner } from "../model/planner_options.ts";
import { WorldModel } from "../agent/world_model.ts";
import { quantizeModelDir } from "../quant/quantize_model.ts";
import { CHECKPOINTS, evaluate, type ProtocolResult } from "../tasks/evaluation.ts";
import { ORACLE_PRESETS, runOracle } from "../agent/planners/oracle.ts";
import { getTask } from "../tasks/registry.ts";
import type { RowSpec } from "./grid.ts";
import { latentError } from "./latent_error.ts";

export interface SweepOptions {
  out: string;
  episodes: number;
  budget: number;
  seed: number;
  /** Threads per onnxruntime session (node backend). */
  threads: number;
  /** Python with onnxruntime for the peer rows (skipped with a message when missing). */
  python?: string;
  log?: (s: string) => void;
}

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

/** Wilson score interval for k successes in n trials (95%). */
export function wilson(k: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n, d = 1 + z * z / n;
  const c = (p + z * z / (2 * n)) / d, h = (z * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / d;
  return [+Math.max(0, c - h).toFixed(4), +Math.min(1, c + h).toFixed(4)];
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
 * (every variant is quantized from them and planned with that objective), or, for the oracle, its
 * settings and cost (the function's source). A row whose basis differs from today's is stale:
 * the sweep reruns it and the report leaves it out, so new fp32 models re-run the study.
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
      // The planner it is served with, where that is not the default "fast" (so that naming "fast" changes nothing).
      planner: servedPlanner(card),
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

/** Did a row fail badly enough to decide the rows it prunes? */
export function failed(row: RowResult, fp32: RowResult | undefined): boolean {
  if (row.status !== "done" || !row.success) return row.status === "pruned";
  const s = row.success[String(row.budget)] ?? 0, ref = fp32?.success?.[String(fp32.budget)];
  // Where fp32 itself rarely succeeds (pusht), success cannot tell: a latent error as large as the signal decides.
  if (ref === undefined || ref < 0.3) return (row.latent_error?.step5 ?? 0) >= 1;
  return s <= 0.2 * ref;
}

/** The bytes a variant's graphs take on disk, per graph and in all. */
export function bytesOf(card: ModelCard) {
  const e = card.files["encoder.onnx"].bytes, p = card.files["predictor.onnx"].bytes;
  const d = card.files["distance.onnx"]?.bytes; // the distance head: fp32, or quantized with the whole model
  return { encoder: e, predictor: p, ...(d ? { distance: d } : {}), total: e + p + (d ?? 0) };
}

function summarise(r: ProtocolResult, traces: PlanTrace[][], budget: number) {
  const n = r.episodes, success: Record<string, number> = {}, ci95: Record<string, [number, number]> = {};
  for (const c of CHECKPOINTS) {
    if (c > budget) continue;
    const k = r.results.filter((e) => (c === 0 ? e.openLoopSuccess : e.successAt !== null && e.successAt <= c)).length;
    success[String(c)] = k / n;
    ci95[String(c)] = wilson(k, n);
  }
  // The budget itself is always a checkpoint, so every row has its final success.
  const kFinal = r.results.filter((e) => e.successAt !== null).length;
  success[String(budget)] = kFinal / n;
  ci95[String(budget)] = wilson(kFinal, n);
  const all = traces.flat();
  const iters = Math.max(0, ...all.map((t) => t.history.length));
  const mean = (xs: number[]) => xs.length ? +(xs.reduce((a, b) => a + b, 0) / xs.length).toPrecision(5) : NaN;
  const perReplan: number[] = [];
  for (let i = 0; i < budget; i++) {
    const xs = traces.filter((t) => t.length > i).map((t) => t[i].cost);
    if (!xs.length) break;
    perReplan.push(mean(xs));
  }
  return {
    success,
    ci95,
    success_at_episode: r.results.map((e) => e.successAt),
    final_distance_mean: +(r.results.reduce((a, e) => a + e.finalDistance, 0) / n).toFixed(4),
    objective: {
      per_iteration: Array.from(
        { length: iters },
        (_, i) => mean(all.map((t) => t.history[i]).filter(Number.isFinite)),
      ),
      per_replan: perReplan,
      first: traces.map((t) => +(t[0]?.cost ?? NaN).toPrecision(5)),
      last: traces.map((t) => +(t.at(-1)?.cost ?? NaN).toPrecision(5)),
    },
    plan_ms_p50: (() => {
      const ms = r.results.flatMap((e) => e.planMs).sort((a, b) => a - b);
      return +(ms[Math.floor(ms.length / 2)] ?? 0).toFixed(1);
    })(),
  };
}

/** The project's virtual environment (train/ and study/ requirements) where it exists, else the system's python3. */
export function defaultPython(): string {
  try {
    if (Deno.statSync(".venv/bin/python").isFile) return ".venv/bin/python";
  } catch { /* no venv */ }
  return "python3";
}

/** A model directory for onnxruntime's MatMulNBitsQuantizer's output (Python), with a card of ours. */
async function ortVariant(spec: RowSpec, fp32Dir: string, dir: string, python: string | undefined): Promise<string> {
  const py = python ?? defaultPython();
  const probe = await new Deno.Command(py, {
    args: ["-c", "import onnxruntime.quantization.matmul_nbits_quantizer"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ code: 127 }));
  if (probe.code !== 0) {
    throw new SkipRow(`${py} cannot import onnxruntime.quantization (pip install -r study/requirements.txt)`);
  }
  Deno.mkdirSync(dir, { recursive: true });
  for (const m of ["encoder", "predictor"]) {
    const p = await new Deno.Command(py, {
      args: [
        "study/ort_quantize.py",
        "--in",
        `${fp32Dir}/${m}.onnx`,
        "--out",
        `${dir}/${m}.onnx`,
        "--algo",
        spec.ort!.algo,
        "--group",
        String(spec.ort!.group),
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (p.code !== 0) throw new Error(`study/ort_quantize.py failed on ${m} (exit ${p.code})`);
  }
  const card = loadModelCard(fp32Dir);
  const files: ModelCard["files"] = {};
  for (const m of ["encoder", "predictor"]) {
    const b = Deno.readFileSync(`${dir}/${m}.onnx`);
    files[`${m}.onnx`] = { sha256: sha256(b), bytes: b.length };
  }
  for (const name of graphFiles(card).filter((f) => !(f in files))) { // the distance head, unchanged
    Deno.copyFileSync(`${fp32Dir}/${name}`, `${dir}/${name}`);
    files[name] = card.files[name];
  }
  const out = {
    ...card,
    variant: spec.id,
    files,
    quantization: {
      peer: "onnxruntime MatMulNBitsQuantizer",
      algo: spec.ort!.algo,
      bits: 4,
      group: spec.ort!.group,
      from: { dir: fp32Dir, variant: card.variant, files: card.files },
    },
  };
  Deno.writeTextFileSync(`${dir}/model.json`, JSON.stringify(out, null, 2) + "\n");
  return dir;
}

/** A row that cannot run here (e.g. no onnxruntime for Python): recorded as skipped with the reason. */
export class SkipRow extends Error {
  override name = "SkipRow";
}

/** The quantized model directory of a row (built once; reused when its card loads). */
/** The card's resolved planner preset, or undefined where it is the default preset with no overrides. */
function servedPlanner(card: ModelCard): PlanPreset | undefined {
  const p = cardPreset(card); // resolved: every field spelled out
  return JSON.stringify(p) === JSON.stringify(resolvePlanner({ preset: DEFAULT_PRESET })) ? undefined : p;
}

/** Was `variant` quantized from `fp32` as it is now (same graphs, same planning objective and planner)? */
export function builtFrom(variant: ModelCard, fp32: ModelCard): boolean {
  const from = variant.quantization?.from.files;
  if (!from) return false;
  const same = graphFiles(fp32).every((f) => from[f]?.sha256 === fp32.files[f].sha256) &&
    graphFiles({ files: from }).length === graphFiles(fp32).length;
  return same && JSON.stringify(variant.objective) === JSON.stringify(fp32.objective) &&
    JSON.stringify(servedPlanner(variant)) === JSON.stringify(servedPlanner(fp32));
}

/** The row's model directory under <out>/variants/, built (deterministically, from its seeds) if missing or stale. */
export async function variantDir(
  spec: RowSpec,
  fp32Dir: string,
  o: Pick<SweepOptions, "out" | "python">,
): Promise<string> {
  const dir = `${o.out}/variants/${spec.task}/${spec.id}`;
  // What the variant was built from and how: a row whose steps changed (the grid grew a step) rebuilds it.
  const recipe = JSON.stringify(spec.steps ?? spec.ort ?? null);
  try {
    // A variant built earlier is reused only if it was quantized from today's fp32 graphs and objective, by the
    // same steps.
    const same = Deno.readTextFileSync(`${dir}/recipe.json`) === recipe;
    if (same && builtFrom(loadModelCard(dir), loadModelCard(fp32Dir))) return dir;
  } catch { /* build it */ }
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* nothing there */ }
  if (spec.kind === "ort") await ortVariant(spec, fp32Dir, dir, o.python);
  else {
    let from = fp32Dir;
    for (const [i, step] of spec.steps!.entries()) {
      const to = i === spec.steps!.length - 1 ? dir : `${dir}.step${i}`;
      await quantizeModelDir(from, to, step, { variant: spec.id, backend: "node", log: () => {} });
      if (from !== fp32Dir) Deno.removeSync(from, { recursive: true });
      from = to;
    }
  }
  Deno.writeTextFileSync(`${dir}/recipe.json`, recipe);
  return dir;
}

/** Run one row to its result line. */
export async function runRow(spec: RowSpec, fp32Dir: string, ref: WorldModel, o: SweepOptions): Promise<RowResult> {
  const t0 = performance.now(), cpu0 = process.cpuUsage();
  // CPU time is what a row costs: wall time also counts a paused shard (SIGSTOP) and a core shared with others.
  const cpuSeconds = () => {
    const u = process.cpuUsage(cpu0);
    return +((u.user + u.system) / 1e6).toFixed(1);
  };
  const base = {
    id: spec.id,
    task: spec.task,
    family: spec.family,
    kind: spec.kind,
    episodes: o.episodes,
    budget: o.budget,
    seed: o.seed,
  };
  const task = getTask(spec.task);
  if (spec.kind === "oracle") {
    const r = await runOracle(task, o.episodes, o.seed, o.budget);
    const s = summarise(r, [], o.budget);
    return {
      ...base,
      status: "done",
      success: s.success,
      ci95: s.ci95,
      success_at_episode: s.success_at_episode,
      final_distance_mean: s.final_distance_mean,
      plan_ms_p50: s.plan_ms_p50,
      seconds: { quantize: 0, eval: +((performance.now() - t0) / 1000).toFixed(1), total: 0, cpu: cpuSeconds() },
      finished_at: new Date().toISOString(),
    };
  }
  let dir = fp32Dir;
  try {
    if (spec.kind !== "fp32") dir = await variantDir(spec, fp32Dir, o);
  } catch (e) {
    if (e instanceof SkipRow) return { ...base, status: "skipped", reason: e.message };
    throw e;
  }
  const t1 = performance.now();
  const model = await WorldModel.load(dir, { backend: "node", threads: o.threads });
  const preset = cardPreset(model.card);
  const traces: PlanTrace[][] = [];
  let current: PlanTrace[] = [];
  const planner = worldModelPlanner(model, preset, (t) => current.push(t));
  const r = await evaluate(task, planner, {
    episodes: o.episodes,
    seed: o.seed,
    budget: o.budget,
    execute: preset.execute,
    imageSize: model.card.image_size,
    onEpisode: () => {
      traces.push(current);
      current = [];
    },
  });
  const t2 = performance.now();
  const modules = Object.values(ownQuantization(model.card.quantization)?.modules ?? {});
  return {
    ...base,
    status: "done",
    config: spec.steps ?? spec.ort ?? null,
    ...summarise(r, traces, o.budget),
    latent_error: spec.kind === "fp32" ? { encoder: 0, step1: 0, step5: 0 } : await latentError(ref, model),
    bytes: bytesOf(model.card),
    // MatMulNBits / MatMulInteger graphs (and fp32) are real deployable storage; "sim" graphs are studies only.
    deployable: spec.kind !== "quant" || modules.every((m) => m.format === "deploy"),
    layer_fallbacks: modules.reduce((a, m) => a + m.per_layer.filter((l) => l.fallback).length, 0),
    seconds: {
      quantize: +((t1 - t0) / 1000).toFixed(1),
      eval: +((t2 - t1) / 1000).toFixed(1),
      total: +((performance.now() - t0) / 1000).toFixed(1),
      cpu: cpuSeconds(),
    },
    finished_at: new Date().toISOString(),
  };
}
