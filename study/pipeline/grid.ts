/**
 * The quantization study's grid (after arXiv 2602.02110, widened): every row is one (task, variant)
 * unit of work. A row is a chain of quantize steps (one per module setting), fp32 itself, the
 * oracle, or onnxruntime's own Python weight-only quantizer.
 *
 * Pruning: a row may name the rows that decide it (`decidedBy`); when all of them failed, the row
 * is not run and the report lists it as pruned (e.g. W2 g32 once W2 g16 fails, W4A8 once W8A8 fails).
 * Shards: rows are split by chain (rows that decide each other stay in one shard).
 */
import { graphFiles, loadModelCard } from "../../model/model_card.ts";
import type { ActMode, ActSpec } from "../../quant/activations.ts";
import { type Method, type Module, type QuantizeConfig, settingTag } from "../../quant/config.ts";
import { configDeployProblem } from "../../quant/rewrite.ts";
import type { WeightSpec } from "../../quant/quantizer.ts";
import type { TaskName } from "../../tasks/task.ts";

export const FAMILIES = ["reference", "weight-only", "weight-act", "asymmetry", "peer", "whole"] as const;
export type Family = typeof FAMILIES[number];

export interface RowSpec {
  /** Unique within a task: e.g. "gptq-w4g32", "enc-w4a8.pred-w8a8". */
  id: string;
  task: TaskName;
  family: Family;
  kind: "fp32" | "oracle" | "quant" | "ort";
  /** Quantize steps, applied in order (each to the previous step's output). */
  steps?: QuantizeConfig[];
  /** onnxruntime's MatMulNBitsQuantizer: algorithm and group size (both modules, W4). */
  ort?: { algo: "rtn" | "hqq"; group: number };
  /** Row ids (same task) that decide this one: pruned when every one of them failed. */
  decidedBy?: string[];
  /** Rows sharing a chain run in order, in one shard. */
  chain: string;
  /** Lower runs first: references, then the candidates a default is chosen from, then the rest. */
  tier: number;
}

export const GRIDS = ["paper", "quick"] as const;
export type GridName = typeof GRIDS[number];

const BOTH: Module[] = ["encoder", "predictor"];
const WBITS = [8, 6, 4, 3, 2];
const GROUPS = [16, 32, 64, 128];

function weight(bits: number, group?: number): WeightSpec {
  return { bits, symmetric: false, ...(group ? { granularity: "group", group } : { granularity: "channel" }) };
}

/** Deployable where the toolkit has a real low-bit kernel for the setting (quant/rewrite.ts says which). */
function weightFormat(bits: number, group?: number): "deploy" | "sim" {
  return configDeployProblem(weight(bits, group)) ? "sim" : "deploy";
}

/**
 * Weight-activation rows deploy where an integer kernel exists for them, and only at W8: MatMulInteger holds
 * int8 weights, so fewer weight bits would save nothing on disk there and are studied simulated.
 */
function actFormat(wbits: number, abits: number, mode: ActMode, group?: number): "deploy" | "sim" {
  return wbits === 8 && !configDeployProblem(weight(wbits, group), { bits: abits, mode }) ? "deploy" : "sim";
}

/** A row id: the method and the setting's tag (quant/config.ts `settingTag`), e.g. gptq-w4g32, rtn-w8a8dyn. */
const rowId = (method: string, bits: number, group?: number, act?: ActSpec) =>
  `${method}-${settingTag(weight(bits, group), act)}`;

function weightOnly(task: TaskName, methods: Method[], bits: number[], groups: (number | undefined)[]): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const method of methods) {
    for (const [bi, b] of bits.entries()) {
      for (const [gi, g] of groups.entries()) {
        const id = rowId(method, b, g);
        const at = (i: number) => rowId(method, b, groups[i]);
        // A group is decided by the next finer one (a coarser grid of scales cannot do better where the finer
        // one fails); per-channel by the finest, so that every surviving bit width has its group-vs-channel pair.
        const decidedBy = gi === 0
          ? (bi > 0 ? [rowId(method, bits[bi - 1], groups[0])] : [])
          : g === undefined
          ? [at(0)]
          : [at(gi - 1)];
        const candidate = method === "gptq" && ((b === 4 && (g === 16 || g === 32)) || (b === 3 && g === 16) ||
          (b === 8 && !g) || (b === 2 && g === 16));
        rows.push({
          id,
          task,
          family: "weight-only",
          kind: "quant",
          steps: [{ method, weight: weight(b, g), modules: BOTH, format: weightFormat(b, g), layers: "all" }],
          decidedBy: decidedBy.length ? decidedBy : undefined,
          chain: `${task}/weight-only/${method}`,
          tier: candidate ? 1 : 2,
        });
      }
    }
  }
  return rows;
}

function weightAct(
  task: TaskName,
  methods: Method[],
  settings: [number, number][],
  modes: ActMode[],
  groups: (number | undefined)[],
): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const method of methods) {
    for (const mode of modes) {
      for (const g of groups) {
        for (const [wb, ab] of settings) {
          // Dynamic (run-time per-tensor) ranges are what the integer kernel does: studied where it deploys.
          if (mode === "dynamic" && actFormat(wb, ab, mode, g) !== "deploy") continue;
          const id = rowId(method, wb, g, { bits: ab, mode });
          // W6A6 and W4A8 are decided by W8A8; W4A4 once both W6A6 and W4A8 have failed.
          const at = (w: number, a: number) => rowId(method, w, g, { bits: a, mode });
          const decidedBy = wb === 4 && ab === 4 ? [at(6, 6), at(4, 8)] : wb === 8 && ab === 8 ? undefined : [at(8, 8)];
          const fmt = actFormat(wb, ab, mode, g);
          rows.push({
            id,
            task,
            family: "weight-act",
            kind: "quant",
            steps: [{
              method,
              weight: weight(wb, g),
              act: { bits: ab, mode },
              modules: BOTH,
              format: fmt,
              layers: "all",
              ...(method === "smoothquant" ? { alpha: 0.5 } : {}),
            }],
            decidedBy,
            chain: `${task}/weight-act/${method}/${mode}/${g ? `g${g}` : "ch"}`,
            tier: mode === "dynamic" && (method === "rtn" || method === "smoothquant") ? 1 : 2,
          });
        }
      }
    }
  }
  return rows;
}

/** One module at a setting, the other at W8A8 (or fp32 for weight-only settings). */
function asymmetry(task: TaskName): RowSpec[] {
  const rows: RowSpec[] = [];
  const w8a8 = (m: Module): QuantizeConfig => ({
    method: "rtn",
    weight: weight(8),
    act: { bits: 8, mode: "per-tensor" },
    modules: [m],
    format: "sim",
    layers: "all",
  });
  for (const target of BOTH) {
    const other: Module = target === "encoder" ? "predictor" : "encoder";
    const short = target === "encoder" ? "enc" : "pred", oshort = other === "encoder" ? "enc" : "pred";
    for (const [wb, ab] of [[6, 6], [4, 8], [4, 6], [4, 4]]) {
      rows.push({
        id: `${short}-${settingTag(weight(wb), { bits: ab, mode: "per-tensor" })}.${oshort}-w8a8`,
        task,
        family: "asymmetry",
        kind: "quant",
        steps: [{
          method: "rtn",
          weight: weight(wb),
          act: { bits: ab, mode: "per-tensor" },
          modules: [target],
          format: "sim",
          layers: "all",
        }, w8a8(other)],
        chain: `${task}/asymmetry/${short}`,
        tier: 2,
      });
    }
    for (const wb of [4, 3]) {
      rows.push({
        id: `${short}-${settingTag(weight(wb))}.${oshort}-fp32`,
        task,
        family: "asymmetry",
        kind: "quant",
        steps: [{ method: "rtn", weight: weight(wb), modules: [target], format: "deploy", layers: "all" }],
        chain: `${task}/asymmetry/${short}`,
        tier: 2,
      });
    }
  }
  return rows;
}

/**
 * The default's candidates over the whole model: every layer and the patch embedding (its Conv as a
 * MatMul, agent/patchify.ts), which `layers: "all"` leaves in fp32 (~295 KB, the largest tensor left).
 */
function whole(task: TaskName, distanceHead: boolean): RowSpec[] {
  const settings: [Method, WeightSpec, ActMode?][] = [
    ["gptq", weight(4, 16)],
    ["gptq", weight(4, 32)],
    ["gptq", weight(3, 16)],
    ["smoothquant", weight(8), "dynamic"],
  ];
  // A distance head (wall, pointmaze) is quantized too, at 8 bits per channel; the same rows with the head left in
  // fp32 ("-fp32head") show what it costs: pointmaze lost 2 of 50 episodes with it quantized, at W4 g16 and at W8.
  const heads = distanceHead ? [true, false] : [false];
  const headStep: QuantizeConfig = {
    method: "gptq",
    weight: weight(8),
    modules: ["distance"],
    format: "deploy",
    layers: "all",
  };
  // Finding III (the predictor is the bottleneck; the encoder holds at coarser settings) applied to bytes: at g16
  // the scales, most of them the encoder's, keep wall and pointmaze over 20% of fp32. The encoder at W4 g32 or
  // g64 with the predictor kept at g16 (and the head at 8 bits, as above). g128 too: the encoder's 96-wide layers
  // pad to 128 at g64 already (MatMulNBits blocks are powers of two), so g128 costs no codes and halves their scales.
  const mixed = [32, 64, 128].map((encGroup): RowSpec => {
    const at = (group: number, module: Module): QuantizeConfig => ({
      method: "gptq",
      weight: weight(4, group),
      modules: [module],
      format: "deploy",
      layers: "whole",
    });
    return {
      id: `gptq-w4g16-whole-encg${encGroup}`,
      task,
      family: "whole",
      kind: "quant",
      steps: [at(encGroup, "encoder"), at(16, "predictor"), ...(distanceHead ? [headStep] : [])],
      chain: `${task}/whole`,
      tier: 1,
    };
  });
  return [
    ...mixed,
    ...heads.flatMap((head) =>
      settings.map(([method, w, mode]): RowSpec => {
        const step: QuantizeConfig = {
          method,
          weight: w,
          ...(mode ? { act: { bits: 8, mode }, alpha: 0.5 } : {}),
          modules: BOTH,
          format: "deploy",
          layers: "whole",
        };
        return {
          id: `${rowId(method, w.bits, w.group, mode ? { bits: 8, mode } : undefined)}-whole${
            distanceHead && !head ? "-fp32head" : ""
          }`,
          task,
          family: "whole",
          kind: "quant",
          steps: head ? [step, { ...step, weight: weight(8), modules: ["distance"], layers: "all" }] : [step],
          chain: `${task}/whole`,
          tier: 1,
        };
      })
    ),
  ];
}

function peer(task: TaskName, groups: number[]): RowSpec[] {
  return (["rtn", "hqq"] as const).flatMap((algo) =>
    groups.map((group): RowSpec => ({
      id: `ort-${algo}-w4g${group}`,
      task,
      family: "peer",
      kind: "ort",
      ort: { algo, group },
      chain: `${task}/peer`,
      tier: 2,
    }))
  );
}

function references(task: TaskName): RowSpec[] {
  return [
    { id: "fp32", task, family: "reference", kind: "fp32", chain: `${task}/reference`, tier: 0 },
    { id: "oracle", task, family: "reference", kind: "oracle", chain: `${task}/reference`, tier: 0 },
  ];
}

/** Does the task's fp32 model plan with a distance head (so that whole-model rows quantize it too)? */
export function hasDistanceHead(task: TaskName, models = "models"): boolean {
  try {
    return graphFiles(loadModelCard(`${models}/${task}/fp32`)).includes("distance.onnx");
  } catch {
    return false;
  }
}

/** The rows of a grid for the given tasks. */
export function buildGrid(
  name: GridName,
  tasks: TaskName[],
  distanceHead: (task: TaskName) => boolean = (t) => hasDistanceHead(t),
): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const task of tasks) {
    rows.push(...references(task));
    if (name === "quick") {
      rows.push(...weightOnly(task, ["rtn", "gptq"], [4], [32]));
      rows.push(...weightAct(task, ["rtn"], [[8, 8]], ["dynamic"], [undefined]));
      continue;
    }
    rows.push(...weightOnly(task, ["rtn", "omse", "awq", "gptq"], WBITS, [...GROUPS, undefined]));
    rows.push(
      ...weightAct(
        task,
        ["rtn", "omse", "smoothquant", "gptq"],
        [[8, 8], [6, 6], [4, 8], [4, 4]],
        ["per-tensor", "per-token", "dynamic"],
        [undefined, 32],
      ),
    );
    // OmniQuant, the paper's fifth method, at the paper's settings only: it learns per layer (~2 min a model).
    rows.push(...weightOnly(task, ["omniquant"], [4, 3], [128, undefined]));
    rows.push(...weightAct(task, ["omniquant"], [[8, 8], [6, 6], [4, 8], [4, 4]], ["per-token"], [undefined]));
    rows.push(...asymmetry(task), ...peer(task, [32, 128]), ...whole(task, distanceHead(task)));
  }
  return decidersFirst(rows);
}

/** A row that decides an earlier-tier row moves up to that tier, so that it has run when the other one is reached. */
function decidersFirst(rows: RowSpec[]): RowSpec[] {
  const byKey = new Map(rows.map((r) => [`${r.task}/${r.id}`, r]));
  for (let moved = true; moved;) {
    moved = false;
    for (const r of rows) {
      for (const d of r.decidedBy ?? []) {
        const decider = byKey.get(`${r.task}/${d}`)!;
        if (decider.tier > r.tier) [decider.tier, moved] = [r.tier, true];
      }
    }
  }
  return rows;
}

/** The rows of shard i of n: whole chains, dealt round-robin in grid order. */
export function shardRows(rows: RowSpec[], index: number, count: number): RowSpec[] {
  const chains = [...new Set(rows.map((r) => r.chain))];
  const mine = new Set(chains.filter((_, i) => i % count === index));
  return rows.filter((r) => mine.has(r.chain));
}

/** Run order within a shard: by tier, keeping grid order (and so chain order) inside a tier. */
export function runOrder(rows: RowSpec[]): RowSpec[] {
  return rows.map((r, i) => ({ r, i })).sort((a, b) => a.r.tier - b.r.tier || a.i - b.i).map(({ r }) => r);
}
