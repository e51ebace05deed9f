import assert from "node:assert/strict";
import { loadModelCard } from "../../model/model_card.ts";
import { calibrationData, collectLayerInputs } from "../../quant/calibrate.ts";
import { cholesky, invertSpd } from "../../quant/gptq.ts";
import { findLayers, weightMatrix } from "../../quant/layers.ts";
import { outlierRatio, scaleColumns } from "../../quant/matrix.ts";
import { decodeModel } from "../../lib/onnx.ts";
import type { WeightSpec } from "../../quant/quantizer.ts";
import type { QuantizeConfig } from "../../quant/config.ts";
import { quantizeLayer } from "../../quant/quantize_model.ts";
import { smoothScales } from "../../quant/smoothquant.ts";
import { writeDataset } from "../../tasks/dataset.ts";
import { Rng } from "../../lib/rng.ts";
import { randn } from "../_onnx_graphs.ts";

const DIR = "models/wall/fp32";

/** Calibration rows of every block layer of the committed wall encoder and predictor. */
async function calibration() {
  const card = loadModelCard(DIR);
  const enc = Deno.readFileSync(`${DIR}/encoder.onnx`), pred = Deno.readFileSync(`${DIR}/predictor.onnx`);
  const data = await calibrationData(card, enc, pred, { episodes: 16, backend: "node" });
  const out = [];
  for (const [name, bytes, feeds] of [["encoder", enc, data.encoder], ["predictor", pred, data.predictor]] as const) {
    const model = decodeModel(bytes);
    const layers = findLayers(model);
    const acts = await collectLayerInputs(model, layers, feeds, { backend: "node", maxRows: 512 });
    for (const l of layers) out.push({ module: name, layer: l, x: acts.get(l.name)! });
  }
  return out;
}
const CALIB = await calibration();

Deno.test("calibration: every block layer gets rows of its own width, from the encoder and from predictor rollouts", () => {
  assert.equal(CALIB.filter((c) => c.module === "encoder").length, 16);
  assert.equal(CALIB.filter((c) => c.module === "predictor").length, 12);
  for (const c of CALIB) {
    assert.equal(c.x.data.length, c.x.rows * c.layer.K);
    assert.equal(c.x.cols, c.layer.K);
    assert.ok(c.x.rows >= 128, `${c.layer.name}: ${c.x.rows} rows`);
    assert.ok(c.x.data.every(Number.isFinite));
  }
});

Deno.test("calibration reads a dataset folder (--calib) and refuses one that does not fit the model", async () => {
  const card = loadModelCard(DIR);
  const enc = Deno.readFileSync(`${DIR}/encoder.onnx`), pred = Deno.readFileSync(`${DIR}/predictor.onnx`);
  const dir = Deno.makeTempDirSync();
  await writeDataset({ task: "wall", episodes: 4, steps: 20, seed: 3, out: dir });
  const data = await calibrationData(card, enc, pred, { dir, episodes: 4, backend: "node" });
  assert.match(data.source, /first 4 windows of 20 steps/);
  assert.equal(data.encoder.reduce((a, f) => a + f.image.dims[0], 0), 4 * 5, "frames every frameskip steps");
  assert.equal(data.predictor.length, 4);
  assert.ok((data.predictor[3].tokens.data as Float32Array).every(Number.isFinite));
  await assert.rejects(
    () => calibrationData(card, enc, pred, { dir, episodes: 8, backend: "node" }),
    /needs 8 windows of 20 steps \(4 model steps\); the dataset has 4 \(4 episodes of 20 steps\)/,
  );
  // Longer episodes hold several windows: 2 episodes of 40 steps serve 4 windows.
  const long = Deno.makeTempDirSync();
  await writeDataset({ task: "wall", episodes: 2, steps: 40, seed: 3, out: long });
  const two = await calibrationData(card, enc, pred, { dir: long, episodes: 4, backend: "node" });
  assert.equal(two.predictor.length, 4);
  assert.match(two.source, /first 4 windows/);
  const small = Deno.makeTempDirSync();
  await writeDataset({ task: "wall", episodes: 4, steps: 20, seed: 3, out: small, size: 32 });
  await assert.rejects(() => calibrationData(card, enc, pred, { dir: small, episodes: 4, backend: "node" }), /32px/);
});

Deno.test("GPTQ solver: Cholesky and SPD inverse are exact on a random SPD matrix", () => {
  const rng = new Rng(3), n = 12;
  const a = randn(rng, n * n), h = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) h[i * n + j] += a[i * n + k] * a[j * n + k];
  }
  for (let i = 0; i < n; i++) h[i * n + i] += 0.5;
  const l = cholesky(h, n), inv = invertSpd(h, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let llt = 0, eye = 0;
      for (let k = 0; k < n; k++) {
        llt += l[i * n + k] * l[j * n + k];
        eye += h[i * n + k] * inv[k * n + j];
      }
      assert.ok(Math.abs(llt - h[i * n + j]) < 1e-9);
      assert.ok(Math.abs(eye - (i === j ? 1 : 0)) < 1e-9);
    }
  }
});

function config(
  method: QuantizeConfig["method"],
  weight: WeightSpec,
  extra: Partial<QuantizeConfig> = {},
): QuantizeConfig {
  return { method, weight, modules: ["encoder", "predictor"], format: "sim", ...extra };
}

Deno.test("layer-output error on calibration data: GPTQ <= RTN and AWQ <= RTN at W4 g32 and W3", () => {
  const specs: WeightSpec[] = [
    { bits: 4, granularity: "group", group: 32, symmetric: false },
    { bits: 3, granularity: "channel", symmetric: false },
  ];
  // Every fourth layer keeps the test short; both modules are covered.
  for (const c of CALIB.filter((_, i) => i % 4 === 0)) {
    for (const w of specs) {
      const rtn = quantizeLayer(c.layer, c.x, config("rtn", w)).outputRelErr;
      const gptq = quantizeLayer(c.layer, c.x, config("gptq", w)).outputRelErr;
      const gptqAct = quantizeLayer(c.layer, c.x, config("gptq", w, { actOrder: true })).outputRelErr;
      const awq = quantizeLayer(c.layer, c.x, config("awq", w)).outputRelErr;
      const what = `${c.module} ${c.layer.name} W${w.bits}`;
      assert.ok(rtn > 0, what);
      assert.ok(gptq <= rtn, `${what}: GPTQ ${gptq} > RTN ${rtn}`);
      assert.ok(gptqAct <= rtn, `${what}: GPTQ act-order ${gptqAct} > RTN ${rtn}`);
      assert.ok(awq <= rtn, `${what}: AWQ ${awq} > RTN ${rtn}`);
    }
  }
});

Deno.test("GPTQ clearly beats RTN at W3 on the layers with the most inputs", () => {
  const wide = CALIB.filter((c) => c.layer.K >= 256);
  const w: WeightSpec = { bits: 3, granularity: "channel", symmetric: false };
  let rtn = 0, gptq = 0;
  for (const c of wide) {
    rtn += quantizeLayer(c.layer, c.x, config("rtn", w)).outputRelErr;
    gptq += quantizeLayer(c.layer, c.x, config("gptq", w)).outputRelErr;
  }
  assert.ok(gptq < 0.7 * rtn, `GPTQ ${gptq} vs RTN ${rtn}`);
});

Deno.test("SmoothQuant shrinks activation outlier ratios and W8A4 error", () => {
  let shrunk = 0;
  for (const c of CALIB) {
    const s = smoothScales(c.x, weightMatrix(c.layer), 0.5);
    const before = outlierRatio(c.x);
    const after = outlierRatio(scaleColumns(c.x, Float32Array.from(s, (v) => 1 / v)));
    if (after < before) shrunk++;
  }
  assert.ok(shrunk >= 0.9 * CALIB.length, `outlier ratio shrank on ${shrunk} of ${CALIB.length} layers`);
  // At W8A4 per-tensor the migration pays off on average.
  const w: WeightSpec = { bits: 8, granularity: "channel", symmetric: true };
  const act = { bits: 4, mode: "per-tensor" as const };
  let plain = 0, smooth = 0;
  for (const c of CALIB) {
    plain += quantizeLayer(c.layer, c.x, config("rtn", w, { act })).outputRelErr;
    smooth += quantizeLayer(c.layer, c.x, config("smoothquant", w, { act })).outputRelErr;
  }
  assert.ok(smooth < plain, `SmoothQuant ${smooth} vs RTN ${plain}`);
});
