/**
 * What the model-free samplers (CEM, MPPI) share: the batched cost they minimise, the result they
 * return, the clipped Gaussian sampling step, and the warm-start shift between MPC replans.
 *
 * Sequences are flat [H * D] vectors (H steps of D numbers); a batch holds N of them.
 */
import type { Rng } from "../../lib/rng.ts";

/** Batched cost: `batch` holds `n` sequences of H * D numbers; returns n costs. */
export type SequenceCost = (batch: Float32Array, n: number) => Float64Array | Promise<Float64Array>;

export interface SamplerResult {
  /** The final mean sequence, [H * D]. */
  plan: Float32Array;
  /** Cost of the best sample seen in the last iteration. */
  cost: number;
  /** Best cost per iteration (for diagnostics). */
  history: number[];
}

/** Per-dimension bounds for one step's D numbers; samples are clipped into them. */
export interface Bounds {
  low?: readonly number[];
  high?: readonly number[];
}

/**
 * Fill `batch` with N draws of mu + sigma * eps, eps ~ N(0, 1), clipped into the bounds of each
 * step's D numbers. The first draw is mu itself, so the current plan is always scored.
 * `sigma` is one standard deviation per number (CEM) or one for all (MPPI).
 */
export function sampleClipped(
  batch: Float32Array,
  mu: Float32Array,
  sigma: Float32Array | number,
  N: number,
  dim: number,
  bounds: Bounds,
  rng: Rng,
): void {
  const L = mu.length;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < L; j++) {
      const s = typeof sigma === "number" ? sigma : sigma[j];
      let v = n === 0 ? mu[j] : mu[j] + s * rng.normal();
      const d = j % dim;
      if (bounds.low) v = Math.max(bounds.low[d], v);
      if (bounds.high) v = Math.min(bounds.high[d], v);
      batch[n * L + j] = v;
    }
  }
}

/** Warm start: drop the first `k` executed steps and repeat zeros at the end. */
export function shiftPlan(plan: Float32Array, dim: number, k: number): Float32Array {
  const out = new Float32Array(plan.length);
  out.set(plan.subarray(Math.min(plan.length, k * dim)));
  return out;
}
