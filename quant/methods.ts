/**
 * The quantization methods, one entry each: what it is, the options it takes with their defaults,
 * and how it quantizes one layer's weight W [K, N] given that layer's calibration inputs X [M, K].
 * `quantize_model.ts` looks a method up here; adding a method is adding an entry.
 */
import type { ActSpec } from "./activations.ts";
import { awq } from "./awq.ts";
import { gptq } from "./gptq.ts";
import type { Matrix } from "./matrix.ts";
import { omseClip, type QuantizedWeight, quantizeWeight, type WeightSpec } from "./quantizer.ts";
import { omniquant, OMNIQUANT_DEFAULTS } from "./omniquant.ts";
import { QuantError } from "./quant_error.ts";
import { smoothQuant, SMOOTHQUANT_ALPHA } from "./smoothquant.ts";

/** Options a method may read; each entry names its own and their defaults. */
export interface MethodOptions {
  /** SmoothQuant's migration strength. */
  alpha?: number;
  /** GPTQ: quantize the most active inputs first. */
  actOrder?: boolean;
  /** OmniQuant: Adam steps per layer, learning rates of the clipping strengths and of LET, rows used. */
  iterations?: number;
  lwcLr?: number;
  letLr?: number;
  rows?: number;
  /** The activation quantization the layer will see (OmniQuant learns its LET against it). */
  act?: ActSpec;
}

export interface LayerQuantization {
  q: QuantizedWeight;
  /** Multiply the layer input by this per channel first (AWQ, SmoothQuant, OmniQuant's LET). */
  inputScale?: Float32Array;
  /** Subtract this from the layer input before scaling it (OmniQuant's LET); d W is added to the output. */
  inputShift?: Float32Array;
  /** AWQ's chosen scale exponent. */
  alpha?: number;
}

export interface QuantMethod {
  summary: string;
  /** The option values this method uses (defaults filled in), as the model card records them. */
  options(o: MethodOptions): Record<string, number | boolean>;
  /** Only meaningful with activation quantization. */
  needsActivations?: boolean;
  quantize(w: Matrix, x: Matrix, spec: WeightSpec, o: MethodOptions): LayerQuantization;
}

export type Method = "rtn" | "omse" | "awq" | "gptq" | "smoothquant" | "omniquant";

/** OmniQuant's options with their defaults filled in, each checked (a bad one names its flag). */
function omniOptions(o: MethodOptions) {
  const v = {
    iterations: o.iterations ?? OMNIQUANT_DEFAULTS.iterations,
    lwc_lr: o.lwcLr ?? OMNIQUANT_DEFAULTS.lwcLr,
    let_lr: o.letLr ?? OMNIQUANT_DEFAULTS.letLr,
    rows: o.rows ?? OMNIQUANT_DEFAULTS.rows,
  };
  if (!Number.isInteger(v.iterations) || v.iterations < 0 || v.iterations > 100_000) {
    throw new QuantError(`--iterations must be an integer in 0..100000, got ${v.iterations}`);
  }
  for (const [flag, lr] of [["--lwc-lr", v.lwc_lr], ["--let-lr", v.let_lr]] as const) {
    if (!(lr > 0 && lr <= 10)) throw new QuantError(`${flag} must be in (0, 10], got ${lr}`);
  }
  if (!Number.isInteger(v.rows) || v.rows < 8) throw new QuantError(`--rows must be an integer >= 8, got ${v.rows}`);
  return v;
}

export const METHODS: Record<Method, QuantMethod> = {
  rtn: {
    summary: "round to nearest on the min-max range",
    options: () => ({}),
    quantize: (w, _x, spec) => ({ q: quantizeWeight(w, spec) }),
  },
  omse: {
    summary: "round to nearest on the clipping range with the lowest weight MSE",
    options: () => ({}),
    quantize: (w, _x, spec) => ({ q: quantizeWeight(w, spec, omseClip(w, spec)) }),
  },
  awq: {
    summary: "activation-aware per-channel scales, then a per-group clip search",
    options: () => ({}),
    quantize: (w, x, spec) => awq(w, x, spec),
  },
  gptq: {
    summary: "Hessian-weighted rounding-error compensation, input row by row",
    options: (o) => ({ act_order: o.actOrder ?? false }),
    quantize: (w, x, spec, o) => ({ q: gptq(w, x, spec, { actOrder: o.actOrder ?? false }) }),
  },
  smoothquant: {
    summary: "migrate activation outliers into the weights, then round to nearest",
    options: (o) => ({ alpha: o.alpha ?? SMOOTHQUANT_ALPHA }),
    needsActivations: true,
    quantize: (w, x, spec, o) => smoothQuant(w, x, spec, o.alpha ?? SMOOTHQUANT_ALPHA),
  },
  omniquant: {
    summary: "learned weight clipping (and, with activations, a learned per-channel scale and shift), by gradient",
    options: (o) => omniOptions(o),
    quantize: (w, x, spec, o) => {
      const v = omniOptions(o);
      return omniquant(w, x, spec, o.act, { iterations: v.iterations, lwcLr: v.lwc_lr, letLr: v.let_lr, rows: v.rows });
    },
  },
};

export const METHOD_NAMES = Object.keys(METHODS) as Method[];
