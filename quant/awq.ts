/**
 * AWQ (Lin et al. 2024), activation-aware weight quantization:
 * 1. scale search: s_k = mean|X_k|^alpha (normalised), alpha on a grid, keep
 *    the alpha whose quantized layer Q(diag(s) W) / s best reproduces X W on
 *    calibration rows (alpha = 0 is plain RTN, so the search never loses to it);
 * 2. clip search: per group of each output, shrink the range where that
 *    lowers the output error, kept per output only if the output improves.
 */
import { channelAbs, matmul, type Matrix, scaleColumns, scaleRows } from "./matrix.ts";
import { CLIP_GRID, dequantize, type QuantizedWeight, quantizeWeight, type WeightSpec } from "./quantizer.ts";

export interface AwqResult {
  q: QuantizedWeight;
  /** Multiply the layer input by this (1/s) before the quantized MatMul. */
  inputScale: Float32Array;
  alpha: number;
}

export const AWQ_ALPHAS = Array.from({ length: 11 }, (_, i) => i / 10);

function columnErrors(ref: Matrix, yy: Matrix): Float64Array {
  const { rows: M, cols: N } = ref, r = ref.data, y = yy.data;
  const e = new Float64Array(N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) e[n] += (r[m * N + n] - y[m * N + n]) ** 2;
  return e;
}

export function awq(w: Matrix, x: Matrix, spec: WeightSpec, clipSearch = true): AwqResult {
  const { rows: K, cols: N } = w;
  const ref = matmul(x, w);
  const xmean = channelAbs(x, "mean");
  let best = { err: Infinity, alpha: 0, s: new Float64Array(K).fill(1) };
  for (const alpha of AWQ_ALPHAS) {
    const s = new Float64Array(K);
    let mx = 0, mn = Infinity;
    for (let k = 0; k < K; k++) {
      s[k] = Math.max(Math.pow(Math.max(xmean[k], 1e-8), alpha), 1e-4);
      mx = Math.max(mx, s[k]);
      mn = Math.min(mn, s[k]);
    }
    const norm = Math.sqrt(mx * mn);
    for (let k = 0; k < K; k++) s[k] = Math.fround(s[k] / norm);
    const eff = scaleRows(dequantize(quantizeWeight(scaleRows(w, s), spec)), s.map((v) => 1 / v));
    const e = columnErrors(ref, matmul(x, eff)).reduce((a, b) => a + b, 0);
    if (e < best.err) best = { err: e, alpha, s };
  }
  const inv = Float32Array.from(best.s, (v) => 1 / v);
  const ws = scaleRows(w, best.s);
  const xs = scaleColumns(x, inv);
  const q = quantizeWeight(ws, spec);
  if (clipSearch && spec.granularity !== "tensor") {
    const clipped = quantizeWeight(ws, spec, searchClip(ws, xs, spec, q.block));
    // Keep the clipped ranges only for outputs whose error they lower.
    const e0 = columnErrors(ref, matmul(xs, dequantize(q)));
    const e1 = columnErrors(ref, matmul(xs, dequantize(clipped)));
    const nb = K / q.block;
    for (let n = 0; n < N; n++) {
      if (e1[n] >= e0[n]) continue;
      for (let b = 0; b < nb; b++) {
        q.scales[b * N + n] = clipped.scales[b * N + n];
        q.zeros[b * N + n] = clipped.zeros[b * N + n];
      }
      for (let k = 0; k < K; k++) q.codes[k * N + n] = clipped.codes[k * N + n];
    }
  }
  return { q, inputScale: inv, alpha: best.alpha };
}

/** Per block and output, the clip ratio minimising that block's share of the output error. */
function searchClip(W: Matrix, X: Matrix, spec: WeightSpec, block: number): Float64Array {
  const { data: w, rows: K, cols: N } = W, { data: x, rows: M } = X;
  const nb = K / block;
  const best = new Float64Array(nb * N).fill(1), bestErr = new Float64Array(nb * N).fill(Infinity);
  const delta = new Float32Array(block);
  for (const c of CLIP_GRID.filter((_, i) => i % 2 === 0)) {
    const dq = dequantize(quantizeWeight(W, spec, c)).data;
    for (let b = 0; b < nb; b++) {
      for (let n = 0; n < N; n++) {
        for (let j = 0; j < block; j++) {
          const k = b * block + j;
          delta[j] = w[k * N + n] - dq[k * N + n];
        }
        let err = 0;
        for (let m = 0; m < M; m++) {
          let d = 0;
          const xo = m * K + b * block;
          for (let j = 0; j < block; j++) d += x[xo + j] * delta[j];
          err += d * d;
        }
        const i = b * N + n;
        if (err < bestErr[i]) {
          bestErr[i] = err;
          best[i] = c;
        }
      }
    }
  }
  return best;
}
