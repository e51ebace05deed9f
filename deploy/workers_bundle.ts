/**
 * `deno task bundle --workers`: the planner for a Workers runtime (workerd, Cloudflare's
 * open-source Workers runtime), in `<out>/`: the HTTP app bundled for the browser platform with
 * onnxruntime-web's wasm-only build (no WebGPU glue), a small generated entry module that imports
 * the wasm as a wasm module and every model file as a data module, and a workerd config that
 * lists them. Run with `workerd serve <out>/config.capnp` (from npm: `npx workerd serve ...`).
 *
 * What the runtime allows decides the shape: no file system (models arrive as modules), no threads
 * (one wasm thread, planning on the request), no run-time code generation (the wasm arrives
 * compiled; see deploy/workers_handler.ts).
 */
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build, copyModels, emptyFolder, lockedPackage, ROOT, sizeOf } from "./build_tools.ts";

const WASM = "ort-wasm-simd-threaded.wasm";
/** Where the config's socket listens unless `workerd serve --socket-addr http=HOST:PORT` moves it. */
export const WORKERS_ADDRESS = "127.0.0.1:8787";

export async function bundleWorkers(out: string, models: string[]): Promise<Record<string, number>> {
  emptyFolder(out);
  await build({
    entryPoints: { handler: join(ROOT, "deploy/workers_handler.ts") },
    outdir: out,
    platform: "browser",
    // The default browser build carries the WebGPU (JSEP) glue for a 28 MB wasm; the wasm-only build
    // is the one whose wasm ships here.
    alias: { "onnxruntime-web": "onnxruntime-web/wasm" },
  });
  Deno.copyFileSync(join(lockedPackage("onnxruntime-web"), "dist", WASM), join(out, WASM));
  const { defaults, modelBytes } = copyModels(out, models);
  const files = models.flatMap((m) =>
    [...Deno.readDirSync(join(out, "models", m))].map((e) => `models/${m}/${e.name}`).sort()
  );
  // The entry: every file imported as a module, handed to the handler by path.
  const entry = [
    `import { workersHandler } from "./handler.js";`,
    `import wasm from "./${WASM}";`,
    ...files.map((f, i) => `import f${i} from "./${f}";`),
    `export default workersHandler({`,
    `  wasm,`,
    `  files: { ${files.map((f, i) => `${JSON.stringify(f)}: f${i}`).join(", ")} },`,
    `  defaults: ${JSON.stringify(defaults)},`,
    `});`,
    "",
  ].join("\n");
  Deno.writeTextFileSync(join(out, "worker.js"), entry);
  const modules = [
    `(name = "worker.js", esModule = embed "worker.js")`,
    `(name = "handler.js", esModule = embed "handler.js")`,
    `(name = "${WASM}", wasm = embed "${WASM}")`,
    ...files.map((f) => `(name = "${f}", data = embed "${f}")`),
  ];
  const config = [
    "# workerd config, written by `deno task bundle --workers`: workerd serve config.capnp",
    `using Workerd = import "/workerd/workerd.capnp";`,
    "",
    "const config :Workerd.Config = (",
    `  services = [(name = "edgewm", worker = .edgewm)],`,
    `  sockets = [(name = "http", address = "${WORKERS_ADDRESS}", http = (), service = "edgewm")],`,
    ");",
    "",
    "const edgewm :Workerd.Worker = (",
    `  modules = [\n    ${modules.join(",\n    ")},\n  ],`,
    `  compatibilityDate = "2026-11-01",`,
    ");",
    "",
  ].join("\n");
  Deno.writeTextFileSync(join(out, "config.capnp"), config);
  const code = ["handler.js", "worker.js"].map((f) => Deno.readFileSync(join(out, f)));
  const wasm = Deno.readFileSync(join(out, WASM));
  // Cloudflare's limit is on code + wasm, compressed (gzip).
  const gz = [...code, wasm].reduce((a, b) => a + gzipSync(b, { level: 9 }).length, 0);
  const sizes = {
    js_bytes: code.reduce((a, b) => a + b.length, 0),
    wasm_bytes: sizeOf(join(out, WASM)),
    model_bytes: modelBytes,
    code_and_wasm_gzip_bytes: gz,
  };
  Deno.writeTextFileSync(
    join(out, "README.md"),
    [
      "# edgewm for a Workers runtime (workerd)",
      "",
      `Built by \`deno task bundle --workers\`. Models: ${models.join(", ")}.`,
      "",
      "```sh",
      `npx workerd serve ${out}/config.capnp          # http://${WORKERS_ADDRESS}; --socket-addr http=HOST:PORT moves it`,
      "```",
      "",
      "One wasm thread, plans on the request; models load on the first request (a Workers module may",
      "not do I/O at its top level). The wasm arrives compiled, as a wasm module: the runtime forbids",
      "compiling code at run time.",
      "",
      `Sizes: ${sizes.js_bytes} bytes of JS, ${sizes.wasm_bytes} of wasm (${gz} gzip-compressed with the JS),` +
      ` ${sizes.model_bytes} of models.`,
      "",
    ].join("\n"),
  );
  Deno.writeTextFileSync(join(out, "bundle.json"), JSON.stringify({ models, ...sizes }, null, 2) + "\n");
  return sizes;
}
