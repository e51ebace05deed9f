/**
 * SmoothQuant (Xiao et al. 2023): migrate activation outliers into the
 * weights with a per-input-channel scale s_k = max|X_k|^alpha / max|W_k|^(1-alpha).
 * X' = X / s and W' = diag(s) W give the same product, with flatter X'.
 */
import { channelAbs } from "./linear.ts";

/** The smoothing scale s [K]; the graph multiplies X by 1/s. */
export function smoothScales(
  x: Float32Array,
  w: Float32Array,
  M: number,
  K: number,
  N: number,
  alpha = 0.5,
): Float64Array {
  const xmax = channelAbs(x, M, K, "max");
  const s = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let wmax = 0;
    for (let n = 0; n < N; n++) wmax = Math.max(wmax, Math.abs(w[k * N + n]));
    const v = Math.pow(Math.max(xmax[k], 1e-5), alpha) / Math.pow(Math.max(wmax, 1e-5), 1 - alpha);
    s[k] = Math.min(Math.max(v, 1e-4), 1e4);
  }
  return s;
}
