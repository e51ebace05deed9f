/**
 * SmoothQuant (Xiao et al. 2023): migrate activation outliers into the
 * weights with a per-input-channel scale s_k = max|X_k|^alpha / max|W_k|^(1-alpha).
 * X' = X / s and W' = diag(s) W give the same product, with flatter X'; W' is
 * then quantized like any weight, and the graph multiplies X by 1/s.
 */
import { channelAbs, type Matrix, scaleRows } from "./matrix.ts";
import { type QuantizedWeight, quantizeWeight, type WeightSpec } from "./quantizer.ts";

/** Migration strength: 0 keeps the activations as they are, 1 moves all their range into the weights. */
export const SMOOTHQUANT_ALPHA = 0.5;

/** The smoothing scale s [K]. */
export function smoothScales(x: Matrix, w: Matrix, alpha = SMOOTHQUANT_ALPHA): Float64Array {
  const { rows: K, cols: N, data } = w;
  const xmax = channelAbs(x, "max");
  const s = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let wmax = 0;
    for (let n = 0; n < N; n++) wmax = Math.max(wmax, Math.abs(data[k * N + n]));
    const v = Math.pow(Math.max(xmax[k], 1e-5), alpha) / Math.pow(Math.max(wmax, 1e-5), 1 - alpha);
    s[k] = Math.min(Math.max(v, 1e-4), 1e4);
  }
  return s;
}

/** Quantize diag(s) W; `inputScale` (1/s) is what the graph multiplies the layer input by. */
export function smoothQuant(
  w: Matrix,
  x: Matrix,
  spec: WeightSpec,
  alpha = SMOOTHQUANT_ALPHA,
): { q: QuantizedWeight; inputScale: Float32Array } {
  const s = smoothScales(x, w, alpha);
  return {
    q: quantizeWeight(scaleRows(w, Float32Array.from(s)), spec),
    inputScale: Float32Array.from(s, (v) => 1 / v),
  };
}
