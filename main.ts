/**
 * Serve the bundled default models over HTTP.
 *
 *   deno task serve          # PORT (default 8000)
 *
 * Environment: PORT, EDGEWM_MODELS (comma-separated model dirs; default: the
 * variant named in models/defaults.json for each task), EDGEWM_BACKEND (web |
 * node), EDGEWM_THREADS, EDGEWM_API_KEY, EDGEWM_MAX_CONCURRENT,
 * EDGEWM_DEADLINE_MS.
 */
import { createApp } from "./agent/app.ts";
import { type BackendName, WorldModel } from "./agent/world_model.ts";

function defaultModelDirs(): string[] {
  const defaults: Record<string, string> = JSON.parse(Deno.readTextFileSync("models/defaults.json"));
  return Object.entries(defaults).map(([task, variant]) => `models/${task}/${variant}`);
}

const env = (k: string) => Deno.env.get(k);
const dirs = env("EDGEWM_MODELS")?.split(",").filter(Boolean) ?? defaultModelDirs();
const models = new Map<string, WorldModel>();
let ready = false;
const app = createApp({
  models,
  isReady: () => ready,
  apiKey: env("EDGEWM_API_KEY"),
  maxConcurrent: Number(env("EDGEWM_MAX_CONCURRENT") ?? 1),
  deadlineMs: Number(env("EDGEWM_DEADLINE_MS") ?? 30000),
});
const port = Number(env("PORT") ?? 8000);
Deno.serve({
  port,
  onListen: ({ hostname, port }) =>
    console.log(`edgewm listening on http://${hostname}:${port} (loading ${dirs.join(", ")})`),
}, app.fetch);

for (const dir of dirs) {
  const m = await WorldModel.load(dir, {
    backend: (env("EDGEWM_BACKEND") ?? "web") as BackendName,
    threads: Number(env("EDGEWM_THREADS") ?? 2),
  });
  models.set(`${m.card.task}/${m.card.variant}`, m);
  console.log(`loaded ${dir} (${m.card.task}/${m.card.variant})`);
}
ready = true;
console.log("ready");
