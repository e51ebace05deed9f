/**
 * iCEM, the improved cross-entropy method (Pinneri et al. 2020, "Sample-efficient Cross-Entropy Method
 * for Real-time Planning"): CEM that finds as good a plan with fewer rollouts.
 *
 *   N_i = max(N_0 gamma^-i, 2K)                              (a population that shrinks)
 *   for i in 0..iterations-1:
 *     eps^(n) ~ colored noise, power spectrum 1/f^beta over the horizon, unit variance
 *     a^(n) = clip(mu + sigma eps^(n)),  n = 1..N_i         (a^(1) = mu itself)
 *     J^(n) = cost(a^(n))
 *     E = the K lowest of {a^(n)} and the ceil(xi K) best elites kept from iteration i - 1
 *     mu, sigma = mean(E), std(E)
 *   return the best sequence seen, and its cost
 *
 * Colored noise (beta > 0) samples action sequences that vary slowly over time, which is what good
 * plans for momentum-driven systems look like; kept elites are not evaluated again (the cost is
 * deterministic), so every rollout of a later iteration is a new candidate. Sequences are flat
 * [H * D] vectors (H steps of D numbers), as for CEM (cem.ts); the planner knows no model.
 */
import type { Rng } from "../../lib/rng.ts";
import type { CemOptions } from "./cem.ts";
import type { SamplerResult, SequenceCost } from "./sampling.ts";

export interface IcemOptions extends CemOptions {
  /** Exponent beta of the noise's power spectrum 1/f^beta: 0 is white (CEM's), 2 is what iCEM uses. */
  beta: number;
  /** Population shrink factor gamma per iteration (1: constant). */
  decay: number;
  /** Fraction xi of the elites carried into the next iteration. */
  keepElites: number;
  /**
   * Steps of the noise's timeline per planned step (default 1): a world-model action is `frameskip` env
   * actions, and the noise is colored along the env steps, H * substeps of them, each dim / substeps wide.
   */
  substeps?: number;
}

/** Run iCEM from `init` (warm start, [H * D]) or zeros; returns the best sequence seen. */
export async function icem(
  cost: SequenceCost,
  dim: number,
  opts: IcemOptions,
  rng: Rng,
  init?: Float32Array,
): Promise<SamplerResult> {
  const { horizon: H, topk: K, iterations } = opts;
  const L = H * dim;
  const mu = init ? Float32Array.from(init) : new Float32Array(L);
  const sigma = new Float32Array(L).fill(opts.initStd);
  const history: number[] = [];
  let kept: { seq: Float32Array; J: number }[] = [];
  let best = { seq: Float32Array.from(mu), J: Infinity };
  for (let it = 0; it < iterations; it++) {
    const N = _population(opts.samples, opts.decay, it, K);
    const batch = new Float32Array(N * L);
    _sampleColored(batch, mu, sigma, N, H * (opts.substeps ?? 1), dim, opts, rng);
    const J = await cost(batch, N);
    const pool = [...kept];
    for (let n = 0; n < N; n++) pool.push({ seq: batch.subarray(n * L, (n + 1) * L), J: J[n] });
    pool.sort((a, b) => _rank(a.J) - _rank(b.J));
    const elites = pool.slice(0, Math.min(K, pool.length));
    if (elites[0].J < best.J) best = { seq: Float32Array.from(elites[0].seq), J: elites[0].J };
    history.push(best.J);
    _refit(mu, sigma, elites.map((e) => e.seq), L);
    kept = elites.slice(0, Math.ceil(opts.keepElites * K)).map((e) => ({ seq: Float32Array.from(e.seq), J: e.J }));
  }
  return { plan: best.seq, cost: best.J, history };
}

/** N_i = max(N_0 gamma^-i, 2K), rounded. */
export function _population(n0: number, gamma: number, i: number, K: number): number {
  return Math.max(Math.round(n0 * gamma ** -i), Math.min(n0, 2 * K));
}

/** NaN costs rank last. */
function _rank(J: number): number {
  return Number.isNaN(J) ? Infinity : J;
}

/**
 * Fill `batch` with N clipped draws mu + sigma * eps of sequences of `dim` numbers per planned step, eps
 * colored along a timeline of T steps of E = L / T numbers each (unit variance per number); bounds are per
 * number of a planned step. The first draw is mu itself.
 */
export function _sampleColored(
  batch: Float32Array,
  mu: Float32Array,
  sigma: Float32Array,
  N: number,
  T: number,
  dim: number,
  opts: Pick<IcemOptions, "beta" | "low" | "high">,
  rng: Rng,
): void {
  const L = mu.length, E = L / T;
  const eps = new Float64Array(T);
  batch.set(mu); // the first draw
  for (let n = 1; n < N; n++) {
    for (let e = 0; e < E; e++) {
      coloredNoise(eps, opts.beta, rng);
      for (let t = 0; t < T; t++) {
        const j = t * E + e, d = j % dim;
        let v = mu[j] + sigma[j] * eps[t];
        if (opts.low) v = Math.max(opts.low[d], v);
        if (opts.high) v = Math.min(opts.high[d], v);
        batch[n * L + j] = v;
      }
    }
  }
}

/**
 * Gaussian noise with power spectrum 1/f^beta, written into `out` (length T) with unit variance: white
 * noise in the frequency domain, scaled by f^(-beta/2), back through an inverse real DFT. The signal is
 * drawn over a window four times the horizon and cut to its first T steps: a DFT's signal is periodic,
 * and over T itself its last step would be as close to its first as its second is (a horizon is short,
 * so the O(M^2) transform is cheaper than setting up an FFT).
 */
export function coloredNoise(out: Float64Array, beta: number, rng: Rng): void {
  const T = out.length;
  if (beta === 0 || T === 1) {
    for (let t = 0; t < T; t++) out[t] = rng.normal();
    return;
  }
  const { F, scale, cos, sin } = _spectrum(T, beta);
  out.fill(0);
  for (let k = 1; k < F; k++) { // no DC term: the noise has zero mean
    const re = scale[k] * rng.normal(), im = k === F - 1 ? 0 : scale[k] * rng.normal(); // Nyquist bin: real
    for (let t = 0; t < T; t++) out[t] += re * cos[t * F + k] - im * sin[t * F + k];
  }
}

const SPECTRA = new Map<string, { F: number; scale: Float64Array; cos: Float64Array; sin: Float64Array }>();

/**
 * For a horizon T and exponent beta: the window M = max(4T, 16) (even), its F = M/2 + 1 bins, each bin's
 * amplitude (1/f^(beta/2), times 2 for the bins a real signal has twice, normalised so that the output has
 * unit variance: x(t) = sum_k mult_k (re_k cos - im_k sin) has variance sum_k mult_k^2 s_k^2), and the cos
 * and sin of 2 pi k t / M for t < T. Computed once per (T, beta).
 */
function _spectrum(T: number, beta: number) {
  const id = `${T}/${beta}`;
  let s = SPECTRA.get(id);
  if (s) return s;
  const M = Math.max(4 * T, 16), F = M / 2 + 1;
  const scale = new Float64Array(F), cos = new Float64Array(T * F), sin = new Float64Array(T * F);
  let power = 0;
  for (let k = 1; k < F; k++) {
    const mult = k === F - 1 ? 1 : 2;
    scale[k] = mult * (k / M) ** (-beta / 2);
    power += scale[k] ** 2;
    for (let t = 0; t < T; t++) {
      cos[t * F + k] = Math.cos((2 * Math.PI * k * t) / M);
      sin[t * F + k] = Math.sin((2 * Math.PI * k * t) / M);
    }
  }
  for (let k = 1; k < F; k++) scale[k] /= Math.sqrt(power);
  SPECTRA.set(id, s = { F, scale, cos, sin });
  return s;
}

/** mu, sigma <- mean and standard deviation of the elites. */
function _refit(mu: Float32Array, sigma: Float32Array, elites: Float32Array[], L: number): void {
  for (let j = 0; j < L; j++) {
    let m = 0;
    for (const e of elites) m += e[j];
    m /= elites.length;
    let v = 0;
    for (const e of elites) v += (e[j] - m) ** 2;
    mu[j] = m;
    sigma[j] = Math.sqrt(v / elites.length);
  }
}
