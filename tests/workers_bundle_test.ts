// The planner on a Workers runtime (workerd), as `deno task bundle --workers` builds it: served by
// workerd from its config alone, planning wall episodes in a closed loop; a corrupt model is refused
// with a message naming the file. workerd comes from npm (`.ci/run` installs it and sets
// EDGEWM_WORKERD); without it these tests are skipped, saying so.
import assert from "node:assert/strict";
import { stopServer, waitReady, wallClosedLoop } from "./_helpers.ts";
import { bundleWorkers } from "../deploy/workers_bundle.ts";
import { Rng } from "../lib/rng.ts";
import { getTask } from "../tasks/registry.ts";

function findWorkerd(): string | null {
  for (const bin of [Deno.env.get("EDGEWM_WORKERD"), "workerd"]) {
    if (!bin) continue;
    try {
      if (new Deno.Command(bin, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success) {
        return bin;
      }
    } catch { /* not there */ }
  }
  console.log("workerd not found (set EDGEWM_WORKERD or put it on PATH): the Workers-runtime tests are skipped");
  return null;
}
const WORKERD = findWorkerd();
const OUT = Deno.makeTempDirSync({ prefix: "edgewm-workers-" }) + "/workers";
const MODEL = "wall/fp32";

function serve(port: number, dir = OUT) {
  return new Deno.Command(WORKERD!, {
    args: ["serve", `${dir}/config.capnp`, "--socket-addr", `http=127.0.0.1:${port}`],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test({
  name: "workerd serves the planner from its bundle: the wasm as a module, the models as data, a closed loop",
  ignore: WORKERD === null,
  async fn() {
    const sizes = await bundleWorkers(OUT, [MODEL]);
    // Cloudflare's limit on code + wasm is 10 MB compressed.
    assert.ok(sizes.code_and_wasm_gzip_bytes < 10e6, `compressed code + wasm ${sizes.code_and_wasm_gzip_bytes}`);
    const port = 23000 + Math.floor(Math.random() * 1000);
    const p = serve(port);
    try {
      await waitReady(port, p); // the first request loads the models
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const wasm = Number(/edgewm_wasm_memory_bytes (\d+)/.exec(metrics)?.[1]);
      assert.ok(wasm > 0 && wasm < 128 * 2 ** 20, `wasm linear memory ${wasm} (the isolate limit is 128 MB)`);
      assert.doesNotMatch(metrics, /process_resident_memory_bytes/); // an isolate has no process RSS to report
      const wall = getTask("wall");
      const r = await wallClosedLoop(port, 4, "fp32");
      // Concurrent requests share the isolate: none may wait on another's promise (workerd cancels those).
      const statuses = await Promise.all([0, 1, 2, 3].map(async (i) => {
        const obs = {
          image: { rgb: Array.from(wall.render(wall.sampleEpisode(new Rng(i)).start, 64)) },
          proprio: [0, 0],
        };
        const res = await fetch(`http://127.0.0.1:${port}/v1/plan`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ task: "wall", observation: obs, goal: obs, seed: i }),
        });
        await res.body?.cancel();
        return res.status;
      }));
      assert.deepEqual(statuses, [200, 200, 200, 200]);
      console.log(JSON.stringify({ workers: sizes, success: r.success_at }));
      // 0.80 over 20 episodes through the source server; 4 episodes leave room for spread.
      assert.ok(r.success_rate >= 0.5, `closed-loop success on workerd ${r.success_rate}`);
    } finally {
      await stopServer(p);
    }
  },
});

Deno.test({
  name: "workerd with a corrupt model: every request is a 503 naming the file, never a plan",
  ignore: WORKERD === null,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "edgewm-workers-bad-" }) + "/workers";
    await bundleWorkers(dir, [MODEL]);
    const file = `${dir}/models/${MODEL}/predictor.onnx`;
    const bytes = Deno.readFileSync(file);
    bytes[1000] ^= 0xff;
    Deno.writeFileSync(file, bytes);
    const port = 24000 + Math.floor(Math.random() * 1000);
    const p = serve(port, dir);
    try {
      let res: Response | null = null;
      for (let i = 0; i < 100 && !res; i++) {
        res = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => null);
        if (!res) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(res, "workerd never listened");
      assert.equal(res.status, 503);
      assert.match((await res.json()).error, /predictor\.onnx does not match model\.json/);
    } finally {
      await stopServer(p);
    }
  },
});
