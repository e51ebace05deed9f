import assert from "node:assert/strict";
import { createApp } from "../../agent/http/app.ts";
import { ModelLoadError, sha256 } from "../../model/model_card.ts";
import { WorldModel } from "../../agent/world_model.ts";
import { encodeModel } from "../../lib/onnx.ts";
import { makeNode, makeValueInfo } from "../../lib/onnx_graph.ts";
import { QuantError } from "../../quant/quant_error.ts";
import type { QuantizeConfig } from "../../quant/config.ts";
import { type QuantizationRecord, quantizeModelDir } from "../../quant/quantize_model.ts";
import { getTask } from "../../tasks/registry.ts";
import { Rng } from "../../lib/rng.ts";

const FP32 = "models/wall/fp32";
const W4: QuantizeConfig = {
  method: "rtn",
  weight: { bits: 4, granularity: "group", group: 32, symmetric: false },
  modules: ["encoder", "predictor"],
  format: "deploy",
  calib: { episodes: 8, backend: "node" },
};
const quiet = { log: () => {}, backend: "node" as const };

function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
    out[e.name] = sha256(Deno.readFileSync(`${dir}/${e.name}`));
  }
  return out;
}

/** A copy of the wall model directory with one file replaced (and model.json re-hashed, so only the content is wrong). */
function modelDirWith(file: string, bytes: Uint8Array): string {
  const dir = Deno.makeTempDirSync();
  for (const e of Deno.readDirSync(FP32)) Deno.copyFileSync(`${FP32}/${e.name}`, `${dir}/${e.name}`);
  Deno.writeFileSync(`${dir}/${file}`, bytes);
  const card = JSON.parse(Deno.readTextFileSync(`${dir}/model.json`));
  card.files[file] = { sha256: sha256(bytes), bytes: bytes.length };
  Deno.writeTextFileSync(`${dir}/model.json`, JSON.stringify(card));
  return dir;
}

Deno.test("quantize: a W4 g32 model directory loads and plans on web and node, smaller, with its record", async () => {
  const before = hashes(FP32);
  const out = Deno.makeTempDirSync();
  const { card, layers } = await quantizeModelDir(FP32, out, W4, quiet);
  assert.deepEqual(hashes(FP32), before, "the input directory is untouched");
  const q = card.quantization as QuantizationRecord;
  assert.equal(q.modules.encoder!.method, "rtn");
  assert.equal(q.modules.predictor!.weight.group, 32);
  assert.ok(q.bytes.quantized < 0.4 * q.bytes.fp32, JSON.stringify(q.bytes));
  assert.equal(layers.length, 28);
  for (const l of layers) assert.ok(l.output_rel_err > 0 && l.output_rel_err < 0.02, `${l.layer}: ${l.output_rel_err}`);
  assert.equal(card.files["reference.json"], undefined);
  // The distance head travels unchanged (fp32) and counts towards both byte totals.
  const fp32Card = JSON.parse(Deno.readTextFileSync(`${FP32}/model.json`));
  assert.ok(fp32Card.files["distance.onnx"], "wall's fp32 model has a distance head");
  assert.deepEqual(card.files["distance.onnx"], fp32Card.files["distance.onnx"]);
  assert.equal(sha256(Deno.readFileSync(`${out}/distance.onnx`)), fp32Card.files["distance.onnx"].sha256);
  const graphBytes = (f: Record<string, { bytes: number }>) =>
    Object.entries(f).filter(([n]) => n.endsWith(".onnx")).reduce((a, [, e]) => a + e.bytes, 0);
  assert.equal(q.bytes.fp32, graphBytes(fp32Card.files));
  assert.equal(q.bytes.quantized, graphBytes(card.files));
  const ref = await WorldModel.load(FP32, { backend: "node" });
  const img = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 37) % 251);
  const z0 = await ref.encode(img, 1);
  for (const backend of ["web", "node"] as const) {
    const m = await WorldModel.load(out, { backend, threads: 1 });
    assert.equal(m.card.variant, "rtn-w4g32");
    const z = await m.encode(img, 1);
    let num = 0, den = 0;
    for (let i = 0; i < z.tokens.length; i++) {
      num += (z.tokens[i] - z0.tokens[i]) ** 2;
      den += z0.tokens[i] ** 2;
    }
    assert.ok(num / den < 0.01, `${backend}: encoder relative error ${num / den}`);
    const steps = await m.rollout(z, new Float32Array(2), new Float32Array(4 * 5 * 10).fill(0.3), 4, 5);
    assert.ok(steps[4].tokens.every(Number.isFinite));
  }
  // The server serves it beside fp32, as task/variant.
  const quant = await WorldModel.load(out, { threads: 1 });
  const app = createApp({
    models: new Map([["wall/fp32", ref], ["wall/rtn-w4g32", quant]]),
    isReady: () => true,
    log: () => {},
  });
  const listed = (await (await app.request("/v1/models")).json()).models;
  const q4 = listed.find((m: { id: string }) => m.id === "wall/rtn-w4g32");
  assert.equal(q4.quantization.encoder.method, "rtn");
  assert.equal(q4.quantization.predictor.weight.bits, 4);
  assert.ok(q4.bytes < 0.4 * listed.find((m: { id: string }) => m.id === "wall/fp32").bytes);
  const frame = (x: number, y: number) => ({
    image: { rgb: Array.from(getTask("wall").render(Float64Array.of(x, y))) },
    proprio: [x, y],
  });
  const res = await app.request("/v1/plan", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      task: "wall",
      variant: "rtn-w4g32",
      observation: frame(10, 20),
      goal: frame(50, 40),
      planner: { samples: 16, topk: 4, iterations: 2 },
    }),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).actions.length, 5);
  // The output is a model directory like any other: tampering is caught at load.
  const bytes = Deno.readFileSync(`${out}/predictor.onnx`);
  bytes[bytes.length - 10] ^= 1;
  Deno.writeFileSync(`${out}/predictor.onnx`, bytes);
  await assert.rejects(() => WorldModel.load(out), ModelLoadError);
});

Deno.test("quantize --method omniquant: deployable W4 and simulated W4A8 graphs that load, record the method, and beat RTN", async () => {
  const dir = Deno.makeTempDirSync();
  const few = { iterations: 8, rows: 128 }; // enough steps to move off RTN; the study uses the defaults (60, 512)
  const meanErr = (ls: { output_rel_err: number }[]) => ls.reduce((a, l) => a + l.output_rel_err, 0) / ls.length;
  const w4: QuantizeConfig = { ...W4, weight: { ...W4.weight, group: 32 }, modules: ["predictor"] };
  const rtn = await quantizeModelDir(FP32, `${dir}/rtn`, w4, quiet);
  const omni = await quantizeModelDir(FP32, `${dir}/omni`, { ...w4, method: "omniquant", ...few }, quiet);
  assert.equal(omni.card.variant, "pred-omniquant-w4g32");
  const rec = (omni.card.quantization as QuantizationRecord).modules.predictor!;
  assert.equal(rec.method, "omniquant");
  assert.equal((rec as unknown as Record<string, unknown>).iterations, 8);
  assert.ok(
    meanErr(omni.layers) < meanErr(rtn.layers),
    `omniquant ${meanErr(omni.layers)} vs rtn ${meanErr(rtn.layers)}`,
  );
  // Same packing as RTN: the files differ only by the method's name written in the graph.
  const [ob, rb] = [omni.card.files["predictor.onnx"].bytes, rtn.card.files["predictor.onnx"].bytes];
  assert.ok(Math.abs(ob - rb) < 64, `${ob} vs ${rb} bytes`);
  // With activations (simulated graph): LET's scale and shift are folded into the graph, which still loads and rolls out.
  const w4a8: QuantizeConfig = {
    ...w4,
    method: "omniquant",
    act: { bits: 8, mode: "per-token" },
    format: "sim",
    ...few,
  };
  const sim = await quantizeModelDir(FP32, `${dir}/sim`, w4a8, quiet);
  assert.equal(sim.card.variant, "pred-omniquant-w4g32a8tok-sim");
  for (const out of [`${dir}/omni`, `${dir}/sim`]) {
    const m = await WorldModel.load(out, { backend: "node", threads: 1 });
    const z = await m.encode(new Uint8Array(64 * 64 * 3).fill(200), 1);
    const steps = await m.rollout(z, new Float32Array(2), new Float32Array(4 * 5 * 10).fill(0.3), 4, 5);
    assert.ok(steps[4].tokens.every(Number.isFinite), out);
  }
});

Deno.test("quantize: encoder and predictor get their own bits, by chaining runs; quantized layers are not redone", async () => {
  const enc = Deno.makeTempDirSync(), both = Deno.makeTempDirSync();
  await quantizeModelDir(FP32, enc, {
    ...W4,
    weight: { bits: 8, granularity: "channel", symmetric: true },
    modules: ["encoder"],
  }, quiet);
  assert.equal(hashes(enc)["predictor.onnx"], hashes(FP32)["predictor.onnx"], "only the chosen module changes");
  assert.notEqual(hashes(enc)["encoder.onnx"], hashes(FP32)["encoder.onnx"]);
  const { card } = await quantizeModelDir(enc, both, { ...W4, modules: ["predictor"] }, quiet);
  const q = card.quantization as QuantizationRecord;
  assert.equal(card.variant, "enc-rtn-w8.pred-rtn-w4g32");
  assert.equal(q.modules.encoder!.weight.bits, 8);
  assert.equal(q.modules.predictor!.weight.bits, 4);
  assert.equal(q.from.dir, FP32);
  assert.equal(hashes(both)["encoder.onnx"], hashes(enc)["encoder.onnx"]);
  await WorldModel.load(both, { backend: "node" });
  // The encoder's blocks are MatMulNBits now: nothing left to quantize there.
  await assert.rejects(
    () => quantizeModelDir(both, `${Deno.makeTempDirSync()}/x`, { ...W4, modules: ["encoder"] }, quiet),
    /no quantizable layers/,
  );
});

Deno.test("quantize: bad input gets a clear error and leaves the input alone", async () => {
  const before = hashes(FP32);
  const out = () => `${Deno.makeTempDirSync()}/out`;
  const bad: [QuantizeConfig, string, RegExp][] = [
    [{ ...W4, weight: { ...W4.weight, bits: 1 } }, FP32, /weight bits must be an integer in 2..8, got 1/],
    [{ ...W4, weight: { ...W4.weight, bits: 9 } }, FP32, /weight bits must be an integer in 2..8, got 9/],
    [{ ...W4, weight: { ...W4.weight, group: 24 } }, FP32, /cannot deploy: MatMulNBits needs groups of 16, 32, 64/],
    [{ ...W4, weight: { ...W4.weight, bits: 6 } }, FP32, /cannot deploy.*--format sim/],
    [{ ...W4, act: { bits: 9, mode: "dynamic" } }, FP32, /activation bits/],
    [{ ...W4, method: "smoothquant" }, FP32, /give --abits/],
    [{ ...W4, method: "nope" as "rtn" }, FP32, /--method must be one of/],
    [
      W4,
      modelDirWith("encoder.onnx", new TextEncoder().encode("not a model at all")),
      /encoder.onnx: not a valid ONNX model/,
    ],
  ];
  // A predictor graph with nothing to quantize.
  const relu = encodeModel({
    irVersion: 8,
    opsetImport: [{ version: 17 }],
    graph: {
      nodes: [makeNode("Relu", ["tokens"], ["next_tokens"], "relu")],
      initializers: [],
      inputs: [makeValueInfo("tokens")],
      outputs: [makeValueInfo("next_tokens")],
      valueInfo: [],
      rest: [],
    },
    metadataProps: [],
    rest: [],
  });
  bad.push([{ ...W4, modules: ["predictor"] }, modelDirWith("predictor.onnx", relu), /no quantizable layers/]);
  for (const [config, dir, message] of bad) {
    const target = out();
    await assert.rejects(() => quantizeModelDir(dir, target, config, quiet), (e: Error) => {
      assert.ok(e instanceof QuantError, `${e.name}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    });
    assert.throws(() => Deno.statSync(target), Deno.errors.NotFound, "nothing written on error");
  }
  await assert.rejects(() => quantizeModelDir(FP32, FP32, W4, quiet), /--out must differ/);
  assert.deepEqual(hashes(FP32), before);
});

Deno.test("quantize CLI: bad flags exit 2 with one line naming the flag", async () => {
  const run = async (...args: string[]) => {
    const p = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-ffi", "quant/quantize.ts", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: p.code, err: new TextDecoder().decode(p.stderr) };
  };
  const a = await run("--model", FP32, "--out", "/tmp/never", "--wbits", "9");
  assert.equal(a.code, 2);
  assert.match(a.err, /--wbits must be an integer in \[2, 8\]/);
  const b = await run("--model", FP32, "--out", "/tmp/never", "--wbits", "4", "--group", "24");
  assert.equal(b.code, 2);
  assert.match(b.err, /needs groups of 16, 32, 64, 128 or 256, not 24/);
  assert.doesNotMatch(b.err, /\n\s+at /, "no stack trace");
  const c = await run(
    "--model",
    FP32,
    "--out",
    "/tmp/never",
    "--method",
    "omniquant",
    "--wbits",
    "4",
    "--lwc-lr",
    "-1",
  );
  assert.equal(c.code, 2);
  assert.match(c.err, /--lwc-lr/);
  assert.equal(c.err.trim().split("\n").length, 1, c.err);
});

Deno.test("quantize: --layers all takes any group; layers the group does not divide fall back to per-channel, recorded", async () => {
  const out = `${Deno.makeTempDirSync()}/w4g64`;
  const config: QuantizeConfig = { ...W4, weight: { ...W4.weight, group: 64 }, layers: "all", modules: ["encoder"] };
  const { card, layers } = await quantizeModelDir(FP32, out, config, quiet);
  const fell = layers.filter((l) => l.fallback);
  assert.ok(fell.length > 0, "the encoder's 96-input layers cannot take groups of 64");
  for (const l of fell) assert.match(l.fallback!, new RegExp(`group 64 (does not divide|covers) the ${l.K} inputs`));
  for (const l of layers.filter((l) => !l.fallback)) assert.equal(l.K % 64, 0, `${l.layer} is grouped`);
  const q = card.quantization as QuantizationRecord;
  assert.equal(q.modules.encoder!.per_layer.filter((l) => l.fallback).length, fell.length);
  assert.ok(q.bytes.quantized < q.bytes.fp32);
  await WorldModel.load(out, { threads: 1 }); // it loads and its hashes check out
});

Deno.test("quantize: --layers whole also takes the patch embedding: a smaller encoder whose latents stay close", async () => {
  const dir = Deno.makeTempDirSync();
  const config: QuantizeConfig = { ...W4, weight: { ...W4.weight, group: 32 }, modules: ["encoder"] };
  const all = await quantizeModelDir(FP32, `${dir}/all`, { ...config, layers: "all" }, quiet);
  const whole = await quantizeModelDir(FP32, `${dir}/whole`, { ...config, layers: "whole" }, quiet);
  const patch = whole.layers.find((l) => l.layer.includes("patchify"))!;
  assert.deepEqual([patch.K, patch.N], [768, 96], "the patch embedding is a 768 x 96 layer");
  assert.ok(!all.layers.some((l) => l.layer.includes("patchify")), "layers all leaves it in fp32");
  const bytes = (c: typeof all.card) => c.files["encoder.onnx"].bytes;
  // 73,728 fp32 weights (295 KB) become 4-bit codes with a scale and zero point per 32: ~200 KB less.
  assert.ok(bytes(all.card) - bytes(whole.card) > 200_000, `${bytes(all.card)} -> ${bytes(whole.card)}`);
  const [ref, q] = [await WorldModel.load(FP32, { threads: 1 }), await WorldModel.load(`${dir}/whole`, { threads: 1 })];
  const task = getTask("wall"), rng = new Rng(3), S = ref.card.image_size;
  const images = new Uint8Array(4 * S * S * 3);
  for (let i = 0; i < 4; i++) images.set(task.render(task.sampleEpisode(rng).start, S), i * S * S * 3);
  const [a, b] = [await ref.encode(images, 4), await q.encode(images, 4)];
  let err = 0, norm = 0;
  for (let i = 0; i < a.tokens.length; i++) {
    [err, norm] = [err + (a.tokens[i] - b.tokens[i]) ** 2, norm + a.tokens[i] ** 2];
  }
  assert.ok(err / norm < 0.01, `relative token error ${err / norm}`);
});

Deno.test("quantize: the distance head is a module too: smaller, and its embedding stays close", async () => {
  const dir = Deno.makeTempDirSync();
  const config: QuantizeConfig = {
    ...W4,
    method: "gptq",
    weight: { ...W4.weight, group: 16 },
    modules: ["encoder", "predictor", "distance"],
    layers: "whole",
  };
  const r = await quantizeModelDir(FP32, dir, config, quiet);
  const q = r.card.quantization as QuantizationRecord;
  assert.deepEqual(Object.keys(q.modules).sort(), ["distance", "encoder", "predictor"]);
  assert.equal(q.modules.distance!.per_layer.length, 3, "the head's three Gemm layers");
  const fp32Bytes = JSON.parse(Deno.readTextFileSync(`${FP32}/model.json`)).files["distance.onnx"].bytes;
  assert.ok(
    r.card.files["distance.onnx"].bytes < fp32Bytes / 3,
    `${fp32Bytes} -> ${r.card.files["distance.onnx"].bytes}`,
  );
  // The head's embedding of real latents, fp32 vs quantized head (same fp32 encoder output).
  const ref = await WorldModel.load(FP32, { threads: 1 }), qm = await WorldModel.load(dir, { threads: 1 });
  const task = getTask("wall"), rng = new Rng(5), S = ref.card.image_size;
  const images = new Uint8Array(8 * S * S * 3);
  for (let i = 0; i < 8; i++) images.set(task.render(task.sampleEpisode(rng).start, S), i * S * S * 3);
  const z = await ref.encode(images, 8);
  const [a, b] = [await ref.phi(z, 8), await qm.phi(z, 8)];
  let err = 0, norm = 0;
  for (let i = 0; i < a.length; i++) [err, norm] = [err + (a[i] - b[i]) ** 2, norm + a[i] ** 2];
  assert.ok(err / norm < 0.01, `relative phi error ${err / norm}`);
  // Named alone, only the head is quantized; a model without one refuses it by name.
  const only = await quantizeModelDir(FP32, `${dir}-dist`, { ...W4, modules: ["distance"] }, quiet);
  assert.equal(only.card.variant, "dist-rtn-w4g32");
  assert.equal(
    only.card.files["encoder.onnx"].sha256,
    JSON.parse(Deno.readTextFileSync(`${FP32}/model.json`)).files["encoder.onnx"].sha256,
  );
  await assert.rejects(
    () => quantizeModelDir("models/reacher/fp32", `${dir}-r`, { ...W4, modules: ["distance"] }, quiet),
    (e: Error) => e instanceof QuantError && /no distance head/.test(e.message),
  );
});
