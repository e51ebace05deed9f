/**
 * Quantize a model directory: encoder and/or predictor, weight-only or
 * weight-activation, simulated (QDQ) or deployable (MatMulNBits /
 * MatMulInteger), into a new model directory the agent loads like any other.
 *
 *   deno task quantize --model models/wall/fp32 --method gptq --wbits 4 --group 32 --out /tmp/wall-w4
 *
 * The input directory is only read. The output's model.json records the
 * configuration, the calibration data, per-layer errors and byte sizes.
 */
import { resolve } from "node:path";
import { loadModelCard, type ModelCard, sha256 } from "../agent/model_card.ts";
import type { BackendName } from "../agent/world_model.ts";
import { CliError, intFlag, parseFlags, runCli, stringFlag } from "../tasks/cli.ts";
import {
  ACT_MODES,
  type ActMode,
  type ActSpec,
  calibrateActivation,
  checkActSpec,
  fakeQuantActivations,
} from "./activations.ts";
import { awq } from "./awq.ts";
import { calibrationData, type CalibrationOptions, collectLayerInputs, type Feed } from "./calibrate.ts";
import { gptq } from "./gptq.ts";
import { findLayers, type Layer, type LayerScope, weightMatrix } from "./layers.ts";
import { matmul, relOutputError, scaleColumns, scaleRows } from "./linear.ts";
import { decodeModel, encodeModel, type Model } from "./onnx.ts";
import { checkSpec, dequantize, mse, omseClip, QuantError, quantizeWeight, type WeightSpec } from "./quantizer.ts";
import { deployProblem, type Format, type LayerPlan, rewriteLayers } from "./rewrite.ts";
import { smoothScales } from "./smoothquant.ts";

export type Method = "rtn" | "omse" | "awq" | "gptq" | "smoothquant";
export const METHODS: readonly Method[] = ["rtn", "omse", "awq", "gptq", "smoothquant"];
export type Module = "encoder" | "predictor";

export interface QuantizeConfig {
  method: Method;
  weight: WeightSpec;
  act?: ActSpec;
  modules: Module[];
  format: Format;
  layers?: LayerScope;
  /** SmoothQuant migration strength. */
  alpha?: number;
  actOrder?: boolean;
  calib?: CalibrationOptions;
}

export interface LayerReport {
  module: Module;
  layer: string;
  K: number;
  N: number;
  weight_mse: number;
  /** ||XW - X~W~||^2 / ||XW||^2 on the calibration rows */
  output_rel_err: number;
  rows: number;
  awq_alpha?: number;
  /** Set when the layer's weights fell back from the requested group to per-channel. */
  fallback?: string;
}

function describe(c: QuantizeConfig): string {
  const g = c.weight.granularity === "group" ? `g${c.weight.group}` : c.weight.granularity === "tensor" ? "t" : "";
  const a = c.act ? `a${c.act.bits}${c.act.mode === "per-token" ? "tok" : c.act.mode === "dynamic" ? "dyn" : ""}` : "";
  return `${c.method}-w${c.weight.bits}${g}${a}${c.format === "sim" ? "-sim" : ""}`;
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

/** Check everything that can be checked before any work: bits, groups, deployability. */
function plannedLayers(modules: Record<Module, Model>, c: QuantizeConfig): Record<Module, Layer[]> {
  if (!METHODS.includes(c.method)) {
    throw new QuantError(`--method must be one of ${METHODS.join(", ")}, got ${c.method}`);
  }
  if (c.act) checkActSpec(c.act);
  if (c.method === "smoothquant" && !c.act) throw new QuantError("smoothquant quantizes activations: give --abits");
  const out = {} as Record<Module, Layer[]>;
  for (const m of c.modules) {
    out[m] = findLayers(modules[m], c.layers ?? "blocks");
    for (const l of out[m]) {
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

/** Quantize one layer on its calibration rows. */
export function quantizeLayer(
  layer: Layer,
  x: Float32Array,
  M: number,
  c: QuantizeConfig,
): { plan: LayerPlan; weightMse: number; outputRelErr: number; alpha?: number; fallback?: string } {
  const { K, N } = layer;
  const { spec: weight, fallback } = layerWeightSpec(c.weight, K);
  c = { ...c, weight };
  const w = weightMatrix(layer);
  let plan: LayerPlan, alpha: number | undefined;
  if (c.method === "rtn") plan = { layer, q: quantizeWeight(w, K, N, c.weight) };
  else if (c.method === "omse") plan = { layer, q: quantizeWeight(w, K, N, c.weight, omseClip(w, K, N, c.weight)) };
  else if (c.method === "gptq") plan = { layer, q: gptq(w, K, N, x, M, c.weight, { actOrder: c.actOrder }) };
  else if (c.method === "awq") {
    const r = awq(w, K, N, x, M, c.weight);
    plan = { layer, q: r.q, inputScale: r.inputScale };
    alpha = r.alpha;
  } else {
    const s = smoothScales(x, w, M, K, N, c.alpha ?? 0.5);
    const inputScale = Float32Array.from(s, (v) => 1 / v);
    plan = { layer, q: quantizeWeight(scaleRows(w, Float32Array.from(s), K, N), K, N, c.weight), inputScale };
  }
  const xs = plan.inputScale ? scaleColumns(x, plan.inputScale, M, K) : x;
  let xq = xs;
  if (c.act) {
    plan.act = { spec: c.act, params: c.act.mode === "per-tensor" ? calibrateActivation(xs, c.act.bits) : undefined };
    xq = fakeQuantActivations(xs, M, K, c.act, plan.act.params);
  }
  const wq = dequantize(plan.q);
  // Effective weight in the original input space, for the weight error.
  const eff = plan.inputScale ? scaleRows(wq, plan.inputScale, K, N) : wq;
  return {
    plan,
    weightMse: mse(w, eff),
    outputRelErr: relOutputError(matmul(x, w, M, K, N), xq, wq, M, K, N),
    alpha,
    fallback,
  };
}

/** `model.json`'s "quantization": where the model came from, and how each quantized module was done. */
export interface QuantizationRecord {
  from: { dir: string; variant: string; files: ModelCard["files"] };
  modules: Partial<
    Record<Module, {
      method: Method;
      format: Format;
      weight: WeightSpec;
      act: ActSpec | null;
      layers: LayerScope;
      alpha?: number;
      act_order?: boolean;
      calibration: string;
      per_layer: LayerReport[];
    }>
  >;
  bytes: { fp32: number; quantized: number };
}

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
  if (c.modules.length === 0) throw new QuantError("--modules must name encoder, predictor or both");
  const card = loadModelCard(modelDir);
  const bytes = {} as Record<Module, Uint8Array>, models = {} as Record<Module, Model>;
  for (const m of ["encoder", "predictor"] as Module[]) {
    bytes[m] = Deno.readFileSync(`${modelDir}/${m}.onnx`);
    if (c.modules.includes(m)) {
      try {
        models[m] = decodeModel(bytes[m]);
      } catch (e) {
        throw new QuantError(`${modelDir}/${m}.onnx: ${(e as Error).message}`);
      }
    }
  }
  const layers = plannedLayers(models, c);
  const t0 = performance.now();
  const calib = await calibrationData(card, bytes.encoder, bytes.predictor, { backend: o.backend, ...c.calib });
  log(`calibration: ${calib.source}`);
  const reports: LayerReport[] = [];
  const outBytes = { ...bytes };
  for (const m of c.modules) {
    const feeds: Feed[] = calib[m];
    const acts = await collectLayerInputs(models[m], layers[m], feeds, {
      backend: o.backend,
      maxRows: c.calib?.maxRows,
    });
    const plans: LayerPlan[] = [];
    for (const [i, layer] of layers[m].entries()) {
      const { x, M } = acts.get(layer.name)!;
      const r = quantizeLayer(layer, x, M, c);
      plans.push(r.plan);
      reports.push({
        module: m,
        layer: layer.name,
        K: layer.K,
        N: layer.N,
        weight_mse: r.weightMse,
        output_rel_err: r.outputRelErr,
        rows: M,
        ...(r.alpha !== undefined ? { awq_alpha: r.alpha } : {}),
        ...(r.fallback ? { fallback: r.fallback } : {}),
      });
      log(
        `[${m} ${i + 1}/${layers[m].length}] ${layer.name} ${layer.K}x${layer.N}: output rel err ${
          r.outputRelErr.toExponential(2)
        } (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
    }
    // Every layer is quantized from the float graph first; then the graph is rewritten in place.
    rewriteLayers(models[m], plans, c.format);
    models[m].metadataProps.push({ key: "edgewm.quantization", value: describe(c) });
    outBytes[m] = encodeModel(models[m]);
  }
  Deno.mkdirSync(outDir, { recursive: true });
  const files: ModelCard["files"] = {};
  for (const m of ["encoder", "predictor"] as Module[]) {
    Deno.writeFileSync(`${outDir}/${m}.onnx`, outBytes[m]);
    files[`${m}.onnx`] = { sha256: sha256(outBytes[m]), bytes: outBytes[m].length };
  }
  // Modules quantized earlier (a chained run: encoder first, then predictor with other bits) keep their record.
  const prev = card.quantization as QuantizationRecord | undefined;
  const modules: QuantizationRecord["modules"] = { ...prev?.modules };
  for (const m of c.modules) {
    modules[m] = {
      method: c.method,
      format: c.format,
      weight: c.weight,
      act: c.act ?? null,
      layers: c.layers ?? "blocks",
      ...(c.method === "smoothquant" ? { alpha: c.alpha ?? 0.5 } : {}),
      ...(c.method === "gptq" ? { act_order: !!c.actOrder } : {}),
      calibration: calib.source,
      per_layer: reports.filter((r) => r.module === m),
    };
  }
  const tag = (c.modules.length === 2 ? "" : c.modules[0] === "encoder" ? "enc-" : "pred-") + describe(c);
  const variant = o.variant ?? (prev ? `${card.variant}.${tag}` : tag);
  const record: QuantizationRecord = {
    from: prev?.from ?? { dir: modelDir, variant: card.variant, files: card.files },
    modules,
    bytes: {
      fp32: prev?.bytes.fp32 ?? card.files["encoder.onnx"].bytes + card.files["predictor.onnx"].bytes,
      quantized: Object.values(files).reduce((a, f) => a + f.bytes, 0),
    },
  };
  const out: ModelCard = { ...card, variant, files, quantization: record };
  delete (out.files as Record<string, unknown>)["reference.json"];
  Deno.writeTextFileSync(`${outDir}/model.json`, JSON.stringify(out, null, 2) + "\n");
  log(`wrote ${outDir} (${variant}): ${record.bytes.quantized} bytes`);
  return { card: out, layers: reports };
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

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      model: { type: "string" },
      out: { type: "string" },
      method: { type: "string", default: "rtn" },
      wbits: { type: "string" },
      group: { type: "string" },
      sym: { type: "boolean", default: false },
      abits: { type: "string" },
      act: { type: "string", default: "per-tensor" },
      modules: { type: "string", default: "encoder,predictor" },
      layers: { type: "string", default: "blocks" },
      format: { type: "string", default: "deploy" },
      calib: { type: "string" },
      "calib-episodes": { type: "string", default: "48" },
      "calib-seed": { type: "string" },
      alpha: { type: "string", default: "0.5" },
      "act-order": { type: "boolean", default: false },
      variant: { type: "string" },
      backend: { type: "string", default: "web" },
    });
    const modules = (f.modules as string).split(",").filter(Boolean);
    for (const m of modules) {
      if (m !== "encoder" && m !== "predictor") throw new CliError(`--modules takes encoder,predictor; got "${m}"`);
    }
    if (f.format !== "sim" && f.format !== "deploy") {
      throw new CliError(`--format must be sim or deploy, got ${f.format}`);
    }
    if (f.layers !== "blocks" && f.layers !== "all") {
      throw new CliError(`--layers must be blocks or all, got ${f.layers}`);
    }
    if (!ACT_MODES.includes(f.act as ActMode)) throw new CliError(`--act must be one of ${ACT_MODES.join(", ")}`);
    const config: QuantizeConfig = {
      method: f.method as Method,
      weight: {
        bits: intFlag(f.wbits, "wbits", 2, 8),
        symmetric: f.sym as boolean,
        ...parseGranularity(f.group as string),
      },
      act: f.abits === undefined ? undefined : { bits: intFlag(f.abits, "abits", 2, 8), mode: f.act as ActMode },
      modules: modules as Module[],
      format: f.format,
      layers: f.layers,
      alpha: Number(f.alpha),
      actOrder: f["act-order"] as boolean,
      calib: {
        dir: f.calib as string | undefined,
        episodes: intFlag(f["calib-episodes"], "calib-episodes", 1, 100000),
        seed: f["calib-seed"] === undefined ? undefined : intFlag(f["calib-seed"], "calib-seed", 0),
      },
    };
    const { card } = await quantizeModelDir(stringFlag(f.model, "model"), stringFlag(f.out, "out"), config, {
      variant: f.variant as string | undefined,
      backend: f.backend as BackendName,
    });
    const q = card.quantization as QuantizationRecord;
    const errs = Object.values(q.modules).flatMap((m) => m!.per_layer.map((l) => l.output_rel_err));
    console.log(JSON.stringify({
      variant: card.variant,
      bytes: q.bytes,
      mean_output_rel_err: errs.reduce((a, b) => a + b, 0) / errs.length,
      max_output_rel_err: Math.max(...errs),
    }));
  });
}
