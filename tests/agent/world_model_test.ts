// Every committed model runs on onnxruntime-web in Deno and matches the exporter's
// reference outputs; model.json hashes are checked and tampered files are refused.
import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import { loadModelCard, ModelLoadError } from "../../model/model_card.ts";
import { WorldModel } from "../../agent/world_model.ts";
import { PRESET_NAMES } from "../../model/planner_options.ts";
import { modelWithToyPolicy } from "../_onnx_graphs.ts";

function modelDirs(): string[] {
  const dirs: string[] = [];
  for (const task of Deno.readDirSync("models")) {
    if (!task.isDirectory) continue;
    for (const v of Deno.readDirSync(`models/${task.name}`)) {
      const d = `models/${task.name}/${v.name}`;
      try {
        Deno.statSync(`${d}/model.json`);
        dirs.push(d);
      } catch { /* not a model */ }
    }
  }
  return dirs.sort();
}

type Ref = Record<string, { shape: number[]; data: number[] }>;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function copyModel(dir: string): string {
  const tmp = Deno.makeTempDirSync();
  for (const e of Deno.readDirSync(dir)) Deno.copyFileSync(`${dir}/${e.name}`, `${tmp}/${e.name}`);
  return tmp;
}

const dirs = modelDirs();

Deno.test("there is at least one committed model", () => {
  assert.ok(dirs.length > 0, "no models/<task>/<variant>/model.json found");
});

for (const dir of dirs) {
  const quantized = !!loadModelCard(dir).quantization;
  // A quantized variant is checked against its fp32 model's reference, within the study's latent error.
  // (10%: W2 variants reach ~5% on a single frame; the closed-loop suites are their real test.)
  const tol = quantized ? "relative error <= 10%" : "max abs error <= 1e-4";
  Deno.test(`${dir}: ONNX graphs match the exporter's reference outputs (${tol})`, async () => {
    const card = loadModelCard(dir);
    const refDir = quantized ? `models/${card.task}/fp32` : dir;
    const ref = JSON.parse(Deno.readTextFileSync(`${refDir}/reference.json`));
    // Every graph the reference covers and the folder holds (the distance head where there is one).
    for (const graph of Object.keys(ref).filter((g) => card.files[`${g}.onnx`])) {
      const session = await ort.InferenceSession.create(Deno.readFileSync(`${dir}/${graph}.onnx`));
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, v] of Object.entries(ref[graph].inputs as Ref)) {
        feeds[name] = name === "image"
          ? new ort.Tensor("uint8", Uint8Array.from(v.data), v.shape)
          : new ort.Tensor("float32", Float32Array.from(v.data), v.shape);
      }
      const out = await session.run(feeds);
      for (const [name, v] of Object.entries(ref[graph].outputs as Ref)) {
        assert.deepEqual([...out[name].dims], v.shape, `${graph}.${name} shape`);
        const got = out[name].data as Float32Array;
        if (quantized) {
          // Latents only: a quantized predictor's proprio head may drift more (pusht W2: 33%), and is
          // judged where it matters, in the closed-loop suites.
          if (name.endsWith("proprio")) continue;
          let num = 0, den = 0;
          for (let i = 0; i < got.length; i++) {
            num += (got[i] - v.data[i]) ** 2;
            den += v.data[i] ** 2;
          }
          assert.ok(num / den <= 0.1, `${dir} ${graph}.${name}: relative error ${num / den}`);
          continue;
        }
        const err = maxAbsDiff(got, v.data);
        assert.ok(err <= 1e-4, `${dir} ${graph}.${name}: max abs error ${err}`);
      }
    }
    assert.equal(
      card.tokens * card.latent_dim,
      (ref.encoder.outputs as Ref).tokens.shape.slice(1).reduce((a, b) => a * b),
    );
  });

  Deno.test(`${dir}: model.json states the planner it is served with`, () => {
    const card = loadModelCard(dir);
    assert.ok(card.planner, "no planner in model.json");
    assert.ok(card.planner.preset && PRESET_NAMES.includes(card.planner.preset), `preset ${card.planner.preset}`);
  });

  Deno.test(`${dir}: a tampered graph is refused at load with a message naming it`, async () => {
    const tmp = copyModel(dir);
    try {
      const bytes = Deno.readFileSync(`${tmp}/predictor.onnx`);
      bytes[bytes.length >> 1] ^= 0x5a;
      Deno.writeFileSync(`${tmp}/predictor.onnx`, bytes);
      await assert.rejects(() => WorldModel.load(tmp), (e: Error) => {
        assert.ok(e instanceof ModelLoadError);
        assert.match(e.message, /predictor\.onnx does not match model\.json \(sha256/);
        return true;
      });
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  });

  Deno.test(`${dir}: missing files, bad JSON and inconsistent cards are refused`, () => {
    const tmp = copyModel(dir);
    try {
      Deno.removeSync(`${tmp}/encoder.onnx`);
      assert.throws(() => loadModelCard(tmp), /encoder\.onnx is listed in model\.json but missing/);
      Deno.writeTextFileSync(`${tmp}/model.json`, "{ not json");
      assert.throws(() => loadModelCard(tmp), /model\.json is not valid JSON/);
      const card = JSON.parse(Deno.readTextFileSync(`${dir}/model.json`));
      Deno.copyFileSync(`${dir}/encoder.onnx`, `${tmp}/encoder.onnx`);
      Deno.writeTextFileSync(`${tmp}/model.json`, JSON.stringify({ ...card, action_dim: card.action_dim + 1 }));
      assert.throws(() => loadModelCard(tmp), /action_dim/);
      Deno.writeTextFileSync(`${tmp}/model.json`, JSON.stringify({ ...card, format: "other/9" }));
      assert.throws(() => loadModelCard(tmp), ModelLoadError);
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  });

  // Dynamic activation ranges (W8A8 "dyn") are taken per tensor over the whole batch, so a sample's result
  // moves with its batch mates by up to a quantization step: those variants are held to 1% instead.
  const modules = (loadModelCard(dir).quantization as { modules?: Record<string, { act?: { mode: string } | null }> })
    ?.modules ?? {};
  const dynamic = Object.values(modules).some((m) => m.act?.mode === "dynamic");
  Deno.test(`${dir}: a rollout of S samples equals S separate rollouts (history shared correctly)`, async () => {
    const model = await WorldModel.load(dir, { threads: 1 });
    const c = model.card, S = 3, H = 3;
    const img = new Uint8Array(c.image_size * c.image_size * 3).map((_, i) => (i * 37) % 256);
    const z = await model.encode(img, 1);
    const p = new Float32Array(c.proprio_dim).fill(0.1);
    const acts = Float32Array.from({ length: S * H * c.action_dim }, (_, i) => Math.sin(i));
    const all = await model.rollout(z, p, acts, S, H);
    for (let s = 0; s < S; s++) {
      const one = await model.rollout(z, p, acts.subarray(s * H * c.action_dim, (s + 1) * H * c.action_dim), 1, H);
      const G = c.global_dim;
      const a = one[H - 1].global, b = all[H - 1].global.subarray(s * G, (s + 1) * G);
      const err = maxAbsDiff(a, b);
      const scale = Math.max(...Array.from(a, Math.abs));
      assert.ok(dynamic ? err < 0.01 * scale : err < 1e-4, `sample ${s}: ${err} (max |global| ${scale})`);
    }
  });
}

Deno.test("WorldModel.cost = w_patch MSE(tokens) + w_global ||global - goal|| + w_proprio MSE(proprio), per sample", async () => {
  const model = await WorldModel.load("models/reacher/fp32", { threads: 1 });
  const c = model.card, ND = c.tokens * c.latent_dim, G = c.global_dim, P = c.proprio_dim;
  const goal = {
    tokens: Float32Array.from({ length: ND }, (_, i) => Math.sin(i)),
    global: Float32Array.from({ length: G }, (_, i) => Math.cos(i)),
    batch: 1,
  };
  const goalProprio = Float32Array.from({ length: P }, (_, i) => i - 1);
  // Sample 0 is the goal itself; sample 1 is off by 0.5 in every token, 3 in one global entry, 2 in every proprio.
  const pred = {
    tokens: new Float32Array(2 * ND),
    global: new Float32Array(2 * G),
    proprio: new Float32Array(2 * P),
  };
  for (let s = 0; s < 2; s++) {
    pred.tokens.set(goal.tokens.map((v) => v + 0.5 * s), s * ND);
    pred.global.set(goal.global, s * G);
    pred.proprio.set(goalProprio.map((v) => v + 2 * s), s * P);
  }
  pred.global[G] += 3;
  const J = model.cost(pred, goal, goalProprio, 2);
  assert.equal(J[0], 0);
  const w = c.objective;
  const want = w.patch * 0.25 + w.global * 3 + w.proprio * 4;
  assert.ok(Math.abs(J[1] - want) < 1e-5, `cost ${J[1]}, want ${want}`);
  assert.ok(w.patch > 0 && w.proprio > 0 && w.global > 0, "reacher weighs every term, so each is checked");
});

Deno.test("WorldModel.cost measures the global term through objective.global_metric: ||M (global - goal)||", async () => {
  const model = await WorldModel.load("models/reacher/fp32", { threads: 1 });
  const c = model.card, ND = c.tokens * c.latent_dim, G = c.global_dim, P = c.proprio_dim;
  const goal = { tokens: new Float32Array(ND), global: Float32Array.from({ length: G }, (_, i) => i), batch: 1 };
  // Sample 0 is off by 2 in the first global dimension, sample 1 by 1 in the last two.
  const pred = { tokens: new Float32Array(2 * ND), global: new Float32Array(2 * G), proprio: new Float32Array(2 * P) };
  pred.global.set(goal.global, 0);
  pred.global.set(goal.global, G);
  pred.global[0] += 2;
  pred.global[2 * G - 1] += 1;
  pred.global[2 * G - 2] += 1;
  // M halves the last two dimensions and adds the first to the second.
  const M = Array.from(
    { length: G },
    (_, k) => Array.from({ length: G }, (_, i) => (k === i ? (k >= G - 2 ? 0.5 : 1) : 0)),
  );
  M[1][0] = 1;
  const objective = { ...c.objective, patch: 0, proprio: 0 };
  const as = (o: typeof objective) => Object.create(model, { card: { value: { ...c, objective: o } } }) as WorldModel;
  const plain = as(objective).cost(pred, goal, new Float32Array(P), 2);
  const J = as({ ...objective, global_metric: M }).cost(pred, goal, new Float32Array(P), 2);
  const w = c.objective.global;
  assert.ok(Math.abs(plain[0] - 2 * w) < 1e-6 && Math.abs(plain[1] - Math.SQRT2 * w) < 1e-6, `${plain}`);
  assert.ok(Math.abs(J[0] - Math.SQRT2 * 2 * w) < 1e-6, `(2, 2) after M: ${J[0]}`);
  assert.ok(Math.abs(J[1] - Math.SQRT1_2 * w) < 1e-6, `(0.5, 0.5) after M: ${J[1]}`);
});

Deno.test("WorldModel.objective adds w_distance ||phi(pred) - phi(goal)|| through the distance head", async () => {
  const model = await WorldModel.load("models/wall/fp32", { threads: 1 });
  const c = model.card, ND = c.tokens * c.latent_dim, G = c.global_dim, P = c.proprio_dim;
  assert.ok(c.objective.distance > 0 && c.files["distance.onnx"], "wall's fp32 model plans with a distance head");
  const S = c.image_size, F = S * S * 3;
  const imgs = new Uint8Array(3 * F).map((_, i) => (i * 31 + (i > F ? 90 : 0)) % 256);
  const z = await model.encode(imgs, 3);
  const goal = { tokens: z.tokens.subarray(0, ND), global: z.global.subarray(0, G), batch: 1 };
  const pred = { tokens: z.tokens, global: z.global, proprio: new Float32Array(3 * P) };
  const J = await model.objective(pred, goal, new Float32Array(P), 3);
  const base = model.cost(pred, goal, new Float32Array(P), 3);
  const phi = await model.phi(z, 3), K = phi.length / 3;
  assert.ok(Math.abs(J[0]) < 1e-6, `the goal itself costs ${J[0]}`);
  for (let s = 1; s < 3; s++) {
    let d = 0;
    for (let k = 0; k < K; k++) d += (phi[s * K + k] - phi[k]) ** 2;
    const want = base[s] + c.objective.distance * Math.sqrt(d);
    assert.ok(d > 0 && Math.abs(J[s] - want) < 1e-4 * Math.max(1, want), `sample ${s}: ${J[s]} vs ${want}`);
  }
});

Deno.test("WorldModel.encodePair encodes observation and goal as the two single encodes would", async () => {
  const model = await WorldModel.load("models/wall/fp32", { threads: 1 });
  const S = model.card.image_size, F = S * S * 3;
  const a = new Uint8Array(F).map((_, i) => (i * 7) % 256), b = new Uint8Array(F).map((_, i) => (i * 13) % 256);
  const pair = await model.encodePair(a, b);
  const [za, zb] = [await model.encode(a, 1), await model.encode(b, 1)];
  assert.ok(maxAbsDiff(pair.start.tokens, za.tokens) < 1e-5);
  assert.ok(maxAbsDiff(pair.goal.global, zb.global) < 1e-5);
  await assert.rejects(() => model.encodePair(a, b.subarray(1)), /must be 64x64 RGB/);
});

Deno.test("WorldModel.load: a proposal policy is loaded where the card lists policy.onnx, and one missing an input is refused", async () => {
  const plain = await WorldModel.load("models/wall/fp32", { threads: 1 });
  assert.equal(plain.hasPolicy, false);
  const good = modelWithToyPolicy("models/wall/fp32", { proposal: false });
  const bad = modelWithToyPolicy("models/wall/fp32", { inputs: ["global", "proprio"] });
  try {
    assert.equal((await WorldModel.load(good.dir, { threads: 1 })).hasPolicy, true);
    await assert.rejects(() => WorldModel.load(bad.dir, { threads: 1 }), (e: Error) => {
      assert.ok(e instanceof ModelLoadError, e.name);
      // The malformed graph fails either in onnxruntime (goal_global unbound) or in our input check.
      assert.match(e.message, /policy\.onnx/);
      return true;
    });
  } finally {
    for (const t of [good, bad]) Deno.removeSync(t.dir, { recursive: true });
  }
});
