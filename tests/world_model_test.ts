// Every committed model runs on onnxruntime-web in Deno and matches the exporter's
// reference outputs; model.json hashes are checked and tampered files are refused.
import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import { loadModelCard, ModelLoadError } from "../agent/model_card.ts";
import { WorldModel } from "../agent/world_model.ts";

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
  Deno.test(`${dir}: ONNX graphs match the exporter's reference outputs (max abs error <= 1e-4)`, async () => {
    const card = loadModelCard(dir);
    const ref = JSON.parse(Deno.readTextFileSync(`${dir}/reference.json`));
    for (const graph of ["encoder", "predictor"]) {
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
        const err = maxAbsDiff(out[name].data as Float32Array, v.data);
        assert.ok(err <= 1e-4, `${dir} ${graph}.${name}: max abs error ${err}`);
      }
    }
    assert.equal(
      card.tokens * card.latent_dim,
      (ref.encoder.outputs as Ref).tokens.shape.slice(1).reduce((a, b) => a * b),
    );
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
      const err = maxAbsDiff(one[H - 1].global, all[H - 1].global.subarray(s * G, (s + 1) * G));
      assert.ok(err < 1e-4, `sample ${s}: ${err}`);
    }
  });
}
