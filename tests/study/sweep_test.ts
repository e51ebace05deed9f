// The sweep's bookkeeping: which cached variant may be reused, and what a row's basis covers.
import assert from "node:assert/strict";
import { loadModelCard, type ModelCard } from "../../agent/model_card.ts";
import { builtFrom, rowBasis } from "../../study/sweep.ts";

const fp32 = loadModelCard("models/wall/fp32");
const variant = (over: Partial<ModelCard> = {}, files = fp32.files): ModelCard => ({
  ...fp32,
  variant: "rtn-w4g32",
  quantization: { from: { dir: "models/wall/fp32", variant: "fp32", files } },
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

Deno.test("rowBasis: model rows rest on the task's fp32 model, oracle rows on the oracle's settings", () => {
  const wall = rowBasis("wall", "quant", "models");
  assert.match(wall, /^[0-9a-f]{16}$/);
  assert.equal(rowBasis("wall", "fp32", "models"), wall, "every model row of a task shares its fp32 basis");
  assert.notEqual(rowBasis("pointmaze", "quant", "models"), wall);
  assert.notEqual(rowBasis("wall", "oracle", "models"), wall);
  assert.throws(() => rowBasis("wall", "quant", "no-such-models"), /cannot read model\.json/);
});

Deno.test("the study's rows can be committed: git ignores the cached variants, not the JSONL", async () => {
  const ignored = async (path: string) =>
    (await new Deno.Command("git", { args: ["check-ignore", "-q", path], stdout: "null", stderr: "null" }).output())
      .code === 0;
  // A bare `runs/` pattern once matched study/runs/ too and every row measured was lost with its machine.
  assert.equal(await ignored("study/runs/paper/rows.shard-0-of-2.jsonl"), false, "rows are committed");
  assert.equal(await ignored("study/runs/paper/variants/wall/gptq-w4g16/model.json"), true, "variants are not");
});
