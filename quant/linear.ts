/**
 * Dense helpers for a linear layer Y = X W on calibration activations:
 * X is [M, K] row-major (one row per token), W is [K, N].
 */

export function matmul(x: Float32Array, w: Float32Array, M: number, K: number, N: number): Float32Array {
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    const yo = m * N;
    for (let k = 0; k < K; k++) {
      const a = x[m * K + k];
      if (a === 0) continue;
      const wo = k * N;
      for (let n = 0; n < N; n++) y[yo + n] += a * w[wo + n];
    }
  }
  return y;
}

/** ||X W - Xq Wq||^2 / ||X W||^2: the layer's relative output error. */
export function relOutputError(
  ref: Float32Array,
  xq: Float32Array,
  wq: Float32Array,
  M: number,
  K: number,
  N: number,
): number {
  const y = matmul(xq, wq, M, K, N);
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (ref[i] - y[i]) ** 2;
    den += ref[i] ** 2;
  }
  return den > 0 ? num / den : num;
}

/** Per input channel statistic over rows: max |x| or mean |x|. */
export function channelAbs(x: Float32Array, M: number, K: number, how: "max" | "mean"): Float64Array {
  const out = new Float64Array(K);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const a = Math.abs(x[m * K + k]);
      if (how === "max") {
        if (a > out[k]) out[k] = a;
      } else out[k] += a;
    }
  }
  if (how === "mean") { for (let k = 0; k < K; k++) out[k] /= M; }
  return out;
}

/** Scale every row k of W [K, N] by s[k]. */
export function scaleRows(w: Float32Array, s: ArrayLike<number>, K: number, N: number): Float32Array {
  const out = new Float32Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) out[k * N + n] = w[k * N + n] * s[k];
  return out;
}

/** Scale every column k of X [M, K] by s[k]. */
export function scaleColumns(x: Float32Array, s: ArrayLike<number>, M: number, K: number): Float32Array {
  const out = new Float32Array(M * K);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) out[m * K + k] = x[m * K + k] * s[k];
  return out;
}

/**
 * Outlier ratio of activations: the largest channel's max |x| over the
 * median channel's. SmoothQuant exists to shrink it.
 */
export function outlierRatio(x: Float32Array, M: number, K: number): number {
  const mx = Array.from(channelAbs(x, M, K, "max")).sort((a, b) => a - b);
  const med = mx[Math.floor(K / 2)];
  return med > 0 ? mx[K - 1] / med : Infinity;
}
