import assert from "node:assert/strict";
import type { BackendName } from "../../model/ort.ts";
import { type ActSpec, calibrateActivation, fakeQuantActivations } from "../../quant/activations.ts";
import { findLayers, weightMatrix } from "../../quant/layers.ts";
import { matmul, matrix, scaleColumns, scaleRows } from "../../quant/matrix.ts";
import { encodeModel, type Model } from "../../lib/onnx.ts";
import { cloneModel, makeNode } from "../../lib/onnx_graph.ts";
import { dequantize, quantizeWeight, type WeightSpec } from "../../quant/quantizer.ts";
import { QuantError } from "../../quant/quant_error.ts";
import { type Format, type LayerPlan, rewriteLayers } from "../../quant/rewrite.ts";
import { Rng } from "../../lib/rng.ts";
import { maxAbsDiff, runModel, toyBlock, toyInputs } from "../_onnx_graphs.ts";

const { x, u, B, T } = toyInputs(21);
const INPUTS = { x: { data: x, dims: [B, T, 64] }, u: { data: u, dims: [B, 64] } };

/** Plans for every toy layer; the input scales exercise both LayerNorm folding (fc1) and an explicit Mul. */
function plans(model: Model, spec: WeightSpec, act?: ActSpec, smooth = false): LayerPlan[] {
  const rng = new Rng(5);
  return findLayers(model).map((layer) => {
    const inputScale = smooth
      ? Float32Array.from({ length: layer.K }, () => Math.exp(rng.uniform(-0.5, 0.5)))
      : undefined;
    const s = inputScale ? Float32Array.from(inputScale, (v) => 1 / v) : undefined;
    const w = weightMatrix(layer);
    const q = quantizeWeight(s ? scaleRows(w, s) : w, spec);
    // Static activation range from the layer's own input (u feeds qkv and proj directly).
    const params = act?.mode === "per-tensor"
      ? calibrateActivation(matrix(u.map((v) => v * 1.2), B, 64), act.bits)
      : undefined;
    return { layer, q, inputScale, act: act ? { spec: act, params } : undefined };
  });
}

function quantized(spec: WeightSpec, format: Format, act?: ActSpec, smooth = false): Model {
  const m = cloneModel(toyBlock(3));
  rewriteLayers(m, plans(m, spec, act, smooth), format);
  return m;
}

const BACKENDS: BackendName[] = ["web", "node"];

Deno.test("rewrite: simulated graphs equal X~ . dequant(W) computed here (groups, channels, tensor, A4/A8)", async () => {
  const cases: [WeightSpec, ActSpec | undefined][] = [
    [{ bits: 3, granularity: "group", group: 16, symmetric: false }, undefined],
    [{ bits: 5, granularity: "channel", symmetric: true }, undefined],
    [{ bits: 4, granularity: "tensor", symmetric: false }, undefined],
    [{ bits: 4, granularity: "group", group: 32, symmetric: false }, { bits: 4, mode: "per-token" }],
    [{ bits: 8, granularity: "channel", symmetric: true }, { bits: 8, mode: "per-tensor" }],
    [{ bits: 6, granularity: "channel", symmetric: false }, { bits: 6, mode: "dynamic" }],
  ];
  for (const [spec, act] of cases) {
    for (const smooth of [false, true]) {
      const m = cloneModel(toyBlock(3));
      const ps = plans(m, spec, act, smooth);
      rewriteLayers(m, ps, "sim");
      const out = await runModel(m, INPUTS);
      // qkv reads the graph input u directly: reproduce it in JS.
      const p = ps.find((p) => p.layer.name.includes("qkv"))!;
      const x = matrix(u, B, 64);
      const xs = p.inputScale ? scaleColumns(x, p.inputScale) : x;
      const xq = act ? fakeQuantActivations(xs, act, p.act!.params) : xs;
      const ref = matmul(xq, dequantize(p.q)).data;
      const d = maxAbsDiff(out.q, ref);
      assert.ok(d < 1e-4, `${JSON.stringify({ spec, act, smooth })}: max diff ${d}`);
    }
  }
});

Deno.test("rewrite: MatMulNBits graphs equal their simulated QDQ twins (<= 1e-5) on web and node", async () => {
  const specs: WeightSpec[] = [
    { bits: 2, granularity: "group", group: 16, symmetric: false },
    { bits: 3, granularity: "group", group: 32, symmetric: false },
    { bits: 4, granularity: "group", group: 32, symmetric: true },
    { bits: 4, granularity: "channel", symmetric: false },
    { bits: 8, granularity: "channel", symmetric: true },
    { bits: 4, granularity: "tensor", symmetric: false },
  ];
  for (const spec of specs) {
    for (const smooth of [false, true]) {
      const sim = quantized(spec, "sim", undefined, smooth), dep = quantized(spec, "deploy", undefined, smooth);
      assert.ok(dep.graph.nodes.some((n) => n.opType === "MatMulNBits"));
      assert.ok(!sim.graph.nodes.some((n) => n.domain === "com.microsoft"));
      for (const backend of BACKENDS) {
        const a = await runModel(sim, INPUTS, backend), b = await runModel(dep, INPUTS, backend);
        for (const k of ["y", "g", "q"]) {
          const d = maxAbsDiff(a[k], b[k]);
          assert.ok(d <= 1e-5, `${JSON.stringify(spec)} smooth=${smooth} ${backend} ${k}: ${d}`);
        }
      }
    }
  }
});

Deno.test("rewrite: int8 activation graphs (QuantizeLinear / DynamicQuantizeLinear + MatMulInteger) match their twins", async () => {
  for (const mode of ["per-tensor", "dynamic"] as const) {
    const spec: WeightSpec = { bits: 8, granularity: "channel", symmetric: false };
    const act: ActSpec = { bits: 8, mode };
    const sim = quantized(spec, "sim", act, true), dep = quantized(spec, "deploy", act, true);
    assert.ok(dep.graph.nodes.some((n) => n.opType === "MatMulInteger"));
    assert.equal(dep.graph.nodes.some((n) => n.opType === "DynamicQuantizeLinear"), mode === "dynamic");
    for (const backend of BACKENDS) {
      const a = await runModel(sim, INPUTS, backend), b = await runModel(dep, INPUTS, backend);
      for (const k of ["y", "g", "q"]) {
        const d = maxAbsDiff(a[k], b[k]);
        assert.ok(d <= 1e-5, `${mode} ${backend} ${k}: ${d}`);
      }
    }
  }
});

Deno.test("rewrite: deployable files really shrink; names, opsets and untouched nodes are kept", () => {
  const fp32 = encodeModel(toyBlock(3)).length;
  const size = (bits: number) =>
    encodeModel(quantized({ bits, granularity: "group", group: 32, symmetric: false }, "deploy")).length;
  assert.ok(size(8) < 0.4 * fp32 && size(4) < size(8) && size(2) < size(4), `${fp32} ${size(8)} ${size(4)} ${size(2)}`);
  const m = quantized({ bits: 4, granularity: "group", group: 32, symmetric: false }, "deploy");
  assert.deepEqual(m.graph.outputs.map((o) => o.name), ["y", "g", "q"]);
  assert.ok(m.graph.nodes.some((n) => n.name === "/blocks.0/act/Relu"));
  assert.ok(m.opsetImport.some((o) => o.domain === "com.microsoft"));
  assert.equal(m.opsetImport.find((o) => !o.domain)!.version, 17);
  // The original float weights are gone.
  assert.ok(!m.graph.initializers.some((t) => t.name === "fc1.w" || t.name === "qkv.w"));
});

Deno.test("rewrite: layouts MatMulNBits or MatMulInteger cannot hold are refused, pointing at --format sim", () => {
  assert.throws(() => quantized({ bits: 6, granularity: "channel", symmetric: false }, "deploy"), QuantError);
  assert.throws(
    () => quantized({ bits: 4, granularity: "group", group: 8, symmetric: false }, "deploy"),
    /--format sim/,
  );
  assert.throws(
    () => quantized({ bits: 8, granularity: "channel", symmetric: false }, "deploy", { bits: 4, mode: "dynamic" }),
    /A8 only/,
  );
  assert.throws(
    () => quantized({ bits: 8, granularity: "channel", symmetric: false }, "deploy", { bits: 8, mode: "per-token" }),
    /per-token/,
  );
});

Deno.test("rewrite: a shifted and scaled input ((x - d) / s, OmniQuant's LET) gives the float outputs back", async () => {
  // 8-bit weights on diag(s) W and a shift d of up to 0.5: uncompensated, d W would move outputs by ~0.3.
  const spec: WeightSpec = { bits: 8, granularity: "channel", symmetric: false };
  const float = await runModel(toyBlock(3), INPUTS);
  for (const fold of [true, false]) {
    const m = cloneModel(toyBlock(3));
    // A second reader of the LayerNorm's beta: it is no longer the layer's own, so nothing folds into it.
    if (!fold) m.graph.nodes.push(makeNode("Identity", ["ln.b"], ["ln.b.copy"], "/reader/Identity"));
    const rng = new Rng(9);
    const ps = findLayers(m).map((layer): LayerPlan => {
      const s = Float32Array.from({ length: layer.K }, () => Math.exp(rng.uniform(-0.5, 0.5)));
      const d = Float32Array.from({ length: layer.K }, () => rng.uniform(-0.5, 0.5));
      return {
        layer,
        q: quantizeWeight(scaleRows(weightMatrix(layer), s), spec),
        inputScale: s.map((v) => 1 / v),
        inputShift: d,
      };
    });
    rewriteLayers(m, ps, "sim");
    const out = await runModel(m, INPUTS);
    const lnFolded = !m.graph.nodes.some((n) => n.opType === "Sub" && (n.name ?? "").includes("fc1"));
    assert.equal(lnFolded, fold, "the shift folds into a private LayerNorm beta, else a Sub");
    for (const k of ["y", "g", "q"]) {
      const d = maxAbsDiff(out[k], float[k]);
      assert.ok(d < 0.05, `fold ${fold}, ${k}: max diff ${d} from the float graph`);
    }
  }
});
