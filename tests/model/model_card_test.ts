// The model card: one schema, checked completely at load, with the sha256 of every file it lists;
// built-in tasks' layouts are checked against their specs, a user's own task loads from its card alone.
import assert from "node:assert/strict";
import { envStepSeconds, loadModelCard, ModelLoadError, validateModelCard } from "../../model/model_card.ts";
import { ownQuantization } from "../../model/quantization.ts";

function copyModel(dir: string): string {
  const tmp = Deno.makeTempDirSync();
  for (const e of Deno.readDirSync(dir)) Deno.copyFileSync(`${dir}/${e.name}`, `${tmp}/${e.name}`);
  return tmp;
}

const wall = JSON.parse(Deno.readTextFileSync("models/wall/fp32/model.json"));

Deno.test("model.json is validated completely at load: a missing or malformed field is named", () => {
  const tmp = copyModel("models/wall/fp32");
  try {
    const card = JSON.parse(Deno.readTextFileSync("models/wall/fp32/model.json"));
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...card, objective: undefined }, /field objective/],
      [{ ...card, proprio_mean: undefined }, /field proprio_mean/],
      [{ ...card, proprio_std: [1] }, /field proprio_std: must list 2 numbers/],
      [{ ...card, action_std: card.action_std.map(() => 0) }, /field action_std/],
      [{ ...card, task: "Chess!" }, /field task: must be 1-32 lowercase/],
      [{ ...card, env_step_seconds: 0.1 }, /field env_step_seconds: 0.1 does not match task wall's null/],
      [
        { ...card, proprio_dim: 3, proprio_mean: [0, 0, 0], proprio_std: [1, 1, 1] },
        /field proprio_dim: 3 does not match task wall, whose proprio_dim is 2/,
      ],
      [{ ...card, frameskip: 4, action_dim: 8 }, /field frameskip: 4 does not match task wall/],
      [{ ...card, files: { "encoder.onnx": card.files["encoder.onnx"] } }, /does not list predictor.onnx/],
      [
        {
          ...card,
          objective: { ...card.objective, distance: 1 },
          files: { ...card.files, "distance.onnx": undefined },
        },
        /field files: does not list distance.onnx, which objective.distance > 0 needs/,
      ],
      [
        { ...card, planner: { preset: "fast", samples: 8, topk: 9 } },
        /field planner.topk: topk 9 must not exceed samples 8/,
      ],
      [{ ...card, planner: { horizon: 2, execute: 3 } }, /field planner.execute: execute 3 must not exceed horizon 2/],
      [{ ...card, planner: { preset: "slow" } }, /field planner.preset/],
      [
        { ...card, objective: { ...card.objective, global_metric: [[1, 0], [0, 1]] } },
        new RegExp(`field objective.global_metric: must be ${card.global_dim} rows of ${card.global_dim} numbers`),
      ],
      [
        {
          ...card,
          objective: { ...card.objective, global_metric: Array.from({ length: card.global_dim }, () => [1]) },
        },
        /field objective.global_metric: must be/,
      ],
      [
        { ...card, planner: { proposal: "policy" } },
        /field files: does not list policy.onnx, which planner.proposal "policy" needs/,
      ],
    ];
    for (const [bad, message] of cases) {
      Deno.writeTextFileSync(`${tmp}/model.json`, JSON.stringify(bad));
      assert.throws(() => loadModelCard(tmp), (e: Error) => {
        assert.ok(e instanceof ModelLoadError, e.name);
        assert.match(e.message, message);
        return true;
      });
    }
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("a card for a task the project does not ship loads; its control period comes from the card", () => {
  const own = { ...wall, task: "myrobot", env_action_dim: 3, frameskip: 2, action_dim: 6, env_step_seconds: 0.04 };
  own.action_mean = own.action_low = [0, 0, 0, 0, 0, 0];
  own.action_std = own.action_high = [1, 1, 1, 1, 1, 1];
  const card = validateModelCard(own, "mine");
  assert.equal(card.task, "myrobot");
  assert.equal(envStepSeconds(card), 0.04);
  // The same layout under a built-in task's name is refused: its simulator's layout is another.
  assert.throws(
    () => validateModelCard({ ...own, task: "wall" }, "mine"),
    /field env_action_dim: 3 does not match task wall/,
  );
  // Without a clock of its own and no built-in task to take one from: none.
  const { env_step_seconds: _, ...noClock } = own;
  assert.equal(envStepSeconds(validateModelCard(noClock, "mine")), null);
  assert.equal(envStepSeconds(validateModelCard(wall, "w")), null, "wall has no clock");
  assert.equal(envStepSeconds(loadModelCard("models/pusht/fp32")), 0.1, "pusht's from its spec");
});

Deno.test("the quantization record is typed: ours per module, a peer's by its settings; a malformed one is named", () => {
  const defaults = JSON.parse(Deno.readTextFileSync("models/defaults.json"));
  const low = loadModelCard(`models/wall/${defaults.wall}`);
  const q = ownQuantization(low.quantization)!;
  assert.ok(q.bytes.quantized < q.bytes.fp32);
  assert.ok(Object.values(q.modules).every((m) => m!.per_layer.length > 0));
  const peer = {
    peer: "onnxruntime MatMulNBitsQuantizer",
    algo: "hqq",
    bits: 4,
    group: 32,
    from: q.from,
  };
  const card = validateModelCard({ ...wall, quantization: peer }, "p");
  assert.equal(ownQuantization(card.quantization), undefined, "a peer record has no modules");
  assert.throws(
    () => validateModelCard({ ...wall, quantization: { ...q, bytes: { fp32: "many" } } }, "q"),
    /field quantization/,
  );
});
