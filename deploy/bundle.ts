/**
 * `deno task bundle [--out dist] [--models wall/fp32,...]`: the edge artifact. esbuild bundles the
 * server (main.ts) and its planning worker into two minified ES modules; beside them go the
 * onnxruntime-web wasm they load, the chosen models (models/defaults.json by default) and a README
 * with the one command that runs it. At run time it needs nothing outside the folder: no network,
 * no npm cache, no source tree.
 *
 *   deno task bundle
 *   deno run --allow-read=dist --allow-net=127.0.0.1:8000 --allow-env=PORT,HOST,... dist/edgewm.js
 */
import * as esbuild from "esbuild";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModelCard } from "../agent/model_card.ts";
import { ENV_NAMES } from "../agent/http/config.ts";
import { parseFlags, runCli } from "../lib/cli.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The onnxruntime-web files its node build loads at run time, from beside itself. */
const ORT_FILES = ["ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];

/** Deno's npm cache, where `deno install`/`deno cache` put every locked package (name/version/). */
function npmCache(): string {
  const dir = Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno");
  return join(dir, "npm", "registry.npmjs.org");
}

/**
 * A node_modules-style folder of links into Deno's npm cache for every locked package, so that
 * esbuild resolves bare imports (and their package.json exports) as it would under Node.
 */
function linkPackages(tmp: string): string {
  const lock = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.lock")));
  const nm = join(tmp, "node_modules");
  for (const key of Object.keys(lock.npm ?? {})) {
    const at = key.indexOf("@", 1); // "name@version_peer@version": the first @ after a scope
    const name = key.slice(0, at), version = key.slice(at + 1).split("_")[0];
    const target = join(npmCache(), name, version), link = join(nm, name);
    try {
      Deno.statSync(target);
      Deno.mkdirSync(dirname(link), { recursive: true });
      Deno.symlinkSync(target, link);
    } catch { /* not cached (a dev-only package), or a second version: the first one wins */ }
  }
  return nm;
}

const sizeOf = (p: string) => Deno.statSync(p).size;

export async function bundle(out: string, models: string[]): Promise<Record<string, number>> {
  const ort = join(npmCache(), "onnxruntime-web", lockedVersion("onnxruntime-web"), "dist");
  try {
    Deno.removeSync(out, { recursive: true });
  } catch { /* a fresh folder */ }
  Deno.mkdirSync(out, { recursive: true });
  const tmp = Deno.makeTempDirSync({ prefix: "edgewm-bundle-" });
  try {
    const result = await esbuild.build({
      entryPoints: { edgewm: join(ROOT, "main.ts"), plan_worker: join(ROOT, "agent/http/plan_worker.ts") },
      outdir: out,
      outExtension: { ".js": ".js" },
      bundle: true,
      // The server and its worker share one chunk of code (onnxruntime-web, zod, the planner).
      splitting: true,
      chunkNames: "chunk-[hash]",
      minify: true,
      format: "esm",
      platform: "node",
      target: "es2022",
      nodePaths: [linkPackages(tmp)],
      // Deno provides the node: built-ins; the native onnxruntime backend stays out (the edge runs wasm).
      external: ["node:*", "onnxruntime-node"],
      // Bundled modules are never the main module: their CLI blocks stay asleep.
      define: { "import.meta.main": "false" },
      logLevel: "warning",
      metafile: true,
    });
    if (result.errors.length) throw new Error(result.errors.map((e) => e.text).join("\n"));
  } finally {
    await esbuild.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
  for (const f of ORT_FILES) Deno.copyFileSync(join(ort, f), join(out, f));
  const defaults: Record<string, string> = {};
  let modelBytes = 0;
  for (const m of models) {
    const [task, variant] = m.split("/");
    const from = join(ROOT, "models", task, variant), to = join(out, "models", task, variant);
    const card = loadModelCard(from); // hashes checked before anything is copied
    Deno.mkdirSync(to, { recursive: true });
    for (const name of ["model.json", ...Object.keys(card.files).filter((f) => f.endsWith(".onnx"))]) {
      Deno.copyFileSync(join(from, name), join(to, name));
      modelBytes += sizeOf(join(to, name));
    }
    // The bundle ships only the graphs: drop files the card lists but the server never reads.
    const files = Object.fromEntries(Object.entries(card.files).filter(([f]) => f.endsWith(".onnx")));
    Deno.writeTextFileSync(join(to, "model.json"), JSON.stringify({ ...card, files }, null, 2) + "\n");
    defaults[task] = variant;
  }
  Deno.writeTextFileSync(join(out, "models", "defaults.json"), JSON.stringify(defaults, null, 2) + "\n");
  const js = [...Deno.readDirSync(out)].filter((e) => e.isFile && e.name.endsWith(".js"));
  const sizes = {
    js_bytes: js.reduce((a, e) => a + sizeOf(join(out, e.name)), 0),
    wasm_bytes: ORT_FILES.reduce((a, f) => a + sizeOf(join(out, f)), 0),
    model_bytes: modelBytes,
  };
  const run = `deno run --allow-read=${out} --allow-net=127.0.0.1:8000 --allow-env=${
    ENV_NAMES.join(",")
  } ${out}/edgewm.js`;
  Deno.writeTextFileSync(
    join(out, "README.md"),
    [
      "# edgewm bundle",
      "",
      `Built by \`deno task bundle\`. Models: ${
        models.join(", ")
      }. It needs Deno and nothing else: no network, no npm cache, no source tree.`,
      "",
      "```sh",
      run,
      "```",
      "",
      "Serve elsewhere with `HOST=0.0.0.0 PORT=... ` and the matching `--allow-net=0.0.0.0:PORT`. A small host:",
      "`EDGEWM_WORKERS=0 EDGEWM_THREADS=1` (plans on the HTTP thread, one wasm thread) and",
      "`--v8-flags=--max-old-space-size=128`.",
      "",
      `Sizes: ${sizes.js_bytes} bytes of JS, ${sizes.wasm_bytes} of wasm, ${sizes.model_bytes} of models.`,
      "",
    ].join("\n"),
  );
  Deno.writeTextFileSync(join(out, "bundle.json"), JSON.stringify({ models, ...sizes, run }, null, 2) + "\n");
  return sizes;
}

function lockedVersion(name: string): string {
  const lock = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.lock")));
  const key = Object.keys(lock.npm).find((k) => k.startsWith(`${name}@`))!;
  return key.slice(name.length + 1).split("_")[0];
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      out: { type: "string", default: "dist", help: "output folder (replaced)" },
      models: { type: "string", help: "task/variant list (default: models/defaults.json)" },
    }, "deno task bundle: one minified ES module + worker, the onnxruntime-web wasm and the default models");
    const defaults: Record<string, string> = JSON.parse(Deno.readTextFileSync(join(ROOT, "models/defaults.json")));
    const models = f.models?.split(",").filter(Boolean) ?? Object.entries(defaults).map(([t, v]) => `${t}/${v}`);
    const sizes = await bundle(f.out, models);
    console.log(JSON.stringify({ out: f.out, models, ...sizes }));
  });
}
