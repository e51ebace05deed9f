import assert from "node:assert/strict";
import { readNpy } from "../../lib/npy.ts";
import { straightPath, writeProbe } from "../../tasks/probe.ts";
import { getTask } from "../../tasks/registry.ts";

Deno.test("straightPath() ends at the goal and turns angles the short way", () => {
  const task = getTask("reacher");
  const p = straightPath(task, Float64Array.of(3, 0, 0, 0), Float64Array.of(-3, 1, 0, 0), 5);
  assert.deepEqual([...p[4]].map((v) => +v.toFixed(9)), [-3, 1, 0, 0]);
  // 3 -> -3 is 0.28 rad the short way (through pi), not 6 rad through 0.
  for (const s of p) assert.ok(Math.abs(s[0]) > 2.9, `shoulder ${s[0]}`);
});

Deno.test("writeProbe() writes pairs with true distances and paths whose distance falls to 0", () => {
  const out = Deno.makeTempDirSync();
  try {
    writeProbe({ task: "wall", pairs: 20, paths: 4, length: 6, seed: 1, size: 32, out });
    assert.deepEqual(readNpy(`${out}/pairs_a.npy`).shape, [20, 32, 32, 3]);
    const pd = readNpy(`${out}/paths_dist.npy`);
    assert.deepEqual(pd.shape, [4, 6]);
    for (let k = 0; k < 4; k++) {
      const d = [...pd.data.subarray(k * 6, k * 6 + 6)];
      assert.equal(d[5], 0);
      for (let j = 1; j < 6; j++) assert.ok(d[j] < d[j - 1], `path ${k}: ${d}`);
    }
    for (const v of readNpy(`${out}/pairs_dist.npy`).data) assert.ok(v >= 0 && Number.isFinite(v));
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});
