/**
 * Which loaded variant is each task's default (what a plan request that names no variant gets), decided
 * once at start and validated: a default that is not loaded, or a task with several variants and no way
 * to choose, is one line naming it (main.ts exits 2).
 *
 * ```ts
 * resolveDefaults(["wall/fp32", "wall/w4", "myrobot/fp32"], { wall: "w4" }); // { wall: "w4", myrobot: "fp32" }
 * resolveDefaults(["wall/fp32", "wall/w4"], {}, "wall=fp32");               // { wall: "fp32" }
 * ```
 */
import { UserError } from "../../lib/errors.ts";

export class DefaultsError extends UserError {
  override name = "DefaultsError";
}

/** `task=variant,task=variant` (EDGEWM_DEFAULTS) as a map; a malformed entry is a `DefaultsError`. */
export function parseDefaults(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z][a-z0-9_-]*)=([A-Za-z0-9_.-]+)$/.exec(entry);
    if (!m) throw new DefaultsError(`EDGEWM_DEFAULTS: "${entry}" is not task=variant`);
    if (out[m[1]]) throw new DefaultsError(`EDGEWM_DEFAULTS names task ${m[1]} twice`);
    out[m[1]] = m[2];
  }
  return out;
}

/**
 * Each loaded task's default: the one EDGEWM_DEFAULTS names; else the bundled default (models/defaults.json)
 * where it is loaded; else the task's only loaded variant; else its fp32.
 */
export function resolveDefaults(
  loaded: readonly string[],
  bundled: Record<string, string>,
  asked?: string,
): Record<string, string> {
  const variants = new Map<string, string[]>();
  for (const key of loaded) {
    const [task, variant] = key.split("/");
    variants.set(task, [...(variants.get(task) ?? []), variant]);
  }
  const wanted = asked ? parseDefaults(asked) : {};
  const list = () => [...loaded].join(", ");
  for (const [task, variant] of Object.entries(wanted)) {
    if (!variants.get(task)?.includes(variant)) {
      throw new DefaultsError(`EDGEWM_DEFAULTS names ${task}=${variant}, which is not loaded (loaded: ${list()})`);
    }
  }
  const out: Record<string, string> = {};
  for (const [task, vs] of variants) {
    const pick = wanted[task] ?? (vs.includes(bundled[task]) ? bundled[task] : undefined) ??
      (vs.length === 1 ? vs[0] : vs.includes("fp32") ? "fp32" : undefined);
    if (!pick) {
      throw new DefaultsError(
        `task ${task} has ${vs.length} variants loaded (${
          vs.join(", ")
        }) and no default: set EDGEWM_DEFAULTS=${task}=<variant>`,
      );
    }
    out[task] = pick;
  }
  return out;
}
