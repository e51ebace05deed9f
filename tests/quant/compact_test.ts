import assert from "node:assert/strict";
import { WorldModel } from "../../agent/world_model.ts";
import { compactNames } from "../../quant/compact.ts";
import { decodeModel, encodeModel } from "../../lib/onnx.ts";
import { OnnxError } from "../../lib/onnx.ts";
import { sha256 } from "../../model/model_card.ts";
import { getTask } from "../../tasks/registry.ts";
import { Rng } from "../../lib/rng.ts";

const FP32 = "models/wall/fp32";

Deno.test("compactNames: shorter graphs that compute exactly the same, with the same inputs and outputs", async () => {
  const dir = Deno.makeTempDirSync();
  const card = JSON.parse(Deno.readTextFileSync(`${FP32}/model.json`));
  for (const name of ["encoder.onnx", "predictor.onnx"]) {
    const before = Deno.readFileSync(`${FP32}/${name}`), m = decodeModel(before);
    const io = [...m.graph.inputs, ...m.graph.outputs].map((v) => v.name);
    assert.ok(compactNames(m) > 100, "hundreds of inner tensors renamed");
    assert.deepEqual([...m.graph.inputs, ...m.graph.outputs].map((v) => v.name), io, "the interface keeps its names");
    const after = encodeModel(m);
    assert.ok(before.length - after.length > 20_000, `${name}: ${before.length} -> ${after.length} bytes`);
    const tensors = m.graph.nodes.flatMap((n) => n.outputs);
    assert.equal(new Set(tensors).size, tensors.length, "every tensor is still named once");
    Deno.writeFileSync(`${dir}/${name}`, after);
    card.files[name] = { sha256: sha256(after), bytes: after.length };
  }
  for (const f of ["distance.onnx", "reference.json"]) Deno.copyFileSync(`${FP32}/${f}`, `${dir}/${f}`);
  Deno.writeTextFileSync(`${dir}/model.json`, JSON.stringify(card));
  const [a, b] = [await WorldModel.load(FP32, { threads: 1 }), await WorldModel.load(dir, { threads: 1 })];
  const task = getTask("wall"), S = a.card.image_size, rng = new Rng(9);
  const images = new Uint8Array(3 * S * S * 3);
  for (let i = 0; i < 3; i++) images.set(task.render(task.sampleEpisode(rng).start, S), i * S * S * 3);
  const [za, zb] = [await a.encode(images, 3), await b.encode(images, 3)];
  assert.deepEqual(zb.tokens, za.tokens, "bit-identical latents");
  assert.deepEqual(zb.global, za.global);
});

Deno.test("compactNames: a graph holding a subgraph is refused, not half-renamed", () => {
  const m = decodeModel(Deno.readFileSync(`${FP32}/distance.onnx`));
  m.graph.nodes[0].attributes.push({ name: "then_branch", type: 5, rest: [] });
  assert.throws(() => compactNames(m), (e: Error) => e instanceof OnnxError && /subgraph/.test(e.message));
});
