import assert from "node:assert/strict";
import { buildGrid, runOrder, shardRows } from "../../../study/pipeline/grid.ts";
import { shardFrom } from "../../../study/study.ts";

Deno.test("paper grid: every family, unique ids per task, meaningful rows only", () => {
  const g = buildGrid("paper", ["wall"]);
  const ids = g.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, "ids are unique");
  const count = (f: string) => g.filter((r) => r.family === f).length;
  assert.equal(count("reference"), 2);
  assert.equal(
    count("weight-only"),
    4 * 5 * 5 + 2 * 2,
    "4 methods x W8/6/4/3/2 x g16/32/64/128/channel, and OmniQuant at W4/W3 x g128/channel",
  );
  // OmniQuant at the paper's weight-activation settings, per token, W8A8 deciding W6A6 and W4A8.
  const omni = g.filter((r) => r.id.startsWith("omniquant-") && r.family === "weight-act").map((r) => r.id);
  assert.deepEqual(omni, ["omniquant-w8a8tok", "omniquant-w6a6tok", "omniquant-w4a8tok", "omniquant-w4a4tok"]);
  assert.deepEqual(g.find((r) => r.id === "omniquant-w4a4tok")!.decidedBy, ["omniquant-w6a6tok", "omniquant-w4a8tok"]);
  assert.deepEqual(g.find((r) => r.id === "omniquant-w3")!.decidedBy, ["omniquant-w3g128"]);
  assert.equal(count("asymmetry"), 12);
  assert.equal(count("peer"), 4);
  // Dynamic activation ranges appear only where an integer kernel runs them (W8A8, per-channel).
  for (const r of g.filter((r) => r.id.endsWith("dyn"))) assert.match(r.id, /-w8a8dyn$/);
  // Bits without a MatMulNBits kernel are studied simulated; the rest are real low-bit graphs.
  assert.equal(g.find((r) => r.id === "gptq-w6g32")!.steps![0].format, "sim");
  assert.equal(g.find((r) => r.id === "gptq-w3g32")!.steps![0].format, "deploy");
  // Every MatMul/Gemm counts; the "whole" rows (the default's candidates) take the patch embedding too.
  assert.equal(count("whole"), 11, "4 settings, with the distance head quantized and in fp32; 3 mixed encoder groups");
  for (const r of g.filter((r) => r.steps)) {
    const want = r.family === "whole" ? "whole" : "all";
    assert.equal(r.steps![0].layers, want, `${r.id}: layers ${want}`);
  }
  const w = g.find((r) => r.id === "smoothquant-w8a8dyn-whole")!;
  assert.deepEqual([w.steps![0].act, w.steps![0].format, w.tier], [{ bits: 8, mode: "dynamic" }, "deploy", 1]);
  // wall plans with a distance head: the whole model takes it too, at 8 bits per channel; reacher has none.
  const head = g.find((r) => r.id === "gptq-w4g16-whole")!.steps![1];
  assert.deepEqual([head.modules, head.weight.bits, head.weight.granularity], [["distance"], 8, "channel"]);
  const reacher = buildGrid("paper", ["reacher"]).find((r) => r.id === "gptq-w4g16-whole")!;
  assert.equal(reacher.steps!.length, 1);
  assert.equal(g.find((r) => r.id === "gptq-w4g16-whole-fp32head")!.steps!.length, 1);
  const headless = buildGrid("paper", ["wall"], () => false);
  assert.equal(headless.find((r) => r.id === "gptq-w4g16-whole")!.steps!.length, 1);
  assert.equal(headless.filter((r) => r.family === "whole").length, 7);
  // The mixed rows: the encoder at a coarser group than the predictor, each module whole, the head at 8 bits.
  const mixed = g.find((r) => r.id === "gptq-w4g16-whole-encg64")!.steps!;
  assert.deepEqual(
    mixed.map((s) => [s.modules, s.weight.bits, s.weight.group ?? s.weight.granularity, s.layers, s.format]),
    [[["encoder"], 4, 64, "whole", "deploy"], [["predictor"], 4, 16, "whole", "deploy"], [
      ["distance"],
      8,
      "channel",
      "all",
      "deploy",
    ]],
  );
  assert.equal(headless.find((r) => r.id === "gptq-w4g16-whole-encg32")!.steps!.length, 2);
});

Deno.test("pruning: a group is decided by the next finer one, per-channel by the finest, lower bits by the bits above, A<8 by W8A8", () => {
  const g = buildGrid("paper", ["wall"]);
  const by = (id: string) => g.find((r) => r.id === id)!.decidedBy;
  assert.deepEqual(by("rtn-w2"), ["rtn-w2g16"]);
  assert.deepEqual(by("rtn-w2g32"), ["rtn-w2g16"]);
  assert.deepEqual(by("rtn-w2g128"), ["rtn-w2g64"]);
  assert.deepEqual(by("gptq-w4a8"), ["gptq-w8a8"]);
  assert.deepEqual(by("smoothquant-w6g32a6tok"), ["smoothquant-w8g32a8tok"]);
  assert.equal(by("rtn-w8a8dyn"), undefined);
  assert.deepEqual(by("rtn-w2g16"), ["rtn-w3g16"]);
  assert.equal(by("rtn-w8g16"), undefined, "the first row of a chain always runs");
  assert.deepEqual(by("omse-w4a4tok"), ["omse-w6a6tok", "omse-w4a8tok"]);
});

Deno.test("shards: whole chains, every row exactly once; run order puts references and candidates first", () => {
  const g = buildGrid("paper", ["wall", "pointmaze"]);
  const shards = [0, 1, 2].map((i) => shardRows(g, i, 3));
  assert.equal(shards.flat().length, g.length);
  assert.equal(new Set(shards.flat().map((r) => `${r.task}/${r.id}`)).size, g.length);
  for (const s of shards) {
    for (const r of s) {
      for (const d of r.decidedBy ?? []) {
        assert.ok(s.some((x) => x.task === r.task && x.id === d), `${r.id}'s decider ${d} is in its shard`);
      }
    }
  }
  const order = runOrder(g);
  // A row's deciders run before it, or it could never be pruned.
  const pos = new Map(order.map((r, i) => [`${r.task}/${r.id}`, i]));
  for (const r of order) {
    for (const d of r.decidedBy ?? []) {
      assert.ok(pos.get(`${r.task}/${d}`)! < pos.get(`${r.task}/${r.id}`)!, `${d} runs before ${r.id}`);
    }
  }
  const tiers = order.map((r) => r.tier);
  assert.deepEqual(tiers, [...tiers].sort((a, b) => a - b));
  assert.deepEqual(order.slice(0, 4).map((r) => r.id), ["fp32", "oracle", "fp32", "oracle"]);
});

Deno.test("shardFrom(): --shard, a Kubernetes or Slurm job index with the count in the environment, or 0/1", () => {
  const env = (vars: Record<string, string>) => (k: string) => vars[k];
  assert.deepEqual(shardFrom("2/5", env({})), [2, 5]);
  assert.deepEqual(shardFrom(undefined, env({})), [0, 1]);
  assert.deepEqual(shardFrom(undefined, env({ JOB_COMPLETION_INDEX: "3", EDGEWM_SHARDS: "4" })), [3, 4]);
  assert.deepEqual(shardFrom(undefined, env({ SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_COUNT: "2" })), [1, 2]);
  assert.throws(() => shardFrom("5/5", env({})), /--shard must be i\/n/);
  assert.throws(() => shardFrom(undefined, env({ JOB_COMPLETION_INDEX: "0" })), /EDGEWM_SHARDS/);
});
