/**
 * A model directory's card (`model.json`), described by one zod schema, and its integrity check:
 * the card must match the schema completely and every file it lists must exist with the recorded
 * sha256, or loading stops with a `ModelLoadError` that says which field or file and why.
 */
import * as z from "zod";
import { UserError } from "../lib/errors.ts";
import { sha256Hex } from "../lib/sha256.ts";
import { PlannerOptions, PlannerOptionsError, resolvePlanner } from "./planner_options.ts";
import { Quantization } from "./quantization.ts";
import { readBytes, readText } from "../lib/platform.ts";
import { taskSpec } from "../tasks/specs.ts";

/** The hex sha256 that model cards record for each file (lib/sha256.ts: the same on every host, browsers too). */
export function sha256(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

export class ModelLoadError extends UserError {
  override name = "ModelLoadError";
}

const count = z.number().int().positive();
const finite = z.number().refine(Number.isFinite, "must be a finite number");
const positive = z.number().positive().refine(Number.isFinite, "must be a finite positive number");

/** How the predictor and encoder were trained (train/export.py writes it). */
export const Training = z.looseObject({
  data: z.looseObject({ task: z.string(), episodes: count, steps: count, seed: z.number().int() }).optional(),
  encoder: z.looseObject({ config: z.record(z.string(), z.unknown()), objective: z.string().optional() }).optional(),
  predictor: z.looseObject({
    config: z.looseObject({
      width: count,
      depth: count,
      heads: count,
      mlp_ratio: positive,
      action_emb: count,
      proprio_emb: count,
    }),
  }),
});

const FileEntry = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be a hex sha256"),
  bytes: z.number().int().min(0),
});

export const ModelCardSchema = z.object({
  format: z.literal("edgewm-model/1"),
  /** A built-in task (tasks/specs.ts; its layouts are checked below) or a user's own. */
  task: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be 1-32 lowercase letters, digits, '_' or '-'"),
  variant: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, '_', '.' or '-'"),
  image_size: count,
  patch: count,
  patch_grid: z.array(count).optional(),
  token_pool: count.optional(),
  tokens: count,
  latent_dim: count,
  global_dim: count,
  num_hist: count,
  frameskip: count,
  env_action_dim: count,
  action_dim: count,
  proprio_dim: count,
  action_mean: z.array(finite),
  action_std: z.array(positive),
  action_low: z.array(finite),
  action_high: z.array(finite),
  proprio_mean: z.array(finite),
  proprio_std: z.array(positive),
  /** Seconds one env step lasts (null: no clock); built-in tasks take it from their spec when absent. */
  env_step_seconds: positive.nullable().optional(),
  /**
   * Planning cost weights; `mode` "last" scores the final predicted frame (DINO-WM), "all" every step.
   * `distance` weighs the L2 in the space of `distance.onnx`, a head over the latents trained to chain
   * temporal distances across trajectories (train/distance_head.py). `global_metric` (G rows of G numbers, M)
   * makes the global term ||M (global - goal)||: the embedding whitened by its one-step changes, so a
   * dimension counts by how many typical steps it is from the goal (train/step_metric.py; default identity).
   */
  objective: z.object({
    patch: z.number().min(0),
    global: z.number().min(0),
    global_metric: z.array(z.array(finite)).optional(),
    proprio: z.number().min(0),
    distance: z.number().min(0).default(0),
    mode: z.enum(["last", "all"]).default("last"),
  }),
  /**
   * The planner this model is served with when a request (or `deno task eval`) names none: a preset
   * (model/planner_options.ts) with optional overrides, measured with the model.
   */
  planner: PlannerOptions.optional(),
  /** Graph input and output names with their shapes (documentation for other runtimes). */
  tensors: z.record(z.string(), z.unknown()).optional(),
  training: Training.optional(),
  quantization: Quantization.optional(),
  /** What the model does not yet do, said plainly with its measured success (GET /v1/models shows it). */
  limitation: z.string().min(1).optional(),
  /** Why this variant is a served default: the study's rule and the evidence (study/pipeline/ship.ts writes it). */
  selection: z.looseObject({
    rule: z.string(),
    /** Closed-loop success of the variant and of fp32 (null where chosen without a simulator, by latent error). */
    success: z.number().nullable(),
    fp32_success: z.number().nullable(),
  }).optional(),
  files: z.record(z.string(), FileEntry),
}).superRefine((c, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  // A model reads and writes its task's actions and proprio: one trained on another layout (an older
  // dataset version) would run on misread numbers.
  const t = taskSpec(c.task);
  if (t) {
    for (
      const [k, want] of [["env_action_dim", t.actionDim], ["frameskip", t.frameskip], [
        "proprio_dim",
        t.proprioDim,
      ]] as const
    ) {
      if (c[k] !== want) {
        issue(k, `${c[k]} does not match task ${t.name}, whose ${k} is ${want} (retrain on today's data)`);
      }
    }
    if (c.env_step_seconds !== undefined && c.env_step_seconds !== t.stepSeconds) {
      issue("env_step_seconds", `${c.env_step_seconds} does not match task ${t.name}'s ${t.stepSeconds}`);
    }
  }
  if (c.action_dim !== c.frameskip * c.env_action_dim) {
    issue(
      "action_dim",
      `action_dim ${c.action_dim} != frameskip x env_action_dim (${c.frameskip} x ${c.env_action_dim})`,
    );
  }
  for (const k of ["action_mean", "action_std", "action_low", "action_high"] as const) {
    if (c[k].length !== c.action_dim) issue(k, `must list ${c.action_dim} numbers (action_dim), got ${c[k].length}`);
  }
  for (const k of ["proprio_mean", "proprio_std"] as const) {
    if (c[k].length !== c.proprio_dim) issue(k, `must list ${c.proprio_dim} numbers (proprio_dim), got ${c[k].length}`);
  }
  for (const name of ["encoder.onnx", "predictor.onnx"]) {
    if (!c.files[name]) issue("files", `does not list ${name}`);
  }
  if (c.planner) {
    try {
      resolvePlanner(c.planner);
    } catch (e) {
      if (!(e instanceof PlannerOptionsError)) throw e;
      ctx.addIssue({ code: "custom", path: ["planner", e.field], message: e.message });
    }
  }
  const gm = c.objective.global_metric;
  if (gm && (gm.length !== c.global_dim || gm.some((row) => row.length !== c.global_dim))) {
    ctx.addIssue({
      code: "custom",
      path: ["objective", "global_metric"],
      message: `must be ${c.global_dim} rows of ${c.global_dim} numbers (global_dim)`,
    });
  }
  if (c.objective.distance > 0 && !c.files["distance.onnx"]) {
    issue("files", "does not list distance.onnx, which objective.distance > 0 needs");
  }
  if (c.planner?.proposal === "policy" && !c.files["policy.onnx"]) {
    issue("files", 'does not list policy.onnx, which planner.proposal "policy" needs');
  }
});

/** The ONNX graphs a card lists (encoder, predictor and, where present, the distance head and proposal policy). */
export function graphFiles(card: Pick<ModelCard, "files">): string[] {
  return Object.keys(card.files).filter((f) => f.endsWith(".onnx")).sort();
}

/** The card's type, as the schema reads it. */
export type ModelCard = z.infer<typeof ModelCardSchema>;

/** Check a parsed card against the schema; the first problem is a `ModelLoadError` naming its field. */
export function validateModelCard(raw: unknown, where: string): ModelCard {
  const r = ModelCardSchema.safeParse(raw);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  const field = i.path.join(".") || "(root)";
  throw new ModelLoadError(`${where}/model.json: field ${field}: ${i.message}`);
}

/**
 * Read and verify `dir/model.json` and the files it lists (`files: "graphs"`: only its ONNX graphs, for a
 * host that fetched just those, like the playground's page).
 */
export function loadModelCard(dir: string, o: { files?: "all" | "graphs" } = {}): ModelCard {
  let text: string;
  try {
    text = readText(`${dir}/model.json`);
  } catch (e) {
    throw new ModelLoadError(`${dir}: cannot read model.json (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(`${dir}/model.json is not valid JSON (${(e as Error).message})`);
  }
  const card = validateModelCard(raw, dir);
  for (const [name, { sha256: expected }] of Object.entries(card.files)) {
    if (o.files === "graphs" && !name.endsWith(".onnx")) continue;
    let bytes: Uint8Array;
    try {
      bytes = readBytes(`${dir}/${name}`);
    } catch {
      throw new ModelLoadError(`${dir}/${name} is listed in model.json but missing`);
    }
    const got = sha256(bytes);
    if (got !== expected) {
      throw new ModelLoadError(
        `${dir}/${name} does not match model.json (sha256 ${got.slice(0, 12)}..., expected ${
          expected.slice(0, 12)
        }...): the file is corrupt or was replaced; re-export or restore it`,
      );
    }
  }
  return card;
}

/** Seconds per env step of a card's task: the card's own value, else its built-in task's, else null. */
export function envStepSeconds(card: Pick<ModelCard, "task" | "env_step_seconds">): number | null {
  return card.env_step_seconds !== undefined ? card.env_step_seconds : taskSpec(card.task)?.stepSeconds ?? null;
}
