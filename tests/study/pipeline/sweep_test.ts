// The sweep's bookkeeping: which cached variant may be reused, what a row's basis covers, which line of a row counts.
import assert from "node:assert/strict";
import { loadModelCard, type ModelCard } from "../../../model/model_card.ts";
import { builtFrom, variantDir } from "../../../study/pipeline/sweep.ts";
import type { RowSpec } from "../../../study/pipeline/grid.ts";

const fp32 = loadModelCard("models/wall/fp32");
const variant = (over: Partial<ModelCard> = {}, files = fp32.files): ModelCard => ({
  ...fp32,
  variant: "rtn-w4g32",
  quantization: {
    from: { dir: "models/wall/fp32", variant: "fp32", files },
    modules: {},
    bytes: { fp32: 1, quantized: 1 },
  },
  ...over,
});

Deno.test("builtFrom: a cached variant is reused only if quantized from today's fp32 graphs and objective", () => {
  assert.equal(builtFrom(variant(), fp32), true);
  const oldGraph = { ...fp32.files, "predictor.onnx": { sha256: "0".repeat(64), bytes: 1 } };
  assert.equal(builtFrom(variant({}, oldGraph), fp32), false, "another predictor");
  const { ["distance.onnx"]: _, ...noHead } = fp32.files;
  assert.equal(builtFrom(variant({}, noHead), fp32), false, "built before the distance head");
  assert.equal(builtFrom(variant({ objective: { ...fp32.objective, global: 1 } }), fp32), false, "another objective");
  assert.equal(builtFrom(variant({ planner: { preset: "mppi" } }), fp32), false, "another planner");
  assert.equal(builtFrom({ ...fp32, quantization: undefined }, fp32), false, "no record of its origin");
});

Deno.test("the study's rows can be committed: git ignores the cached variants, not the JSONL", async () => {
  const ignored = async (path: string) =>
    (await new Deno.Command("git", { args: ["check-ignore", "-q", path], stdout: "null", stderr: "null" }).output())
      .code === 0;
  // A bare `runs/` pattern once matched study/results/study/ too and every row measured was lost with its machine.
  assert.equal(await ignored("study/results/study/paper/rows.shard-0-of-2.jsonl"), false, "rows are committed");
  assert.equal(
    await ignored("study/results/study/paper/variants/wall/gptq-w4g16/model.json"),
    true,
    "variants are not",
  );
  assert.equal(await ignored("study/results/study/paper/variants"), true, "nor a link to them");
});

Deno.test("variantDir: a cached variant built by other steps is rebuilt, one built by the same steps reused", async () => {
  const out = Deno.makeTempDirSync();
  const step = {
    method: "rtn" as const,
    weight: { bits: 4, granularity: "group" as const, group: 32, symmetric: false },
    modules: ["encoder" as const, "predictor" as const],
    format: "deploy" as const,
    layers: "all" as const,
    calib: { episodes: 8 },
  };
  const spec: RowSpec = {
    id: "rtn-w4g32",
    task: "wall",
    family: "weight-only",
    kind: "quant",
    steps: [step],
    chain: "c",
    tier: 2,
  };
  const dir = await variantDir(spec, "models/wall/fp32", { out });
  const built = Deno.statSync(`${dir}/model.json`).mtime!.getTime();
  assert.equal(await variantDir(spec, "models/wall/fp32", { out }), dir);
  assert.equal(Deno.statSync(`${dir}/model.json`).mtime!.getTime(), built, "same steps: reused");
  // The grid grew a step (the distance head): the cached variant no longer is this row's.
  const grown = {
    ...spec,
    steps: [step, {
      ...step,
      weight: { ...step.weight, bits: 8, granularity: "channel" as const },
      modules: ["distance" as const],
    }],
  };
  await variantDir(grown, "models/wall/fp32", { out });
  const card = loadModelCard(dir) as ModelCard & { quantization: { modules: Record<string, unknown> } };
  assert.ok("distance" in card.quantization.modules, "rebuilt with the head");
});
