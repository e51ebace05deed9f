/**
 * GPTQ (Frantar et al. 2023): quantize W [K, N] one input row at a time and
 * push each row's rounding error onto the rows not yet quantized, weighted by
 * the inverse Hessian of the layer's squared output error, H = 2 X^T X / M.
 *
 * With `actOrder`, rows go in order of decreasing H_kk (most active inputs
 * first); group ranges are then fixed up front from the unmodified weights
 * ("static groups"), so the stored layout stays in natural order.
 */
import {
  checkSpec,
  type Params,
  type QuantizedWeight,
  quantizeValue,
  rangeParams,
  type WeightSpec,
} from "./quantizer.ts";
import { QuantError } from "./quant_error.ts";
import type { Matrix } from "./matrix.ts";

export interface GptqOptions {
  /** Dampening added to the diagonal, as a fraction of its mean. */
  damp?: number;
  actOrder?: boolean;
}

/** Lower-triangular L with L L^T = A (A symmetric positive definite, n x n). */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (s <= 0) {
          throw new QuantError("GPTQ: Hessian is not positive definite (raise --damp or add calibration data)");
        }
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  return l;
}

/** Inverse of a symmetric positive definite matrix via its Cholesky factor. */
export function invertSpd(a: Float64Array, n: number): Float64Array {
  const l = cholesky(a, n);
  // L^-1 by forward substitution, then A^-1 = L^-T L^-1.
  const li = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    for (let i = c; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = c; k < i; k++) s -= l[i * n + k] * li[k * n + c];
      li[i * n + c] = s / l[i * n + i];
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += li[k * n + i] * li[k * n + j];
      inv[i * n + j] = inv[j * n + i] = s;
    }
  }
  return inv;
}

/** H = 2 X^T X / M of the layer's calibration inputs X [M, K]. */
export function hessian(X: Matrix): Float64Array {
  const { data: x, rows: M, cols: K } = X;
  const h = new Float64Array(K * K);
  for (let m = 0; m < M; m++) {
    const o = m * K;
    for (let i = 0; i < K; i++) {
      const xi = x[o + i];
      if (xi === 0) continue;
      for (let j = 0; j <= i; j++) h[i * K + j] += xi * x[o + j];
    }
  }
  for (let i = 0; i < K; i++) {
    for (let j = 0; j <= i; j++) h[i * K + j] = h[j * K + i] = 2 * h[i * K + j] / M;
  }
  return h;
}

export function gptq(w: Matrix, x: Matrix, spec: WeightSpec, options: GptqOptions = {}): QuantizedWeight {
  const { rows: K, cols: N } = w;
  const block = checkSpec(spec, K);
  const nb = K / block;
  const h = hessian(x);
  const W = Float64Array.from(w.data);
  // Inputs that never fire carry no information: zero them and pin H.
  let diagMean = 0;
  for (let k = 0; k < K; k++) {
    if (h[k * K + k] === 0) {
      h[k * K + k] = 1;
      for (let n = 0; n < N; n++) W[k * N + n] = 0;
    }
    diagMean += h[k * K + k] / K;
  }
  const damp = (options.damp ?? 0.01) * diagMean;
  for (let k = 0; k < K; k++) h[k * K + k] += damp;

  const perm = Array.from({ length: K }, (_, k) => k);
  if (options.actOrder) perm.sort((a, b) => h[b * K + b] - h[a * K + a] || a - b);
  const hp = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) hp[i * K + j] = h[perm[i] * K + perm[j]];
  // Upper Cholesky factor U of H^-1 (U^T U = H^-1): row i holds the update weights.
  const l = cholesky(invertSpd(hp, K), K);
  const U = (i: number, j: number) => l[j * K + i];

  const scales = new Float32Array(nb * N), zeros = new Uint8Array(nb * N);
  const params: Params[] = new Array(nb * N);
  const setParams = (b: number, rows: number[]) => {
    for (let n = 0; n < N; n++) {
      let lo = Infinity, hi = -Infinity;
      for (const k of rows) {
        lo = Math.min(lo, W[k * N + n]);
        hi = Math.max(hi, W[k * N + n]);
      }
      const p = rangeParams(lo, hi, spec.bits, spec.symmetric);
      scales[b * N + n] = p.scale;
      zeros[b * N + n] = p.zero;
      params[b * N + n] = { scale: scales[b * N + n], zero: p.zero };
    }
  };
  const all = Array.from({ length: K }, (_, k) => k);
  if (spec.granularity === "tensor") {
    let lo = Infinity, hi = -Infinity;
    for (const v of W) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const p = rangeParams(lo, hi, spec.bits, spec.symmetric);
    scales.fill(p.scale);
    zeros.fill(p.zero);
    params.fill({ scale: scales[0], zero: p.zero });
  } else if (spec.granularity === "channel" || options.actOrder) {
    for (let b = 0; b < nb; b++) setParams(b, all.slice(b * block, (b + 1) * block));
  }

  const codes = new Uint8Array(K * N);
  const err = new Float64Array(N);
  for (let i = 0; i < K; i++) {
    const k = perm[i], b = Math.floor(k / block);
    // Natural order with groups: a group's range is taken when its first row comes up,
    // from weights already corrected for the rows before it.
    if (spec.granularity === "group" && !options.actOrder && k % block === 0) {
      setParams(b, all.slice(k, k + block));
    }
    const d = U(i, i);
    for (let n = 0; n < N; n++) {
      const p = params[b * N + n];
      const c = quantizeValue(W[k * N + n], p, spec.bits);
      codes[k * N + n] = c;
      err[n] = (W[k * N + n] - (c - p.zero) * p.scale) / d;
    }
    for (let j = i + 1; j < K; j++) {
      const u = U(i, j), kj = perm[j] * N;
      if (u === 0) continue;
      for (let n = 0; n < N; n++) W[kj + n] -= err[n] * u;
    }
  }
  return { K, N, bits: spec.bits, block, symmetric: spec.symmetric, codes, scales, zeros };
}
