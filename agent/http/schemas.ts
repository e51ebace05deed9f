/**
 * Request and response shapes of the HTTP API (zod), and the OpenAPI document built from them.
 * Objects are strict (an unknown key is an error naming it), numbers that reach the model must be
 * finite in float32, and every documented limit fits inside the body limit.
 */
import * as z from "zod";
import { PLANNER_METHODS, PlannerOptions } from "../../model/planner_options.ts";

/** A number the model will see as float32: finite after conversion (|x| < 3.4e38). */
const f32 = z.number().refine((v) => Number.isFinite(Math.fround(v)), "must be a finite float32 number");

/** Base64 characters of one PNG; two images fit in the default 1 MB body. */
export const MAX_PNG_CHARS = 450_000;
/** Raw RGB values of one image: up to 128x128x3, which fits twice in the default body. */
export const MAX_RGB_VALUES = 128 * 128 * 3;

export const PngImage = z.strictObject({
  png: z.string().min(1).max(MAX_PNG_CHARS).describe("base64 PNG (RGB, RGBA or grey, 8-bit) of the model's size"),
});
export const RgbImage = z.strictObject({
  rgb: z.array(z.number().int().min(0).max(255)).max(MAX_RGB_VALUES)
    .describe("raw RGB bytes, row-major [H, W, 3], H = W = the model's image size"),
});
/** Exactly one of png or rgb. */
export const ImageInput = z.union([PngImage, RgbImage]);
export type ImageInput = { png?: string; rgb?: number[] };

export const Frame = z.strictObject({
  image: ImageInput,
  proprio: z.array(f32).max(64).optional().describe(
    "proprioception in env units; required on the observation (the predictor reads it), and on the goal " +
      "where the model's objective weighs it (objective.proprio > 0 in GET /v1/models); otherwise ignored",
  ),
});

export const PlanRequest = z.strictObject({
  task: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be a task name (GET /v1/models lists the loaded ones)")
    .describe("a loaded task: a built-in one or a user's own (GET /v1/models)"),
  variant: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional().describe(
    "a loaded variant; default: the task's served default (GET /v1/models)",
  ),
  observation: Frame,
  goal: Frame,
  planner: PlannerOptions.default({}),
  warm_start: z.array(f32).max(20 * 64).optional()
    .describe("the warm_start returned by the previous call of this episode (stateless MPC)"),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
  deadline_ms: z.number().int().min(1).max(3_600_000).optional().describe(
    "this request's own deadline in ms, queueing included (the server's EDGEWM_DEADLINE_MS bounds it)",
  ),
});
export type PlanRequest = z.infer<typeof PlanRequest>;

export const PlanResponse = z.object({
  task: z.string(),
  variant: z.string(),
  actions: z.array(z.array(z.number())).describe("[H][frameskip x env action dim] model actions, env units"),
  env_actions: z.array(z.array(z.number())).describe(
    "the same plan as [H x frameskip][env action dim] env actions, to execute in order",
  ),
  control: z.object({
    env_steps_per_action: z.number().int(),
    env_step_seconds: z.number().nullable().describe("seconds per env action (null: the task has no clock)"),
    execute: z.number().int().describe("model actions to execute before the next call"),
  }),
  cost: z.number(),
  warm_start: z.array(z.number()),
  timings: z.object({ decode_ms: z.number(), encode_ms: z.number(), plan_ms: z.number(), total_ms: z.number() }),
});

export const ErrorBody = z.object({
  error: z.string(),
  field: z.string().optional().describe("the request field at fault"),
});

export const ModelInfo = z.object({
  id: z.string(),
  task: z.string(),
  variant: z.string(),
  default: z.boolean().describe("the variant a request for this task gets when it names none"),
  image_size: z.number().int(),
  action_dim: z.number().int(),
  env_action_dim: z.number().int(),
  frameskip: z.number().int(),
  proprio_dim: z.number().int(),
  objective: z.object({ patch: z.number(), global: z.number(), proprio: z.number(), distance: z.number() }),
  planner: z.object({
    method: z.enum(PLANNER_METHODS),
    horizon: z.number().int(),
    samples: z.number().int(),
    topk: z.number().int(),
    iterations: z.number().int(),
    execute: z.number().int(),
  }).describe("the planner a request that names no preset gets"),
  bytes: z.number().int(),
  quantization: z.record(z.string(), z.unknown()).nullable(),
  selection: z.record(z.string(), z.unknown()).nullable().describe(
    "why this variant is the default (the study's rule)",
  ),
});
export const ModelList = z.object({ models: z.array(ModelInfo) });
export const Status = z.object({ status: z.string() });

const toJson = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });

/** OpenAPI 3.1 document for the served routes; `example` is a request the server answers with 200. */
export function openApiDocument(example?: unknown): Record<string, unknown> {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (name: string) => ({ content: { "application/json": { schema: ref(name) } } });
  const err = (description: string) => ({ description, ...json("Error") });
  const image = toJson(ImageInput) as { anyOf?: unknown[] };
  const secured = { security: [{}, { bearer: [] }, { apiKey: [] }] };
  const common = { 405: err("method not allowed (Allow lists the methods)") };
  return {
    openapi: "3.1.0",
    info: { title: "edgewm", version: "0.2.0", description: "Plan actions through a low-bit world model." },
    components: {
      schemas: {
        PlanRequest: toJson(PlanRequest),
        PlanResponse: toJson(PlanResponse),
        // Exactly one of png or rgb: the two shapes are strict and disjoint.
        ImageInput: { oneOf: image.anyOf ?? [image] },
        Error: toJson(ErrorBody),
        ModelList: toJson(ModelList),
        Status: toJson(Status),
      },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "when the server sets EDGEWM_API_KEY" },
        apiKey: { type: "apiKey", in: "header", name: "x-api-key", description: "the same key, as a header" },
      },
    },
    paths: {
      "/v1/plan": {
        post: {
          summary: "Plan an action sequence from an observation to a goal",
          ...secured,
          requestBody: {
            required: true,
            content: { "application/json": { schema: ref("PlanRequest"), ...(example ? { example } : {}) } },
          },
          responses: {
            200: { description: "a plan", ...json("PlanResponse") },
            400: err("invalid request (the field is named)"),
            401: err("missing or wrong API key"),
            404: err("unknown task or variant"),
            413: err("body too large"),
            415: err("not application/json"),
            422: err("the model's outputs are not finite for these inputs"),
            499: err("the client went away (logged, never sent)"),
            503: err("busy or not ready (Retry-After)"),
            504: err("deadline exceeded (queueing included)"),
            ...common,
          },
        },
      },
      "/v1/models": {
        get: {
          summary: "Loaded models and the served defaults",
          ...secured,
          responses: { 200: { description: "model list", ...json("ModelList") }, 401: err("missing or wrong API key") },
        },
      },
      "/health": { get: { summary: "Liveness", responses: { 200: { description: "alive", ...json("Status") } } } },
      "/ready": {
        get: {
          summary: "Readiness: 503 until models are loaded",
          responses: { 200: { description: "ready", ...json("Status") }, 503: err("loading") },
        },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics",
          responses: {
            200: { description: "text exposition", content: { "text/plain": { schema: { type: "string" } } } },
          },
        },
      },
      "/openapi.json": { get: { summary: "This document", responses: { 200: { description: "OpenAPI 3.1" } } } },
      "/docs": {
        get: {
          summary: "This document, browsable (HTML)",
          responses: { 200: { description: "HTML page", content: { "text/html": { schema: { type: "string" } } } } },
        },
      },
    },
  };
}
