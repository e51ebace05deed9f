/**
 * The fixed evaluation protocol every planner (oracle, fp32 model, quantized
 * variants) is scored with.
 *
 * - Episodes come from fixed seeds: episode i of seed s is sampled from
 *   `Rng.derive(s, EVAL_STREAM, i)`, a stream no dataset uses.
 * - Each episode gets a fixed budget of MPC replans. A replan sees the
 *   current observation and the goal, returns H world-model actions, and the
 *   first `execute` of them are run in the simulator.
 * - Checkpoint c > 0 records whether the goal was reached (after any executed
 *   model action) within the first c replans. Checkpoint 0 is open-loop: the
 *   first plan's H actions all executed without replanning (a side branch).
 * - Ground-truth success never reaches the planner. Once an episode has
 *   succeeded its later checkpoints are all decided, so the protocol stops
 *   spending compute on it; this changes no decision the planner made.
 */
import { Rng } from "../lib/rng.ts";
import type { Task } from "./task.ts";

export const EVAL_STREAM = 0x45564c; // "EVL"
export const CHECKPOINTS = [0, 5, 10, 20, 30, 40, 50] as const;

/** What a planner may look at. `state` is ground truth: only the oracle uses it. */
export interface Observation {
  state: Float64Array;
  proprio: Float64Array;
  /** Rendered lazily, RGB uint8 [size, size, 3]. */
  image(): Uint8Array;
}

export interface PlanResult {
  /** H model actions, flat [H * frameskip * actionDim], env units. */
  actions: Float32Array;
  /** Opaque warm-start state handed back on the next replan of the same episode. */
  warm?: Float32Array;
}

export interface Planner {
  plan(obs: Observation, goal: Observation, warm: Float32Array | undefined, rng: Rng): Promise<PlanResult>;
}

export interface ProtocolOptions {
  episodes: number;
  seed: number;
  /** Replans per episode (the checkpoints above it are dropped). */
  budget: number;
  /** Model actions executed per replan. */
  execute: number;
  /** Image size passed to planners. */
  imageSize?: number;
  /** First episode index (default 0): episodes first .. first + episodes - 1 are run. */
  first?: number;
  onEpisode?: (r: EpisodeResult, index: number) => void;
  /** Called with the state after every executed model action (and the start, with step 0). */
  onState?: (state: Float64Array, episode: number, step: number) => void;
}

export interface EpisodeResult {
  index: number;
  /** Replans done when the goal was first reached under MPC; null if never. */
  successAt: number | null;
  openLoopSuccess: boolean;
  finalDistance: number;
  planMs: number[];
}

export interface ProtocolResult {
  task: string;
  episodes: number;
  budget: number;
  success_rate: number;
  success_at: Record<string, number>;
  results: EpisodeResult[];
}

/**
 * The seed of replan `replan` (1-based) of evaluation episode `index` of `seed`: every replan draws from a
 * stream of its own, so a replan can be repeated alone, anywhere: over HTTP, a plan request with this `seed`
 * (and the same observation, goal and warm start) gets the plan the protocol got.
 */
export function replanSeed(seed: number, index: number, replan: number): number {
  return Rng.deriveSeed(seed, EVAL_STREAM, index, 1, replan);
}

/** The evaluation episode `index` of `seed`. */
export function evaluationEpisode(task: Task, seed: number, index: number) {
  return task.sampleEpisode(Rng.derive(seed, EVAL_STREAM, index));
}

export function observe(task: Task, state: Float64Array, size: number): Observation {
  let img: Uint8Array | undefined;
  return { state, proprio: task.proprio(state), image: () => (img ??= task.render(state, size)) };
}

/** Run `actions` (model actions, flat) on a sim; returns true if the goal is hit after any model action. */
function execute(
  task: Task,
  sim: ReturnType<Task["create"]>,
  actions: Float32Array,
  count: number,
  goal: Float64Array,
  onState?: (s: Float64Array) => void,
): boolean {
  const A = task.actionDim, D = task.frameskip * A;
  let hit = false;
  for (let h = 0; h < count; h++) {
    for (let f = 0; f < task.frameskip; f++) sim.step(actions.subarray(h * D + f * A, h * D + (f + 1) * A));
    const s = sim.state();
    onState?.(s);
    if (task.success(s, goal)) hit = true;
  }
  return hit;
}

/** Evaluate a planner under the protocol. */
export async function evaluate(task: Task, planner: Planner, o: ProtocolOptions): Promise<ProtocolResult> {
  const size = o.imageSize ?? 64;
  const results: EpisodeResult[] = [];
  const first = o.first ?? 0;
  for (let i = first; i < first + o.episodes; i++) {
    const ep = evaluationEpisode(task, o.seed, i);
    const goal = observe(task, ep.goal, size);
    const sim = task.create(ep.start);
    let warm: Float32Array | undefined;
    let successAt: number | null = null, openLoop = false;
    const planMs: number[] = [];
    let step = 0;
    const onState = o.onState && ((st: Float64Array) => o.onState!(st, i, ++step));
    o.onState?.(ep.start, i, 0);
    for (let r = 1; r <= o.budget && successAt === null; r++) {
      const t0 = performance.now();
      const plan = await planner.plan(observe(task, sim.state(), size), goal, warm, new Rng(replanSeed(o.seed, i, r)));
      planMs.push(performance.now() - t0);
      warm = plan.warm;
      const H = plan.actions.length / (task.frameskip * task.actionDim);
      if (r === 1) openLoop = execute(task, task.create(sim.state()), plan.actions, H, ep.goal);
      if (execute(task, sim, plan.actions, Math.min(o.execute, H), ep.goal, onState)) successAt ??= r;
    }
    const res: EpisodeResult = {
      index: i,
      successAt,
      openLoopSuccess: openLoop,
      finalDistance: task.distance(sim.state(), ep.goal),
      planMs,
    };
    results.push(res);
    o.onEpisode?.(res, i);
  }
  const at: Record<string, number> = {};
  for (const c of CHECKPOINTS) {
    if (c > o.budget) continue;
    const hits = results.filter((r) => c === 0 ? r.openLoopSuccess : r.successAt !== null && r.successAt <= c);
    at[String(c)] = hits.length / o.episodes;
  }
  const finalHits = results.filter((r) => r.successAt !== null).length;
  return {
    task: task.name,
    episodes: o.episodes,
    budget: o.budget,
    success_rate: finalHits / o.episodes,
    success_at: at,
    results,
  };
}
