/**
 * Model predictive path integral control (MPPI; Williams et al. 2017), in the
 * sampling form pytorch_mppi uses, iterated a few times per replan:
 *
 *   for i in 1..iterations:
 *     eps^(n) ~ N(0, (sigma decay^(i-1))^2),  n = 1..N   (eps^(1) = 0: mu itself)
 *     a^(n) = clip(mu + eps^(n))
 *     J^(n) = cost(a^(n))
 *     w^(n) = exp(-(J^(n) - min J) / (lambda std J)),  normalised to sum 1
 *     mu = sum_n w^(n) a^(n)
 *
 * Unlike CEM, every sample moves the mean, weighted by how good it is. Our
 * latent costs have no fixed scale (they change with the task and the
 * model), so the temperature lambda is in units of the batch's cost spread:
 * lambda = 0.5 weighs a sample one standard deviation worse by e^-2.
 */
import type { Rng } from "../../lib/rng.ts";
import { type Bounds, sampleClipped, type SamplerResult, type SequenceCost } from "./sampling.ts";

export interface MppiOptions extends Bounds {
  horizon: number;
  samples: number;
  iterations: number;
  /** Noise standard deviation of the first iteration. */
  initStd: number;
  /** Temperature, in standard deviations of the batch's costs. */
  temperature: number;
  /** Noise shrink factor per iteration. */
  decay?: number;
}

export async function mppi(
  cost: SequenceCost,
  dim: number,
  opts: MppiOptions,
  rng: Rng,
  init?: Float32Array,
): Promise<SamplerResult> {
  const { horizon: H, samples: N, iterations } = opts;
  const L = H * dim;
  const mu = init ? Float32Array.from(init) : new Float32Array(L);
  const batch = new Float32Array(N * L);
  const history: number[] = [];
  let sigma = opts.initStd, best = Infinity;
  for (let it = 0; it < iterations; it++) {
    sampleClipped(batch, mu, sigma, N, dim, opts, rng);
    const J = await cost(batch, N);
    const w = mppiWeights(J, opts.temperature);
    best = Math.min(...Array.from(J).filter((v) => !Number.isNaN(v)));
    history.push(best);
    mu.fill(0);
    for (let n = 0; n < N; n++) {
      if (w[n] === 0) continue;
      for (let j = 0; j < L; j++) mu[j] += w[n] * batch[n * L + j];
    }
    sigma *= opts.decay ?? 0.7;
  }
  return { plan: mu, cost: best, history };
}

/** Softmin weights exp(-(J - min J) / (lambda std J)), summing to 1; NaN costs get 0. */
export function mppiWeights(J: Float64Array, temperature: number): Float64Array {
  const ok = Array.from(J).filter((v) => Number.isFinite(v));
  const w = new Float64Array(J.length);
  if (ok.length === 0) {
    w.fill(1 / J.length);
    return w;
  }
  const min = Math.min(...ok), mean = ok.reduce((a, b) => a + b, 0) / ok.length;
  const std = Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / ok.length);
  const scale = temperature * std;
  let sum = 0;
  for (let n = 0; n < J.length; n++) {
    if (!Number.isFinite(J[n])) continue;
    // With no spread (or lambda 0) the weights fall on the minimum.
    w[n] = scale > 0 ? Math.exp(-(J[n] - min) / scale) : (J[n] === min ? 1 : 0);
    sum += w[n];
  }
  for (let n = 0; n < J.length; n++) w[n] /= sum;
  return w;
}
