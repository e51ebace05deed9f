/**
 * The HTTP app: Hono routes over loaded models, assembled from small pieces. A plan request passes,
 * in order: security headers and CORS (off unless configured), the API key (constant-time), the
 * body limit (enforced while streaming), the JSON content type, zod validation (strict: unknown keys
 * are named), the model-card checks of `toPlanJob`, and then the bounded plan queue, where decoding,
 * encoding and planning run under the concurrency limit (in planning workers for the web backend).
 *
 * Tests drive it through `app.request()`; `main.ts` serves it.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { methodNotAllowed } from "hono/method-not-allowed";
import { secureHeaders } from "hono/secure-headers";
import { timingSafeEqual } from "hono/utils/buffer";
import type { z } from "zod";
import { residentBytes } from "../../lib/platform.ts";
import { envStepSeconds, type ModelCard } from "../../model/model_card.ts";
import { CancelledError, DeadlineError } from "../planners/world_model_planner.ts";
import { cardPreset } from "../../model/planner_options.ts";
import type { Quantization } from "../../model/quantization.ts";
import type { WorldModel } from "../world_model.ts";
import { DOCS_HTML } from "./docs_page.ts";
import { LocalExecutor } from "./executors.ts";
import { Metrics } from "./metrics.ts";
import { readJsonBody } from "./json_body.ts";
import { PlanRequestError, toPlanJob } from "./plan_job.ts";
import { BusyError, PlanQueue } from "./plan_queue.ts";
import { PlanRequest } from "./schemas.ts";
import { openApiDocument } from "./openapi.ts";
import { taskSpec } from "../../tasks/specs.ts";

export { PlanRequestError };

export interface AppOptions {
  /** Models by "task/variant", planned on this thread (tests; the node backend). Filled in as they load. */
  models?: Map<string, WorldModel>;
  /** Or: the cards of models that planning workers hold, and the queue in front of those workers. */
  cards?: Map<string, ModelCard>;
  queue?: PlanQueue;
  /** The variant a request for a task gets when it names none (agent/http/defaults.ts; else fp32). */
  defaults?: Record<string, string>;
  /** Set once every model is loaded (/ready answers 503 until then). */
  isReady: () => boolean;
  /** If set, /v1/* needs `Authorization: Bearer <key>` or `x-api-key: <key>`. */
  apiKey?: string;
  maxBodyBytes?: number;
  /**
   * Request bytes held at once: a plan request reserves its Content-Length (the body limit when chunked) from
   * before its body is read until it is answered; one that does not fit is refused unread (503).
   */
  maxInflightBytes?: number;
  /** Plans at once on this thread (with `models`). */
  maxConcurrent?: number;
  maxQueue?: number;
  /** Per-request deadline, queueing included. */
  deadlineMs?: number;
  /** Origins allowed to call from a browser; none by default (no CORS headers at all). */
  corsOrigins?: string[];
  /** A plan request the server answers with 200, shown by /openapi.json and /docs; built on first use. */
  example?: () => Promise<unknown>;
  /**
   * The simulator routes (agent/http/simulator_routes.ts), mounted at /v1/tasks behind the same key; main.ts
   * imports them only when they are served, so that a server without them carries no physics engine.
   */
  simulators?: Hono;
  /**
   * The playground (agent/http/site_routes.ts) at `/`, when its page is built; main.ts leaves it out when an
   * API key is set (a page cannot carry the key, and the model files would be open to anyone).
   */
  site?: Hono;
  /** More gauges for /metrics (a Workers host reports its wasm memory: it has no process RSS). */
  gauges?: () => Record<string, number>;
  /** JSON log lines go here (default: console.log; tests pass a no-op). */
  log?: (line: Record<string, unknown>) => void;
}

const DEFAULTS = {
  maxBodyBytes: 1_000_000,
  maxInflightBytes: 2_000_000,
  maxConcurrent: 1,
  maxQueue: 8,
  deadlineMs: 30_000,
  log: (line: Record<string, unknown>) => console.log(JSON.stringify(line)),
};

/** zod validation as a middleware: the parsed body lands in `c.get("body")`; json_body.ts says how bad input is refused. */
function validateJson<S extends z.ZodType>(schema: S): MiddlewareHandler<{ Variables: { body: z.infer<S> } }> {
  return async (c, next) => {
    c.set("body", await readJsonBody(c.req.header("content-type"), () => c.req.json(), schema));
    await next();
  };
}

/**
 * Admission before the body is read: a plan request is refused at once (503, `Connection: close`, its body
 * never read) when the queue has no room for it or its bytes do not fit the in-flight budget; otherwise its
 * bytes are reserved until it is answered. So a burst costs memory for the requests that will run, not for
 * every request that arrives.
 */
function admission(queue: PlanQueue, budget: number, maxBody: number): MiddlewareHandler {
  let held = 0;
  return async (c, next) => {
    const declared = Number(c.req.header("content-length"));
    // Chunked (no length): the most it may be. Over the limit: bodyLimit answers 413 without reading it.
    const bytes = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, maxBody) : maxBody;
    if (!queue.hasRoom() || held + bytes > budget) {
      c.header("Retry-After", "1");
      c.header("Connection", "close");
      return c.json({ error: "server busy: too many plans in flight; retry later" }, 503);
    }
    held += bytes;
    try {
      await next();
    } finally {
      held -= bytes;
    }
  };
}

/** The API key, from `Authorization: Bearer` or `x-api-key`, compared in constant time. */
function apiKeyAuth(key: string): MiddlewareHandler {
  return async (c, next) => {
    const auth = c.req.header("authorization") ?? "";
    const given = auth.startsWith("Bearer ") ? auth.slice(7) : c.req.header("x-api-key") ?? "";
    if (!(await timingSafeEqual(given, key))) {
      throw new PlanRequestError("authorization", "missing or wrong API key", 401);
    }
    await next();
  };
}

/** What a client needs to know of a quantized variant (null for float models). */
function quantizationSummary(q: Quantization | undefined): Record<string, unknown> | null {
  if (!q) return null;
  if (!("modules" in q)) return q; // a peer quantizer's settings, as it recorded them
  return Object.fromEntries(
    Object.entries(q.modules).map((
      [m, r],
    ) => [m, { method: r!.method, format: r!.format, weight: r!.weight, act: r!.act }]),
  );
}

type AppEnv = { Variables: { body: PlanRequest; clientGone: boolean; deadlineMs: number } };

export function createApp(options: AppOptions): Hono<AppEnv> {
  const o = { ...DEFAULTS, ...options };
  const metrics = new Metrics();
  const local = o.models;
  const queue = o.queue ??
    new PlanQueue(Array.from({ length: o.maxConcurrent }, () => new LocalExecutor(local ?? new Map())), o.maxQueue);
  const cards = (): Map<string, ModelCard> =>
    o.cards ?? new Map([...(local ?? new Map()).entries()].map(([k, m]) => [k, m.card]));
  const defaultVariant = (task: string) => o.defaults?.[task] ?? "fp32";
  const app = new Hono<AppEnv>();

  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    const status = c.get("clientGone") ? 499 : c.res.status;
    metrics.request(c.req.routePath, status);
    o.log({
      ts: new Date().toISOString(),
      method: c.req.method,
      path: c.req.path,
      status,
      ms: +(performance.now() - t0).toFixed(1),
      ...(status === 499 ? { note: "client disconnected; its plan was cancelled" } : {}),
    });
  });
  app.use("*", secureHeaders());
  if (o.corsOrigins?.length) {
    app.use("*", cors({ origin: o.corsOrigins, allowHeaders: ["content-type", "authorization", "x-api-key"] }));
  }
  app.use(
    "*",
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) =>
        c.json({ error: `${c.req.method} is not allowed on ${c.req.path}; use ${methods.join(", ")}` }, 405, {
          Allow: methods.join(", "),
        }),
    }),
  );

  app.onError((err, c) => {
    if (err instanceof PlanRequestError) {
      // The rest of an oversized body is never read: the connection cannot carry another request.
      if (err.status === 413) c.header("Connection", "close");
      return c.json({ error: err.message, field: err.field }, err.status);
    }
    if (err instanceof BusyError) {
      c.header("Retry-After", "1");
      return c.json({ error: err.message }, 503);
    }
    if (err instanceof DeadlineError) {
      return c.json(
        { error: `plan exceeded the ${c.get("deadlineMs") ?? o.deadlineMs} ms deadline (${err.message})` },
        504,
      );
    }
    if (err instanceof CancelledError) {
      if (c.req.raw.signal.aborted) {
        c.set("clientGone", true);
        return c.json({ error: "client closed the request" }, 499 as 400);
      }
      c.header("Retry-After", "1");
      return c.json({ error: `plan cancelled: ${err.message}` }, 503);
    }
    o.log({ level: "error", error: String(err), stack: (err as Error).stack });
    return c.json({ error: "internal error" }, 500);
  });
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", (c) => o.isReady() ? c.json({ status: "ready" }) : c.json({ error: "models are loading" }, 503));
  app.get("/metrics", (c) => {
    const rss = residentBytes();
    return c.text(
      metrics.text({
        edgewm_plans_running: queue.running,
        edgewm_plans_queued: queue.queued,
        edgewm_plan_capacity: queue.capacity,
        ...(rss === undefined ? {} : { process_resident_memory_bytes: rss }),
        ...o.gauges?.(),
      }, { edgewm_planning_worker_restarts_total: queue.restarts }),
      200,
      { "content-type": "text/plain; version=0.0.4" },
    );
  });
  let example: Promise<unknown> | undefined;
  app.get("/openapi.json", async (c) => {
    example ??= o.example ? o.example() : Promise.resolve(undefined);
    return c.json(openApiDocument({ example: await example, simulators: !!o.simulators }));
  });
  app.get("/docs", (c) => c.html(DOCS_HTML));
  if (o.site) app.route("/", o.site);

  if (o.apiKey) app.use("/v1/*", apiKeyAuth(o.apiKey));
  if (o.simulators) {
    app.use(
      "/v1/tasks/*",
      bodyLimit({
        maxSize: o.maxBodyBytes,
        onError: () => {
          throw new PlanRequestError("body", `request body exceeds ${o.maxBodyBytes} bytes`, 413);
        },
      }),
    );
    app.route("/v1/tasks", o.simulators);
  }

  app.get("/v1/models", (c) =>
    c.json({
      models: [...cards().entries()].map(([key, card]) => ({
        id: key,
        task: card.task,
        variant: card.variant,
        default: defaultVariant(card.task) === card.variant,
        image_size: card.image_size,
        action_dim: card.action_dim,
        env_action_dim: card.env_action_dim,
        frameskip: card.frameskip,
        proprio_dim: card.proprio_dim,
        env_step_seconds: envStepSeconds(card),
        action_names: taskSpec(card.task)?.actionNames ?? null,
        proprio_names: taskSpec(card.task)?.proprioNames ?? null,
        action_low: card.action_low.slice(0, card.env_action_dim),
        action_high: card.action_high.slice(0, card.env_action_dim),
        objective: {
          patch: card.objective.patch,
          global: card.objective.global,
          proprio: card.objective.proprio,
          distance: card.objective.distance,
          global_metric: card.objective.global_metric ?? null,
        },
        planner: (({ method, sampler: { horizon, samples, topk, iterations }, execute, proposal }) => ({
          method: method ?? "cem",
          horizon,
          samples,
          topk,
          iterations,
          execute,
          proposal: proposal ?? "none",
        }))(cardPreset(card)),
        bytes: Object.entries(card.files).filter(([f]) => f.endsWith(".onnx")).reduce((a, [, f]) => a + f.bytes, 0),
        quantization: quantizationSummary(card.quantization),
        selection: card.selection ?? null,
        limitation: card.limitation ?? null,
      })),
    }));

  app.post(
    "/v1/plan",
    async (c, next) => {
      if (o.isReady()) return await next();
      c.header("Retry-After", "2");
      return c.json({ error: "models are loading" }, 503);
    },
    admission(queue, o.maxInflightBytes, o.maxBodyBytes),
    bodyLimit({
      maxSize: o.maxBodyBytes,
      onError: () => {
        throw new PlanRequestError("body", `request body exceeds ${o.maxBodyBytes} bytes`, 413);
      },
    }),
    validateJson(PlanRequest),
    async (c) => {
      const req = c.get("body");
      // A request may ask for less time than the server allows, never more.
      const ms = Math.min(o.deadlineMs, req.deadline_ms ?? Infinity);
      c.set("deadlineMs", ms);
      const deadline = Date.now() + ms;
      const variant = req.variant ?? defaultVariant(req.task);
      const card = cards().get(`${req.task}/${variant}`);
      if (!card) {
        const known = [...cards().keys()].join(", ");
        const taskLoaded = [...cards().values()].some((x) => x.task === req.task);
        if (!taskLoaded) throw new PlanRequestError("task", `no model for task ${req.task}; loaded: ${known}`, 404);
        throw new PlanRequestError("variant", `no model ${req.task}/${variant}; loaded: ${known}`, 404);
      }
      const t0 = performance.now();
      const out = await queue.plan(toPlanJob(req, card, deadline), c.req.raw.signal);
      metrics.plan(performance.now() - t0);
      return c.json(out);
    },
  );
  return app;
}
