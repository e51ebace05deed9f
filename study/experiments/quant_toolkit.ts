/**
 * The quantization toolkit's figures on one committed model: bytes per
 * deployable variant, per-layer output error of each method at W4 g32 and W3,
 * end-to-end latent error, and plan latency of the deployable graphs against
 * fp32 (via `deno task bench`, all variants side by side in one run).
 *
 *   deno run -A study/experiments/quant_toolkit.ts --model models/wall/fp32 --out runs/quant_wall
 *
 * Writes <out>/<variant>/ model directories, <out>/report.json and
 * <out>/report.md. Rerunning reuses variants already written.
 */
import { loadModelCard } from "../../model/model_card.ts";
import { WorldModel } from "../../agent/world_model.ts";
import { parseFlags, runCli } from "../../lib/cli.ts";
import { generateEpisode } from "../../tasks/dataset.ts";
import { getTask } from "../../tasks/registry.ts";
import { type TaskName } from "../../tasks/task.ts";
import { calibrationData, collectLayerInputs } from "../../quant/calibrate.ts";
import { findLayers } from "../../quant/layers.ts";
import { decodeModel } from "../../lib/onnx.ts";
import type { WeightSpec } from "../../quant/quantizer.ts";
import type { Method, QuantizeConfig } from "../../quant/config.ts";
import { quantizeLayer, quantizeModelDir } from "../../quant/quantize_model.ts";

const BOTH: QuantizeConfig["modules"] = ["encoder", "predictor"];
const g = (bits: number, group?: number): WeightSpec => ({
  bits,
  symmetric: false,
  ...(group ? { granularity: "group", group } : { granularity: "channel" }),
});

/** Deployable variants whose sizes and latencies are reported (method: RTN; sizes do not depend on it). */
const VARIANTS: Record<string, QuantizeConfig> = {
  "w8": { method: "rtn", weight: g(8), modules: BOTH, format: "deploy" },
  "w4g32": { method: "rtn", weight: g(4, 32), modules: BOTH, format: "deploy" },
  "w4": { method: "rtn", weight: g(4), modules: BOTH, format: "deploy" },
  "w3": { method: "rtn", weight: g(3), modules: BOTH, format: "deploy" },
  "w2g16": { method: "rtn", weight: g(2, 16), modules: BOTH, format: "deploy" },
  "w8a8": { method: "rtn", weight: g(8), act: { bits: 8, mode: "dynamic" }, modules: BOTH, format: "deploy" },
};

const METHODS: { name: string; method: Method; actOrder?: boolean }[] = [
  { name: "RTN", method: "rtn" },
  { name: "OMSE", method: "omse" },
  { name: "AWQ", method: "awq" },
  { name: "GPTQ", method: "gptq" },
  { name: "GPTQ act-order", method: "gptq", actOrder: true },
];
const SETTINGS: { name: string; weight: WeightSpec }[] = [
  { name: "W4 g32", weight: g(4, 32) },
  { name: "W3", weight: g(3) },
];

function relErr(a: Float32Array, b: Float32Array): number {
  let n = 0, d = 0;
  for (let i = 0; i < a.length; i++) {
    n += (a[i] - b[i]) ** 2;
    d += b[i] ** 2;
  }
  return n / d;
}

/** Relative latent error of a model directory against fp32 on held-out frames: encoder tokens and a 5-step rollout. */
async function latentError(ref: WorldModel, dir: string, frames: Uint8Array, n: number) {
  const m = await WorldModel.load(dir, { backend: "node" });
  const [a, b] = [await m.encode(frames, n), await ref.encode(frames, n)];
  const actions = Float32Array.from({ length: 16 * 5 * ref.card.action_dim }, (_, i) => Math.sin(i * 0.7));
  const start = {
    tokens: b.tokens.slice(0, ref.card.tokens * ref.card.latent_dim),
    global: b.global.slice(0, ref.card.global_dim),
    batch: 1,
  };
  const p = new Float32Array(ref.card.proprio_dim); // the mean proprio, z-scored
  const ra = await m.rollout(start, p, actions, 16, 5), rb = await ref.rollout(start, p, actions, 16, 5);
  return { encoder: relErr(a.tokens, b.tokens), rollout_h5: relErr(ra[4].tokens, rb[4].tokens) };
}

const fmt = (x: number) => x.toExponential(1);

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      model: { type: "string", default: "models/wall/fp32" },
      out: { type: "string", required: true },
      plans: { type: "int", default: 15, min: 1 },
      "skip-bench": { type: "boolean" },
    }, "study/experiments/quant_toolkit.ts --out DIR: sizes, per-layer errors and latency of the toolkit on one model");
    const model = f.model, out = f.out;
    const card = loadModelCard(model);
    const task = getTask(card.task as TaskName);
    Deno.mkdirSync(out, { recursive: true });
    const log = (s: string) => console.error(s);

    // 1. Deployable variants: bytes.
    const sizes: Record<string, { encoder: number; predictor: number; total: number }> = {
      fp32: {
        encoder: card.files["encoder.onnx"].bytes,
        predictor: card.files["predictor.onnx"].bytes,
        total: card.files["encoder.onnx"].bytes + card.files["predictor.onnx"].bytes,
      },
    };
    for (const [name, config] of Object.entries(VARIANTS)) {
      const dir = `${out}/${name}`;
      try {
        loadModelCard(dir);
        log(`${name}: reusing ${dir}`);
      } catch {
        log(`${name}: quantizing`);
        await quantizeModelDir(model, dir, { ...config, calib: { backend: "node" } }, {
          variant: name,
          backend: "node",
          log: () => {},
        });
      }
      const c = loadModelCard(dir);
      sizes[name] = {
        encoder: c.files["encoder.onnx"].bytes,
        predictor: c.files["predictor.onnx"].bytes,
        total: c.files["encoder.onnx"].bytes + c.files["predictor.onnx"].bytes,
      };
    }

    // 2. Per-layer output error of each method on the calibration rows.
    const enc = Deno.readFileSync(`${model}/encoder.onnx`), pred = Deno.readFileSync(`${model}/predictor.onnx`);
    const calib = await calibrationData(card, enc, pred, { backend: "node" });
    const perLayer: { module: string; layer: string; K: number; N: number; errors: Record<string, number> }[] = [];
    for (
      const [module, bytes, feeds] of [["encoder", enc, calib.encoder], ["predictor", pred, calib.predictor]] as const
    ) {
      const graph = decodeModel(bytes);
      const layers = findLayers(graph);
      const acts = await collectLayerInputs(graph, layers, feeds, { backend: "node" });
      for (const layer of layers) {
        const x = acts.get(layer.name)!;
        const errors: Record<string, number> = {};
        for (const s of SETTINGS) {
          for (const m of METHODS) {
            const cfg: QuantizeConfig = {
              method: m.method,
              weight: s.weight,
              modules: BOTH,
              format: "sim",
              actOrder: m.actOrder,
            };
            errors[`${s.name} ${m.name}`] = quantizeLayer(layer, x, cfg).outputRelErr;
          }
        }
        perLayer.push({ module, layer: layer.name, K: layer.K, N: layer.N, errors });
        log(`per-layer: ${module} ${layer.name}`);
      }
    }

    // 3. End-to-end latent error per method (simulated graphs), on frames from another seed.
    const frames = new Uint8Array(32 * card.image_size ** 2 * 3);
    for (let i = 0; i < 32; i++) {
      frames.set(generateEpisode(task, 0x5e11, i, 0, card.image_size).obs, i * card.image_size ** 2 * 3);
    }
    const ref = await WorldModel.load(model, { backend: "node" });
    const e2e: Record<string, { encoder: number; rollout_h5: number }> = {};
    for (const s of SETTINGS) {
      for (const m of METHODS) {
        const name = `${s.name} ${m.name}`, dir = `${out}/sim-${name.replaceAll(" ", "-").toLowerCase()}`;
        try {
          loadModelCard(dir);
        } catch {
          await quantizeModelDir(model, dir, {
            method: m.method,
            weight: s.weight,
            modules: BOTH,
            format: "sim",
            actOrder: m.actOrder,
            calib: { backend: "node" },
          }, { backend: "node", log: () => {} });
        }
        e2e[name] = await latentError(ref, dir, frames, 32);
        log(`end-to-end: ${name} ${JSON.stringify(e2e[name])}`);
      }
    }
    for (const name of Object.keys(VARIANTS)) {
      e2e[`deploy ${name}`] = await latentError(ref, `${out}/${name}`, frames, 32);
    }

    // 4. Plan latency, fp32 and every deployable variant side by side (one bench run).
    let bench: Record<string, unknown>[] = [];
    if (!f["skip-bench"]) {
      const dirs = [model, ...Object.keys(VARIANTS).map((n) => `${out}/${n}`)];
      const p = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "agent/bench.ts", "--model", dirs.join(","), "--plans", String(f.plans)],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      bench = new TextDecoder().decode(p.stdout).trim().split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l)
      );
    }

    const report = { model, calibration: calib.source, sizes, per_layer: perLayer, end_to_end: e2e, bench };
    Deno.writeTextFileSync(`${out}/report.json`, JSON.stringify(report, null, 2) + "\n");

    const md: string[] = [`# Quantization toolkit on ${model}`, "", `Calibration: ${calib.source}.`, ""];
    md.push(
      "## Bytes per deployable variant",
      "",
      "| variant | encoder.onnx | predictor.onnx | total | vs fp32 |",
      "|---|---|---|---|---|",
    );
    for (const [n, s] of Object.entries(sizes)) {
      md.push(
        `| ${n} | ${s.encoder.toLocaleString("en")} | ${s.predictor.toLocaleString("en")} | ${
          s.total.toLocaleString("en")
        } | ${(s.total / sizes.fp32.total).toFixed(2)} |`,
      );
    }
    for (const s of SETTINGS) {
      md.push("", `## Per-layer output error at ${s.name} (\\|XW - XŴ\\|² / \\|XW\\|² on calibration rows)`, "");
      md.push(
        `| module | layer | K x N | ${METHODS.map((m) => m.name).join(" | ")} |`,
        `|---|---|---|${METHODS.map(() => "---").join("|")}|`,
      );
      for (const l of perLayer) {
        md.push(
          `| ${l.module} | ${l.layer} | ${l.K}x${l.N} | ${
            METHODS.map((m) => fmt(l.errors[`${s.name} ${m.name}`])).join(" | ")
          } |`,
        );
      }
      const mean = (m: string) => perLayer.reduce((a, l) => a + l.errors[`${s.name} ${m}`], 0) / perLayer.length;
      md.push(`| **mean** | | | ${METHODS.map((m) => `**${fmt(mean(m.name))}**`).join(" | ")} |`);
    }
    md.push("", "## End-to-end latent error against fp32 (held-out frames; relative squared error)", "");
    md.push("| variant | encoder tokens | predicted tokens after 5 steps |", "|---|---|---|");
    for (const [n, e] of Object.entries(e2e)) md.push(`| ${n} | ${fmt(e.encoder)} | ${fmt(e.rollout_h5)} |`);
    if (bench.length) {
      md.push("", "## Plan latency (one replan, fast preset; `deno task bench`, one run)", "");
      md.push("| variant | backend | p50 ms | p95 ms | vs fp32 |", "|---|---|---|---|---|");
      const base = (b: string) => bench.find((r) => r.model === model && r.backend === b)!.p50_ms as number;
      for (const r of bench) {
        const name = r.model === model ? "fp32" : String(r.model).split("/").pop();
        md.push(
          `| ${name} | ${r.backend} | ${r.p50_ms} | ${r.p95_ms} | ${
            ((r.p50_ms as number) / base(r.backend as string)).toFixed(2)
          } |`,
        );
      }
    }
    Deno.writeTextFileSync(`${out}/report.md`, md.join("\n") + "\n");
    console.log(JSON.stringify({ report: `${out}/report.md` }));
  });
}
