import assert from "node:assert/strict";
import { ortFor } from "../../model/ort.ts";
import { findLayers } from "../../quant/layers.ts";
import { decodeModel, encodeModel, type Model } from "../../lib/onnx.ts";
import { cloneModel } from "../../lib/onnx_graph.ts";
import { patchConvsToMatMul } from "../../model/patchify.ts";
import { maxAbsDiff } from "../_onnx_graphs.ts";

const ENCODER = decodeModel(Deno.readFileSync("models/wall/fp32/encoder.onnx"));

async function encode(model: Model, images: Uint8Array, batch: number) {
  const ort = await ortFor("web", 1);
  const s = await ort.InferenceSession.create(encodeModel(model));
  const out = await s.run({ image: new ort.Tensor("uint8", images, [batch, 64, 64, 3]) });
  return { tokens: out.tokens.data as Float32Array, global: out.global.data as Float32Array };
}

Deno.test("patchify: the encoder's patch Conv as Reshape/Transpose + MatMul gives the same latents", async () => {
  const m = cloneModel(ENCODER);
  const made = patchConvsToMatMul(m, [64, 64]);
  assert.equal(made.length, 1);
  assert.ok(!m.graph.nodes.some((n) => n.opType === "Conv"), "the Conv is gone");
  assert.ok(!m.graph.initializers.some((t) => t.dims.length === 4), "and so is its 4-D weight");
  const layer = findLayers(m, "all").find((l) => l.name === made[0])!;
  assert.deepEqual([layer.K, layer.N], [3 * 16 * 16, 96], "a [C*k*k, O] layer the quantizers can take");
  assert.ok(!findLayers(m, "blocks").some((l) => l.name === made[0]), "not a block layer");

  const B = 3, images = new Uint8Array(B * 64 * 64 * 3).map((_, i) => (i * 2654435761) >>> 24);
  const [a, b] = [await encode(ENCODER, images, B), await encode(m, images, B)];
  assert.ok(maxAbsDiff(a.tokens, b.tokens) < 1e-4, `tokens differ by ${maxAbsDiff(a.tokens, b.tokens)}`);
  assert.ok(maxAbsDiff(a.global, b.global) < 1e-4, `global differs by ${maxAbsDiff(a.global, b.global)}`);
});

Deno.test("patchify: a Conv that is not a patch embedding, or an input that is not whole patches, is left alone", () => {
  const strided = cloneModel(ENCODER);
  const conv = strided.graph.nodes.find((n) => n.opType === "Conv")!;
  conv.attributes.find((a) => a.name === "strides")!.ints = [8, 8];
  assert.deepEqual(patchConvsToMatMul(strided, [64, 64]), []);
  assert.ok(strided.graph.nodes.includes(conv));
  const m = cloneModel(ENCODER);
  assert.deepEqual(patchConvsToMatMul(m, [60, 64]), [], "60 px is not a whole number of 16-px patches");
  assert.equal(encodeModel(m).length, encodeModel(ENCODER).length, "nothing changed");
});
