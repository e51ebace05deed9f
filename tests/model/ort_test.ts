// onnxruntime for our graphs: the encoder graph each backend gets.
import assert from "node:assert/strict";
import { decodeModel } from "../../lib/onnx.ts";
import { encoderGraphFor } from "../../model/ort.ts";

Deno.test("encoderGraphFor: threaded wasm gets the patch embedding as a MatMul, every other backend the file", () => {
  const fp32 = Deno.readFileSync("models/wall/fp32/encoder.onnx");
  const ops = (b: Uint8Array) => decodeModel(b).graph.nodes.map((n) => n.opType);
  assert.ok(ops(fp32).includes("Conv"), "fp32's patch embedding is a Conv");
  for (const [backend, threads] of [["web", 1], ["node", 1], ["node", 2]] as const) {
    assert.equal(encoderGraphFor(fp32, 64, backend, threads), fp32, `${backend} with ${threads} thread(s)`);
  }
  const threaded = ops(encoderGraphFor(fp32, 64, "web", 2));
  assert.ok(!threaded.includes("Conv") && threaded.includes("MatMul"), "web, 2 threads: the Conv is a MatMul");
  // A -whole low-bit encoder has no Conv left to rewrite: its file goes as it is.
  const defaults = JSON.parse(Deno.readTextFileSync("models/defaults.json"));
  const whole = Deno.readFileSync(`models/wall/${defaults.wall}/encoder.onnx`);
  assert.equal(encoderGraphFor(whole, 64, "web", 2), whole);
});
