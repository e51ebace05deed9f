/**
 * The quantization record a low-bit variant's card carries (`model.json` `quantization`), one
 * schema for its writers (quant/quantize_model.ts; the study's onnxruntime peer rows) and its
 * readers (the server's model list, the study). Two kinds: ours, per module with every layer's
 * error, and a peer quantizer's (onnxruntime's MatMulNBitsQuantizer), which records its settings.
 */
import * as z from "zod";

const count = z.number().int().positive();
const FileEntry = z.object({ sha256: z.string(), bytes: z.number().int().min(0) });

/** Where a variant was quantized from: its fp32 folder, variant and file hashes. */
const Source = z.object({
  dir: z.string(),
  variant: z.string(),
  files: z.record(z.string(), FileEntry),
});

/** One layer's outcome: sizes, weight MSE and the relative output error on the calibration rows. */
export const LayerReport = z.looseObject({
  module: z.enum(["encoder", "predictor", "distance"]),
  layer: z.string(),
  K: count,
  N: count,
  weight_mse: z.number(),
  /** ||XW - X~W~||^2 / ||XW||^2 on the calibration rows */
  output_rel_err: z.number(),
  rows: z.number().int().min(0),
  awq_alpha: z.number().optional(),
  /** Set when the layer's weights fell back from the requested group to per-channel. */
  fallback: z.string().optional(),
});
export type LayerReport = z.infer<typeof LayerReport>;

export const ModuleQuantization = z.looseObject({
  method: z.string(),
  /** "sim": QDQ graphs for studies; "deploy": real low-bit storage. */
  format: z.enum(["sim", "deploy"]),
  weight: z.object({
    bits: z.number().int(),
    granularity: z.enum(["tensor", "channel", "group"]),
    group: z.number().int().optional(),
    symmetric: z.boolean(),
  }),
  act: z.object({ bits: z.number().int(), mode: z.string() }).nullable(),
  layers: z.enum(["blocks", "all", "whole"]),
  alpha: z.number().optional(),
  act_order: z.boolean().optional(),
  calibration: z.string(),
  per_layer: z.array(LayerReport),
});
export type ModuleQuantization = z.infer<typeof ModuleQuantization>;

/** Ours: per module, with the bytes of all graphs before and after. */
export const OwnQuantization = z.object({
  from: Source,
  modules: z.partialRecord(z.enum(["encoder", "predictor", "distance"]), ModuleQuantization),
  bytes: z.object({ fp32: count, quantized: count }),
});
export type OwnQuantization = z.infer<typeof OwnQuantization>;

/** A peer quantizer's output (the study's comparison rows). */
export const PeerQuantization = z.object({
  peer: z.string(),
  algo: z.string(),
  bits: z.number().int(),
  group: z.number().int(),
  from: Source,
});
export type PeerQuantization = z.infer<typeof PeerQuantization>;

export const Quantization = z.union([OwnQuantization, PeerQuantization]);
export type Quantization = z.infer<typeof Quantization>;

/** The per-module record where the variant is ours (undefined for fp32 and peer variants). */
export function ownQuantization(q: Quantization | undefined): OwnQuantization | undefined {
  return q && "modules" in q ? q : undefined;
}
