/**
 * The one matrix type every quantization kernel takes, and the dense helpers for a linear layer
 * Y = X W on calibration activations: X is [M, K] (one row per token), W is [K, N] (MatMul layout).
 * Row-major throughout.
 */
import { QuantError } from "./quant_error.ts";

export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** A matrix view of row-major `data`; a size mismatch is a `QuantError`. */
export function matrix(data: Float32Array, rows: number, cols: number): Matrix {
  if (data.length !== rows * cols) {
    throw new QuantError(`matrix has ${data.length} values, expected ${rows}x${cols}`);
  }
  return { data, rows, cols };
}

/** X W. */
export function matmul(x: Matrix, w: Matrix): Matrix {
  const { rows: M, cols: K } = x, N = w.cols;
  if (w.rows !== K) throw new QuantError(`matmul: [${M}x${K}] x [${w.rows}x${N}]`);
  const y = new Float32Array(M * N), xd = x.data, wd = w.data;
  for (let m = 0; m < M; m++) {
    const yo = m * N;
    for (let k = 0; k < K; k++) {
      const a = xd[m * K + k];
      if (a === 0) continue;
      const wo = k * N;
      for (let n = 0; n < N; n++) y[yo + n] += a * wd[wo + n];
    }
  }
  return { data: y, rows: M, cols: N };
}

/**
 * ||X W - (Xq Wq + c)||^2 / ||X W||^2 (ref = X W): the layer's relative output error; `c` [N] is a constant the
 * quantized layer adds to every output row (a shifted input's d W), none by default.
 */
export function relOutputError(ref: Matrix, xq: Matrix, wq: Matrix, c?: ArrayLike<number>): number {
  const y = matmul(xq, wq).data, r = ref.data, N = ref.cols;
  let num = 0, den = 0;
  for (let i = 0; i < r.length; i++) {
    num += (r[i] - y[i] - (c ? c[i % N] : 0)) ** 2;
    den += r[i] ** 2;
  }
  return den > 0 ? num / den : num;
}

/** X - d per column (d [K]); X itself without d. */
export function shiftColumns(x: Matrix, d?: ArrayLike<number>): Matrix {
  if (!d) return x;
  const { rows: M, cols: K } = x, out = new Float32Array(M * K);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) out[m * K + k] = x.data[m * K + k] - d[k];
  return { data: out, rows: M, cols: K };
}

/** Per input channel (column) statistic over rows: max |x| or mean |x|. */
export function channelAbs(x: Matrix, how: "max" | "mean"): Float64Array {
  const { rows: M, cols: K, data } = x;
  const out = new Float64Array(K);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const a = Math.abs(data[m * K + k]);
      if (how === "max") {
        if (a > out[k]) out[k] = a;
      } else out[k] += a;
    }
  }
  if (how === "mean") { for (let k = 0; k < K; k++) out[k] /= M; }
  return out;
}

/** Scale every row k of W [K, N] by s[k]. */
export function scaleRows(w: Matrix, s: ArrayLike<number>): Matrix {
  const { rows: K, cols: N, data } = w;
  const out = new Float32Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) out[k * N + n] = data[k * N + n] * s[k];
  return { data: out, rows: K, cols: N };
}

/** Scale every column k of X [M, K] by s[k]. */
export function scaleColumns(x: Matrix, s: ArrayLike<number>): Matrix {
  const { rows: M, cols: K, data } = x;
  const out = new Float32Array(M * K);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) out[m * K + k] = data[m * K + k] * s[k];
  return { data: out, rows: M, cols: K };
}

/**
 * Outlier ratio of activations: the largest channel's max |x| over the
 * median channel's. SmoothQuant exists to shrink it.
 */
export function outlierRatio(x: Matrix): number {
  const K = x.cols, mx = Array.from(channelAbs(x, "max")).sort((a, b) => a - b);
  const med = mx[Math.floor(K / 2)];
  return med > 0 ? mx[K - 1] / med : Infinity;
}
