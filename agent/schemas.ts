/** Request and response shapes of the HTTP API (zod), and the OpenAPI document built from them. */
import { z } from "zod";
import { TASK_NAMES } from "../tasks/task.ts";

const finite = z.number().refine(Number.isFinite, "must be a finite number");

export const ImageInput = z.object({
  png: z.string().max(2_000_000).optional().describe("base64 PNG (RGB, RGBA or grey, 8-bit)"),
  rgb: z.array(z.number().int().min(0).max(255)).max(1024 * 1024 * 3).optional()
    .describe("raw RGB bytes, row-major [H, W, 3], H = W = the model's image size"),
}).refine((v) => (v.png === undefined) !== (v.rgb === undefined), "give exactly one of png or rgb");

export const Frame = z.object({
  image: ImageInput,
  proprio: z.array(finite).max(64).optional().describe("proprioception in env units"),
});

export const PlannerOptions = z.object({
  preset: z.enum(["fast", "dinowm", "mppi"]).default("fast"),
  method: z.enum(["cem", "mppi"]).optional().describe("override the preset's planner"),
  temperature: z.number().min(0.01).max(100).optional().describe(
    "MPPI temperature, in standard deviations of the costs",
  ),
  horizon: z.number().int().min(1).max(20).optional(),
  samples: z.number().int().min(2).max(2000).optional(),
  topk: z.number().int().min(1).max(2000).optional(),
  iterations: z.number().int().min(1).max(100).optional(),
  execute: z.number().int().min(1).max(20).optional().describe("actions the client will execute before replanning"),
}).refine((p) => p.topk === undefined || p.samples === undefined || p.topk <= p.samples, {
  message: "topk must not exceed samples",
  path: ["topk"],
});

export const PlanRequest = z.object({
  task: z.enum(TASK_NAMES as unknown as [string, ...string[]]),
  variant: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default("fp32"),
  observation: Frame,
  goal: Frame,
  planner: PlannerOptions.default({ preset: "fast" }),
  warm_start: z.array(finite).max(20 * 64).optional()
    .describe("the warm_start returned by the previous call of this episode (stateless MPC)"),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
});
export type PlanRequest = z.infer<typeof PlanRequest>;

export const PlanResponse = z.object({
  task: z.string(),
  variant: z.string(),
  actions: z.array(z.array(z.number())).describe("[H][frameskip x env action dim] model actions, env units"),
  cost: z.number(),
  warm_start: z.array(z.number()),
  timings: z.object({ decode_ms: z.number(), encode_ms: z.number(), plan_ms: z.number(), total_ms: z.number() }),
});

export const ErrorBody = z.object({ error: z.string(), field: z.string().optional() });

/** OpenAPI 3.1 document for the served routes. */
export function openApiDocument(): Record<string, unknown> {
  const json = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });
  const err = { content: { "application/json": { schema: json(ErrorBody) } } };
  return {
    openapi: "3.1.0",
    info: { title: "edgewm", version: "0.1.0", description: "Plan actions through a low-bit world model." },
    paths: {
      "/v1/plan": {
        post: {
          summary: "Plan an action sequence from an observation to a goal",
          requestBody: { required: true, content: { "application/json": { schema: json(PlanRequest) } } },
          responses: {
            200: { description: "a plan", content: { "application/json": { schema: json(PlanResponse) } } },
            400: { description: "invalid request (the field is named)", ...err },
            401: { description: "missing or wrong API key", ...err },
            404: { description: "unknown task or variant", ...err },
            413: { description: "body too large", ...err },
            503: { description: "busy or not ready (Retry-After)", ...err },
            504: { description: "deadline exceeded", ...err },
          },
        },
      },
      "/v1/models": { get: { summary: "Loaded models", responses: { 200: { description: "model list" } } } },
      "/health": { get: { summary: "Liveness", responses: { 200: { description: "alive" } } } },
      "/ready": {
        get: { summary: "Readiness: 503 until models are loaded", responses: { 200: { description: "ready" } } },
      },
      "/metrics": { get: { summary: "Prometheus metrics", responses: { 200: { description: "text exposition" } } } },
      "/docs": {
        get: { summary: "This document, browsable (HTML)", responses: { 200: { description: "HTML page" } } },
      },
    },
  };
}
