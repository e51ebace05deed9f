// The edge bundle as a user deploys it: built by `deno task bundle`, moved out of the source tree,
// started with least privilege (read only its own folder, one port, the variables it reads; no FFI,
// no writes, no subprocesses) and an empty Deno cache, so anything it needed from outside fails.
import assert from "node:assert/strict";
import { stopServer, waitReady, wallClosedLoop } from "./_helpers.ts";
import { bundle } from "../deploy/bundle.ts";
import { ENV_NAMES } from "../agent/http/config.ts";

const HOME = Deno.makeTempDirSync({ prefix: "edgewm-edge-" });
const DIST = `${HOME}/dist`;
const sizes = await bundle(DIST, ["wall/fp32"]);

/** Node, where this machine has it (CI installs Deno through npm, so it does there). */
const NODE = (() => {
  try {
    return new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success
      ? "node"
      : null;
  } catch {
    return null;
  }
})();

function start(port: number, dist = DIST) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--allow-read=${dist}`,
      `--allow-net=127.0.0.1:${port}`,
      `--allow-env=${ENV_NAMES.join(",")}`,
      `${dist}/edgewm.js`,
    ],
    cwd: HOME,
    env: { PORT: String(port), DENO_DIR: Deno.makeTempDirSync(), EDGEWM_DRAIN_MS: "10000" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("the bundle is the server module + its worker (sharing chunks), the wasm and the models; sizes recorded", () => {
  const files = [...Deno.readDirSync(DIST)].map((e) => e.name).sort();
  for (
    const f of ["README.md", "bundle.json", "edgewm.js", "models", "ort-wasm-simd-threaded.wasm", "plan_worker.js"]
  ) {
    assert.ok(files.includes(f), `dist has ${f}`);
  }
  const recorded = JSON.parse(Deno.readTextFileSync(`${DIST}/bundle.json`));
  assert.equal(recorded.js_bytes, sizes.js_bytes);
  assert.ok(sizes.wasm_bytes > 1e6 && sizes.model_bytes > 1e5);
  assert.match(Deno.readTextFileSync(`${DIST}/README.md`), /deno run --allow-read=.*edgewm\.js/);
  // Built without --simulators: no simulator and no physics engine rides along (planck's solver settings).
  for (const f of files.filter((f) => f.endsWith(".js"))) {
    assert.doesNotMatch(Deno.readTextFileSync(`${DIST}/${f}`), /velocityIterations/, `${f} carries planck`);
  }
});

Deno.test("the bundle serves with least privilege and no npm cache: a real plan, a short closed loop, SIGTERM exits 0", async () => {
  const port = 20000 + Math.floor(Math.random() * 1000);
  const p = start(port);
  try {
    await waitReady(port, p);
    const r = await wallClosedLoop(port, 8);
    console.log(JSON.stringify({ bundle: sizes, success: r.success_at }));
    // Measured 0.80 over 20 episodes through the source server; 8 episodes leave room for spread.
    assert.ok(r.success_rate >= 0.5, `closed-loop success through the bundle ${r.success_rate}`);
    p.kill("SIGTERM");
    assert.equal((await p.status).code, 0);
  } finally {
    await stopServer(p);
  }
});

Deno.test({
  name:
    "the same bundle runs on Node, reading only its folder (Node's permission model): plans, closes the loop, SIGTERM exits 0",
  ignore: NODE === null,
  async fn() {
    const port = 22000 + Math.floor(Math.random() * 1000);
    const p = new Deno.Command(NODE!, {
      // No workers on this host profile: Node's permission model would need --allow-worker for them.
      args: ["--experimental-permission", `--allow-fs-read=${DIST}/*`, `${DIST}/edgewm.js`],
      cwd: HOME,
      env: { PORT: String(port), EDGEWM_WORKERS: "0", PATH: Deno.env.get("PATH") ?? "" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      await waitReady(port, p);
      const models = await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json();
      assert.deepEqual(models.models.map((m: { id: string }) => m.id), ["wall/fp32"]);
      const r = await wallClosedLoop(port, 4);
      assert.ok(r.success_rate >= 0.5, `closed-loop success through the bundle on Node ${r.success_rate}`);
      p.kill("SIGTERM");
      assert.equal((await p.status).code, 0);
    } finally {
      await stopServer(p);
    }
  },
});

Deno.test("a corrupt or missing model in the bundle: one line naming the file, a non-zero exit, never a half-ready server", async () => {
  const copy = `${HOME}/broken`;
  Deno.mkdirSync(copy);
  for (const e of Deno.readDirSync(DIST)) {
    if (e.isFile) Deno.copyFileSync(`${DIST}/${e.name}`, `${copy}/${e.name}`);
  }
  Deno.mkdirSync(`${copy}/models/wall/fp32`, { recursive: true });
  Deno.copyFileSync(`${DIST}/models/defaults.json`, `${copy}/models/defaults.json`);
  Deno.copyFileSync(`${DIST}/models/wall/fp32/model.json`, `${copy}/models/wall/fp32/model.json`);
  Deno.copyFileSync(`${DIST}/models/wall/fp32/encoder.onnx`, `${copy}/models/wall/fp32/encoder.onnx`);
  const pred = Deno.readFileSync(`${DIST}/models/wall/fp32/predictor.onnx`);
  pred[1000] ^= 0xff;
  Deno.writeFileSync(`${copy}/models/wall/fp32/predictor.onnx`, pred);
  const onNode = (port: number) =>
    new Deno.Command(NODE!, {
      args: [`${copy}/edgewm.js`],
      env: { PORT: String(port), EDGEWM_WORKERS: "0" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  for (const broken of ["corrupt", "missing"]) {
    if (broken === "missing") Deno.removeSync(`${copy}/models/wall/fp32/predictor.onnx`);
    for (const host of NODE ? ["deno", "node"] : ["deno"]) {
      const port = 21000 + Math.floor(Math.random() * 1000);
      const out = await (host === "deno" ? start(port, copy) : onNode(port)).output();
      const err = new TextDecoder().decode(out.stderr).trim();
      assert.notEqual(out.code, 0, `${host}, ${broken}`);
      assert.equal(err.split("\n").length, 1, `${host}, ${broken}: ${err}`);
      assert.match(err, /predictor\.onnx/);
    }
  }
});
