/**
 * What a quantization run is asked to do (method, weight and activation specs, modules, format,
 * layer scope), its validation before any work, and the names variants get from it.
 */
import { type ActSpec, checkActSpec } from "./activations.ts";
import type { CalibrationOptions } from "./calibrate.ts";
import type { LayerScope } from "./layers.ts";
import { type Method, METHOD_NAMES, type MethodOptions, METHODS } from "./methods.ts";
import { type WeightSpec } from "./quantizer.ts";
import { QuantError } from "./quant_error.ts";
import type { Format } from "./rewrite.ts";

export type { Method };
/** The graphs a model has: "distance" is the learned distance head some models plan with (wall, pointmaze). */
export const MODULES = ["encoder", "predictor", "distance"] as const;
export type Module = typeof MODULES[number];

/** One run's configuration; the method's own options (methods.ts: alpha, actOrder) ride along. */

export interface QuantizeConfig extends MethodOptions {
  method: Method;
  weight: WeightSpec;
  act?: ActSpec;
  modules: Module[];
  format: Format;
  layers?: LayerScope;
  calib?: CalibrationOptions;
}

/** The method, activation spec and method/activation pairing, checked before any work. */
export function checkConfig(c: QuantizeConfig): void {
  if (!(METHOD_NAMES as string[]).includes(c.method)) {
    throw new QuantError(`--method must be one of ${METHOD_NAMES.join(", ")}, got ${c.method}`);
  }
  if (c.act) checkActSpec(c.act);
  if (METHODS[c.method].needsActivations && !c.act) {
    throw new QuantError(`${c.method} quantizes activations: give --abits`);
  }
  METHODS[c.method].options(c); // the method's own options, checked now (a bad one names its flag)
}

/**
 * The short name of a weight (and activation) setting: bits, then g<group> (per-group), t (per-tensor) or
 * nothing (per-channel), then a<bits> with tok (per-token) or dyn (dynamic) for activations, e.g. w4g32,
 * w8a8dyn, w4a8tok. Variant names and the study's row ids are built from it, and from nothing else.
 */
export function settingTag(weight: Pick<WeightSpec, "bits" | "granularity" | "group">, act?: ActSpec | null): string {
  const g = weight.granularity === "group" ? `g${weight.group}` : weight.granularity === "tensor" ? "t" : "";
  const a = act ? `a${act.bits}${act.mode === "per-token" ? "tok" : act.mode === "dynamic" ? "dyn" : ""}` : "";
  return `w${weight.bits}${g}${a}`;
}

/** The variant name a configuration gets, e.g. gptq-w4g32, rtn-w8a8dyn, awq-w3-sim. */
export function describe(c: QuantizeConfig): string {
  return `${c.method}-${settingTag(c.weight, c.act)}${c.format === "sim" ? "-sim" : ""}`;
}

/**
 * The weight spec one layer gets: a group that does not divide the layer's inputs (or covers them all)
 * falls back to per-channel for that layer, so any group size works with `--layers all`; the model
 * record lists the layers that fell back.
 */
export function layerWeightSpec(spec: WeightSpec, K: number): { spec: WeightSpec; fallback?: string } {
  if (spec.granularity !== "group" || (K % spec.group! === 0 && spec.group! < K)) return { spec };
  return {
    spec: { bits: spec.bits, symmetric: spec.symmetric, granularity: "channel" },
    fallback: `group ${spec.group} ${spec.group! >= K ? "covers" : "does not divide"} the ${K} inputs: per-channel`,
  };
}

/** `--group 32`, `--group channel` (default) or `--group tensor`. */
export function parseGranularity(v: string | undefined): Pick<WeightSpec, "granularity" | "group"> {
  if (v === undefined || v === "channel") return { granularity: "channel" };
  if (v === "tensor") return { granularity: "tensor" };
  const g = Number(v);
  if (!Number.isInteger(g) || g < 2) {
    throw new QuantError(`--group must be an integer >= 2, "channel" or "tensor", got "${v}"`);
  }
  return { granularity: "group", group: g };
}
