/**
 * The planner options as command-line flags, for the CLIs that plan through a model (eval, bench,
 * render, the study's speed runs): the same names and limits as the HTTP API's `planner` object
 * (model/planner_options.ts), resolved by the same function.
 */
import { CliError, type FlagSpec } from "../lib/cli.ts";
import {
  PLANNER_LIMITS,
  PLANNER_METHODS,
  type PlannerOptions,
  PlannerOptionsError,
  type PlanPreset,
  PRESET_NAMES,
  PROPOSALS,
  resolvePlanner,
} from "../model/planner_options.ts";

const L = PLANNER_LIMITS;

/** Flag specs for `parseFlags`: --preset, --method and every numeric option. */
export const PLANNER_FLAGS = {
  preset: { type: "enum", values: PRESET_NAMES, help: "default: the model's own (model.json planner)" },
  method: { type: "enum", values: PLANNER_METHODS, help: "override the preset's sampler" },
  horizon: { type: "int", ...L.horizon },
  samples: { type: "int", ...L.samples },
  topk: { type: "int", ...L.topk, help: "CEM elites (at most --samples)" },
  iterations: { type: "int", ...L.iterations },
  temperature: { type: "number", ...L.temperature, help: "MPPI temperature" },
  execute: { type: "int", ...L.execute, help: "model actions executed per replan (at most --horizon)" },
  proposal: { type: "enum", values: PROPOSALS, help: "policy: start the search from the model's proposal policy" },
} as const satisfies Record<string, FlagSpec>;

/** The planner the flags ask for, on top of `fallback` (a model's own); a misfit is a `CliError` naming the flag. */
export function plannerFromFlags(flags: PlannerOptions, fallback: PlanPreset): PlanPreset {
  const options: PlannerOptions = {};
  for (const k of Object.keys(PLANNER_FLAGS) as (keyof PlannerOptions)[]) {
    if (flags[k] !== undefined) (options as Record<string, unknown>)[k] = flags[k];
  }
  try {
    return resolvePlanner(options, fallback);
  } catch (e) {
    if (e instanceof PlannerOptionsError) throw new CliError(`--${e.field}: ${e.message}`);
    throw e;
  }
}
