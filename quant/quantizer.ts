/**
 * Uniform integer quantization of a weight matrix W [K, N] (MatMul layout:
 * K inputs, N outputs), with ranges per tensor, per output channel, or per
 * group of `group` consecutive inputs of one output channel.
 *
 * Codes are stored unsigned: w ~= (code - zero) * scale. Symmetric schemes
 * use zero = 2^(bits-1), so the same storage serves both.
 */
import { QuantError } from "./quant_error.ts";
import type { Matrix } from "./matrix.ts";

export type Granularity = "tensor" | "channel" | "group";

export interface WeightSpec {
  bits: number;
  granularity: Granularity;
  /** Inputs per group (granularity "group" only). */
  group?: number;
  symmetric: boolean;
}

export interface QuantizedWeight {
  K: number;
  N: number;
  bits: number;
  /** Inputs per block: K for tensor and channel granularity. */
  block: number;
  symmetric: boolean;
  /** [K * N], row-major like W. */
  codes: Uint8Array;
  /** [K / block, N]: block b of output n at b * N + n. */
  scales: Float32Array;
  zeros: Uint8Array;
}

export function checkSpec(spec: WeightSpec, K: number, what = "layer"): number {
  if (!Number.isInteger(spec.bits) || spec.bits < 2 || spec.bits > 8) {
    throw new QuantError(`weight bits must be an integer in 2..8, got ${spec.bits}`);
  }
  if (spec.granularity !== "group") return K;
  const g = spec.group ?? 0;
  if (!Number.isInteger(g) || g < 2) throw new QuantError(`group size must be an integer >= 2, got ${spec.group}`);
  if (K % g !== 0) throw new QuantError(`group size ${g} does not divide the ${K} inputs of ${what}`);
  return g;
}

/** Round half to even, as ONNX QuantizeLinear and Round do. */
export function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface Params {
  scale: number;
  zero: number;
}

/**
 * Scale and zero point for values in [lo, hi], after shrinking the range by
 * `clip` (1 = min/max). Asymmetric ranges always include 0, so that zero is
 * exactly representable and the zero point stays inside the code range.
 */
export function rangeParams(lo: number, hi: number, bits: number, symmetric: boolean, clip = 1): Params {
  if (symmetric) {
    const qmax = 2 ** (bits - 1) - 1;
    const absmax = Math.max(Math.abs(lo), Math.abs(hi)) * clip;
    return { scale: absmax > 0 ? absmax / qmax : 1, zero: 2 ** (bits - 1) };
  }
  const qmax = 2 ** bits - 1;
  const a = Math.min(lo * clip, 0), b = Math.max(hi * clip, 0);
  if (b - a <= 0) return { scale: 1, zero: 0 };
  const scale = (b - a) / qmax;
  return { scale, zero: Math.min(qmax, Math.max(0, roundEven(-a / scale))) };
}

export function quantizeValue(w: number, p: Params, bits: number): number {
  return Math.min(2 ** bits - 1, Math.max(0, roundEven(w / p.scale) + p.zero));
}

/** Per-block [min, max] of W: arrays of K/block x N (one entry per tensor granularity). */
export function blockRanges(w: ArrayLike<number>, K: number, N: number, block: number, granularity: Granularity) {
  const nb = K / block;
  const lo = new Float64Array(nb * N).fill(Infinity), hi = new Float64Array(nb * N).fill(-Infinity);
  for (let k = 0; k < K; k++) {
    const b = Math.floor(k / block) * N;
    for (let n = 0; n < N; n++) {
      const v = w[k * N + n];
      if (v < lo[b + n]) lo[b + n] = v;
      if (v > hi[b + n]) hi[b + n] = v;
    }
  }
  if (granularity === "tensor") {
    let a = Infinity, z = -Infinity;
    for (let i = 0; i < lo.length; i++) {
      a = Math.min(a, lo[i]);
      z = Math.max(z, hi[i]);
    }
    lo.fill(a);
    hi.fill(z);
  }
  return { lo, hi };
}

/**
 * Quantize W [K, N]. `clip` (optional, one ratio per block and output, or a
 * single ratio) shrinks each range before the scale is taken.
 */
export function quantizeWeight(W: Matrix, spec: WeightSpec, clip?: Float64Array | number): QuantizedWeight {
  const { data: w, rows: K, cols: N } = W;
  if (w.length !== K * N) throw new QuantError(`weight has ${w.length} values, expected ${K}x${N}`);
  const block = checkSpec(spec, K);
  const { lo, hi } = blockRanges(w, K, N, block, spec.granularity);
  const nb = K / block;
  const scales = new Float32Array(nb * N), zeros = new Uint8Array(nb * N);
  const params: Params[] = new Array(nb * N);
  for (let i = 0; i < nb * N; i++) {
    const c = typeof clip === "number" ? clip : clip?.[i] ?? 1;
    const p = rangeParams(lo[i], hi[i], spec.bits, spec.symmetric, c);
    // Store what the graph will use, so codes are computed with the float32 scale.
    scales[i] = p.scale;
    zeros[i] = p.zero;
    params[i] = { scale: scales[i], zero: p.zero };
  }
  const codes = new Uint8Array(K * N);
  for (let k = 0; k < K; k++) {
    const b = Math.floor(k / block) * N;
    for (let n = 0; n < N; n++) codes[k * N + n] = quantizeValue(w[k * N + n], params[b + n], spec.bits);
  }
  return { K, N, bits: spec.bits, block, symmetric: spec.symmetric, codes, scales, zeros };
}

/** W ~= (codes - zeros) * scales, as float32 [K, N]. */
export function dequantize(q: QuantizedWeight): Matrix {
  const { K, N, block } = q;
  const out = new Float32Array(K * N);
  for (let k = 0; k < K; k++) {
    const b = Math.floor(k / block) * N;
    for (let n = 0; n < N; n++) out[k * N + n] = (q.codes[k * N + n] - q.zeros[b + n]) * q.scales[b + n];
  }
  return { data: out, rows: K, cols: N };
}

export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

/** Clipping ratios tried by OMSE and AWQ's clip search: 1.00, 0.98, ..., 0.50. */
export const CLIP_GRID = Array.from({ length: 26 }, (_, i) => 1 - 0.02 * i);

/**
 * OMSE: per block, the clipping ratio whose quantization MSE is lowest
 * (for per-tensor granularity, one ratio for the whole tensor).
 */
export function omseClip(W: Matrix, spec: WeightSpec): Float64Array {
  const { data: w, rows: K, cols: N } = W;
  const block = checkSpec(spec, K);
  const nb = K / block;
  const { lo, hi } = blockRanges(w, K, N, block, spec.granularity);
  const best = new Float64Array(nb * N).fill(1), bestErr = new Float64Array(nb * N).fill(Infinity);
  for (const c of CLIP_GRID) {
    const err = new Float64Array(nb * N);
    const params = Array.from({ length: nb * N }, (_, i) => {
      const p = rangeParams(lo[i], hi[i], spec.bits, spec.symmetric, c);
      return { scale: Math.fround(p.scale), zero: p.zero };
    });
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / block) * N;
      for (let n = 0; n < N; n++) {
        const p = params[b + n], v = w[k * N + n];
        err[b + n] += ((quantizeValue(v, p, spec.bits) - p.zero) * p.scale - v) ** 2;
      }
    }
    if (spec.granularity === "tensor") {
      const total = err.reduce((a, b) => a + b, 0);
      if (total < bestErr[0]) {
        bestErr.fill(total);
        best.fill(c);
      }
      continue;
    }
    for (let i = 0; i < nb * N; i++) {
      if (err[i] < bestErr[i]) {
        bestErr[i] = err[i];
        best[i] = c;
      }
    }
  }
  return best;
}
