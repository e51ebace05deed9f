// Oracle-driven demonstrations: dataset episodes in the data contract, reproducible from (seed, episode),
// recorded in meta.json, and refused on resume when their settings changed.
import assert from "node:assert/strict";
import { demonstrationSource, goalFrom } from "../../agent/demonstrations.ts";
import { generateEpisode, writeDataset } from "../../tasks/dataset.ts";
import { Rng } from "../../lib/rng.ts";
import { getTask } from "../../tasks/registry.ts";

const wall = getTask("wall");

Deno.test("demonstrations: the same seed gives the same bytes; the source and its settings are in meta.json", async () => {
  const a = Deno.makeTempDirSync(), b = Deno.makeTempDirSync();
  try {
    const o = {
      task: "wall",
      episodes: 3,
      steps: 20,
      seed: 4,
      out: a,
      source: demonstrationSource({ behaviourFraction: 0 }),
    };
    const meta = await writeDataset(o);
    await writeDataset({ ...o, out: b });
    for (const f of ["obs", "actions", "proprio", "states"]) {
      assert.deepEqual(Deno.readFileSync(`${a}/${f}.npy`), Deno.readFileSync(`${b}/${f}.npy`), f);
    }
    assert.equal(meta.generator.source, "oracle demonstrations");
    assert.equal(meta.generator.settings?.noise, 0.2);
    // A run with other settings is not mixed into the same folder.
    await assert.rejects(
      () => writeDataset({ ...o, source: demonstrationSource({ behaviourFraction: 0, noise: 0.5 }) }),
      /not empty|other settings/,
    );
  } finally {
    Deno.removeSync(a, { recursive: true });
    Deno.removeSync(b, { recursive: true });
  }
});

Deno.test("demonstrations: the oracle reaches the goals it is given; behaviour fraction 1 is the behaviour policy", async () => {
  const demo = demonstrationSource({ behaviourFraction: 0, noise: 0 });
  for (let i = 0; i < 6; i++) await demo.episode(wall, 0, i, 60, 16);
  // Each episode's last goal is cut short by the episode's end; the others must be reached (wall's oracle: 1.00).
  const finished = demo.goals.drawn - 6;
  assert.ok(finished >= 6, `${demo.goals.drawn} goals drawn`);
  assert.ok(demo.goals.reached >= 0.9 * finished, `reached ${demo.goals.reached} of ${finished} finished goals`);
  const all = demonstrationSource({ behaviourFraction: 1 });
  assert.deepEqual((await all.episode(wall, 3, 1, 10, 16)).states, generateEpisode(wall, 3, 1, 10, 16).states);
  assert.equal(all.goals.drawn, 0);
});

Deno.test("goalFrom(): the behaviour policy run on from a state, as the evaluation draws goals", () => {
  const start = Float64Array.of(10, 10);
  const g = goalFrom(wall, start, 25, new Rng(1));
  assert.equal(g.length, 2);
  assert.ok(Math.hypot(g[0] - 10, g[1] - 10) > 0);
  assert.deepEqual(goalFrom(wall, start, 25, new Rng(1)), g, "seeded");
});
