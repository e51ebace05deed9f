/**
 * Activation quantization of a layer's input X [M, K]: unsigned asymmetric
 * codes at `bits`, with one range per tensor fixed at calibration
 * ("per-tensor"), one range per tensor computed at run time ("dynamic", what
 * DynamicQuantizeLinear does at 8 bits), or one range per token ("per-token").
 */
import type { Matrix } from "./matrix.ts";
import { type Params, rangeParams, roundEven } from "./quantizer.ts";
import { QuantError } from "./quant_error.ts";

export type ActMode = "per-tensor" | "per-token" | "dynamic";
export const ACT_MODES: readonly ActMode[] = ["per-tensor", "per-token", "dynamic"];

export interface ActSpec {
  bits: number;
  mode: ActMode;
}

export function checkActSpec(spec: ActSpec): void {
  if (!Number.isInteger(spec.bits) || spec.bits < 2 || spec.bits > 8) {
    throw new QuantError(`activation bits must be an integer in 2..8, got ${spec.bits}`);
  }
  if (!ACT_MODES.includes(spec.mode)) {
    throw new QuantError(`activation mode must be one of ${ACT_MODES.join(", ")}, got ${spec.mode}`);
  }
}

function minMax(x: Float32Array, from = 0, to = x.length): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = from; i < to; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  return [lo, hi];
}

/** Static per-tensor range from calibration activations (float32 scale, as stored in the graph). */
export function calibrateActivation(x: Matrix, bits: number): Params {
  const [lo, hi] = minMax(x.data);
  const p = rangeParams(lo, hi, bits, false);
  return { scale: Math.fround(p.scale), zero: p.zero };
}

function fakeQuantRange(x: Float32Array, out: Float32Array, from: number, to: number, p: Params, bits: number) {
  const qmax = 2 ** bits - 1;
  for (let i = from; i < to; i++) {
    const q = Math.min(qmax, Math.max(0, roundEven(x[i] / p.scale) + p.zero));
    out[i] = (q - p.zero) * p.scale;
  }
}

/**
 * Quantize-dequantize X as the graph will. `static` is required for
 * per-tensor mode; "dynamic" treats all of X as one run.
 */
export function fakeQuantActivations(X: Matrix, spec: ActSpec, fixed?: Params): Matrix {
  const { data: x, rows: M, cols: K } = X;
  const out = new Float32Array(x.length);
  if (spec.mode === "per-tensor") {
    if (!fixed) throw new QuantError("per-tensor activations need a calibrated range");
    fakeQuantRange(x, out, 0, x.length, fixed, spec.bits);
  } else if (spec.mode === "dynamic") {
    fakeQuantRange(x, out, 0, x.length, calibrateActivation(X, spec.bits), spec.bits);
  } else {
    for (let m = 0; m < M; m++) {
      const [lo, hi] = minMax(x, m * K, (m + 1) * K);
      const p = rangeParams(lo, hi, spec.bits, false);
      fakeQuantRange(x, out, m * K, (m + 1) * K, { scale: Math.fround(p.scale), zero: p.zero }, spec.bits);
    }
  }
  return { data: out, rows: M, cols: K };
}
