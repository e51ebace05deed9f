/**
 * The playground's planning worker: the server's own plan path (agent/http/plan_job.ts: the same request
 * checks, the same encoding and sampler, the same seeded plan) on onnxruntime-web's wasm, in a Web Worker so
 * that the page stays responsive. Messages in: {load: {base, task, variant, threads}} and {plan: request};
 * out: {loaded: {...}} and {plan: answer, ms} or {error}.
 */
import * as ort from "onnxruntime-web";
import { provideFiles } from "../lib/platform.ts";
import { runPlanJob, toPlanJob } from "../agent/http/plan_job.ts";
import { PlanRequest } from "../agent/http/schemas.ts";
import { WorldModel } from "../agent/world_model.ts";

const models = new Map<string, WorldModel>();
/** The worker's global scope (typed here: Deno's checker knows the window's). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

/** Fetch a model folder's card and every file it lists, and hand them to the platform as files. */
async function fetchModel(base: string, task: string, variant: string): Promise<{ dir: string; bytes: number }> {
  const dir = `models/${task}/${variant}`;
  const cardBytes = new Uint8Array(await (await fetch(`${base}${dir}/model.json`)).arrayBuffer());
  const card = JSON.parse(new TextDecoder().decode(cardBytes)) as { files: Record<string, { bytes: number }> };
  const graphs = Object.keys(card.files).filter((f) => f.endsWith(".onnx"));
  const files: Record<string, Uint8Array> = { [`${dir}/model.json`]: cardBytes };
  await Promise.all(graphs.map(async (f) => {
    const r = await fetch(`${base}${dir}/${f}`);
    if (!r.ok) throw new Error(`${dir}/${f}: ${r.status}`);
    files[`${dir}/${f}`] = new Uint8Array(await r.arrayBuffer());
  }));
  provideFiles(files);
  return { dir, bytes: graphs.reduce((a, f) => a + card.files[f].bytes, 0) };
}

scope.onmessage = async (e: MessageEvent) => {
  const m = e.data;
  try {
    if (m.load) {
      const { base, task, variant, threads } = m.load;
      ort.env.wasm.wasmPaths = base;
      const t0 = performance.now();
      // Only the graphs are fetched (not reference.json, which a card may list): only they are checked.
      const { dir, bytes } = await fetchModel(base, task, variant);
      const model = await WorldModel.load(dir, { backend: "web", threads, checkFiles: "graphs" });
      models.set(`${task}/${variant}`, model);
      scope.postMessage({ loaded: { task, variant, bytes, ms: performance.now() - t0, threads }, id: m.id });
    } else if (m.plan) {
      const req = PlanRequest.parse(m.plan);
      const model = models.get(`${req.task}/${req.variant}`);
      if (!model) throw new Error(`${req.task}/${req.variant} is not loaded in the page`);
      const t0 = performance.now();
      const answer = await runPlanJob(model, toPlanJob(req, model.card, Date.now() + 60_000), () => {});
      scope.postMessage({ plan: answer, ms: performance.now() - t0, id: m.id });
    }
  } catch (err) {
    scope.postMessage({ error: String((err as Error).message ?? err), id: m.id });
  }
};
