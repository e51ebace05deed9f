/**
 * Request and response shapes of the HTTP API (zod): the server validates with these and the OpenAPI
 * document (openapi.ts) is generated from them, so the two cannot disagree. Objects are strict (an
 * unknown key is an error naming it), numbers that reach the model must be finite in float32, and every
 * documented limit fits inside the body limit. Shapes a client names are registered with an id (`API`):
 * they become the document's components, referenced where they are used.
 */
import * as z from "zod";
import { PLANNER_METHODS, PlannerOptions, PROPOSALS } from "../../model/planner_options.ts";

/** The named shapes of the API; openapi.ts turns them into components. */
export const API = z.registry<{ id: string }>();
const named = <S extends z.ZodType>(id: string, s: S): S => {
  API.add(s, { id });
  return s;
};

/** A number the model will see as float32: finite after conversion (|x| < 3.4e38). */
const f32 = z.number().refine((v) => Number.isFinite(Math.fround(v)), "must be a finite float32 number");

/** Base64 characters of one PNG; two images fit in the default 1 MB body. */
export const MAX_PNG_CHARS = 450_000;
/** Raw RGB values of one image: up to 128x128x3, which fits twice in the default body. */
export const MAX_RGB_VALUES = 128 * 128 * 3;
/** Base64 characters of one raw image of up to 128x128x3 bytes. */
export const MAX_RAW_CHARS = Math.ceil(MAX_RGB_VALUES / 3) * 4;

export const PngImage = named(
  "PngImage",
  z.strictObject({
    png: z.string().min(1).max(MAX_PNG_CHARS).describe("base64 PNG (RGB, RGBA or grey, 8-bit), square"),
  }),
);
export const RgbImage = named(
  "RgbImage",
  z.strictObject({
    rgb: z.array(z.number().int().min(0).max(255)).max(MAX_RGB_VALUES)
      .describe("RGB values, row-major [H, W, 3], as JSON numbers (~4 characters a value)"),
  }),
);
export const RawImage = named(
  "RawImage",
  z.strictObject({
    raw: z.string().min(1).max(MAX_RAW_CHARS)
      .describe("base64 of the H x W x 3 RGB bytes, row-major (~1.33 characters a value; no encoder needed)"),
  }),
);
/** Exactly one of png, rgb or raw (the three shapes are strict and disjoint). */
export const ImageInput = named("ImageInput", z.union([PngImage, RgbImage, RawImage]));
export type ImageInput = { png?: string; rgb?: number[]; raw?: string };

/** The form images are answered in. */
export const ImageFormat = named(
  "ImageFormat",
  z.enum(["png", "rgb", "raw"]).describe("png: base64 PNG; rgb: an array of values; raw: base64 of the bytes"),
);
export type ImageFormat = z.infer<typeof ImageFormat>;

const proprio = z.array(f32).max(64);

export const Observation = named(
  "Observation",
  z.strictObject({
    image: ImageInput,
    proprio: proprio.describe("proprioception in env units (GET /v1/models names each number); the predictor reads it"),
  }),
);
export const Goal = named(
  "Goal",
  z.strictObject({
    image: ImageInput,
    proprio: proprio.optional().describe(
      "the goal's proprioception; required where the model's objective weighs it (objective.proprio > 0 in " +
        "GET /v1/models), ignored elsewhere",
    ),
  }),
);

/** A warm start as the server answers it: the plan shifted by `shifted_by` model actions. */
export const WarmStart = named(
  "WarmStart",
  z.strictObject({
    actions: z.array(f32).max(20 * 64).describe("the plan's z-scored model actions, [H x action_dim], shifted"),
    shifted_by: z.number().int().min(0).max(20).describe(
      "model actions dropped from its front: the `control.execute` the client was told to execute",
    ),
  }),
);

export const PlanRequest = named(
  "PlanRequest",
  z.strictObject({
    task: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be a task name (GET /v1/models lists the loaded ones)")
      .describe("a loaded task: a built-in one or a user's own (GET /v1/models)"),
    variant: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional().describe(
      "a loaded variant; default: the task's served default (GET /v1/models)",
    ),
    observation: Observation,
    goal: Goal,
    planner: PlannerOptions.default({}),
    warm_start: z.union([WarmStart, z.array(f32).max(20 * 64)]).optional().describe(
      "the warm_start of the previous answer of this episode (stateless MPC); an array is taken as it is",
    ),
    executed: z.number().int().min(0).max(20).optional().describe(
      "model actions executed since the plan warm_start came from: must equal its shifted_by",
    ),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0).describe("the sampler's seed: same request, same plan"),
    deadline_ms: z.number().int().min(1).max(3_600_000).optional().describe(
      "this request's own deadline in ms, queueing included (the server's EDGEWM_DEADLINE_MS bounds it)",
    ),
  }),
);
export type PlanRequest = z.infer<typeof PlanRequest>;

export const PlanResponse = named(
  "PlanResponse",
  z.object({
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
    cost: z.number().describe("the planning objective of this plan (latent units; lower is closer)"),
    cost_per_iteration: z.array(z.number()).describe("the sampler's best cost after each of its iterations"),
    warm_start: WarmStart,
    timings: z.object({ decode_ms: z.number(), encode_ms: z.number(), plan_ms: z.number(), total_ms: z.number() }),
  }),
);

export const ErrorBody = named(
  "Error",
  z.object({
    error: z.string(),
    field: z.string().optional().describe("the request field at fault"),
  }),
);

/** One named number of a vector, with its unit. */
export const Dim = named("Dim", z.object({ name: z.string(), unit: z.string() }));

export const ModelInfo = named(
  "ModelInfo",
  z.object({
    id: z.string(),
    task: z.string(),
    variant: z.string(),
    default: z.boolean().describe("the variant a request for this task gets when it names none"),
    image_size: z.number().int(),
    action_dim: z.number().int().describe("numbers per model action: frameskip x env_action_dim"),
    env_action_dim: z.number().int(),
    frameskip: z.number().int(),
    proprio_dim: z.number().int(),
    env_step_seconds: z.number().nullable(),
    action_names: z.array(Dim).nullable().describe("each env action number (null: a task the server has no spec of)"),
    proprio_names: z.array(Dim).nullable().describe("each proprio number"),
    action_low: z.array(z.number()).describe("per env action number"),
    action_high: z.array(z.number()),
    objective: z.object({
      patch: z.number(),
      global: z.number(),
      proprio: z.number(),
      distance: z.number(),
      global_metric: z.array(z.array(z.number())).nullable().describe(
        "M of the global term ||M (global - goal)|| (null: identity): the embedding whitened by its one-step changes",
      ),
    }),
    planner: z.object({
      method: z.enum(PLANNER_METHODS),
      horizon: z.number().int(),
      samples: z.number().int(),
      topk: z.number().int(),
      iterations: z.number().int(),
      execute: z.number().int(),
      proposal: z.enum(PROPOSALS).describe("policy: the search starts from the model's proposal policy"),
    }).describe("the planner a request that names no preset gets"),
    bytes: z.number().int(),
    quantization: z.record(z.string(), z.unknown()).nullable(),
    selection: z.record(z.string(), z.unknown()).nullable().describe("why this variant is the default"),
    limitation: z.string().nullable().describe("what the model does not yet do, with its measured success"),
  }),
);
export const ModelList = named("ModelList", z.object({ models: z.array(ModelInfo) }));
export const Status = named("Status", z.object({ status: z.string() }));

// ---------------------------------------------------------------- the simulators

const size = z.number().int().min(8).max(512).default(64).describe("image size in pixels (square)");
const format = ImageFormat.default("png");
const stateVector = z.array(z.number().refine(Number.isFinite, "must be a finite number")).min(1).max(64);

export const TaskInfo = named(
  "TaskInfo",
  z.object({
    name: z.string(),
    action: z.object({
      dim: z.number().int(),
      low: z.array(z.number()),
      high: z.array(z.number()),
      names: z.array(Dim),
    }).describe("one env action; actions outside the bounds are clipped"),
    proprio: z.object({ dim: z.number().int(), names: z.array(Dim) }),
    state: z.object({ dim: z.number().int(), names: z.array(Dim) }),
    frameskip: z.number().int().describe("env actions per model action"),
    env_step_seconds: z.number().nullable(),
    image: z.object({
      default_size: z.number().int(),
      window: z.object({ x0: z.number(), y0: z.number(), width: z.number() }).describe(
        "the world rectangle an image shows, in state units: x to the right, y down the image rows",
      ),
      colours: z.record(z.string(), z.array(z.number())),
      drawing: z.string(),
    }),
    success_rule: z.string(),
  }),
);
export const TaskList = named("TaskList", z.object({ tasks: z.array(TaskInfo) }));

export const SimFrame = named(
  "SimFrame",
  z.object({
    state: z.array(z.number()),
    proprio: z.array(z.number()),
    image: ImageInput.optional().describe("in the requested form"),
  }),
);

export const EpisodeRequest = named(
  "EpisodeRequest",
  z.strictObject({
    seed: z.number().int().min(0).max(2 ** 32 - 1).describe("the evaluation seed"),
    index: z.number().int().min(0).max(1_000_000).describe("the episode of that seed"),
    size,
    image_format: format,
    replans: z.number().int().min(1).max(1000).default(50).describe("how many replan seeds to list"),
  }),
);
export const EpisodeResponse = named(
  "EpisodeResponse",
  z.object({
    task: z.string(),
    seed: z.number().int(),
    index: z.number().int(),
    start: SimFrame,
    goal: SimFrame,
    replan_seeds: z.array(z.number().int()).describe(
      "the `seed` of plan request r + 1 under the evaluation protocol (deno task eval plans with these)",
    ),
  }),
);

export const RenderRequest = named(
  "RenderRequest",
  z.strictObject({ state: stateVector, size, image_format: format }),
);

export const StepRequest = named(
  "StepRequest",
  z.strictObject({
    state: stateVector.describe("the state to start from (GET /v1/tasks names each number)"),
    actions: z.array(z.array(z.number().refine(Number.isFinite, "must be a finite number")).max(16)).min(1).max(1000)
      .describe("env actions to run in order (a plan's env_actions, or its first execute x frameskip)"),
    goal: stateVector.optional().describe("a goal state: each step then says whether it is reached, and how far"),
    size,
    image_format: format,
    images: z.enum(["all", "last", "none"]).default("last").describe("which steps come with an image"),
  }),
);
export const SimStep = named(
  "SimStep",
  z.object({
    state: z.array(z.number()),
    proprio: z.array(z.number()),
    image: ImageInput.optional(),
    success: z.boolean().optional().describe("with a goal: the task's success rule holds"),
    distance: z.number().optional().describe("with a goal: distance in units of the success threshold"),
  }),
);
export const StepResponse = named("StepResponse", z.object({ task: z.string(), steps: z.array(SimStep) }));
