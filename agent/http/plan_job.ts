/**
 * One plan request, from validated JSON to the answer: `toPlanJob` turns a request into planning
 * inputs (everything checkable against the model card, and the images decoded, bounded by the model's
 * image size, before any planning work), and `runPlanJob` encodes, plans and shapes the response. A
 * job is plain data, so the same function runs on the HTTP thread or in a planning worker.
 */
import { decodeBase64 } from "../../lib/base64.ts";
import { UserError } from "../../lib/errors.ts";
import { decodePng, PngError } from "../../lib/png.ts";
import { Rng } from "../../lib/rng.ts";
import { envStepSeconds, type ModelCard, sha256 } from "../../model/model_card.ts";
import { shiftPlan } from "../planners/sampling.ts";
import { planLatent, toEnvActions } from "../planners/world_model_planner.ts";
import { cardPreset, PlannerOptionsError, type PlanPreset, resolvePlanner } from "../../model/planner_options.ts";
import type { Latent, WorldModel } from "../world_model.ts";
import type { ImageInput, PlanRequest } from "./schemas.ts";

/** A bad request, with the field it concerns and the HTTP status to answer. */
export class PlanRequestError extends UserError {
  override name = "PlanRequestError";
  constructor(readonly field: string, message: string, readonly status: 400 | 401 | 404 | 413 | 415 | 422 = 400) {
    super(message);
  }
}

/** The planning inputs of one request: plain data (it crosses into workers). */
export interface PlanJob {
  /** "task/variant" */
  model: string;
  /** RGB uint8 [S, S, 3], decoded before the job is queued (a bad image never takes a planning slot). */
  observation: { rgb: Uint8Array; proprio: number[] };
  /** `key` identifies the goal image as sent (goalKey), for the planning side's cache of goal latents. */
  goal: { rgb: Uint8Array; key: string; proprio?: number[] };
  /** Milliseconds spent decoding the images (reported in the answer's timings). */
  decodeMs: number;
  preset: PlanPreset;
  warmStart?: number[];
  seed: number;
  /** Absolute deadline, ms since the epoch (Date.now(): the same clock in every thread). */
  deadline: number;
}

export interface PlanOutput {
  task: string;
  variant: string;
  /** [H][frameskip x env action dim] model actions, env units. */
  actions: number[][];
  /** The same plan as env actions, [H x frameskip][env action dim], for a robot to execute in order. */
  env_actions: number[][];
  control: { env_steps_per_action: number; env_step_seconds: number | null; execute: number };
  cost: number;
  /** The sampler's best cost after each of its iterations (a plot of the search). */
  cost_per_iteration: number[];
  warm_start: { actions: number[]; shifted_by: number };
  timings: { decode_ms: number; encode_ms: number; plan_ms: number; total_ms: number };
}

/**
 * The checks a request needs from the model card, and its images decoded, before it is queued: only small
 * arrays cross into a planning worker, and what is wrong with a request is known before it waits.
 */
export function toPlanJob(req: PlanRequest, card: ModelCard, deadline: number): PlanJob {
  let preset: PlanPreset;
  try {
    preset = resolvePlanner(req.planner, cardPreset(card));
  } catch (e) {
    if (e instanceof PlannerOptionsError) throw new PlanRequestError(`planner.${e.field}`, e.message);
    throw e;
  }
  if (preset.proposal === "policy" && !card.files["policy.onnx"]) {
    throw new PlanRequestError(
      "planner.proposal",
      `${card.task}/${card.variant} has no proposal policy (policy.onnx); send proposal "none" or leave it out`,
      422,
    );
  }
  const P = card.proprio_dim;
  // The predictor reads the observation's proprio on every step, so it is always required.
  const obsP = req.observation.proprio;
  if (obsP === undefined) throw new PlanRequestError("observation.proprio", `proprio with ${P} numbers is required`);
  if (obsP.length !== P) throw new PlanRequestError("observation.proprio", `expected ${P} numbers, got ${obsP.length}`);
  // The goal's proprio matters only where the objective weighs it; elsewhere it is optional and ignored.
  const goalP = req.goal.proprio;
  if (card.objective.proprio > 0 && goalP === undefined) {
    throw new PlanRequestError(
      "goal.proprio",
      `proprio with ${P} numbers is required (this model's objective uses it)`,
    );
  }
  if (goalP !== undefined && goalP.length !== P) {
    throw new PlanRequestError("goal.proprio", `expected ${P} numbers, got ${goalP.length}`);
  }
  const L = preset.sampler.horizon * card.action_dim;
  const warm = req.warm_start === undefined
    ? undefined
    : Array.isArray(req.warm_start)
    ? { actions: req.warm_start, shifted_by: undefined }
    : req.warm_start;
  if (warm && warm.actions.length !== L) {
    throw new PlanRequestError(
      Array.isArray(req.warm_start) ? "warm_start" : "warm_start.actions",
      `expected ${L} numbers (horizon x action_dim), got ${warm.actions.length}`,
    );
  }
  // A client that executed another number of actions than the warm start was shifted by would plan from a
  // misaligned sequence: it is told, rather than planned for.
  if (warm?.shifted_by !== undefined && req.executed !== undefined && req.executed !== warm.shifted_by) {
    throw new PlanRequestError(
      "warm_start.shifted_by",
      `the warm start was shifted by ${warm.shifted_by} actions, but executed says ${req.executed} were executed; ` +
        "send no warm_start after executing another number of actions than control.execute",
    );
  }
  const t0 = performance.now(), S = card.image_size;
  const observation = { rgb: decodeImage("observation.image", req.observation.image, S), proprio: obsP };
  const goal = {
    rgb: decodeImage("goal.image", req.goal.image, S),
    key: goalKey(req.goal.image),
    proprio: card.objective.proprio > 0 ? goalP : undefined,
  };
  return {
    model: `${card.task}/${card.variant}`,
    observation,
    goal,
    decodeMs: performance.now() - t0,
    preset,
    warmStart: warm?.actions,
    seed: req.seed,
    deadline,
  };
}

/** A base64 string's bytes; anything else is a 400 naming the field. */
function base64Field(field: string, text: string): Uint8Array {
  try {
    return decodeBase64(text);
  } catch {
    throw new PlanRequestError(field, "not valid base64");
  }
}

/** An image of the model's size as RGB bytes; PNGs are refused from their header if the size is wrong. */
export function decodeImage(field: string, img: ImageInput, size: number): Uint8Array {
  if (img.png !== undefined) {
    const bytes = base64Field(`${field}.png`, img.png);
    try {
      return decodePng(bytes, { width: size, height: size }).rgb;
    } catch (e) {
      throw new PlanRequestError(`${field}.png`, e instanceof PngError ? e.message : "not a readable PNG");
    }
  }
  if (img.raw !== undefined) {
    const bytes = base64Field(`${field}.raw`, img.raw);
    if (bytes.length !== size * size * 3) {
      throw new PlanRequestError(
        `${field}.raw`,
        `expected ${size * size * 3} bytes (${size}x${size}x3), got ${bytes.length}`,
      );
    }
    return bytes;
  }
  const rgb = img.rgb!;
  if (rgb.length !== size * size * 3) {
    throw new PlanRequestError(
      `${field}.rgb`,
      `expected ${size * size * 3} values (${size}x${size}x3), got ${rgb.length}`,
    );
  }
  return Uint8Array.from(rgb);
}

/** A goal image's cache key: the hash of what the client sent (its PNG text, or its raw values). */
export function goalKey(img: ImageInput): string {
  const [kind, bytes] = img.png !== undefined
    ? ["png", new TextEncoder().encode(img.png)]
    : img.raw !== undefined
    ? ["raw", new TextEncoder().encode(img.raw)]
    : ["rgb", Uint8Array.from(img.rgb!)];
  return `${kind}:${sha256(bytes)}`;
}

/** Encode, plan and shape the answer. `guard` throws to stop the plan (deadline, cancel). */
export async function runPlanJob(
  model: WorldModel,
  job: PlanJob,
  guard: () => void | Promise<void>,
): Promise<PlanOutput> {
  const card = model.card;
  await guard();
  // A goal seen before (the same image, as in a closed loop) is not encoded again.
  let target = model.goals.get(job.goal.key);
  const p0 = model.normProprio(job.observation.proprio);
  // Where the objective ignores the goal's proprio, zeros (the mean) stand in; nothing reads them.
  const pg = job.goal.proprio ? model.normProprio(job.goal.proprio) : new Float32Array(card.proprio_dim);
  const t1 = performance.now();
  let start: Latent;
  if (target) start = await model.encode(job.observation.rgb, 1);
  else {
    ({ start, goal: target } = await model.encodePair(job.observation.rgb, job.goal.rgb));
    model.goals.set(job.goal.key, target);
  }
  const t2 = performance.now();
  const warm = job.warmStart ? Float32Array.from(job.warmStart) : undefined;
  const r = await planLatent(model, start, p0, target, pg, job.preset, new Rng(job.seed), warm, guard);
  const t3 = performance.now();
  if (!Number.isFinite(r.cost) || !r.plan.every(Number.isFinite)) {
    // Finite inputs far outside the training range can still overflow inside the network.
    throw new PlanRequestError("observation", "the model's outputs are not finite for these inputs", 422);
  }
  const A = card.action_dim, E = card.env_action_dim, H = job.preset.sampler.horizon;
  const env = toEnvActions(model, r.plan);
  return {
    task: card.task,
    variant: card.variant,
    actions: Array.from({ length: H }, (_, h) => Array.from(env.subarray(h * A, (h + 1) * A))),
    env_actions: Array.from({ length: H * card.frameskip }, (_, k) => Array.from(env.subarray(k * E, (k + 1) * E))),
    control: {
      env_steps_per_action: card.frameskip,
      env_step_seconds: envStepSeconds(card),
      execute: job.preset.execute,
    },
    cost: r.cost,
    cost_per_iteration: r.history,
    warm_start: { actions: Array.from(shiftPlan(r.plan, A, job.preset.execute)), shifted_by: job.preset.execute },
    timings: {
      decode_ms: +job.decodeMs.toFixed(2),
      encode_ms: +(t2 - t1).toFixed(2),
      plan_ms: +(t3 - t2).toFixed(2),
      total_ms: +(t3 - t1 + job.decodeMs).toFixed(2),
    },
  };
}
