/**
 * The task suite over HTTP, stateless and seeded: every call is a pure function of its body, with the same
 * bytes the TypeScript gives (the simulators, the renderer, the evaluation protocol's episodes and replan
 * seeds). A client in any language can draw an evaluation episode, render a state, and step a state through
 * env actions, and so close a loop with the planner without porting a simulator.
 *
 *   GET  /v1/tasks                   the tasks' contracts (layouts with names and units, bounds, image window)
 *   POST /v1/tasks/{task}/episode    {seed, index} -> start and goal (state, proprio, image), replan seeds
 *   POST /v1/tasks/{task}/render     {state} -> image (and proprio)
 *   POST /v1/tasks/{task}/step       {state, actions, goal?} -> each step's state, proprio, success, distance, image
 *
 * main.ts imports this module only when the routes are served (EDGEWM_SIMULATORS, on by default): it brings
 * every simulator, pusht's physics engine among them.
 */
import { Hono } from "hono";
import type { z } from "zod";
import { encodeBase64 } from "../../lib/base64.ts";
import { encodePng } from "../../lib/png.ts";
import { evaluationEpisode, replanSeed } from "../../tasks/evaluation.ts";
import { getTask } from "../../tasks/registry.ts";
import { type Task, TASK_NAMES, TaskError } from "../../tasks/task.ts";
import { PlanRequestError } from "./plan_job.ts";
import { readJsonBody } from "./json_body.ts";
import { EpisodeRequest, type ImageFormat, RenderRequest, StepRequest } from "./schemas.ts";

/** An image in the form a client asked for. */
export function imageAs(rgb: Uint8Array, size: number, format: ImageFormat) {
  if (format === "png") return { png: encodeBase64(encodePng(rgb, size, size)) };
  if (format === "raw") return { raw: encodeBase64(rgb) };
  return { rgb: Array.from(rgb) };
}

/** One task's contract, from its spec (tasks/specs.ts). */
export function taskInfo(t: Task) {
  return {
    name: t.name,
    action: { dim: t.actionDim, low: [...t.actionLow], high: [...t.actionHigh], names: [...t.actionNames] },
    proprio: { dim: t.proprioDim, names: [...t.proprioNames] },
    state: { dim: t.stateDim, names: [...t.stateNames] },
    frameskip: t.frameskip,
    env_step_seconds: t.stepSeconds,
    image: { default_size: 64, ...t.image },
    success_rule: t.successRule,
  };
}

/** The simulator a path names, or a 404 naming `task`. */
function taskOf(name: string): Task {
  if (!(TASK_NAMES as readonly string[]).includes(name)) {
    throw new PlanRequestError("task", `no simulator for task ${name}; known: ${TASK_NAMES.join(", ")}`, 404);
  }
  return getTask(name);
}

/** Run `fn`, turning a simulator's refusal (a bad state or action) into a 400 naming `field`. */
function asField<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TaskError) throw new PlanRequestError(field, e.message);
    throw e;
  }
}

/** A body checked against `schema`; the first problem is a 400 naming its field. */
function body<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S>> {
  return readJsonBody(req.headers.get("content-type") ?? undefined, () => req.json(), schema);
}

/** This module holds the routes (the edge bundle's stand-in for it, built without them, says false). */
export const available = true;

/** Pixels one step call may render (50 images of 256 x 256): images are drawn on the HTTP thread. */
export const MAX_PIXELS = 50 * 256 * 256;

export function simulatorRoutes(): Hono {
  const app = new Hono();
  app.get("/", (c) => c.json({ tasks: TASK_NAMES.map((n) => taskInfo(getTask(n))) }));

  app.post("/:task/episode", async (c) => {
    const t = taskOf(c.req.param("task")), b = await body(c.req.raw, EpisodeRequest);
    const ep = evaluationEpisode(t, b.seed, b.index);
    const frame = (s: Float64Array) => ({
      state: Array.from(s),
      proprio: Array.from(t.proprio(s)),
      image: imageAs(t.render(s, b.size), b.size, b.image_format),
    });
    return c.json({
      task: t.name,
      seed: b.seed,
      index: b.index,
      start: frame(ep.start),
      goal: frame(ep.goal),
      replan_seeds: Array.from({ length: b.replans }, (_, r) => replanSeed(b.seed, b.index, r + 1)),
    });
  });

  app.post("/:task/render", async (c) => {
    const t = taskOf(c.req.param("task")), b = await body(c.req.raw, RenderRequest);
    const s = asField("state", () => t.create(b.state).state());
    return c.json({
      state: Array.from(s),
      proprio: Array.from(t.proprio(s)),
      image: imageAs(t.render(s, b.size), b.size, b.image_format),
    });
  });

  app.post("/:task/step", async (c) => {
    const t = taskOf(c.req.param("task")), b = await body(c.req.raw, StepRequest);
    const drawn = b.images === "all" ? b.actions.length : b.images === "last" ? 1 : 0;
    if (drawn * b.size * b.size > MAX_PIXELS) {
      throw new PlanRequestError(
        "images",
        `${drawn} images of ${b.size} px is more than one call draws; ask for "last"`,
      );
    }
    const sim = asField("state", () => t.create(b.state));
    const goal = b.goal && asField("goal", () => t.create(b.goal!).state());
    const steps = b.actions.map((a, i) => {
      asField(`actions.${i}`, () => sim.step(a));
      const s = sim.state(), last = i === b.actions.length - 1;
      return {
        state: Array.from(s),
        proprio: Array.from(t.proprio(s)),
        ...(b.images === "all" || (b.images === "last" && last)
          ? { image: imageAs(t.render(s, b.size), b.size, b.image_format) }
          : {}),
        ...(goal ? { success: t.success(s, goal), distance: t.distance(s, goal) } : {}),
      };
    });
    return c.json({ task: t.name, steps });
  });
  return app;
}
