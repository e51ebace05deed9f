/**
 * `deno task quantize`: quantize a model directory into a new one (see quantize_model.ts).
 *
 *   deno task quantize --model models/wall/fp32 --method gptq --wbits 4 --group 32 --out /tmp/wall-w4
 *   deno task quantize --model models/wall/fp32 --method omniquant --wbits 4 --abits 8 --act per-token --format sim \
 *     --out /tmp/wall-w4a8
 */
import { listFlag, parseFlags, runCli } from "../lib/cli.ts";
import { ACT_MODES } from "./activations.ts";
import { type Method, MODULES, parseGranularity, type QuantizeConfig } from "./config.ts";
import { METHOD_NAMES } from "./methods.ts";
import { OMNIQUANT_DEFAULTS } from "./omniquant.ts";
import { SMOOTHQUANT_ALPHA } from "./smoothquant.ts";
import { quantizeModelDir } from "./quantize_model.ts";
import { ownQuantization } from "../model/quantization.ts";

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      model: { type: "string", required: true, help: "model directory to read (never modified)" },
      out: { type: "string", required: true, help: "model directory to write" },
      method: { type: "string", default: "rtn", help: METHOD_NAMES.join(" | ") },
      wbits: { type: "int", required: true, min: 2, max: 8, help: "weight bits" },
      group: { type: "string", help: "inputs per group, channel (default) or tensor" },
      sym: { type: "boolean", help: "symmetric weight ranges (default asymmetric)" },
      abits: { type: "int", min: 2, max: 8, help: "activation bits (default: weight-only)" },
      act: { type: "enum", values: ACT_MODES, default: "per-tensor", help: "activation ranges" },
      modules: {
        type: "string",
        default: "encoder,predictor",
        help:
          "which graphs to quantize: encoder, predictor, distance (encoder,predictor with --layers whole: all three)",
      },
      layers: {
        type: "enum",
        values: ["blocks", "all", "whole"],
        default: "blocks",
        help:
          "transformer blocks; every MatMul/Gemm; or whole: every layer and the patch embedding (its Conv as a MatMul)",
      },
      format: { type: "enum", values: ["deploy", "sim"], default: "deploy", help: "real low-bit graphs, or simulated" },
      calib: { type: "string", help: "dataset folder for calibration (default: simulated episodes)" },
      "calib-episodes": { type: "int", default: 48, min: 1, max: 100000 },
      "calib-seed": { type: "int", min: 0 },
      alpha: { type: "number", min: 0, max: 1, help: `SmoothQuant migration strength (default ${SMOOTHQUANT_ALPHA})` },
      "act-order": { type: "boolean", help: "GPTQ: most active inputs first" },
      iterations: {
        type: "int",
        min: 0,
        max: 100000,
        help: `OmniQuant: Adam steps per layer (default ${OMNIQUANT_DEFAULTS.iterations})`,
      },
      "lwc-lr": { type: "number", help: `OmniQuant: clipping learning rate (default ${OMNIQUANT_DEFAULTS.lwcLr})` },
      "let-lr": { type: "number", help: `OmniQuant: LET learning rate (default ${OMNIQUANT_DEFAULTS.letLr})` },
      rows: { type: "int", min: 8, help: `OmniQuant: calibration rows per layer (default ${OMNIQUANT_DEFAULTS.rows})` },
      variant: { type: "string", help: "variant name (default: from the configuration)" },
      backend: { type: "enum", values: ["web", "node"], default: "web", help: "onnxruntime for calibration" },
    }, "deno task quantize --model DIR --out DIR --method M --wbits B: post-training quantization of a model");
    const modules = listFlag(f.modules, "modules", MODULES);
    const config: QuantizeConfig = {
      method: f.method as Method,
      weight: { bits: f.wbits, symmetric: f.sym, ...parseGranularity(f.group) },
      act: f.abits === undefined ? undefined : { bits: f.abits, mode: f.act },
      modules,
      format: f.format,
      layers: f.layers,
      alpha: f.alpha,
      actOrder: f["act-order"],
      iterations: f.iterations,
      lwcLr: f["lwc-lr"],
      letLr: f["let-lr"],
      rows: f.rows,
      calib: { dir: f.calib, episodes: f["calib-episodes"], seed: f["calib-seed"] },
    };
    const { card } = await quantizeModelDir(f.model, f.out, config, { variant: f.variant, backend: f.backend });
    const q = ownQuantization(card.quantization)!;
    const errs = Object.values(q.modules).flatMap((m) => m!.per_layer.map((l) => l.output_rel_err));
    console.log(JSON.stringify({
      variant: card.variant,
      bytes: q.bytes,
      mean_output_rel_err: errs.reduce((a, b) => a + b, 0) / errs.length,
      max_output_rel_err: Math.max(...errs),
    }));
  });
}
