/**
 * `deno task bundle [--out dist] [--models wall/fp32,...] [--site]`: the edge artifact. esbuild bundles the
 * server (main.ts) and its planning worker into two minified ES modules; beside them go the
 * onnxruntime-web wasm they load, the chosen models (models/defaults.json by default) and a README
 * with the one command that runs it. At run time it needs nothing outside the folder: no network,
 * no npm cache, no source tree.
 *
 *   deno task bundle
 *   deno run --allow-read=dist --allow-net=127.0.0.1:8000 --allow-env=PORT,HOST,... dist/edgewm.js
 */
import { join } from "node:path";
import { ENV_NAMES } from "../agent/http/config.ts";
import { parseFlags, runCli } from "../lib/cli.ts";
import { build, copyModels, emptyFolder, lockedPackage, ROOT, sizeOf } from "./build_tools.ts";
import { buildSite } from "./site.ts";
import { bundleWorkers } from "./workers_bundle.ts";

/** The onnxruntime-web files its node build loads at run time, from beside itself. */
const ORT_FILES = ["ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];

/**
 * Without --simulators, the simulators (pusht's physics engine among them) stay out of the bundle: stand-ins
 * take the place of the two modules the server imports them through, only when asked (the simulator routes,
 * and the task registry /docs draws its example request with); the server then says at start that /v1/tasks is
 * not served, and /docs falls back to the schema's defaults.
 */
const NO_SIMULATORS: import("esbuild").Plugin = {
  name: "no-simulators",
  setup(b) {
    const stand_in: Record<string, string> = {
      simulator_routes: "export const available = false;\n" +
        "export function simulatorRoutes() { throw new Error('no simulator routes in this bundle'); }\n",
      registry: "export function getTask(name) { throw new Error('no simulator for ' + name + ' in this bundle'); }\n",
    };
    b.onResolve({ filter: /(simulator_routes|tasks\/registry)\.ts$/ }, (args) => ({
      path: /simulator_routes/.test(args.path) ? "simulator_routes" : "registry",
      namespace: "no-simulators",
    }));
    b.onLoad({ filter: /.*/, namespace: "no-simulators" }, (args) => ({ contents: stand_in[args.path], loader: "js" }));
  },
};

export async function bundle(out: string, models: string[], simulators = false): Promise<Record<string, number>> {
  const ort = join(lockedPackage("onnxruntime-web"), "dist");
  emptyFolder(out);
  await build({
    entryPoints: { edgewm: join(ROOT, "main.ts"), plan_worker: join(ROOT, "agent/http/plan_worker.ts") },
    outdir: out,
    outExtension: { ".js": ".js" },
    // The server and its worker share one chunk of code (onnxruntime-web, zod, the planner).
    splitting: true,
    chunkNames: "chunk-[hash]",
    platform: "node",
    plugins: simulators ? [] : [NO_SIMULATORS],
  });
  for (const f of ORT_FILES) Deno.copyFileSync(join(ort, f), join(out, f));
  const { defaults, modelBytes } = copyModels(out, models);
  Deno.writeTextFileSync(join(out, "models", "defaults.json"), JSON.stringify(defaults, null, 2) + "\n");
  // Node reads .js as ES modules only under a package.json that says so (Deno always does).
  Deno.writeTextFileSync(join(out, "package.json"), JSON.stringify({ type: "module", private: true }) + "\n");
  const js = [...Deno.readDirSync(out)].filter((e) => e.isFile && e.name.endsWith(".js"));
  const sizes = {
    js_bytes: js.reduce((a, e) => a + sizeOf(join(out, e.name)), 0),
    wasm_bytes: ORT_FILES.reduce((a, f) => a + sizeOf(join(out, f)), 0),
    model_bytes: modelBytes,
  };
  const run = `deno run --allow-read=${out} --allow-net=127.0.0.1:8000 --allow-env=${
    ENV_NAMES.join(",")
  } ${out}/edgewm.js`;
  const runNode = `EDGEWM_WORKERS=0 node --experimental-permission --allow-fs-read=${out}/* ${out}/edgewm.js`;
  Deno.writeTextFileSync(
    join(out, "README.md"),
    [
      "# edgewm bundle",
      "",
      `Built by \`deno task bundle\`. Models: ${
        models.join(", ")
      }. It needs Deno (or Node) and nothing else: no network, no npm cache, no source tree.`,
      "",
      "```sh",
      run,
      "```",
      "",
      "The same folder runs on Node 20 or later (Node's permission model keeps it to this folder; workers",
      "need `--allow-worker` there, or plan on the HTTP thread):",
      "",
      "```sh",
      runNode,
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
  Deno.writeTextFileSync(
    join(out, "bundle.json"),
    JSON.stringify({ models, ...sizes, run, run_node: runNode }, null, 2) + "\n",
  );
  return sizes;
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      out: { type: "string", default: "dist", help: "output folder (replaced)" },
      models: { type: "string", help: "task/variant list (default: models/defaults.json)" },
      workers: { type: "boolean", help: "also build out/workers: the planner as a workerd (Workers runtime) module" },
      simulators: { type: "boolean", help: "include the simulator routes (/v1/tasks) and the simulators" },
      site: {
        type: "boolean",
        help: "also build the playground page into out/site (the bundled server serves it at /)",
      },
    }, "deno task bundle: one minified ES module + worker, the onnxruntime-web wasm and the default models");
    const defaults: Record<string, string> = JSON.parse(Deno.readTextFileSync(join(ROOT, "models/defaults.json")));
    const models = f.models?.split(",").filter(Boolean) ?? Object.entries(defaults).map(([t, v]) => `${t}/${v}`);
    const sizes = await bundle(f.out, models, f.simulators);
    console.log(JSON.stringify({ out: f.out, models, ...sizes }));
    if (f.site) console.log(JSON.stringify({ out: join(f.out, "site"), ...(await buildSite(join(f.out, "site"))) }));
    if (f.workers) {
      console.log(
        JSON.stringify({ out: join(f.out, "workers"), ...(await bundleWorkers(join(f.out, "workers"), models)) }),
      );
    }
  });
}
