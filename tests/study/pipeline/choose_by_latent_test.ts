// A low-bit default without a simulator: held-out windows from a dataset, the latent errors, and the rule.
import assert from "node:assert/strict";
import { WorldModel } from "../../../agent/world_model.ts";
import { loadModelCard } from "../../../model/model_card.ts";
import { heldOutWindows, latentErrors } from "../../../study/pipeline/choose_by_latent.ts";
import { writeDataset } from "../../../tasks/dataset.ts";

const data = Deno.makeTempDirSync();
await writeDataset({ task: "wall", episodes: 30, steps: 30, seed: 11, out: data });

Deno.test("heldOutWindows() and latentErrors(): fp32 adds nothing to itself and has an error of its own", async () => {
  const ref = await WorldModel.load("models/wall/fp32", { backend: "node", threads: 1 });
  const held = heldOutWindows(ref.card, data, 6);
  assert.equal(held.windows, 6);
  assert.equal(held.actions.length, 6 * 5 * ref.card.action_dim);
  const e = await latentErrors(ref, ref, held);
  assert.equal(e.added, 0);
  assert.ok(e.own > 0 && e.own < 0.1, `own ${e.own}`);
});

Deno.test("study choose: quantizes the candidates, keeps the smallest within the ratio, says in its card why", async () => {
  const root = Deno.makeTempDirSync();
  Deno.mkdirSync(`${root}/fp32`);
  for (const f of Deno.readDirSync("models/wall/fp32")) {
    Deno.copyFileSync(`models/wall/fp32/${f.name}`, `${root}/fp32/${f.name}`);
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "study/study.ts",
      "choose",
      "--model",
      `${root}/fp32`,
      "--data",
      data,
      "--holdout",
      "6",
      "--calib-episodes",
      "12",
      "--candidates",
      "gptq-w8-whole,gptq-w4g32-whole",
      "--max-ratio",
      "0.25",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  const w8 = r.candidates.find((c: { id: string }) => c.id === "gptq-w8-whole");
  const w4 = r.candidates.find((c: { id: string }) => c.id === "gptq-w4g32-whole");
  assert.ok(w8.added < w4.added, "8-bit weights add less error than 4-bit ones");
  const expected = [w8, w4].filter((c) => c.ratio <= 0.25).sort((a, b) => a.bytes - b.bytes)[0]?.id ?? null;
  assert.equal(r.chosen, expected);
  if (r.chosen) {
    const card = loadModelCard(`${root}/${r.chosen}`);
    assert.equal(card.selection?.success, null);
    assert.match(card.selection!.rule, /latent error[^]*no simulator/);
  }
});
