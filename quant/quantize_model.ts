/**
 * Quantize a model directory: encoder and/or predictor, weight-only or weight-activation,
 * simulated (QDQ) or deployable (MatMulNBits / MatMulInteger), into a new model directory the
 * agent loads like any other. The input directory is only read. The output's model.json records
 * the configuration, the calibration data, per-layer errors and byte sizes.
 */
import { resolve } from "node:path";
import { graphFiles, loadModelCard, type ModelCard, sha256 } from "../model/model_card.ts";
import { type LayerReport, type OwnQuantization, ownQuantization } from "../model/quantization.ts";
import type { BackendName } from "../model/ort.ts";
import { calibrateActivation, fakeQuantActivations } from "./activations.ts";
import { calibrationData, collectLayerInputs, type Feed } from "./calibrate.ts";
import { checkConfig, describe, layerWeightSpec, type Module, MODULES, type QuantizeConfig } from "./config.ts";
import { compactNames } from "./compact.ts";
import { findLayers, type Layer, weightMatrix } from "./layers.ts";
import { patchConvsToMatMul } from "../model/patchify.ts";
import { matmul, type Matrix, relOutputError, scaleColumns, scaleRows, shiftColumns } from "./matrix.ts";
import { METHODS } from "./methods.ts";
import { decodeModel, encodeModel, type Model } from "../lib/onnx.ts";
import { checkSpec, dequantize, mse } from "./quantizer.ts";
import { QuantError } from "./quant_error.ts";
import { deployProblem, type LayerPlan, rewriteLayers } from "./rewrite.ts";

export type { LayerReport } from "../model/quantization.ts";

/** Check everything that can be checked before any work: bits, groups, deployability. */
function plannedLayers(
  modules: Partial<Record<Module, Model>>,
  c: QuantizeConfig,
  which: Module[],
): Partial<Record<Module, Layer[]>> {
  checkConfig(c);
  const out: Partial<Record<Module, Layer[]>> = {};
  for (const m of which) {
    // The distance head is a small MLP with no transformer blocks: all its layers are its layers.
    out[m] = findLayers(modules[m]!, m === "distance" ? "all" : c.layers ?? "blocks");
    for (const l of out[m]!) {
      const { spec } = layerWeightSpec(c.weight, l.K);
      checkSpec(spec, l.K, `${m} layer ${l.name}`);
      if (c.format === "deploy") {
        const block = spec.granularity === "group" ? spec.group! : l.K;
        const why = deployProblem(c.weight.bits, block, l.K, c.act);
        if (why) throw new QuantError(`${m} layer ${l.name}: cannot deploy: ${why}; use --format sim`);
      }
    }
  }
  return out;
}

/** A shift d [K] as a one-row matrix (d W is what a shifted layer adds to its output). */
const shiftRow = (d: Float32Array): Matrix => ({ data: d, rows: 1, cols: d.length });

/** Quantize one layer on its calibration inputs x [M, K] with the configured method (methods.ts). */
export function quantizeLayer(
  layer: Layer,
  x: Matrix,
  c: QuantizeConfig,
): { plan: LayerPlan; weightMse: number; outputRelErr: number; alpha?: number; fallback?: string } {
  const { spec: weight, fallback } = layerWeightSpec(c.weight, layer.K);
  const w = weightMatrix(layer);
  const r = METHODS[c.method].quantize(w, x, weight, c);
  const plan: LayerPlan = {
    layer,
    q: r.q,
    ...(r.inputScale ? { inputScale: r.inputScale } : {}),
    ...(r.inputShift ? { inputShift: r.inputShift } : {}),
  };
  const xs = plan.inputScale ? scaleColumns(shiftColumns(x, plan.inputShift), plan.inputScale) : x;
  let xq = xs;
  if (c.act) {
    plan.act = { spec: c.act, params: c.act.mode === "per-tensor" ? calibrateActivation(xs, c.act.bits) : undefined };
    xq = fakeQuantActivations(xs, c.act, plan.act.params);
  }
  const wq = dequantize(plan.q);
  // Effective weight in the original input space, for the weight error.
  const eff = plan.inputScale ? scaleRows(wq, plan.inputScale) : wq;
  return {
    plan,
    weightMse: mse(w.data, eff.data),
    // With a shift, the graph adds d W to the quantized product: the error is against X W all the same.
    outputRelErr: relOutputError(matmul(x, w), xq, wq, plan.inputShift && matmul(shiftRow(plan.inputShift), w).data),
    alpha: r.alpha,
    fallback,
  };
}

/** `model.json`'s "quantization": where the model came from, and how each quantized module was done. */
/** What a variant's card records of its quantization (model/quantization.ts, ours). */
export type QuantizationRecord = OwnQuantization;

export interface QuantizeResult {
  card: ModelCard;
  layers: LayerReport[];
}

/**
 * Quantize `modelDir` into `outDir` (created; never the input). Progress goes
 * to `log` (stderr by default).
 */
export async function quantizeModelDir(
  modelDir: string,
  outDir: string,
  c: QuantizeConfig,
  o: { variant?: string; backend?: BackendName; log?: (s: string) => void } = {},
): Promise<QuantizeResult> {
  const log = o.log ?? ((s: string) => console.error(s));
  if (resolve(modelDir) === resolve(outDir)) {
    throw new QuantError("--out must differ from --model (the input is never modified)");
  }
  if (c.modules.length === 0) throw new QuantError("--modules must name encoder, predictor and/or distance");
  const card = loadModelCard(modelDir);
  const graphs = graphFiles(card);
  const present = MODULES.filter((m) => graphs.includes(`${m}.onnx`));
  if (c.modules.includes("distance") && !present.includes("distance")) {
    throw new QuantError(`${modelDir} has no distance head (distance.onnx) to quantize`);
  }
  const todo = present.filter((m) => c.modules.includes(m));
  const bytes = {} as Record<Module, Uint8Array>, models: Partial<Record<Module, Model>> = {};
  for (const m of present) {
    bytes[m] = Deno.readFileSync(`${modelDir}/${m}.onnx`);
    if (todo.includes(m)) {
      try {
        models[m] = decodeModel(bytes[m]);
        if (c.layers === "whole") patchConvsToMatMul(models[m]!, [card.image_size, card.image_size]);
      } catch (e) {
        throw new QuantError(`${modelDir}/${m}.onnx: ${(e as Error).message}`);
      }
    }
  }
  const layers = plannedLayers(models, c, todo);
  const t0 = performance.now();
  const calib = await calibrationData(card, bytes.encoder, bytes.predictor, { backend: o.backend, ...c.calib });
  log(`calibration: ${calib.source}`);
  const reports: LayerReport[] = [];
  const outBytes = { ...bytes };
  for (const m of todo) {
    const model = models[m]!, mine = layers[m]!;
    const feeds: Feed[] = calib[m];
    const acts = await collectLayerInputs(model, mine, feeds, {
      backend: o.backend,
      maxRows: c.calib?.maxRows,
    });
    const plans: LayerPlan[] = [];
    for (const [i, layer] of mine.entries()) {
      const x = acts.get(layer.name)!;
      const r = quantizeLayer(layer, x, c);
      plans.push(r.plan);
      reports.push({
        module: m,
        layer: layer.name,
        K: layer.K,
        N: layer.N,
        weight_mse: r.weightMse,
        output_rel_err: r.outputRelErr,
        rows: x.rows,
        ...(r.alpha !== undefined ? { awq_alpha: r.alpha } : {}),
        ...(r.fallback ? { fallback: r.fallback } : {}),
      });
      log(
        `[${m} ${i + 1}/${mine.length}] ${layer.name} ${layer.K}x${layer.N}: output rel err ${
          r.outputRelErr.toExponential(2)
        } (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
    }
    // Every layer is quantized from the float graph first; then the graph is rewritten in place.
    rewriteLayers(model, plans, c.format);
    // A deployable graph drops the exporter's long tensor names (~8% of a W4 graph's bytes; compact.ts).
    if (c.format === "deploy") compactNames(model);
    model.metadataProps.push({ key: "edgewm.quantization", value: describe(c) });
    outBytes[m] = encodeModel(model);
  }
  Deno.mkdirSync(outDir, { recursive: true });
  const files: ModelCard["files"] = {};
  for (const m of present) {
    Deno.writeFileSync(`${outDir}/${m}.onnx`, outBytes[m]);
    files[`${m}.onnx`] = { sha256: sha256(outBytes[m]), bytes: outBytes[m].length };
  }
  // Any other graph travels unchanged.
  for (const name of graphs.filter((f) => !(f in files))) {
    Deno.copyFileSync(`${modelDir}/${name}`, `${outDir}/${name}`);
    files[name] = card.files[name];
  }
  // Modules quantized earlier (a chained run: encoder first, then predictor with other bits) keep their record.
  const prev = ownQuantization(card.quantization);
  const modules: QuantizationRecord["modules"] = { ...prev?.modules };
  for (const m of todo) {
    modules[m] = {
      method: c.method,
      format: c.format,
      weight: c.weight,
      act: c.act ?? null,
      layers: m === "distance" ? "all" : c.layers ?? "blocks",
      ...METHODS[c.method].options(c),
      calibration: calib.source,
      per_layer: reports.filter((r) => r.module === m),
    };
  }
  const PREFIX: Record<Module, string> = { encoder: "enc-", predictor: "pred-", distance: "dist-" };
  const tag = (c.modules.length === 1 ? PREFIX[c.modules[0]] : "") + describe(c);
  const variant = o.variant ?? (prev ? `${card.variant}.${tag}` : tag);
  const record: QuantizationRecord = {
    from: prev?.from ?? { dir: modelDir, variant: card.variant, files: card.files },
    modules,
    bytes: {
      fp32: prev?.bytes.fp32 ?? graphs.reduce((a, f) => a + card.files[f].bytes, 0),
      quantized: Object.values(files).reduce((a, f) => a + f.bytes, 0),
    },
  };
  const out: ModelCard = { ...card, variant, files, quantization: record };
  delete (out.files as Record<string, unknown>)["reference.json"];
  Deno.writeTextFileSync(`${outDir}/model.json`, JSON.stringify(out, null, 2) + "\n");
  log(`wrote ${outDir} (${variant}): ${record.bytes.quantized} bytes`);
  return { card: out, layers: reports };
}
