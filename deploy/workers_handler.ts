/**
 * The planner as a Workers-runtime module (workerd, Cloudflare's open-source Workers runtime): the
 * HTTP app of the server, planning on the request's thread with one wasm thread. A Workers runtime
 * has no file system, no threads and no run-time code generation, so everything arrives as
 * modules: the onnxruntime wasm already compiled (a wasm module), the models as data modules.
 * `deno task bundle --workers` builds it with the glue module and a workerd config.
 */
import * as ort from "onnxruntime-web";
import { createApp } from "../agent/http/app.ts";
import { WorldModel } from "../agent/world_model.ts";
import { provideFiles } from "../lib/platform.ts";

export interface WorkersInputs {
  /** ort-wasm-simd-threaded.wasm, compiled by the runtime from its module. */
  wasm: WebAssembly.Module;
  /** Model files by path (models/<task>/<variant>/<file>), from data modules. */
  files: Record<string, ArrayBuffer>;
  /** task -> variant served when a request names none. */
  defaults: Record<string, string>;
}

/**
 * onnxruntime-web hands the bytes it is given to WebAssembly.instantiate, which a Workers runtime
 * refuses ("code generation disallowed"): answer that one call with the precompiled module.
 */
function instantiateFrom(module: WebAssembly.Module, marker: Uint8Array, onMemory: (m: WebAssembly.Memory) => void) {
  const instantiate = WebAssembly.instantiate.bind(WebAssembly);
  // The glue may copy the bytes it was given: recognise the marker by content, not identity.
  const isMarker = (src: unknown) => {
    const b = ArrayBuffer.isView(src)
      ? new Uint8Array(src.buffer, src.byteOffset, src.byteLength)
      : src instanceof ArrayBuffer
      ? new Uint8Array(src)
      : null;
    return b !== null && b.length === marker.length && b.every((x, i) => x === marker[i]);
  };
  (WebAssembly as { instantiate: unknown }).instantiate = async (src: unknown, imports?: WebAssembly.Imports) => {
    if (!isMarker(src)) return instantiate(src as BufferSource, imports);
    const instance = await instantiate(module, imports);
    // The linear memory, imported (threaded builds) or exported: what the isolate's memory limit counts.
    const values = [
      ...Object.values(imports ?? {}).flatMap((ns) => Object.values(ns)),
      ...Object.values(instance.exports),
    ];
    const memory = values.find((v) => v instanceof WebAssembly.Memory);
    if (memory) onMemory(memory as WebAssembly.Memory);
    return { module, instance };
  };
}

export function workersHandler(inputs: WorkersInputs): { fetch(req: Request): Promise<Response> } {
  let app: { fetch(req: Request): Response | Promise<Response> } | undefined;
  let loading: Promise<void> | undefined;
  let memory: WebAssembly.Memory | undefined;
  // Loading waits for the first request: a Workers module may not do I/O or set timers at the top level.
  const load = async () => {
    provideFiles(Object.fromEntries(Object.entries(inputs.files).map(([p, b]) => [p, new Uint8Array(b)])));
    const marker = new TextEncoder().encode("edgewm: the precompiled onnxruntime module");
    instantiateFrom(inputs.wasm, marker, (m) => (memory = m));
    ort.env.wasm.wasmBinary = marker;
    const models = new Map<string, WorldModel>();
    for (const [task, variant] of Object.entries(inputs.defaults)) {
      const m = await WorldModel.load(`models/${task}/${variant}`, { backend: "web", threads: 1 });
      models.set(`${task}/${variant}`, m);
    }
    app = createApp({
      models,
      // A Workers runtime cancels a request whose promise another request settles (a shared queue
      // would do that): every request gets its own slot, and the isolate's one thread interleaves them.
      maxConcurrent: 64,
      maxQueue: 0,
      defaults: inputs.defaults,
      isReady: () => true,
      gauges: (): Record<string, number> => (memory ? { edgewm_wasm_memory_bytes: memory.buffer.byteLength } : {}),
    });
  };
  return {
    async fetch(req: Request) {
      try {
        await (loading ??= load());
      } catch (e) {
        loading = undefined;
        return Response.json({ error: `models did not load: ${(e as Error).message}` }, { status: 503 });
      }
      return await app!.fetch(req);
    },
  };
}
