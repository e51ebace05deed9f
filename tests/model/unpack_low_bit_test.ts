// Low-bit weights unpacked at load: the fp32 weight a MatMulNBits node holds, and graphs that compute what
// the low-bit file computes.
import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import { decodeModel, encodeModel } from "../../lib/onnx.ts";
import { Rng } from "../../lib/rng.ts";
import { dequantizeNBits, unpackLowBit } from "../../model/unpack_low_bit.ts";
import { graphFor } from "../../model/ort.ts";
import { matrix } from "../../quant/matrix.ts";
import { toMatMulNBits } from "../../quant/pack.ts";
import { dequantize, quantizeWeight } from "../../quant/quantizer.ts";

Deno.test("dequantizeNBits() reads back what quant/pack.ts wrote, at 2, 4 and 8 bits, per group and per channel", () => {
  const rng = new Rng(2);
  for (
    const [bits, granularity, group, K] of [[4, "group", 16, 48], [2, "group", 32, 64], [8, "channel", undefined, 40], [
      4,
      "channel",
      undefined,
      96,
    ]] as const
  ) {
    const N = 7, w = matrix(Float32Array.from({ length: K * N }, () => rng.normal()), K, N);
    const q = quantizeWeight(w, { bits, granularity, group, symmetric: false });
    const packed = toMatMulNBits(q);
    const got = dequantizeNBits(packed.B, packed.scales, packed.zeros, packed);
    const want = dequantize(q).data;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `W${bits} ${granularity}: ${i}`);
  }
});

Deno.test("unpackLowBit(): the served low-bit graphs compute the same outputs as MatMul, with no MatMulNBits left", async () => {
  const defaults = JSON.parse(Deno.readTextFileSync("models/defaults.json"));
  const ref = JSON.parse(Deno.readTextFileSync("models/wall/fp32/reference.json"));
  for (const graph of ["encoder", "predictor"]) {
    const bytes = Deno.readFileSync(`models/wall/${defaults.wall}/${graph}.onnx`);
    const model = decodeModel(bytes);
    const before = model.graph.nodes.filter((n) => n.opType === "MatMulNBits").length;
    assert.ok(before > 0, `${graph} has low-bit layers`);
    assert.equal(unpackLowBit(model), before);
    assert.equal(model.graph.nodes.filter((n) => n.opType === "MatMulNBits").length, 0);
    const feeds = (s: ort.InferenceSession) =>
      Object.fromEntries(
        s.inputNames.map((n) => {
          const v = ref[graph].inputs[n];
          const data = n === "image" ? Uint8Array.from(v.data) : Float32Array.from(v.data);
          return [n, new ort.Tensor(n === "image" ? "uint8" : "float32", data, v.shape)];
        }),
      );
    const a = await ort.InferenceSession.create(bytes), b = await ort.InferenceSession.create(encodeModel(model));
    const [ya, yb] = [await a.run(feeds(a)), await b.run(feeds(b))];
    for (const k of a.outputNames) {
      const x = ya[k].data as Float32Array, y = yb[k].data as Float32Array;
      let err = 0, mag = 0;
      for (let i = 0; i < x.length; i++) {
        [err, mag] = [Math.max(err, Math.abs(x[i] - y[i])), Math.max(mag, Math.abs(x[i]))];
      }
      assert.ok(err <= 1e-5 * Math.max(1, mag), `${graph}.${k}: max diff ${err} (max |y| ${mag})`);
    }
  }
  // A graph with nothing to unpack goes through as the same bytes.
  const fp32 = Deno.readFileSync("models/wall/fp32/predictor.onnx");
  assert.equal(graphFor(fp32, "unpack"), fp32);
});
