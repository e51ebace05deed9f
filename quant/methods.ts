/**
 * The quantization methods, one entry each: what it is, the options it takes with their defaults,
 * and how it quantizes one layer's weight W [K, N] given that layer's calibration inputs X [M, K].
 * `quantize_model.ts` looks a method up here; adding a method is adding an entry.
 */
import { awq } from "./awq.ts";
import { gptq } from "./gptq.ts";
import type { Matrix } from "./matrix.ts";
import { omseClip, type QuantizedWeight, quantizeWeight, type WeightSpec } from "./quantizer.ts";
import { smoothQuant, SMOOTHQUANT_ALPHA } from "./smoothquant.ts";

/** Options a method may read; each entry names its own and their defaults. */
export interface MethodOptions {
  /** SmoothQuant's migration strength. */
  alpha?: number;
  /** GPTQ: quantize the most active inputs first. */
  actOrder?: boolean;
}

export interface LayerQuantization {
  q: QuantizedWeight;
  /** Multiply the layer input by this per channel first (AWQ, SmoothQuant). */
  inputScale?: Float32Array;
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

export type Method = "rtn" | "omse" | "awq" | "gptq" | "smoothquant";

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
};

export const METHOD_NAMES = Object.keys(METHODS) as Method[];
