/**
 * Planner options, defined once: the preset table, the limits of every option, the zod schema the
 * model card and the HTTP API share, and the one function that resolves a preset plus overrides
 * into the planner a replan runs (and checks what depends on more than one option).
 *
 * ```ts
 * const p = resolvePlanner({ preset: "fast", samples: 128 });
 * p.sampler.samples; // 128, the rest of "fast" unchanged
 * resolvePlanner({ preset: "fast", topk: 200 }); // PlannerOptionsError: field topk
 * ```
 */
import * as z from "zod";
import { UserError } from "../lib/errors.ts";

export type PlannerMethod = "cem" | "icem" | "mppi";
export const PLANNER_METHODS = ["cem", "icem", "mppi"] as const satisfies readonly PlannerMethod[];

/** Where the search starts: the warm start (or zeros), or the model's proposal policy's plan (policy.onnx). */
export type Proposal = "none" | "policy";
export const PROPOSALS = ["none", "policy"] as const satisfies readonly Proposal[];

/** iCEM's own settings (agent/planners/icem.ts): colored noise, a shrinking population, elites kept. */
export interface IcemSettings {
  /** Exponent of the noise's power spectrum 1/f^beta (0: white). */
  beta: number;
  /** Population shrink factor per iteration. */
  decay: number;
  /** Fraction of the elites carried into the next iteration. */
  keepElites: number;
}

/**
 * iCEM as we run it: Pinneri et al. 2020's shrinking population (1.25 per iteration) and kept elites (30%),
 * with white noise. Their colored noise (beta 2) lost 2-3 episodes of 50 on wall and pointmaze and moved
 * pusht's final distance from 8.0 to 11.3 success thresholds (study/results/planner_budget): our model
 * actions already hold 5 env actions, and smooth noise over them cannot reach the plans that work.
 */
export const DEFAULT_ICEM: IcemSettings = { beta: 0, decay: 1.25, keepElites: 0.3 };

/** A resolved planner: every field spelled out. */
export interface PlanPreset {
  /** The sampling planner (default CEM). */
  method?: PlannerMethod;
  /** Horizon H, samples N per iteration, elites K (CEM), iterations, initial std of the z-scored actions. */
  sampler: { horizon: number; samples: number; topk: number; iterations: number; initStd: number };
  /** MPPI's temperature, in standard deviations of a batch's costs. */
  temperature?: number;
  /** iCEM's settings (DEFAULT_ICEM where absent). */
  icem?: IcemSettings;
  /** Model actions executed before replanning (MPC). */
  execute: number;
  /** "policy": the search starts from the model's proposal policy (agent/planners/world_model_planner.ts). */
  proposal?: Proposal;
}

/** MPPI's temperature where neither the preset nor the request gives one. */
export const DEFAULT_TEMPERATURE = 0.5;

export const PRESETS = {
  /** DINO-WM's CEM: horizon 5, 300 samples, top 30, 30 iterations. */
  dinowm: { sampler: { horizon: 5, samples: 300, topk: 30, iterations: 30, initStd: 1 }, execute: 1 },
  /** Ours for 2-core CPUs: the same horizon, far fewer samples and iterations. */
  fast: { sampler: { horizon: 5, samples: 64, topk: 8, iterations: 4, initStd: 1 }, execute: 1 },
  /**
   * The served default: iCEM, 32 samples shrinking over 3 iterations (78 rollouts, 0.30x "fast"'s 256), at
   * "fast"'s success on two seeds of 50 x 50 on every task (study/experiments/planner_budget.ts).
   */
  icem: {
    method: "icem",
    sampler: { horizon: 5, samples: 32, topk: 8, iterations: 3, initStd: 1 },
    icem: DEFAULT_ICEM,
    execute: 1,
  },
  /**
   * A search sized to a 2.5 s control period (pusht, issue 39): iCEM 150 samples shrinking over 6 iterations
   * (553 rollouts), narrower first samples, 5 model actions executed per replan, as DINO-WM runs PushT.
   */
  wide: {
    method: "icem",
    sampler: { horizon: 5, samples: 150, topk: 8, iterations: 6, initStd: 0.5 },
    icem: DEFAULT_ICEM,
    execute: 5,
  },
  /** MPPI at the fast preset's cost (64 samples x 4 iterations). */
  mppi: {
    method: "mppi",
    sampler: { horizon: 5, samples: 64, topk: 8, iterations: 4, initStd: 1 },
    temperature: DEFAULT_TEMPERATURE,
    execute: 1,
  },
} as const satisfies Record<string, PlanPreset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as [PresetName, ...PresetName[]];
/** The preset of a model whose card names none. */
export const DEFAULT_PRESET: PresetName = "icem";

/** Bounds of each numeric option: the HTTP schema, the card and the CLIs' flags read these. */
export const PLANNER_LIMITS = {
  horizon: { min: 1, max: 20 },
  samples: { min: 2, max: 2000 },
  topk: { min: 1, max: 2000 },
  iterations: { min: 1, max: 100 },
  execute: { min: 1, max: 20 },
  temperature: { min: 0.01, max: 100 },
} as const;

const int = (k: "horizon" | "samples" | "topk" | "iterations" | "execute") =>
  z.number().int().min(PLANNER_LIMITS[k].min).max(PLANNER_LIMITS[k].max);

/** Overrides of a preset, each optional; unknown keys are refused. */
export const PlannerOptions = z.strictObject({
  preset: z.enum(PRESET_NAMES).optional().describe("default: the model's own planner (GET /v1/models `planner`)"),
  method: z.enum(PLANNER_METHODS).optional().describe("override the preset's sampler"),
  temperature: z.number().min(PLANNER_LIMITS.temperature.min).max(PLANNER_LIMITS.temperature.max).optional()
    .describe("MPPI temperature, in standard deviations of the costs"),
  horizon: int("horizon").optional().describe("model actions planned (H)"),
  samples: int("samples").optional().describe("action sequences scored per iteration"),
  topk: int("topk").optional().describe("CEM elites (at most samples; MPPI ignores it)"),
  iterations: int("iterations").optional().describe("sampler iterations per replan"),
  execute: int("execute").optional().describe(
    "model actions the client executes before replanning (at most horizon); warm_start is shifted by it",
  ),
  proposal: z.enum(PROPOSALS).optional().describe(
    "where the search starts: 'policy' from the model's proposal policy (a model with policy.onnx), 'none' " +
      "from the warm start or zeros",
  ),
});
export type PlannerOptions = z.infer<typeof PlannerOptions>;

/** An option that does not fit the others (e.g. topk above samples); `field` names the option. */
export class PlannerOptionsError extends UserError {
  override name = "PlannerOptionsError";
  constructor(readonly field: keyof PlannerOptions, message: string) {
    super(message);
  }
}

/**
 * The planner for `options`: its preset (else `fallback`, a model's own planner) with the overrides
 * applied, checked as a whole. Throws `PlannerOptionsError` naming the option at fault.
 */
export function resolvePlanner(options: PlannerOptions, fallback: PlanPreset = PRESETS[DEFAULT_PRESET]): PlanPreset {
  const base: PlanPreset = options.preset ? PRESETS[options.preset] : fallback;
  const sampler = { ...base.sampler };
  for (const k of ["horizon", "samples", "topk", "iterations"] as const) {
    if (options[k] !== undefined) sampler[k] = options[k]!;
  }
  const p: PlanPreset = {
    method: options.method ?? base.method ?? "cem",
    sampler,
    temperature: options.temperature ?? base.temperature ?? DEFAULT_TEMPERATURE,
    execute: options.execute ?? base.execute,
    ...(base.icem ? { icem: base.icem } : {}),
  };
  // Only "policy" is written out: a preset without it is the same preset as before proposals existed.
  if ((options.proposal ?? base.proposal) === "policy") p.proposal = "policy";
  // MPPI weighs every sample and has no elites, so only CEM's (and iCEM's) topk must fit its samples.
  if (p.method !== "mppi" && sampler.topk > sampler.samples) {
    throw new PlannerOptionsError("topk", `topk ${sampler.topk} must not exceed samples ${sampler.samples}`);
  }
  if (p.execute > sampler.horizon) {
    throw new PlannerOptionsError("execute", `execute ${p.execute} must not exceed horizon ${sampler.horizon}`);
  }
  return p;
}

/** The planner a model is served with: its card's `planner` (the default preset where it names none). */
export function cardPreset(card: { planner?: PlannerOptions }): PlanPreset {
  return resolvePlanner(card.planner ?? {});
}

/** One line for reports and logs, e.g. "CEM 64 samples x 4 iterations (top 8), horizon 5, execute 1". */
export function describePlanner(p: PlanPreset): string {
  const s = p.sampler;
  const i = p.icem ?? DEFAULT_ICEM;
  const method = p.method === "mppi"
    ? `MPPI (temperature ${p.temperature ?? DEFAULT_TEMPERATURE})`
    : p.method === "icem"
    ? `iCEM (noise beta ${i.beta}, population / ${i.decay} per iteration, ${i.keepElites * 100}% of elites kept)`
    : "CEM";
  const elites = p.method === "mppi" ? "" : ` (top ${s.topk})`;
  const from = p.proposal === "policy" ? ", from the proposal policy" : "";
  return `${method} ${s.samples} samples x ${s.iterations} iterations${elites}, horizon ${s.horizon}, execute ${p.execute}${from}`;
}
