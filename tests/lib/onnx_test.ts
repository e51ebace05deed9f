import assert from "node:assert/strict";
import { decodeModel, encodeModel, OnnxError } from "../../lib/onnx.ts";
import { attrInt, getAttr, tensorFloats } from "../../lib/onnx_graph.ts";
import { readFields, Writer } from "../../lib/protobuf.ts";
import { assertSameArray } from "../_helpers.ts";
import { maxAbsDiff, runModel, toyBlock, toyInputs } from "../_onnx_graphs.ts";

Deno.test("protobuf: varints round-trip, negative int64 included", () => {
  const w = new Writer().varint(1, 0).varint(2, 300).varint(3, -1).varint(4, 2 ** 40).string(5, "héllo");
  const fs = readFields(w.finish());
  assert.deepEqual(fs.slice(0, 4).map((f) => BigInt.asIntN(64, f.varint!)), [0n, 300n, -1n, 2n ** 40n]);
  assert.equal(new TextDecoder().decode(fs[4].bytes), "héllo");
});

Deno.test("onnx: committed PyTorch exports round-trip byte for byte", () => {
  for (const task of ["wall", "pusht"]) {
    for (const file of ["encoder.onnx", "predictor.onnx"]) {
      const bytes = Deno.readFileSync(`models/${task}/fp32/${file}`);
      const model = decodeModel(bytes);
      assert.ok(model.graph.nodes.length > 100, "graph decoded");
      assertSameArray(encodeModel(model), bytes, `${task}/${file}`);
    }
  }
});

Deno.test("onnx: a graph built here runs, and parse -> write -> run gives identical outputs", async () => {
  const model = toyBlock(3);
  const { x, u, B, T } = toyInputs(4);
  const inputs = { x: { data: x, dims: [B, T, 64] }, u: { data: u, dims: [B, 64] } };
  const first = await runModel(model, inputs);
  const again = await runModel(decodeModel(encodeModel(model)), inputs);
  for (const k of ["y", "g", "q"]) assertSameArray(again[k], first[k], k);
  // q = u W, checked against a direct product.
  const w = tensorFloats(model.graph.initializers.find((t) => t.name === "qkv.w")!);
  const ref = new Float32Array(B * 48);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < 48; n++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s += u[b * 64 + k] * w[k * 48 + n];
      ref[b * 48 + n] = s;
    }
  }
  assert.ok(maxAbsDiff(first.q, ref) < 1e-4);
  // Attributes keep their values, negative ints included.
  const ln = decodeModel(encodeModel(model)).graph.nodes[0];
  assert.equal(getAttr(ln, "axis")?.i, -1);
  assert.deepEqual(attrInt("axis", -1).i, -1);
});

Deno.test("onnx: files that are not ONNX models are refused with OnnxError", () => {
  const png = Deno.readFileSync("models/figures/" + [...Deno.readDirSync("models/figures")][0].name);
  for (
    const bytes of [new TextEncoder().encode("hello, world"), png, new Uint8Array([0x0a, 0xff, 0x01]), new Uint8Array()]
  ) {
    assert.throws(() => decodeModel(bytes), OnnxError);
  }
  // Truncating a real model leaves a length prefix pointing past the end.
  const real = Deno.readFileSync("models/wall/fp32/predictor.onnx");
  assert.throws(() => decodeModel(real.subarray(0, 1000)), OnnxError);
});
