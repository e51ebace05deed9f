/**
 * What the bundles share: esbuild over the source with npm packages resolved from Deno's cache,
 * the models copied beside the code, and where a locked npm package lives.
 */
import * as esbuild from "esbuild";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModelCard } from "../model/model_card.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

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

export const sizeOf = (p: string) => Deno.statSync(p).size;

/** `out` as a new empty folder (what was there is replaced). */
export function emptyFolder(out: string): void {
  try {
    Deno.removeSync(out, { recursive: true });
  } catch { /* a fresh folder */ }
  Deno.mkdirSync(out, { recursive: true });
}

/**
 * esbuild over the source, resolving npm packages from Deno's cache: minified ES modules, Node's
 * built-ins and the native onnxruntime backend left out (the edge runs wasm).
 */
export async function build(options: esbuild.BuildOptions): Promise<esbuild.Metafile> {
  // On a fresh machine the entry points' npm packages may not be in Deno's cache yet: put them there.
  const entries = Object.values(options.entryPoints as Record<string, string>);
  const cached = await new Deno.Command(Deno.execPath(), { args: ["cache", "--quiet", ...entries], stdout: "inherit" })
    .output();
  if (!cached.success) {
    throw new Error(`deno cache ${entries.join(" ")} failed: ${new TextDecoder().decode(cached.stderr)}`);
  }
  const tmp = Deno.makeTempDirSync({ prefix: "edgewm-bundle-" });
  try {
    const result = await esbuild.build({
      bundle: true,
      minify: true,
      format: "esm",
      target: "es2022",
      nodePaths: [linkPackages(tmp)],
      external: ["node:*", "onnxruntime-node"],
      // Bundled modules are never the main module: their CLI blocks stay asleep.
      define: { "import.meta.main": "false" },
      logLevel: "warning",
      metafile: true,
      ...options,
    });
    if (result.errors.length) throw new Error(result.errors.map((e) => e.text).join("\n"));
    return result.metafile!;
  } finally {
    await esbuild.stop();
    Deno.removeSync(tmp, { recursive: true });
  }
}

/** Copy the models' graphs and cards (hashes checked first) to out/models; the served defaults by task. */
export function copyModels(out: string, models: string[]): { defaults: Record<string, string>; modelBytes: number } {
  const defaults: Record<string, string> = {};
  let modelBytes = 0;
  for (const m of models) {
    const [task, variant] = m.split("/");
    const from = join(ROOT, "models", task, variant), to = join(out, "models", task, variant);
    const card = loadModelCard(from); // hashes checked before anything is copied
    Deno.mkdirSync(to, { recursive: true });
    for (const name of Object.keys(card.files).filter((f) => f.endsWith(".onnx"))) {
      Deno.copyFileSync(join(from, name), join(to, name));
      modelBytes += sizeOf(join(to, name));
    }
    // The bundle ships only the graphs: drop files the card lists but the server never reads.
    const files = Object.fromEntries(Object.entries(card.files).filter(([f]) => f.endsWith(".onnx")));
    Deno.writeTextFileSync(join(to, "model.json"), JSON.stringify({ ...card, files }, null, 2) + "\n");
    modelBytes += sizeOf(join(to, "model.json"));
    defaults[task] = variant;
  }
  return { defaults, modelBytes };
}

/** The locked version of an npm package, and where Deno's cache holds it. */
export function lockedPackage(name: string): string {
  return join(npmCache(), name, lockedVersion(name));
}

function lockedVersion(name: string): string {
  const lock = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.lock")));
  const key = Object.keys(lock.npm).find((k) => k.startsWith(`${name}@`))!;
  return key.slice(name.length + 1).split("_")[0];
}
