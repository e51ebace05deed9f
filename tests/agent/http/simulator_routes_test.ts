// The task suite over HTTP: the same bytes as the TypeScript (episodes, renders, steps, replan seeds), a 4xx
// naming the field for a bad state or action, and the routes only where the server mounts them.
import assert from "node:assert/strict";
import { createApp } from "../../../agent/http/app.ts";
import { simulatorRoutes } from "../../../agent/http/simulator_routes.ts";
import { WorldModel } from "../../../agent/world_model.ts";
import { decodeBase64 } from "../../../lib/base64.ts";
import { decodePng } from "../../../lib/png.ts";
import { evaluationEpisode, replanSeed } from "../../../tasks/evaluation.ts";
import { getTask } from "../../../tasks/registry.ts";
import { TASK_NAMES } from "../../../tasks/task.ts";

const model = await WorldModel.load("models/wall/fp32", { threads: 1 });
const app = (o: Record<string, unknown> = {}) =>
  createApp({
    models: new Map([["wall/fp32", model]]),
    isReady: () => true,
    log: () => {},
    simulators: simulatorRoutes(),
    ...o,
  });

async function post(a: ReturnType<typeof app>, path: string, payload: unknown, headers: Record<string, string> = {}) {
  const r = await a.request(path, {
    method: "POST",
    body: JSON.stringify(payload),
    headers: { "content-type": "application/json", ...headers },
  });
  return { status: r.status, json: await r.json() };
}

const pixels = (img: { png?: string; rgb?: number[]; raw?: string }) =>
  img.png ? decodePng(decodeBase64(img.png)).rgb : img.raw ? decodeBase64(img.raw) : Uint8Array.from(img.rgb!);

Deno.test("GET /v1/tasks: every task's contract, each number named, from the simulators' own specs", async () => {
  const r = await (await app().request("/v1/tasks")).json();
  assert.deepEqual(r.tasks.map((t: { name: string }) => t.name), TASK_NAMES);
  for (const t of r.tasks) {
    const task = getTask(t.name);
    assert.equal(t.action.names.length, task.actionDim);
    assert.equal(t.proprio.names.length, task.proprioDim);
    assert.equal(t.state.names.length, task.stateDim);
    assert.deepEqual(t.image.window, task.image.window);
    assert.equal(t.frameskip, 5);
  }
  const reacher = r.tasks.find((t: { name: string }) => t.name === "reacher");
  assert.deepEqual(reacher.proprio.names.map((d: { name: string }) => d.name), [
    "cos_q1",
    "sin_q1",
    "q2",
    "dq1",
    "dq2",
  ]);
});

Deno.test("POST /v1/tasks/{task}/episode: the protocol's episode and replan seeds, images in three forms alike", async () => {
  for (const name of TASK_NAMES) {
    const task = getTask(name), ep = evaluationEpisode(task, 3, 7);
    const forms = await Promise.all(
      (["png", "rgb", "raw"] as const).map((f) =>
        post(app(), `/v1/tasks/${name}/episode`, { seed: 3, index: 7, image_format: f, replans: 4 })
      ),
    );
    for (const { status, json } of forms) {
      assert.equal(status, 200, JSON.stringify(json));
      assert.deepEqual(json.start.state, Array.from(ep.start));
      assert.deepEqual(json.goal.state, Array.from(ep.goal));
      assert.deepEqual(json.start.proprio, Array.from(task.proprio(ep.start)));
      assert.deepEqual(pixels(json.goal.image), task.render(ep.goal, 64));
      assert.deepEqual(json.replan_seeds, [1, 2, 3, 4].map((r) => replanSeed(3, 7, r)));
    }
  }
});

Deno.test("POST /v1/tasks/{task}/step and /render: the simulator's states, success and distance, images as asked", async () => {
  const pusht = getTask("pusht"), ep = evaluationEpisode(pusht, 0, 1);
  const actions = Array.from({ length: 12 }, (_, k) => [Math.sin(k), Math.cos(k) * 0.5]);
  const r = await post(app(), "/v1/tasks/pusht/step", {
    state: Array.from(ep.start),
    actions,
    goal: Array.from(ep.goal),
    size: 32,
    image_format: "raw",
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const sim = pusht.create(ep.start);
  actions.forEach((a, i) => {
    sim.step(a);
    const s = sim.state(), step = r.json.steps[i];
    assert.deepEqual(step.state, Array.from(s));
    assert.equal(step.success, pusht.success(s, ep.goal));
    assert.equal(step.distance, pusht.distance(s, ep.goal));
    assert.equal("image" in step, i === actions.length - 1, "an image for the last step only (the default)");
  });
  assert.deepEqual(pixels(r.json.steps.at(-1).image), pusht.render(sim.state(), 32));
  const all = await post(app(), "/v1/tasks/wall/step", { state: [10, 10], actions: [[1, 0], [1, 0]], images: "all" });
  assert.deepEqual(all.json.steps.map((s: { state: number[] }) => s.state), [[12, 10], [14, 10]]);
  assert.ok(all.json.steps.every((s: { image?: unknown }) => s.image));
  const img = await post(app(), "/v1/tasks/reacher/render", { state: [0.5, -0.3, 0, 0], size: 48 });
  assert.deepEqual(pixels(img.json.image), getTask("reacher").render(Float64Array.of(0.5, -0.3, 0, 0), 48));
});

Deno.test("bad states, actions and tasks are 4xx naming the field; without simulators there are no such routes", async () => {
  const a = app();
  const cases: [string, unknown, number, string, RegExp][] = [
    ["/v1/tasks/wall/render", { state: [10] }, 400, "state", /state must have 2 numbers/],
    ["/v1/tasks/wall/render", { state: [32, 10] }, 400, "state", /inside a wall/],
    ["/v1/tasks/wall/step", { state: [10, 10], actions: [[1, 0], [1]] }, 400, "actions.1", /action must have 2/],
    ["/v1/tasks/wall/step", { state: [10, 10], actions: [] }, 400, "actions", /./],
    ["/v1/tasks/wall/step", { state: [10, 10], actions: [[0, 0]], goal: [32, 10] }, 400, "goal", /inside a wall/],
    ["/v1/tasks/wall/episode", { seed: -1, index: 0 }, 400, "seed", /./],
    ["/v1/tasks/wall/episode", { seed: 0, index: 0, extra: 1 }, 400, "extra", /unknown key/],
    ["/v1/tasks/chess/episode", { seed: 0, index: 0 }, 404, "task", /no simulator for task chess/],
    [
      "/v1/tasks/wall/step",
      { state: [10, 10], actions: Array(100).fill([0, 0]), images: "all", size: 512 },
      400,
      "images",
      /more than one call draws/,
    ],
  ];
  for (const [path, payload, status, field, message] of cases) {
    const r = await post(a, path, payload);
    assert.equal(r.status, status, `${path} ${JSON.stringify(payload).slice(0, 80)}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.field, field);
    assert.match(r.json.error, message);
  }
  const notJson = await a.request("/v1/tasks/wall/render", { method: "POST", body: "{}" });
  assert.equal(notJson.status, 415);
  const keyed = app({ apiKey: "k".repeat(16) });
  assert.equal((await keyed.request("/v1/tasks")).status, 401, "behind the same key as planning");
  const none = createApp({ models: new Map([["wall/fp32", model]]), isReady: () => true, log: () => {} });
  assert.equal((await none.request("/v1/tasks")).status, 404);
  const doc = await (await none.request("/openapi.json")).json();
  assert.equal(doc.paths["/v1/tasks"], undefined, "the document lists only what is served");
});
