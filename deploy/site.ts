/**
 * The playground page as files: `site/` bundled for the browser (the page and its planning worker, with
 * the simulators, the planner and onnxruntime-web's wasm-only build), the wasm beside them, and, for a
 * static site (`--static`), the models and a manifest of them. `deno task serve` builds it into dist/site
 * and the server serves it at `/`; `deno task bundle --site` writes a folder any static file server serves
 * with no edgewm server at all.
 *
 *   deno task site --out dist/site                      # what the server serves (models come from the server)
 *   deno task bundle --site                             # dist/site, static: models and models.json included
 */
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parseFlags, runCli } from "../lib/cli.ts";
import type { SiteModel } from "../agent/http/site_routes.ts";
import { loadModelCard } from "../model/model_card.ts";
import { build, emptyFolder, lockedPackage, ROOT, sizeOf } from "./build_tools.ts";

/**
 * The page has no node:zlib: PNG decoding (lib/png.ts) is replaced by a stand-in that says so. The page sends
 * its images as raw pixels, which the plan path reads without it.
 */
const NO_ZLIB: import("esbuild").Plugin = {
  name: "no-zlib",
  setup(b) {
    b.onResolve({ filter: /^node:zlib$/ }, () => ({ path: "zlib", namespace: "no-zlib" }));
    b.onLoad({ filter: /.*/, namespace: "no-zlib" }, () => ({
      contents:
        "const none = () => { throw new Error('PNG images are not decoded in the browser: send raw pixels'); };\n" +
        "export const inflateSync = none, deflateSync = none;\n",
      loader: "js",
    }));
  },
};

/** onnxruntime-web's wasm-only runtime: its glue module and the wasm it loads from beside the page. */
const ORT_FILES = ["ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];

export interface SiteSizes {
  /** The page's own bytes (HTML, JS), and gzip-compressed. */
  page_bytes: number;
  page_gzip_bytes: number;
  wasm_bytes: number;
  wasm_gzip_bytes: number;
  /** The models a static site carries (0 when the server serves them). */
  model_bytes: number;
}

/** Build the page into `out` (replaced); with `models`, a static site that carries them. */
export async function buildSite(out: string, models: string[] = []): Promise<SiteSizes> {
  emptyFolder(out);
  await build({
    entryPoints: { page: join(ROOT, "site/page.ts"), planner_worker: join(ROOT, "site/planner_worker.ts") },
    outdir: out,
    platform: "browser",
    splitting: true,
    chunkNames: "chunk-[hash]",
    alias: { "onnxruntime-web": "onnxruntime-web/wasm" },
    plugins: [NO_ZLIB],
  });
  Deno.copyFileSync(join(ROOT, "site/index.html"), join(out, "index.html"));
  const ort = join(lockedPackage("onnxruntime-web"), "dist");
  for (const f of ORT_FILES) Deno.copyFileSync(join(ort, f), join(out, f));
  let modelBytes = 0;
  if (models.length) {
    const defaults: Record<string, string> = JSON.parse(Deno.readTextFileSync(join(ROOT, "models/defaults.json")));
    const manifest: SiteModel[] = [];
    for (const m of models) {
      const [task, variant] = m.split("/");
      const from = join(ROOT, "models", task, variant), to = join(out, "models", task, variant);
      const card = loadModelCard(from);
      Deno.mkdirSync(to, { recursive: true });
      Deno.copyFileSync(join(from, "model.json"), join(to, "model.json"));
      let bytes = 0;
      for (const f of Object.keys(card.files).filter((f) => f.endsWith(".onnx"))) {
        Deno.copyFileSync(join(from, f), join(to, f));
        bytes += sizeOf(join(to, f));
      }
      modelBytes += bytes;
      manifest.push(
        {
          task,
          variant,
          default: defaults[task] === variant,
          bytes,
          served: false,
          image_size: card.image_size,
        } satisfies SiteModel,
      );
    }
    Deno.writeTextFileSync(join(out, "models.json"), JSON.stringify(manifest, null, 2) + "\n");
  }
  const files = [...Deno.readDirSync(out)].filter((e) => e.isFile).map((e) => e.name);
  const page = files.filter((f) => /\.(html|js)$/.test(f) || f === "ort-wasm-simd-threaded.mjs");
  const gz = (f: string) => gzipSync(Deno.readFileSync(join(out, f))).length;
  return {
    page_bytes: page.reduce((a, f) => a + sizeOf(join(out, f)), 0),
    page_gzip_bytes: page.reduce((a, f) => a + gz(f), 0),
    wasm_bytes: sizeOf(join(out, ORT_FILES[1])),
    wasm_gzip_bytes: gz(ORT_FILES[1]),
    model_bytes: modelBytes,
  };
}

/** The models a static site carries by default: each task's served default and its fp32 (to compare). */
export function siteModels(): string[] {
  const defaults: Record<string, string> = JSON.parse(Deno.readTextFileSync(join(ROOT, "models/defaults.json")));
  return Object.entries(defaults).flatMap(([t, v]) => [`${t}/${v}`, ...(v === "fp32" ? [] : [`${t}/fp32`])]);
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      out: { type: "string", default: "dist/site", help: "output folder (replaced)" },
      static: { type: "boolean", help: "a static site: carry the models and a manifest (no server needed)" },
      quiet: { type: "boolean", help: "print nothing but errors" },
    }, "deno task site [--out dist/site] [--static]: the playground page as files");
    const sizes = await buildSite(f.out, f.static ? siteModels() : []);
    if (!f.quiet) console.log(JSON.stringify({ out: f.out, ...sizes }));
  });
}
