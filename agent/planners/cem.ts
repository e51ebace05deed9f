/**
 * The cross-entropy method (CEM) over action sequences, as DINO-WM plans
 * (Zhou et al. 2024, after Rubinstein 1999):
 *
 *   for i in 1..iterations:
 *     a^(n) ~ N(mu, diag sigma^2),  n = 1..N      (sample; a^(1) = mu)
 *     J^(n) = cost(a^(n))                          (evaluate)
 *     E = the K samples with lowest J              (elites)
 *     mu, sigma = mean(E), std(E)                  (refit)
 *
 * Sequences are flat [H * D] vectors (H steps of D numbers). The planner
 * knows nothing of the model: `cost` maps a batch [N, H * D] to N costs.
 */
import type { Rng } from "../../lib/rng.ts";
import { type Bounds, sampleClipped, type SamplerResult, type SequenceCost } from "./sampling.ts";

export interface CemOptions extends Bounds {
  /** Planning horizon H (steps). */
  horizon: number;
  /** Samples N per iteration. */
  samples: number;
  /** Elites K kept per iteration. */
  topk: number;
  /** Refit iterations. */
  iterations: number;
  /** Initial standard deviation (same units as the actions). */
  initStd: number;
}

/** Run CEM from `init` (warm start, [H * D]) or zeros. */
export async function cem(
  cost: SequenceCost,
  dim: number,
  opts: CemOptions,
  rng: Rng,
  init?: Float32Array,
): Promise<SamplerResult> {
  const { horizon: H, samples: N, topk: K, iterations } = opts;
  const L = H * dim;
  const mu = init ? Float32Array.from(init) : new Float32Array(L);
  const sigma = new Float32Array(L).fill(opts.initStd);
  const batch = new Float32Array(N * L);
  const history: number[] = [];
  let best = Infinity;
  for (let it = 0; it < iterations; it++) {
    sampleClipped(batch, mu, sigma, N, dim, opts, rng);
    const J = await cost(batch, N);
    const elites = _elites(J, K);
    best = J[elites[0]];
    history.push(best);
    _refit(mu, sigma, batch, elites, L);
  }
  return { plan: mu, cost: best, history };
}
/** Indices of the K lowest costs, best first (NaN costs rank last). */
export function _elites(J: Float64Array, K: number): number[] {
  const idx = Array.from(J.keys());
  const key = (i: number) => (Number.isNaN(J[i]) ? Infinity : J[i]);
  idx.sort((a, b) => key(a) - key(b) || a - b);
  return idx.slice(0, Math.min(K, idx.length));
}

/** mu, sigma <- mean and standard deviation of the elites. */
function _refit(mu: Float32Array, sigma: Float32Array, batch: Float32Array, elites: number[], L: number): void {
  for (let j = 0; j < L; j++) {
    let m = 0;
    for (const e of elites) m += batch[e * L + j];
    m /= elites.length;
    let v = 0;
    for (const e of elites) v += (batch[e * L + j] - m) ** 2;
    mu[j] = m;
    sigma[j] = Math.sqrt(v / elites.length);
  }
}
