// One plan request from validated JSON to planning inputs: every check that needs the model card happens
// in toPlanJob, before any work, and names the field; images are decoded to the model's size or refused.
import assert from "node:assert/strict";
import { decodeImage, PlanRequestError, runPlanJob, toPlanJob } from "../../../agent/http/plan_job.ts";
import { PlanRequest } from "../../../agent/http/schemas.ts";
import { WorldModel } from "../../../agent/world_model.ts";
import { encodeBase64 } from "../../../lib/base64.ts";
import { encodePng } from "../../../lib/png.ts";
import { loadModelCard } from "../../../model/model_card.ts";
import { cardPreset, PRESETS } from "../../../model/planner_options.ts";
import { getTask } from "../../../tasks/registry.ts";
import { Rng } from "../../../lib/rng.ts";

const wall = getTask("wall"), card = loadModelCard("models/wall/fp32");
const rgb = (s: number[], size = 64) => Array.from(wall.render(Float64Array.from(s), size));
const rgbOf = (task: string) => {
  const t = getTask(task);
  return Array.from(t.render(t.sampleState(new Rng(1)), 64));
};
const request = (over: Record<string, unknown> = {}) =>
  PlanRequest.parse({
    task: "wall",
    observation: { image: { rgb: rgb([10, 20]) }, proprio: [10, 20] },
    goal: { image: { rgb: rgb([50, 40]) }, proprio: [50, 40] },
    ...over,
  });

function refused(fn: () => unknown, field: string, message: RegExp, status = 400) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PlanRequestError, String(e));
    assert.equal(e.field, field);
    assert.equal(e.status, status);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("toPlanJob(): the model's own planner unless the request names one; overrides apply on top", () => {
  const j = toPlanJob(request(), card, 123);
  assert.deepEqual(j.preset, cardPreset(card));
  // The images travel decoded: what crosses into a planning worker is two small RGB arrays.
  assert.deepEqual(j.observation.rgb, wall.render(Float64Array.of(10, 20), 64));
  assert.match(j.goal.key, /^rgb:[0-9a-f]{64}$/);
  assert.equal(j.model, "wall/fp32");
  assert.equal(j.deadline, 123);
  const k = toPlanJob(request({ planner: { preset: "dinowm", samples: 40 } }), card, 0);
  assert.equal(k.preset.sampler.samples, 40);
  assert.equal(k.preset.sampler.iterations, PRESETS.dinowm.sampler.iterations);
});

Deno.test("toPlanJob(): options that do not fit each other are a 400 naming planner.<option>", () => {
  refused(() => toPlanJob(request({ planner: { topk: 65 } }), card, 0), "planner.topk", /must not exceed samples 32/);
  refused(
    () => toPlanJob(request({ planner: { horizon: 1, execute: 20 } }), card, 0),
    "planner.execute",
    /execute 20 must not exceed horizon 1/,
  );
  refused(
    () => toPlanJob(request({ planner: { proposal: "policy" } }), card, 0),
    "planner.proposal",
    /wall\/fp32 has no proposal policy \(policy\.onnx\)/,
    422,
  );
  assert.equal(toPlanJob(request({ planner: { proposal: "none" } }), card, 0).preset.proposal, undefined);
  // MPPI has no elites: a topk it does not use is no error.
  assert.equal(
    toPlanJob(request({ planner: { method: "mppi", samples: 8, topk: 50 } }), card, 0).preset.method,
    "mppi",
  );
});

Deno.test("toPlanJob(): a bad image is refused before the job exists (it never takes a planning slot)", () => {
  refused(
    () => toPlanJob(request({ goal: { image: { rgb: [1, 2, 3] } } }), card, 0),
    "goal.image.rgb",
    /expected 12288/,
  );
});

Deno.test("toPlanJob(): proprio and warm start must fit the model; the goal's proprio only where the objective reads it", () => {
  const noProprio = request();
  delete (noProprio.observation as { proprio?: number[] }).proprio;
  refused(() => toPlanJob(noProprio, card, 0), "observation.proprio", /proprio with 2 numbers is required/);
  refused(
    () => toPlanJob(request({ observation: { image: { rgb: rgb([1, 1]) }, proprio: [1, 2, 3] } }), card, 0),
    "observation.proprio",
    /expected 2 numbers, got 3/,
  );
  refused(() => toPlanJob(request({ warm_start: [0, 0] }), card, 0), "warm_start", /expected 50 numbers/);
  // wall's objective does not weigh proprio: the goal's is ignored (not passed on).
  assert.equal(card.objective.proprio, 0);
  assert.equal(toPlanJob(request(), card, 0).goal.proprio, undefined);
  const reacher = loadModelCard("models/reacher/fp32"); // its objective does
  assert.ok(reacher.objective.proprio > 0);
  const p = PlanRequest.parse({
    task: "reacher",
    observation: { image: { rgb: rgbOf("reacher") }, proprio: [1, 0, 0, 0, 0] },
    goal: { image: { rgb: rgbOf("reacher") } },
  });
  refused(() => toPlanJob(p, reacher, 0), "goal.proprio", /this model's objective uses it/);
});

Deno.test("decodeImage(): PNG or raw RGB of the model's size; anything else names the field", () => {
  const png = encodeBase64(encodePng(wall.render(Float64Array.of(10, 20), 64), 64, 64));
  assert.deepEqual(decodeImage("observation.image", { png }, 64), wall.render(Float64Array.of(10, 20), 64));
  assert.deepEqual(decodeImage("goal.image", { rgb: rgb([10, 20]) }, 64), wall.render(Float64Array.of(10, 20), 64));
  const small = encodeBase64(encodePng(wall.render(Float64Array.of(10, 20), 32), 32, 32));
  refused(() => decodeImage("observation.image", { png: small }, 64), "observation.image.png", /64/);
  refused(() => decodeImage("goal.image", { png: "!!!" }, 64), "goal.image.png", /not valid base64/);
  refused(() => decodeImage("goal.image", { png: encodeBase64(Uint8Array.of(1, 2, 3)) }, 64), "goal.image.png", /PNG/);
  refused(() => decodeImage("goal.image", { rgb: [1, 2, 3] }, 64), "goal.image.rgb", /expected 12288 values/);
});

Deno.test("runPlanJob(): the answer's shapes follow the card and the planner; the warm start is shifted by execute", async () => {
  const model = await WorldModel.load("models/wall/fp32");
  const job = toPlanJob(
    request({ planner: { samples: 16, iterations: 2, topk: 4, execute: 2 } }),
    card,
    Date.now() + 60e3,
  );
  const out = await runPlanJob(model, job, () => {});
  const H = 5, A = card.action_dim, E = card.env_action_dim;
  assert.equal(out.actions.length, H);
  assert.ok(out.actions.every((a) => a.length === A));
  assert.equal(out.env_actions.length, H * card.frameskip);
  assert.ok(out.env_actions.every((a) => a.length === E));
  assert.deepEqual(out.control, { env_steps_per_action: 5, env_step_seconds: null, execute: 2 });
  assert.equal(out.warm_start.actions.length, H * A);
  assert.equal(out.warm_start.shifted_by, 2);
  assert.deepEqual(
    out.warm_start.actions.slice((H - 2) * A),
    new Array(2 * A).fill(0),
    "shifted by 2: zeros at the end",
  );
  assert.ok(Number.isFinite(out.cost));
});

Deno.test("runPlanJob(): a goal seen before is not encoded again, and the plan is the one a fresh model gives", async () => {
  const cached = await WorldModel.load("models/wall/fp32"), fresh = await WorldModel.load("models/wall/fp32");
  const planner = { samples: 16, iterations: 2, topk: 4 };
  const first = toPlanJob(request({ planner }), card, Date.now() + 60e3);
  await runPlanJob(cached, first, () => {});
  assert.equal(cached.goals.size, 1);
  const misses = cached.goals.misses;
  // The next replan of the episode: a new observation, the same goal.
  const next = toPlanJob(
    request({ planner, observation: { image: { rgb: rgb([14, 22]) }, proprio: [14, 22] } }),
    card,
    Date.now() + 60e3,
  );
  const a = await runPlanJob(cached, next, () => {});
  assert.equal(cached.goals.hits, 1);
  assert.equal(cached.goals.misses, misses, "no new miss");
  const b = await runPlanJob(fresh, next, () => {});
  assert.deepEqual(a.actions, b.actions);
  assert.equal(a.cost, b.cost);
});
