/**
 * Planning through the world model: CEM or MPPI over z-scored model actions, cost =
 * the model's objective on the predicted frame(s) vs the goal's latent.
 * Implements the evaluation protocol's `Planner`, so models and the oracle are
 * scored the same way.
 */
import { cem } from "./cem.ts";
import { shiftPlan } from "./sampling.ts";
import type { Rng } from "../../lib/rng.ts";
import { mppi } from "./mppi.ts";
import type { Planner } from "../../tasks/evaluation.ts";
import { DEFAULT_ICEM, DEFAULT_TEMPERATURE, type PlanPreset } from "../../model/planner_options.ts";
import { _population, icem } from "./icem.ts";
import type { Latent, WorldModel } from "../world_model.ts";

/** Thrown when a plan runs past its deadline (checked before every chunk of rollouts). */
export class DeadlineError extends Error {
  override name = "DeadlineError";
}

/** Thrown when a plan is cancelled (its client went away). */
export class CancelledError extends Error {
  override name = "CancelledError";
}

/** Rollouts per predictor batch: larger populations are split, so a deadline is checked within them. */
export const ROLLOUT_CHUNK = 512;

/**
 * Plan from an observed latent to a goal latent; returns z-scored actions [H * A] and the best cost.
 * `guard` runs before every chunk of rollouts and every predictor call of one, and throws to stop the plan
 * (deadlines, cancellation).
 */
export async function planLatent(
  model: WorldModel,
  start: Latent,
  startProprio: Float32Array,
  goal: Latent,
  goalProprio: Float32Array,
  preset: PlanPreset,
  rng: Rng,
  warm?: Float32Array,
  guard: () => void | Promise<void> = () => {},
): Promise<{ plan: Float32Array; cost: number; history: number[] }> {
  const c = model.card, H = preset.sampler.horizon, A = c.action_dim;
  const low = c.action_low.map((v, i) => (v - c.action_mean[i]) / c.action_std[i]);
  const high = c.action_high.map((v, i) => (v - c.action_mean[i]) / c.action_std[i]);
  const mode = c.objective.mode ?? "last";
  const chunkCost = async (batch: Float32Array, n: number) => {
    await guard();
    const steps = await model.rollout(start, startProprio, batch, n, H, guard);
    if (mode === "last") return model.objective(steps[H - 1], goal, goalProprio, n);
    const J = new Float64Array(n);
    for (const s of steps) (await model.objective(s, goal, goalProprio, n)).forEach((v, i) => (J[i] += v));
    return J;
  };
  const cost = async (batch: Float32Array, n: number) => {
    if (n <= ROLLOUT_CHUNK) return chunkCost(batch, n);
    const J = new Float64Array(n);
    for (let i = 0; i < n; i += ROLLOUT_CHUNK) {
      const m = Math.min(ROLLOUT_CHUNK, n - i);
      J.set(await chunkCost(batch.subarray(i * H * A, (i + m) * H * A), m), i);
    }
    return J;
  };
  const A2 = c.action_dim;
  if (preset.proposal === "policy") {
    warm = proposalStart(await model.propose(start, startProprio, goal), H * A, preset.execute * A, warm);
  }
  const r = preset.method === "mppi"
    ? await mppi(
      cost,
      A2,
      { ...preset.sampler, temperature: preset.temperature ?? DEFAULT_TEMPERATURE, low, high },
      rng,
      warm,
    )
    : preset.method === "icem"
    // The noise is colored along the env steps: a model action is frameskip env actions.
    ? await icem(
      cost,
      A2,
      { ...preset.sampler, ...(preset.icem ?? DEFAULT_ICEM), substeps: c.frameskip, low, high },
      rng,
      warm,
    )
    : await cem(cost, A2, { ...preset.sampler, low, high }, rng, warm);
  return { plan: r.plan, cost: r.cost, history: r.history };
}

/**
 * Where a search from the proposal policy starts, [L] z-scored: the warm start's steps that were planned
 * before (all but the last `executed` numbers, already refined by a search), then the policy's plan for the
 * steps after them (its step h is h steps from now, as the warm start's is), zeros past the policy's horizon.
 */
export function proposalStart(policy: Float32Array, L: number, executed: number, warm?: Float32Array): Float32Array {
  const keep = warm ? Math.max(0, L - executed) : 0;
  const init = new Float32Array(L);
  for (let j = 0; j < L; j++) init[j] = j < keep ? warm![j] : j < policy.length ? policy[j] : 0;
  return init;
}

/** Rollouts one replan scores: samples x iterations, or iCEM's shrinking populations. */
export function rolloutsPerReplan(p: PlanPreset): number {
  const s = p.sampler;
  if (p.method !== "icem") return s.samples * s.iterations;
  const decay = (p.icem ?? DEFAULT_ICEM).decay;
  let n = 0;
  for (let i = 0; i < s.iterations; i++) n += _population(s.samples, decay, i, s.topk);
  return n;
}

/** Model actions from z-scored to env units. */
export function toEnvActions(model: WorldModel, z: Float32Array): Float32Array {
  const { action_mean: m, action_std: s, action_dim: A } = model.card;
  return z.map((v, i) => v * s[i % A] + m[i % A]);
}

/** What one replan's search saw: the best objective value after each sampler iteration. */
export interface PlanTrace {
  cost: number;
  history: number[];
}

/**
 * A protocol `Planner` that sees only images and proprio (never the true state).
 * `onPlan` sees each replan's objective trace (studies record it; it never steers the plan).
 */
export function worldModelPlanner(
  model: WorldModel,
  preset: PlanPreset,
  onPlan?: (trace: PlanTrace) => void,
): Planner {
  const S = model.card.image_size, F = S * S * 3;
  let goalKey: Uint8Array | null = null, goalLatent: Latent | null = null;
  return {
    async plan(obs, goal, warm, rng) {
      const img = obs.image(), gimg = goal.image();
      if (img.length !== F || gimg.length !== F) throw new Error(`images must be ${S}x${S} RGB`);
      let start: Latent;
      if (goalKey !== gimg) { // one encoder call for both while the goal is new
        ({ start, goal: goalLatent } = await model.encodePair(img, gimg));
        goalKey = gimg;
      } else {
        start = await model.encode(img, 1);
      }
      const r = await planLatent(
        model,
        start,
        model.normProprio(obs.proprio),
        goalLatent!,
        model.normProprio(goal.proprio),
        preset,
        rng,
        warm,
      );
      onPlan?.({ cost: r.cost, history: r.history });
      return { actions: toEnvActions(model, r.plan), warm: shiftPlan(r.plan, model.card.action_dim, preset.execute) };
    },
  };
}
