/**
 * OmniQuant (Shao et al., ICLR 2024) for one linear layer Y = X W, learned by gradient descent on the
 * layer's output error over its calibration rows:
 *
 * - LWC, learnable weight clipping: each block (group, or channel) of each output keeps its own range
 *   [sigmoid(b) * min, sigmoid(g) * max] (symmetric: sigmoid(g) * max|w|), the two strengths learned;
 * - LET, learnable equivalent transformation (with activation quantization only, as the paper does):
 *   a per-input-channel scale s and shift d with X W = ((X - d) / s) (diag(s) W) + d W. The quantized
 *   layer sees flatter activations (X - d) / s and reshaped weights diag(s) W; d W is a constant added to
 *   its output. The rewrite folds 1/s and d into the LayerNorm that feeds the layer where it can
 *   (quant/rewrite.ts), else it multiplies and subtracts in the graph.
 *
 * Rounding has no gradient: straight-through (d round(u) / du = 1), as the paper's code does. The
 * objective is mean squared output error ||X W - (Q_a((X - d) / s) Q_w(diag(s) W) + d W)||^2 / (M N),
 * minimised with Adam from LWC strengths of sigmoid(4) ~ 0.98 and LET's SmoothQuant scale (alpha 0.5) and
 * channel midpoints. The result is the best point seen, and never worse than round to nearest on the
 * min-max range (checked on the same rows). Deterministic: no sampling, the rows are evenly spaced.
 *
 * The paper optimises a transformer block's output; here each layer's own output is the target (the
 * toolkit quantizes layer by layer on fp32 inputs, and a block's forward and backward - attention,
 * softmax, GELU - would have to be rewritten in TypeScript or mirrored in PyTorch from the ONNX graph).
 * The gradients are written out below: three matrix products per step at these layer sizes.
 */
import { type ActSpec, calibrateActivation, fakeQuantActivations } from "./activations.ts";
import type { Matrix } from "./matrix.ts";
import { smoothScales } from "./smoothquant.ts";
import {
  blockRanges,
  checkSpec,
  omseClip,
  type QuantizedWeight,
  quantizeValue,
  rangeParams,
  type WeightSpec,
} from "./quantizer.ts";

export interface OmniQuantOptions {
  /** Adam steps. */
  iterations: number;
  /** Adam's learning rate for the clipping strengths (logits). */
  lwcLr: number;
  /** Adam's learning rate for LET's log-scales and shifts. */
  letLr: number;
  /** Calibration rows used (evenly spaced among the given ones). */
  rows: number;
}

export const OMNIQUANT_DEFAULTS: OmniQuantOptions = { iterations: 60, lwcLr: 0.05, letLr: 0.01, rows: 512 };

export interface OmniQuantResult {
  q: QuantizedWeight;
  /** Multiply the (shifted) layer input by this per channel (1/s), with activation quantization. */
  inputScale?: Float32Array;
  /** Subtract this from the layer input first (d); the rewrite adds d W to the output. */
  inputShift?: Float32Array;
  /** The objective at the start, at the end, and round to nearest's (mean squared output error). */
  loss: { start: number; best: number; rtn: number };
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Adam over a flat parameter vector. */
class Adam {
  private m: Float64Array;
  private v: Float64Array;
  private t = 0;
  constructor(readonly p: Float64Array, private lr: number) {
    this.m = new Float64Array(p.length);
    this.v = new Float64Array(p.length);
  }
  step(g: Float64Array): void {
    const b1 = 0.9, b2 = 0.999;
    this.t++;
    const c1 = 1 - b1 ** this.t, c2 = 1 - b2 ** this.t;
    for (let i = 0; i < this.p.length; i++) {
      this.m[i] = b1 * this.m[i] + (1 - b1) * g[i];
      this.v[i] = b2 * this.v[i] + (1 - b2) * g[i] * g[i];
      this.p[i] -= this.lr * (this.m[i] / c1) / (Math.sqrt(this.v[i] / c2) + 1e-12);
    }
  }
}

/** The rows used: all of them, or `rows` evenly spaced. */
function pickRows(x: Matrix, rows: number): Matrix {
  if (x.rows <= rows) return x;
  const K = x.cols, out = new Float32Array(rows * K);
  for (let i = 0; i < rows; i++) {
    const r = Math.floor(i * x.rows / rows);
    out.set(x.data.subarray(r * K, (r + 1) * K), i * K);
  }
  return { data: out, rows, cols: K };
}

/** Per block and output: the weight's range, including 0 (what round to nearest clips from). */
function rangesWithZero(w: ArrayLike<number>, K: number, N: number, block: number, g: WeightSpec["granularity"]) {
  const { lo, hi } = blockRanges(w, K, N, block, g);
  return { lo: lo.map((v) => Math.min(v, 0)), hi: hi.map((v) => Math.max(v, 0)) };
}

/** The quantized weight for explicit per-block ranges (as the graph will hold it: float32 scales). */
export function quantizeWithRanges(
  w: ArrayLike<number>,
  K: number,
  N: number,
  spec: WeightSpec,
  lo: Float64Array,
  hi: Float64Array,
): QuantizedWeight {
  const block = checkSpec(spec, K), nb = K / block;
  const scales = new Float32Array(nb * N), zeros = new Uint8Array(nb * N);
  for (let i = 0; i < nb * N; i++) {
    const p = rangeParams(lo[i], hi[i], spec.bits, spec.symmetric);
    scales[i] = p.scale;
    zeros[i] = p.zero;
  }
  const codes = new Uint8Array(K * N);
  for (let k = 0; k < K; k++) {
    const b = Math.floor(k / block) * N;
    for (let n = 0; n < N; n++) {
      codes[k * N + n] = quantizeValue(w[k * N + n], { scale: scales[b + n], zero: zeros[b + n] }, spec.bits);
    }
  }
  return { K, N, bits: spec.bits, block, symmetric: spec.symmetric, codes, scales, zeros };
}

/**
 * One forward (and, with `grads`, backward) pass of the objective. Returns the loss; fills the gradients
 * of the clipping logits (gHi, gLo) and of LET's log-scales and shifts (gLogS, gShift).
 */
function step(
  ctx: {
    x: Matrix;
    w: Matrix;
    spec: WeightSpec;
    act?: ActSpec;
    block: number;
    ref: Float64Array;
  },
  p: { hi: Float64Array; lo: Float64Array; logS?: Float64Array; shift?: Float64Array },
  grads?: { hi: Float64Array; lo: Float64Array; logS?: Float64Array; shift?: Float64Array },
): number {
  const { x, w, spec, act, block } = ctx, { rows: M, cols: K } = x, N = w.cols, nb = K / block;
  // LET: Xt = (X - d) / s, Wt = diag(s) W.
  const s = p.logS ? p.logS.map(Math.exp) : null, d = p.shift;
  const xt = new Float32Array(M * K), wt = new Float64Array(K * N);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) xt[m * K + k] = (x.data[m * K + k] - (d ? d[k] : 0)) / (s ? s[k] : 1);
  }
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) wt[k * N + n] = w.data[k * N + n] * (s ? s[k] : 1);
  // LWC: ranges from the (transformed) weight, shrunk by the learned strengths.
  const r0 = rangesWithZero(wt, K, N, block, spec.granularity);
  const bits = spec.bits, qmax = spec.symmetric ? 2 ** (bits - 1) - 1 : 2 ** bits - 1, top = 2 ** bits - 1;
  const h = new Float64Array(nb * N), zr = new Float64Array(nb * N), lo = new Float64Array(nb * N);
  for (let i = 0; i < nb * N; i++) {
    if (spec.symmetric) {
      const a = Math.max(-r0.lo[i], r0.hi[i]) * sigmoid(p.hi[i]);
      h[i] = Math.max(a / qmax, 1e-12);
      zr[i] = 2 ** (bits - 1);
    } else {
      const up = r0.hi[i] * sigmoid(p.hi[i]);
      lo[i] = r0.lo[i] * sigmoid(p.lo[i]);
      h[i] = Math.max((up - lo[i]) / qmax, 1e-12);
      zr[i] = Math.min(qmax, Math.max(0, Math.round(-lo[i] / h[i])));
    }
  }
  const wq = new Float64Array(K * N), code = new Float64Array(K * N);
  for (let k = 0; k < K; k++) {
    const b = Math.floor(k / block) * N;
    for (let n = 0; n < N; n++) {
      const i = b + n, c = Math.min(top, Math.max(0, Math.round(wt[k * N + n] / h[i]) + zr[i]));
      code[k * N + n] = c;
      wq[k * N + n] = (c - zr[i]) * h[i];
    }
  }
  // Activations quantized as the graph will (per-tensor ranges recalibrated on Xt each step).
  const xq = act
    ? fakeQuantActivations(
      { data: xt, rows: M, cols: K },
      act,
      act.mode === "per-tensor" ? calibrateActivation({ data: xt, rows: M, cols: K }, act.bits) : undefined,
    ).data
    : xt;
  // E = Xq Wq + d W - X W (ref holds X W - d W, so E = Xq Wq - ref).
  const e = new Float64Array(M * N);
  let loss = 0;
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const a = xq[m * K + k];
      if (a === 0) continue;
      for (let n = 0; n < N; n++) e[m * N + n] += a * wq[k * N + n];
    }
    for (let n = 0; n < N; n++) {
      e[m * N + n] -= ctx.ref[m * N + n];
      loss += e[m * N + n] ** 2;
    }
  }
  loss /= M * N;
  if (!grads) return loss;
  const c = 2 / (M * N);
  // dL/dWq = c Xq^T E.
  const gw = new Float64Array(K * N);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const a = xq[m * K + k] * c;
      if (a === 0) continue;
      for (let n = 0; n < N; n++) gw[k * N + n] += a * e[m * N + n];
    }
  }
  grads.hi.fill(0);
  grads.lo.fill(0);
  const gs = s ? new Float64Array(K) : null;
  for (let k = 0; k < K; k++) {
    const b = Math.floor(k / block) * N;
    for (let n = 0; n < N; n++) {
      const i = b + n, j = k * N + n, g = gw[j], u = wt[j] / h[i], cq = code[j];
      const inside = cq > 0 && cq < top;
      // Straight through: dWq/dh is round(u) - u inside the code range; on its edges Wq = (edge - z) h.
      let dh: number, dlo = 0;
      if (spec.symmetric) dh = inside ? Math.round(u) - u : cq - zr[i];
      else if (inside) dh = Math.round(u) - u;
      else {
        const zc = -lo[i] / h[i];
        dh = cq - zr[i] + zc;
        dlo = 1;
      }
      if (spec.symmetric) {
        const a = Math.max(-r0.lo[i], r0.hi[i]), sg = sigmoid(p.hi[i]);
        grads.hi[i] += g * dh * a * sg * (1 - sg) / qmax;
      } else {
        const sh = sigmoid(p.hi[i]), sl = sigmoid(p.lo[i]);
        grads.hi[i] += g * dh / qmax * r0.hi[i] * sh * (1 - sh);
        grads.lo[i] += g * (-dh / qmax + dlo) * r0.lo[i] * sl * (1 - sl);
      }
      // LET through the weight: Wt = s W, Wq follows Wt inside the code range.
      if (gs && inside) gs[k] += g * w.data[j];
    }
  }
  if (!s || !grads.logS) return loss;
  // Through the activations: dL/dXq = c E Wq^T; Xt = (X - d) / s.
  const gx = new Float64Array(K);
  const gd = grads.shift ? new Float64Array(K) : null;
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      let acc = 0;
      for (let n = 0; n < N; n++) acc += e[m * N + n] * wq[k * N + n];
      acc *= c;
      gx[k] += acc * -xt[m * K + k] / s[k];
      if (gd) gd[k] += acc * -1 / s[k];
    }
  }
  for (let k = 0; k < K; k++) grads.logS[k] = (gs![k] + gx[k]) * s[k];
  if (gd && grads.shift && d) {
    // d enters the target too: E = Xq Wq - (X - d) W.
    for (let k = 0; k < K; k++) {
      let acc = 0;
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) acc += e[m * N + n] * w.data[k * N + n];
      grads.shift[k] = gd[k] + c * acc;
    }
  }
  return loss;
}

/** (X - d) W, the target the quantized product must meet (X W - d W; the graph adds d W back). */
function target(x: Matrix, w: Matrix, d?: Float64Array): Float64Array {
  const { rows: M, cols: K } = x, N = w.cols, y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const a = x.data[m * K + k] - (d ? d[k] : 0);
      if (a === 0) continue;
      for (let n = 0; n < N; n++) y[m * N + n] += a * w.data[k * N + n];
    }
  }
  return y;
}

/** OmniQuant one layer: LWC always, LET with activation quantization. */
export function omniquant(
  w: Matrix,
  xAll: Matrix,
  spec: WeightSpec,
  act?: ActSpec,
  o: Partial<OmniQuantOptions> & { init?: "omse" | "paper" } = {},
): OmniQuantResult {
  const opt = { ...OMNIQUANT_DEFAULTS, ...o };
  const { rows: K, cols: N } = w, block = checkSpec(spec, K), nb = K / block;
  const x = pickRows(xAll, opt.rows);
  const base = { x, w, spec, act, block };
  const BIG = 30; // sigmoid(30) = 1: round to nearest on the min-max range
  const rtn = step({ ...base, ref: target(x, w) }, {
    hi: new Float64Array(nb * N).fill(BIG),
    lo: new Float64Array(nb * N).fill(BIG),
  });
  // Start from OMSE's clip (the weight-MSE-best ratio per block), not the paper's sigmoid(4): at 2-4 bits on
  // small layers that start is already past most of what learning from sigmoid(4) reached.
  const start0 = o.init === "paper"
    ? new Float64Array(nb * N).fill(4)
    : omseClip(w, spec).map((c) => Math.log(Math.min(c, 0.995) / (1 - Math.min(c, 0.995))));
  const hi = start0.slice(), lo = start0.slice();
  let logS: Float64Array | undefined, shift: Float64Array | undefined;
  if (act) {
    logS = smoothScales(x, w, 0.5).map(Math.log);
    shift = new Float64Array(K);
    const mn = new Float64Array(K).fill(Infinity), mx = new Float64Array(K).fill(-Infinity);
    for (let m = 0; m < x.rows; m++) {
      for (let k = 0; k < K; k++) {
        const v = x.data[m * K + k];
        if (v < mn[k]) mn[k] = v;
        if (v > mx[k]) mx[k] = v;
      }
    }
    for (let k = 0; k < K; k++) shift[k] = (mx[k] + mn[k]) / 2;
  }
  const params = { hi, lo, logS, shift };
  const grads = {
    hi: new Float64Array(nb * N),
    lo: new Float64Array(nb * N),
    logS: logS && new Float64Array(K),
    shift: shift && new Float64Array(K),
  };
  const opts = [new Adam(hi, opt.lwcLr), new Adam(lo, opt.lwcLr)];
  const letOpts = logS ? [new Adam(logS, opt.letLr), new Adam(shift!, opt.letLr)] : [];
  let best = { loss: Infinity, hi, lo, logS, shift };
  let start = NaN;
  for (let it = 0; it <= opt.iterations; it++) {
    const loss = step({ ...base, ref: target(x, w, shift) }, params, it < opt.iterations ? grads : undefined);
    if (it === 0) start = loss;
    if (loss < best.loss) best = { loss, hi: hi.slice(), lo: lo.slice(), logS: logS?.slice(), shift: shift?.slice() };
    if (it === opt.iterations || !Number.isFinite(loss)) break;
    opts[0].step(grads.hi);
    opts[1].step(grads.lo);
    if (letOpts.length) {
      letOpts[0].step(grads.logS!);
      letOpts[1].step(grads.shift!);
    }
  }
  if (!(best.loss < rtn)) {
    // Learning did not beat round to nearest on these rows: keep round to nearest.
    const r = rangesWithZero(w.data, K, N, block, spec.granularity);
    return { q: quantizeWithRanges(w.data, K, N, spec, r.lo, r.hi), loss: { start, best: rtn, rtn } };
  }
  // The learned transform and ranges, as the graph will hold them.
  const s = best.logS?.map(Math.exp);
  const wt = Float64Array.from(w.data, (v, j) => v * (s ? s[Math.floor(j / N)] : 1));
  const r = rangesWithZero(wt, K, N, block, spec.granularity);
  const qlo = new Float64Array(nb * N), qhi = new Float64Array(nb * N);
  for (let i = 0; i < nb * N; i++) {
    if (spec.symmetric) {
      const a = Math.max(-r.lo[i], r.hi[i]) * sigmoid(best.hi[i]);
      [qlo[i], qhi[i]] = [-a, a];
    } else [qlo[i], qhi[i]] = [r.lo[i] * sigmoid(best.lo[i]), r.hi[i] * sigmoid(best.hi[i])];
  }
  return {
    q: quantizeWithRanges(wt, K, N, spec, qlo, qhi),
    ...(s ? { inputScale: Float32Array.from(s, (v) => 1 / v) } : {}),
    ...(best.shift ? { inputShift: Float32Array.from(best.shift) } : {}),
    loss: { start, best: best.loss, rtn },
  };
}
