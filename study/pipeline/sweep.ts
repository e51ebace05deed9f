/**
 * The quantization study's sweep: each grid row is quantized (or taken as fp32, the oracle or
 * onnxruntime's own quantizer), scored under the fixed evaluation protocol, and written as one
 * JSONL line the moment it finishes (rows.ts keeps the files). A rerun skips finished rows, so an
 * interrupted sweep resumes; shards write files of their own and `deno task study merge` joins them.
 *
 * Per row: success at every replan checkpoint with a 95% interval, each episode's first success
 * (paired comparisons), the planning objective per sampler iteration and per replan, open-loop
 * latent error against fp32 after 1 and 5 predicted steps on held-out frames, and bytes per graph.
 */
import process from "node:process";
import { graphFiles, loadModelCard, type ModelCard } from "../../model/model_card.ts";
import { ownQuantization } from "../../model/quantization.ts";
import { type PlanTrace, worldModelPlanner } from "../../agent/planners/world_model_planner.ts";
import { WorldModel } from "../../agent/world_model.ts";
import { quantizeModelDir } from "../../quant/quantize_model.ts";
import { evaluate } from "../../tasks/evaluation.ts";
import { runOracle } from "../../agent/planners/oracle.ts";
import { getTask } from "../../tasks/registry.ts";
import type { RowSpec } from "./grid.ts";
import { latentError } from "./latent_error.ts";
import { type RowResult, servedPlanner, studyPlanner } from "./rows.ts";
import { summarise } from "./summary.ts";
import { ortVariant, SkipRow } from "./peer_variant.ts";

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

/** Did a row fail badly enough to decide the rows it prunes? */
export function failed(row: RowResult, fp32: RowResult | undefined): boolean {
  if (row.status !== "done" || !row.success) return row.status === "pruned";
  const s = row.success[String(row.budget)] ?? 0, ref = fp32?.success?.[String(fp32.budget)];
  // Where fp32 itself rarely succeeds (pusht before issue 39), success cannot tell: a latent error as large as the signal decides.
  if (ref === undefined || ref < 0.3) return (row.latent_error?.step5 ?? 0) >= 1;
  return s <= 0.2 * ref;
}

/** The bytes a variant's graphs take on disk, per graph and in all. */
export function bytesOf(card: ModelCard) {
  const e = card.files["encoder.onnx"].bytes, p = card.files["predictor.onnx"].bytes;
  const d = card.files["distance.onnx"]?.bytes; // the distance head: fp32, or quantized with the whole model
  return { encoder: e, predictor: p, ...(d ? { distance: d } : {}), total: e + p + (d ?? 0) };
}

/** The quantized model directory of a row (built once; reused when its card loads). */
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
  const preset = studyPlanner(spec.task, ref.card);
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
