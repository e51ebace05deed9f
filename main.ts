/**
 * Serve the bundled default models over HTTP.
 *
 *   deno task serve          # http://127.0.0.1:8000; HOST=0.0.0.0 to expose it
 *
 * Environment (validated at start; a bad value exits 2 with one line naming it): PORT, HOST,
 * EDGEWM_MODELS (comma-separated model dirs; default: the variant named in models/defaults.json for
 * each task), EDGEWM_DEFAULTS (task=variant,...: which loaded variant a request naming none gets),
 * EDGEWM_SIMULATORS (0 | 1, default 1: the simulator routes /v1/tasks), EDGEWM_BACKEND (web | node), EDGEWM_WORKERS (planning workers; default one per core on
 * web), EDGEWM_THREADS, EDGEWM_MAX_QUEUE, EDGEWM_DEADLINE_MS, EDGEWM_DRAIN_MS, EDGEWM_MAX_BODY_BYTES,
 * EDGEWM_API_KEY, EDGEWM_CORS_ORIGINS.
 *
 * The same module runs on Deno and on Node (the bundle: `node dist/edgewm.js`); lib/platform.ts
 * holds the few calls that differ. On SIGTERM or SIGINT it stops accepting, lets in-flight plans finish for up to EDGEWM_DRAIN_MS,
 * and exits 0.
 */
import type { Hono } from "hono";
import { createApp } from "./agent/http/app.ts";
import { readConfig, type ServerConfig } from "./agent/http/config.ts";
import { resolveDefaults } from "./agent/http/defaults.ts";
import { LocalExecutor, WorkerExecutor } from "./agent/http/executors.ts";
import { PlanQueue } from "./agent/http/plan_queue.ts";
import { loadModelCard, type ModelCard } from "./model/model_card.ts";
import { WorldModel } from "./agent/world_model.ts";
import { encodeBase64 } from "./lib/base64.ts";
import { environmentProblem, UserError } from "./lib/errors.ts";
import { envVar, exit, onSignal, readText, serveHttp } from "./lib/platform.ts";
import { encodePng } from "./lib/png.ts";
import { taskSpec } from "./tasks/specs.ts";

/** Where models/ lives: beside the bundle (dist/edgewm.js), or the working directory when run from source. */
const HOME = import.meta.url.endsWith(".js") ? decodeURIComponent(new URL(".", import.meta.url).pathname) : "";

/**
 * A plan request for the first model's task that the server answers (shown by /docs). It renders an
 * evaluation episode with the task's simulator, imported only when the document is first asked for,
 * so a server that plans serves no physics engine it does not use. A task without a simulator (a
 * user's own) gets none: /docs then fills the schema's defaults.
 */
async function exampleRequest(card: ModelCard): Promise<unknown> {
  if (!taskSpec(card.task)) return undefined;
  const { getTask } = await import("./tasks/registry.ts");
  const { evaluationEpisode } = await import("./tasks/evaluation.ts");
  let task;
  try {
    task = getTask(card.task);
  } catch {
    return undefined; // a bundle without simulators
  }
  const ep = evaluationEpisode(task, 0, 0), S = card.image_size;
  const png = (s: Float64Array) => encodeBase64(encodePng(task.render(s, S), S, S));
  return {
    task: card.task,
    observation: { image: { png: png(ep.start) }, proprio: Array.from(task.proprio(ep.start)) },
    goal: { image: { png: png(ep.goal) }, proprio: Array.from(task.proprio(ep.goal)) },
    planner: {},
    seed: 0,
  };
}

/** A user-caused failure (bad configuration, a bad model, a busy port, a missing file) is one line and exit 2. */
function fail(e: unknown): never {
  const line = e instanceof UserError ? e.message : environmentProblem(e);
  if (line) {
    console.error(`error: ${line}`);
    exit(2);
  }
  throw e;
}

/**
 * The playground's routes, when its page is built (`deno task serve` builds it into dist/site; a bundle
 * carries it in site/) and no API key is set: a page cannot carry the key, and its model files would be open.
 * Without them, `why` says so (printed with the address once the server listens).
 */
async function playground(
  config: ServerConfig,
  folders: Map<string, string>,
  cards: Map<string, ModelCard>,
  defaults: Record<string, string>,
): Promise<{ routes?: Hono; why?: string }> {
  const dir = config.site ?? (HOME ? `${HOME}site` : "dist/site");
  if (dir === "0") return { why: "EDGEWM_SITE=0" };
  if (config.apiKey) return { why: "EDGEWM_API_KEY is set: a page cannot carry the key" };
  try {
    readText(`${dir}/index.html`);
  } catch {
    if (config.site) throw new UserError(`EDGEWM_SITE=${config.site}: no index.html there (deno task site --out DIR)`);
    return { why: `no page in ${dir}: deno task site builds it` };
  }
  const { siteRoutes } = await import("./agent/http/site_routes.ts");
  const models = new Map(
    [...cards.entries()].map(([key, card]) => [key, { dir: folders.get(key)!, card, served: true }]),
  );
  // With the bundled models, each task's fp32 rides along for the page only (to compare; the server does not
  // load it), when it is here: its card and hashes are checked now, as the served ones were.
  for (const task of config.models ? [] : new Set([...cards.values()].map((c) => c.task))) {
    const dir = `${HOME}models/${task}/fp32`;
    if (models.has(`${task}/fp32`)) continue;
    try {
      readText(`${dir}/model.json`);
    } catch {
      continue;
    }
    models.set(`${task}/fp32`, { dir, card: loadModelCard(dir), served: false });
  }
  return { routes: siteRoutes({ dir, models, defaults }) };
}

/** Loopback and unspecified addresses: anything else, or 0.0.0.0 / ::, is reachable from other hosts. */
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

try {
  const config = readConfig(envVar);
  if (!LOOPBACK.test(config.host) && !config.apiKey) {
    console.error(
      `warning: listening on ${config.host} without EDGEWM_API_KEY: anyone who can reach this host can plan ` +
        "(and spend its CPU); set EDGEWM_API_KEY=<16+ characters> to require a key",
    );
  }
  const bundled: Record<string, string> = JSON.parse(readText(`${HOME}models/defaults.json`));
  const dirs = config.models ?? Object.entries(bundled).map(([task, variant]) => `${HOME}models/${task}/${variant}`);
  // Every card and file hash is checked before the server listens: a bad model is one line, exit 2.
  const cards = new Map<string, ModelCard>(), folders = new Map<string, string>();
  for (const dir of dirs) {
    const card = loadModelCard(dir);
    cards.set(`${card.task}/${card.variant}`, card);
    folders.set(`${card.task}/${card.variant}`, dir);
  }
  const defaults = resolveDefaults([...cards.keys()], bundled, config.defaults);
  const queue = new PlanQueue([], config.maxQueue);
  // The simulators are imported only when served (and a bundle built without them has none).
  const sims = config.simulators ? await import("./agent/http/simulator_routes.ts") : undefined;
  if (sims && !sims.available) {
    console.error("note: this bundle has no simulator routes (deno task bundle --simulators); /v1/tasks is not served");
  }
  const simulators = sims?.available ? sims.simulatorRoutes() : undefined;
  const site = await playground(config, folders, cards, defaults);
  let ready = false;
  const app = createApp({
    cards,
    queue,
    defaults,
    isReady: () => ready,
    apiKey: config.apiKey,
    maxBodyBytes: config.maxBodyBytes,
    maxInflightBytes: config.maxInflightBytes,
    deadlineMs: config.deadlineMs,
    corsOrigins: config.corsOrigins,
    example: () => exampleRequest([...cards.values()][0]),
    simulators,
    site: site.routes,
  });
  const server = await serveHttp({
    port: config.port,
    hostname: config.host,
    requestMs: config.deadlineMs + 30_000, // a whole request, upload included, with room past the plan's deadline
    onListen: ({ hostname, port }) =>
      console.log(
        `edgewm listening on http://${hostname}:${port} (loading ${dirs.join(", ")}); ` + (site.routes
          ? `the playground: http://${hostname === "0.0.0.0" ? "127.0.0.1" : hostname}:${port}/`
          : `no playground page (${site.why})`),
      ),
  }, app.fetch);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining (up to ${config.drainMs} ms)`);
    const drained = await Promise.race([
      server.shutdown().then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), config.drainMs)),
    ]);
    await queue.close(0);
    console.log(drained ? "drained; bye" : "drain time is up; bye");
    exit(0);
  };
  onSignal("SIGTERM", () => stop("SIGTERM"));
  onSignal("SIGINT", () => stop("SIGINT"));

  if (config.workers > 0) {
    // onnxruntime-web plans on the calling thread: the plans go to workers, the HTTP thread stays free.
    await Promise.all(Array.from({ length: config.workers }, async () => {
      queue.add(await WorkerExecutor.start(dirs, config.backend, config.threads));
    }));
  } else {
    const models = new Map<string, WorldModel>();
    for (const dir of dirs) {
      const m = await WorldModel.load(dir, { backend: config.backend, threads: config.threads });
      models.set(`${m.card.task}/${m.card.variant}`, m);
    }
    queue.add(new LocalExecutor(models));
  }
  ready = true;
  console.log(`ready (${config.workers > 0 ? `${config.workers} planning workers` : "planning on the HTTP thread"})`);
} catch (e) {
  fail(e);
}
