/**
 * The HTTP app: Hono routes over loaded world models. Everything a request
 * carries is validated (zod, then image decoding and size checks against the
 * model) before anything reaches a model; every bad input is a 4xx JSON error
 * naming the field.
 *
 * Tests drive it through `app.request()`; `main.ts` serves it.
 */
import { Hono } from "hono";
import { DOCS_HTML } from "./docs_page.ts";
import { decodeBase64 } from "./base64.ts";
import { shiftPlan } from "./cem.ts";
import { BusyError, Limiter } from "./limiter.ts";
import { Metrics } from "./metrics.ts";
import { DeadlineError, planLatent, type PlanPreset, PRESETS, presetWith, toEnvActions } from "./planner.ts";
import { openApiDocument, PlanRequest } from "./schemas.ts";
import type { Latent, WorldModel } from "./world_model.ts";
import { decodePng, PngError } from "../tasks/png.ts";
import { Rng } from "../tasks/rng.ts";

/** A bad request, with the field it concerns and the HTTP status to answer. */
export class PlanRequestError extends Error {
  override name = "PlanRequestError";
  constructor(readonly field: string, message: string, readonly status: 400 | 401 | 404 | 413 | 422 = 400) {
    super(message);
  }
}

export interface AppOptions {
  /** Models by "task/variant"; filled in when loading finishes (/ready answers 503 until then). */
  models: Map<string, WorldModel>;
  /** Set once every model is loaded. */
  isReady: () => boolean;
  /** If set, /v1/* needs `Authorization: Bearer <key>` or `x-api-key: <key>`. */
  apiKey?: string;
  maxBodyBytes?: number;
  maxConcurrent?: number;
  maxQueue?: number;
  /** Per-request planning deadline. */
  deadlineMs?: number;
  /** JSON log lines go here (default: console.log; tests pass a no-op). */
  log?: (line: Record<string, unknown>) => void;
}

const DEFAULTS = {
  maxBodyBytes: 1_000_000,
  maxConcurrent: 1,
  maxQueue: 8,
  deadlineMs: 30_000,
  log: (line: Record<string, unknown>) => console.log(JSON.stringify(line)),
} satisfies Partial<AppOptions>;

function decodeImage(field: string, img: { png?: string; rgb?: number[] }, size: number): Uint8Array {
  let rgb: Uint8Array, w: number, h: number;
  if (img.png !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = decodeBase64(img.png);
    } catch {
      throw new PlanRequestError(`${field}.png`, "not valid base64");
    }
    try {
      ({ rgb, width: w, height: h } = decodePng(bytes));
    } catch (e) {
      throw new PlanRequestError(`${field}.png`, e instanceof PngError ? e.message : "not a readable PNG");
    }
  } else {
    rgb = Uint8Array.from(img.rgb!);
    if (rgb.length !== size * size * 3) {
      throw new PlanRequestError(
        `${field}.rgb`,
        `expected ${size * size * 3} values (${size}x${size}x3), got ${rgb.length}`,
      );
    }
    w = h = size;
  }
  if (w !== size || h !== size) {
    throw new PlanRequestError(`${field}.png`, `image is ${w}x${h}; this model takes ${size}x${size}`);
  }
  return rgb;
}

function checkProprio(field: string, p: number[] | undefined, model: WorldModel, required: boolean): Float32Array {
  const P = model.card.proprio_dim;
  if (p === undefined) {
    if (required) throw new PlanRequestError(field, `proprio with ${P} numbers is required`);
    return new Float32Array(P).fill(NaN);
  }
  if (p.length !== P) throw new PlanRequestError(field, `expected ${P} numbers, got ${p.length}`);
  return model.normProprio(p);
}

/** What a client needs to know of a quantized variant (null for float models). */
function quantizationSummary(q: unknown): Record<string, unknown> | null {
  if (!q || typeof q !== "object" || !("modules" in q)) return null;
  const modules = (q as { modules: Record<string, Record<string, unknown>> }).modules;
  return Object.fromEntries(
    Object.entries(modules).map(([m, r]) => [m, { method: r.method, format: r.format, weight: r.weight, act: r.act }]),
  );
}

function presetFor(req: PlanRequest): PlanPreset {
  const preset = presetWith(PRESETS[req.planner.preset], req.planner);
  if (preset.sampler.topk > preset.sampler.samples) {
    throw new PlanRequestError("planner.topk", "topk must not exceed samples");
  }
  return preset;
}

export function createApp(options: AppOptions): Hono {
  const o = { ...DEFAULTS, ...options };
  const limiter = new Limiter(o.maxConcurrent, o.maxQueue);
  const metrics = new Metrics();
  const app = new Hono();

  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    metrics.request(c.req.routePath, c.res.status);
    o.log({
      ts: new Date().toISOString(),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: +(performance.now() - t0).toFixed(1),
    });
  });

  app.onError((err, c) => {
    if (err instanceof PlanRequestError) return c.json({ error: err.message, field: err.field }, err.status);
    if (err instanceof BusyError) {
      c.header("Retry-After", "1");
      return c.json({ error: err.message }, 503);
    }
    if (err instanceof DeadlineError) return c.json({ error: `plan exceeded the ${o.deadlineMs} ms deadline` }, 504);
    o.log({ level: "error", error: String(err), stack: (err as Error).stack });
    return c.json({ error: "internal error" }, 500);
  });
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", (c) => o.isReady() ? c.json({ status: "ready" }) : c.json({ error: "models are loading" }, 503));
  app.get(
    "/metrics",
    (c) =>
      c.text(metrics.text({ edgewm_plans_running: limiter.running, edgewm_plans_queued: limiter.queued }), 200, {
        "content-type": "text/plain; version=0.0.4",
      }),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument()));
  app.get("/docs", (c) => c.html(DOCS_HTML));

  app.use("/v1/*", async (c, next) => {
    if (o.apiKey) {
      const auth = c.req.header("authorization"), key = c.req.header("x-api-key");
      if (auth !== `Bearer ${o.apiKey}` && key !== o.apiKey) {
        throw new PlanRequestError("authorization", "missing or wrong API key", 401);
      }
    }
    await next();
  });

  app.get("/v1/models", (c) =>
    c.json({
      models: [...o.models.entries()].map(([key, m]) => ({
        id: key,
        task: m.card.task,
        variant: m.card.variant,
        image_size: m.card.image_size,
        action_dim: m.card.action_dim,
        env_action_dim: m.card.env_action_dim,
        frameskip: m.card.frameskip,
        proprio_dim: m.card.proprio_dim,
        bytes: Object.entries(m.card.files).filter(([f]) => f.endsWith(".onnx")).reduce((a, [, f]) => a + f.bytes, 0),
        quantization: quantizationSummary(m.card.quantization),
      })),
    }));

  app.post(
    "/v1/plan",
    async (c) => {
      if (!o.isReady()) {
        c.header("Retry-After", "2");
        return c.json({ error: "models are loading" }, 503);
      }
      const t0 = performance.now();
      const tooBig = () => new PlanRequestError("body", `request body exceeds ${o.maxBodyBytes} bytes`, 413);
      if (Number(c.req.header("content-length") ?? 0) > o.maxBodyBytes) throw tooBig();
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      if (bytes.length > o.maxBodyBytes) throw tooBig();
      let raw: unknown;
      try {
        raw = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        throw new PlanRequestError("body", "body is not valid JSON");
      }
      const parsed = PlanRequest.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new PlanRequestError(issue.path.join(".") || "body", issue.message);
      }
      const req = parsed.data;
      const model = o.models.get(`${req.task}/${req.variant}`);
      if (!model) {
        const known = [...o.models.keys()].join(", ");
        throw new PlanRequestError("variant", `no model ${req.task}/${req.variant}; loaded: ${known}`, 404);
      }
      const card = model.card, F = card.image_size ** 2 * 3;
      const preset = presetFor(req);
      const obs = decodeImage("observation.image", req.observation.image, card.image_size);
      const goal = decodeImage("goal.image", req.goal.image, card.image_size);
      const p0 = checkProprio("observation.proprio", req.observation.proprio, model, card.objective.proprio > 0);
      const pg = checkProprio("goal.proprio", req.goal.proprio, model, card.objective.proprio > 0);
      const L = preset.sampler.horizon * card.action_dim;
      let warm: Float32Array | undefined;
      if (req.warm_start) {
        if (req.warm_start.length !== L) {
          throw new PlanRequestError(
            "warm_start",
            `expected ${L} numbers (horizon x action_dim), got ${req.warm_start.length}`,
          );
        }
        warm = Float32Array.from(req.warm_start);
      }
      const decodeMs = performance.now() - t0;

      return await limiter.run(async () => {
        const t1 = performance.now();
        const both = new Uint8Array(2 * F);
        both.set(obs);
        both.set(goal, F);
        const z = await model.encode(both, 2);
        const ND = card.tokens * card.latent_dim, G = card.global_dim;
        const start: Latent = { tokens: z.tokens.subarray(0, ND), global: z.global.subarray(0, G), batch: 1 };
        const target: Latent = { tokens: z.tokens.subarray(ND), global: z.global.subarray(G), batch: 1 };
        const t2 = performance.now();
        const r = await planLatent(model, start, p0, target, pg, preset, new Rng(req.seed), warm, t0 + o.deadlineMs);
        const t3 = performance.now();
        metrics.plan(t3 - t0);
        const env = toEnvActions(model, r.plan), A = card.action_dim;
        return c.json({
          task: card.task,
          variant: card.variant,
          actions: Array.from(
            { length: preset.sampler.horizon },
            (_, h) => Array.from(env.subarray(h * A, (h + 1) * A)),
          ),
          cost: r.cost,
          warm_start: Array.from(shiftPlan(r.plan, A, preset.execute)),
          timings: {
            decode_ms: +decodeMs.toFixed(2),
            encode_ms: +(t2 - t1).toFixed(2),
            plan_ms: +(t3 - t2).toFixed(2),
            total_ms: +(t3 - t0).toFixed(2),
          },
        });
      });
    },
  );
  return app;
}
