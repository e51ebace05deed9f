import assert from "node:assert/strict";
import { DATASET_VERSION, DatasetError, generateEpisode, writeDataset } from "../../tasks/dataset.ts";
import { readNpy } from "../../lib/npy.ts";
import { getTask } from "../../tasks/registry.ts";
import { TASK_NAMES } from "../../tasks/task.ts";
import { assertSameArray } from "../_helpers.ts";

const FILES = ["obs", "actions", "proprio", "states"];

function assertSameFiles(a: string, b: string): void {
  for (const f of [...FILES.map((f) => `${f}.npy`), "meta.json"]) {
    assertSameArray(Deno.readFileSync(`${a}/${f}`), Deno.readFileSync(`${b}/${f}`), f);
  }
}

for (const name of TASK_NAMES) {
  Deno.test(`dataset ${name}: same seed, same bytes; shapes and dtypes follow the contract`, async () => {
    const a = Deno.makeTempDirSync(), b = Deno.makeTempDirSync();
    try {
      const meta = await writeDataset({ task: name, episodes: 3, steps: 12, seed: 5, out: a });
      await writeDataset({ task: name, episodes: 3, steps: 12, seed: 5, out: b });
      assertSameFiles(a, b);
      const task = getTask(name);
      const obs = readNpy(`${a}/obs.npy`), act = readNpy(`${a}/actions.npy`);
      const pro = readNpy(`${a}/proprio.npy`), st = readNpy(`${a}/states.npy`);
      assert.equal(obs.dtype, "u1");
      assert.deepEqual(obs.shape, [3, 13, 64, 64, 3]);
      assert.equal(act.dtype, "f4");
      assert.deepEqual(act.shape, [3, 12, task.actionDim]);
      assert.deepEqual(pro.shape, [3, 13, task.proprioDim]);
      assert.deepEqual(st.shape, [3, 13, task.stateDim]);
      assert.equal(meta.frameskip, 5);
      assert.equal(meta.action_std.length, task.actionDim);
      // Frames are the renders of the stored states (to float32 precision).
      const ep = generateEpisode(task, 5, 1, 12, 64);
      assertSameArray(obs.data.subarray(13 * 64 * 64 * 3, 26 * 64 * 64 * 3), ep.obs, "episode 1 frames");
      for (const v of act.data) assert.ok(v >= -1 && v <= 1);
    } finally {
      Deno.removeSync(a, { recursive: true });
      Deno.removeSync(b, { recursive: true });
    }
  });
}

Deno.test("dataset: an interrupted run resumes to the same bytes", async () => {
  const full = Deno.makeTempDirSync(), part = Deno.makeTempDirSync();
  try {
    await writeDataset({ task: "wall", episodes: 4, steps: 10, seed: 9, out: full });
    // Simulate a crash after 2 episodes: write 2 with the 4-episode settings, then truncate progress.
    await writeDataset({ task: "wall", episodes: 4, steps: 10, seed: 9, out: part });
    const key = JSON.stringify({ task: "wall", episodes: 4, steps: 10, seed: 9, size: 64, version: DATASET_VERSION });
    Deno.writeTextFileSync(`${part}/progress.json`, JSON.stringify({ settings: key, done: 2 }));
    Deno.removeSync(`${part}/meta.json`);
    // Corrupt what episode 3 wrote: resuming must rewrite it.
    const f = Deno.openSync(`${part}/obs.npy`, { write: true });
    f.seekSync(-100, Deno.SeekMode.End);
    f.writeSync(new Uint8Array(50).fill(7));
    f.close();
    await writeDataset({ task: "wall", episodes: 4, steps: 10, seed: 9, out: part });
    assertSameFiles(part, full);
  } finally {
    Deno.removeSync(full, { recursive: true });
    Deno.removeSync(part, { recursive: true });
  }
});

Deno.test("dataset: --out that is a file, or a foreign folder, is refused and left untouched", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const file = `${dir}/a.txt`;
    Deno.writeTextFileSync(file, "keep me");
    await assert.rejects(() => writeDataset({ task: "wall", episodes: 1, steps: 2, seed: 0, out: file }), /is a file/);
    await assert.rejects(() => writeDataset({ task: "wall", episodes: 1, steps: 2, seed: 0, out: dir }), DatasetError);
    assert.equal(Deno.readTextFileSync(file), "keep me");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.txt"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dataset: a finished dataset with other settings is not overwritten", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    await writeDataset({ task: "wall", episodes: 2, steps: 3, seed: 0, out: dir });
    const copy = Deno.makeTempDirSync();
    for (const e of Deno.readDirSync(dir)) Deno.copyFileSync(`${dir}/${e.name}`, `${copy}/${e.name}`);
    await assert.rejects(() => writeDataset({ task: "wall", episodes: 2, steps: 3, seed: 1, out: dir }), /not empty/);
    assertSameFiles(dir, copy);
    Deno.removeSync(copy, { recursive: true });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
