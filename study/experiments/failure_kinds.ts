/**
 * Why a model's episodes fail. Runs `deno task eval`'s protocol, then scores each episode's last frame
 * against its goal twice: the true distance (units of the task's success tolerances) and the model's own
 * planning cost of that frame (encoded as observed, the card's objective), each as a share of the same
 * score at the start. A failure whose cost fell much further than its true distance is one the latent
 * barely sees (the encoder nearly aliases the last frame with the goal): the planner stops in a minimum
 * the true task does not have, and no predictor or search fixes that. One the latent sees (its cost left
 * in proportion) is the planner's or the predictor's to close.
 *
 *   deno run -A study/experiments/failure_kinds.ts --task pusht --model models/pusht/fp32 --seed 0 --episodes 50
 *
 * Prints a summary and, with --out, one JSON line per episode (its start, last and goal states too). With
 * `--rescore FILE` (such an --out file) it plays nothing: it scores those episodes' frames with this model's cost, to
 * ask whether another encoder or metric would see the same failures.
 */
import { parseFlags, runCli } from "../../lib/cli.ts";
import { cardPreset } from "../../model/planner_options.ts";
import { PLANNER_FLAGS, plannerFromFlags } from "../../agent/planner_flags.ts";
import { evaluateModel } from "../../agent/eval.ts";
import { WorldModel } from "../../agent/world_model.ts";
import { evaluationEpisode } from "../../tasks/evaluation.ts";
import { getTask } from "../../tasks/registry.ts";
import type { Task } from "../../tasks/task.ts";

export interface EpisodeKind {
  episode: number;
  success: boolean;
  /** True distance of the last state, and of the start, to the goal (success tolerances). */
  distance: number;
  startDistance: number;
  /** The model's cost of the last observed frame, and of the first, against the goal. */
  cost: number;
  startCost: number;
  start: number[];
  last: number[];
  goal: number[];
}

/** The model's planning cost of observed states against a goal state (each rendered at the model's size). */
export async function observedCost(
  model: WorldModel,
  task: Task,
  states: ArrayLike<number>[],
  goal: ArrayLike<number>,
) {
  const S = model.card.image_size, F = S * S * 3, n = states.length;
  const images = new Uint8Array((n + 1) * F);
  states.forEach((s, i) => images.set(task.render(Float64Array.from(s), S), i * F));
  images.set(task.render(Float64Array.from(goal), S), n * F);
  const z = await model.encode(images, n + 1);
  const { tokens: N, latent_dim: D, global_dim: G, proprio_dim: P } = model.card;
  const goalLatent = { tokens: z.tokens.subarray(n * N * D), global: z.global.subarray(n * G), batch: 1 };
  const proprio = new Float32Array(n * P);
  states.forEach((s, i) => proprio.set(model.normProprio(task.proprio(s)), i * P));
  const pred = { tokens: z.tokens.subarray(0, n * N * D), global: z.global.subarray(0, n * G), proprio };
  return model.cost(pred, goalLatent, model.normProprio(task.proprio(goal)), n);
}

/**
 * The share of the remaining true error the latent shows: (cost / start cost) / (distance / start distance);
 * 1 where the latent tracks the task in proportion, near 0 where it calls a far state close.
 */
export function seenShare(k: EpisodeKind): number {
  return (k.cost / k.startCost) / (k.distance / k.startDistance);
}

/** Failures the latent barely sees: less than `share` of their remaining error shows in the cost. */
export function blindFailures(kinds: EpisodeKind[], share = 0.5): EpisodeKind[] {
  return kinds.filter((k) => !k.success && seenShare(k) < share);
}

/** Episodes of an earlier run (failure_kinds --out), their frames scored again with `model`'s cost. */
export async function rescore(model: WorldModel, task: Task, file: string): Promise<EpisodeKind[]> {
  const kinds: EpisodeKind[] = [];
  for (const line of (await Deno.readTextFile(file)).split("\n")) {
    if (!line.trim()) continue;
    const k: EpisodeKind = JSON.parse(line);
    const [cost, startCost] = await observedCost(model, task, [k.last, k.start], k.goal);
    kinds.push({ ...k, cost, startCost });
  }
  return kinds;
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      task: { type: "string", required: true },
      model: { type: "string", required: true, help: "model directory" },
      episodes: { type: "int", default: 50, min: 1 },
      seed: { type: "int", default: 0, min: 0, max: 2 ** 32 - 1 },
      budget: { type: "int", default: 50, min: 1, max: 1000 },
      ...PLANNER_FLAGS,
      backend: { type: "enum", values: ["web", "node"], default: "node" },
      threads: { type: "int", default: 1, min: 1, max: 64 },
      out: { type: "string", help: "JSON lines, one per episode" },
      rescore: { type: "string", help: "an --out file: score its episodes' frames with this model, play nothing" },
    }, "failure_kinds.ts --task T --model DIR: which failures the model's latent cannot see");
    const task = getTask(f.task);
    const model = await WorldModel.load(f.model, { backend: f.backend, threads: f.threads });
    if (f.rescore) {
      const kinds = await rescore(model, task, f.rescore);
      const failed = kinds.filter((k) => !k.success), shares = failed.map(seenShare).sort((a, b) => a - b);
      console.log(JSON.stringify({
        task: task.name,
        model: f.model,
        rescored: f.rescore,
        failures: failed.length,
        blind_failures: blindFailures(kinds).length,
        seen_share: shares.map((v) => +v.toFixed(2)),
      }));
      return;
    }
    const preset = plannerFromFlags(f, cardPreset(model.card));
    const last = new Map<number, Float64Array>();
    const r = await evaluateModel(task, model, preset, {
      episodes: f.episodes,
      seed: f.seed,
      budget: f.budget,
      onState: (s, i) => last.set(i, s.slice()),
    }, `failure kinds ${task.name}`);
    const kinds: EpisodeKind[] = [];
    for (const e of r.results) {
      const ep = evaluationEpisode(task, f.seed, e.index), end = last.get(e.index)!;
      const [cost, startCost] = await observedCost(model, task, [end, ep.start], ep.goal);
      kinds.push({
        episode: e.index,
        success: e.successAt !== null,
        distance: e.finalDistance,
        startDistance: task.distance(ep.start, ep.goal),
        cost,
        startCost,
        start: Array.from(ep.start),
        last: Array.from(end),
        goal: Array.from(ep.goal),
      });
    }
    if (f.out) await Deno.writeTextFile(f.out, kinds.map((k) => JSON.stringify(k)).join("\n") + "\n");
    const failed = kinds.filter((k) => !k.success);
    console.log(JSON.stringify({
      task: task.name,
      model: f.model,
      seed: f.seed,
      episodes: kinds.length,
      success_rate: r.success_rate,
      failures: failed.length,
      // Failures the latent barely sees: under half of their remaining true error shows in the cost.
      blind_failures: blindFailures(kinds).length,
      failures_detail: failed.map((k) => ({
        episode: k.episode,
        distance: +k.distance.toFixed(2),
        start_distance: +k.startDistance.toFixed(2),
        cost: +k.cost.toFixed(4),
        start_cost: +k.startCost.toFixed(4),
        seen_share: +seenShare(k).toFixed(2),
        ...(task.distanceParts &&
          {
            parts: Object.fromEntries(
              Object.entries(task.distanceParts(k.last, k.goal)).map(([n, v]) => [n, +v.toFixed(2)]),
            ),
          }),
      })),
    }));
  });
}
