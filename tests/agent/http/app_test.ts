// The HTTP app through app.request(): routes, validation (each bad input is a 4xx naming the field),
// auth, body limit, bounded concurrency and deadlines. Uses the committed wall model.
import assert from "node:assert/strict";
import { createApp } from "../../../agent/http/app.ts";
import { encodeBase64 } from "../../../lib/base64.ts";
import { WorldModel } from "../../../agent/world_model.ts";
import { encodePng } from "../../../lib/png.ts";
import { getTask } from "../../../tasks/registry.ts";
import { pngBomb } from "../../_helpers.ts";

// A 4096x4096 PNG of zeros: refused from its header, before anything is inflated.
const bigPng = encodePng(new Uint8Array(4096 * 4096 * 3), 4096, 4096);

const MODEL_DIR = "models/wall/fp32";
const model = await WorldModel.load(MODEL_DIR, { threads: 1 });
const models = new Map([["wall/fp32", model]]);
const wall = getTask("wall");
const quiet = () => {};

const png = (state: number[], size = 64) =>
  encodeBase64(encodePng(wall.render(Float64Array.from(state), size), size, size));
const body = (over: Record<string, unknown> = {}) => ({
  task: "wall",
  observation: { image: { png: png([10, 20]) }, proprio: [10, 20] },
  goal: { image: { png: png([50, 40]) }, proprio: [50, 40] },
  planner: { preset: "fast", samples: 16, topk: 4, iterations: 2 },
  seed: 1,
  ...over,
});

function app(opts: Partial<Parameters<typeof createApp>[0]> = {}) {
  return createApp({ models, isReady: () => true, log: quiet, ...opts });
}

async function post(a: ReturnType<typeof createApp>, payload: unknown, headers: Record<string, string> = {}) {
  const res = await a.request("/v1/plan", {
    method: "POST",
    body: typeof payload === "string" ? payload : JSON.stringify(payload),
    headers: { "content-type": "application/json", ...headers },
  });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

Deno.test("GET /health, /ready, /v1/models, /openapi.json and /metrics answer", async () => {
  let ready = false;
  const a = app({ isReady: () => ready });
  assert.equal((await a.request("/health")).status, 200);
  assert.equal((await a.request("/ready")).status, 503);
  ready = true;
  assert.equal((await a.request("/ready")).status, 200);
  const m = await (await a.request("/v1/models")).json();
  assert.equal(m.models[0].id, "wall/fp32");
  const doc = await (await a.request("/openapi.json")).json();
  assert.ok(doc.paths["/v1/plan"].post.requestBody);
  assert.deepEqual(Object.keys(doc.components.securitySchemes), ["bearer", "apiKey"]);
  assert.equal(doc.components.schemas.ImageInput.oneOf.length, 3, "exactly one of png, rgb or raw");
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses: object }>>)) {
    for (const [verb, op] of Object.entries(ops)) assert.ok(Object.keys(op.responses).length > 0, `${verb} ${path}`);
  }
  const metrics = await (await a.request("/metrics")).text();
  assert.match(metrics, /edgewm_requests_total\{route="\/ready",status="503"\} 1/);
  assert.match(metrics, /edgewm_planning_worker_restarts_total 0\n/);
  const docs = await a.request("/docs");
  assert.equal(docs.status, 200);
  assert.match(docs.headers.get("content-type")!, /text\/html/);
  const html = await docs.text();
  assert.match(html, /fetch\("openapi.json"\)/);
  assert.doesNotMatch(html, /https?:\/\//, "no external resources: the page works offline");
  // The page's script compiles.
  new Function(html.split("<script>")[1].split("</script>")[0]);
  const nf = await a.request("/nope");
  assert.equal(nf.status, 404);
  assert.match((await nf.json()).error, /no route/);
});

Deno.test("POST /v1/plan returns H model actions in env units, a warm start, and is seeded", async () => {
  const a = app();
  const r1 = await post(a, body()), r2 = await post(a, body());
  assert.equal(r1.status, 200, JSON.stringify(r1.json));
  assert.equal(r1.json.actions.length, 5);
  for (const act of r1.json.actions) {
    assert.equal(act.length, 10);
    for (const v of act) assert.ok(v >= -1 && v <= 1, `action ${v} outside the env bounds`);
  }
  assert.equal(r1.json.warm_start.actions.length, 50);
  assert.equal(r1.json.warm_start.shifted_by, r1.json.control.execute);
  assert.deepEqual(r1.json.actions, r2.json.actions, "same request + seed, same plan");
  const r3 = await post(a, body({ seed: 2 }));
  assert.notDeepEqual(r1.json.actions, r3.json.actions);
  // The warm start it returned is accepted back (stateless MPC).
  const r4 = await post(a, body({ warm_start: r1.json.warm_start }));
  assert.equal(r4.status, 200);
  // Raw RGB, as values or as base64 bytes, works like PNG.
  const pixels = wall.render(Float64Array.of(10, 20));
  const r5 = await post(a, body({ observation: { image: { rgb: Array.from(pixels) }, proprio: [10, 20] } }));
  assert.deepEqual(r5.json.actions, r1.json.actions);
  const r6 = await post(a, body({ observation: { image: { raw: encodeBase64(pixels) }, proprio: [10, 20] } }));
  assert.deepEqual(r6.json.actions, r1.json.actions);
  // A client that says it executed another number of actions than the warm start was shifted by is told so.
  const bad = await post(a, body({ warm_start: r1.json.warm_start, executed: 3 }));
  assert.equal(bad.status, 400);
  assert.equal(bad.json.field, "warm_start.shifted_by");
  assert.equal((await post(a, body({ warm_start: r1.json.warm_start, executed: 1 }))).status, 200);
});

Deno.test("POST /v1/plan plans with MPPI too (preset or method override), seeded, a different plan from CEM", async () => {
  const a = app();
  const mppi = { preset: "mppi", samples: 16, iterations: 2 };
  const r1 = await post(a, body({ planner: mppi })), r2 = await post(a, body({ planner: mppi }));
  assert.equal(r1.status, 200, JSON.stringify(r1.json));
  assert.equal(r1.json.actions.length, 5);
  assert.deepEqual(r1.json.actions, r2.json.actions);
  const cem = await post(a, body());
  assert.notDeepEqual(cem.json.actions, r1.json.actions);
  const r3 = await post(a, body({ planner: { ...mppi, preset: "fast", method: "mppi", temperature: 0.5 } }));
  assert.deepEqual(r3.json.actions, r1.json.actions, "the fast preset with method mppi is the mppi preset");
});

const BAD: [string, unknown, number, string][] = [
  ["empty body", "", 400, "body"],
  ["malformed JSON", "{task: wall", 400, "body"],
  ["missing task", { ...body(), task: undefined }, 400, "task"],
  ["no model for the task", body({ task: "chess" }), 404, "task"],
  ["malformed task name", body({ task: "Chess!" }), 400, "task"],
  ["unknown variant", body({ variant: "w1" }), 404, "variant"],
  [
    "bad base64",
    body({ observation: { image: { png: "!!!not base64!!!" }, proprio: [10, 20] } }),
    400,
    "observation.image.png",
  ],
  ["truncated PNG", body({ goal: { image: { png: png([5, 5]).slice(0, 200) } } }), 400, "goal.image.png"],
  [
    "wrong image size",
    body({ observation: { image: { png: png([10, 20], 32) }, proprio: [10, 20] } }),
    400,
    "observation.image.png",
  ],
  [
    "wrong channel count",
    body({ observation: { image: { rgb: new Array(64 * 64 * 4).fill(0) }, proprio: [10, 20] } }),
    400,
    "observation.image.rgb",
  ],
  ["both png and rgb", body({ observation: { image: { png: png([1, 1]), rgb: [1] } } }), 400, "observation.image"],
  [
    "wrong proprio dims",
    body({ observation: { image: { png: png([10, 20]) }, proprio: [1, 2, 3] } }),
    400,
    "observation.proprio",
  ],
  [
    "Infinity in proprio",
    '{"task":"wall","observation":{"image":{"rgb":[]},"proprio":[1e999,0]}}',
    400,
    "observation.proprio.0",
  ],
  ["NaN as a string", body({ goal: { image: { png: png([1, 1]) }, proprio: ["NaN", 0] } }), 400, "goal.proprio.0"],
  ["0 samples", body({ planner: { samples: 0 } }), 400, "planner.samples"],
  ["horizon 10^6", body({ planner: { horizon: 1e6 } }), 400, "planner.horizon"],
  ["topk above samples", body({ planner: { samples: 4, topk: 9 } }), 400, "planner.topk"],
  ["warm start of the wrong length", body({ warm_start: [0, 1, 2] }), 400, "warm_start"],
  ["negative seed", body({ seed: -1 }), 400, "seed"],
  ["unknown planner method", body({ planner: { method: "gradient" } }), 400, "planner.method"],
  ["MPPI temperature 0", body({ planner: { preset: "mppi", temperature: 0 } }), 400, "planner.temperature"],
  ["no observation proprio", body({ observation: { image: { png: png([10, 20]) } } }), 400, "observation.proprio"],
  [
    "proprio overflowing float32",
    body({ observation: { image: { png: png([10, 20]) }, proprio: [1e39, 1] } }),
    400,
    "observation.proprio.0",
  ],
  ["an unknown planner key", body({ planner: { sample: 2000 } }), 400, "planner.sample"],
  ["a proposal policy wall's model has not", body({ planner: { proposal: "policy" } }), 422, "planner.proposal"],
  ["an unknown proposal", body({ planner: { proposal: "demo" } }), 400, "planner.proposal"],
  ["an unknown top-level key", body({ seeds: 3 }), 400, "seeds"],
  [
    "an image with both png and rgb keys",
    body({ goal: { image: { png: png([1, 1]), rgb: [] }, proprio: [1, 1] } }),
    400,
    "goal.image",
  ],
  [
    "a PNG bomb (64x64 header, 50 MB of zeros)",
    body({ observation: { image: { png: encodeBase64(pngBomb(50_000_000)) }, proprio: [10, 20] } }),
    400,
    "observation.image.png",
  ],
  [
    "a 4096x4096 PNG",
    body({ observation: { image: { png: encodeBase64(bigPng) }, proprio: [10, 20] } }),
    400,
    "observation.image.png",
  ],
];

for (const [what, payload, status, field] of BAD) {
  Deno.test(`POST /v1/plan with ${what}: ${status} naming ${field}`, async () => {
    const r = await post(app(), payload);
    assert.equal(r.status, status, JSON.stringify(r.json));
    assert.equal(r.json.field, field, JSON.stringify(r.json));
    assert.equal(typeof r.json.error, "string");
  });
}

Deno.test("a model whose objective uses proprio (pointmaze, alpha 1) requires the goal's proprio: 400 naming it", async () => {
  const pm = await WorldModel.load("models/pointmaze/fp32", { threads: 1 });
  assert.ok(pm.card.objective.proprio > 0);
  const maze = getTask("pointmaze");
  const frame = (s: number[]) => ({
    image: { rgb: Array.from(maze.render(Float64Array.from(s))) },
  });
  const a = createApp({ models: new Map([["pointmaze/fp32", pm]]), isReady: () => true, log: quiet });
  const start = [1, 1, 0, 0], goal = [3, 1, 0, 0];
  const r = await post(a, {
    task: "pointmaze",
    observation: { ...frame(start), proprio: start },
    goal: frame(goal),
    planner: { samples: 8, topk: 2, iterations: 1 },
  });
  assert.equal(r.status, 400, JSON.stringify(r.json));
  assert.equal(r.json.field, "goal.proprio");
  const ok = await post(a, {
    task: "pointmaze",
    observation: { ...frame(start), proprio: start },
    goal: { ...frame(goal), proprio: goal },
    planner: { samples: 8, topk: 2, iterations: 1 },
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
});

Deno.test("an oversized body is refused with 413 before parsing", async () => {
  const payload = JSON.stringify(body());
  assert.ok(payload.length > 500);
  const r = await post(app({ maxBodyBytes: 500 }), payload);
  assert.equal(r.status, 413);
  assert.equal(r.json.field, "body");
});

Deno.test("with an API key set, /v1/* needs it; /health does not", async () => {
  const a = app({ apiKey: "s3cret" });
  assert.equal((await post(a, body())).status, 401);
  assert.equal((await post(a, body(), { authorization: "Bearer nope" })).status, 401);
  assert.equal((await post(a, body(), { authorization: "Bearer s3cret" })).status, 200);
  assert.equal((await post(a, body(), { "x-api-key": "s3cret" })).status, 200);
  assert.equal((await a.request("/health")).status, 200);
});

Deno.test("beyond the queue, requests get 503 with Retry-After instead of waiting", async () => {
  const a = app({ maxConcurrent: 1, maxQueue: 0 });
  const results = await Promise.all([post(a, body()), post(a, body()), post(a, body())]);
  const codes = results.map((r) => r.status).sort();
  assert.deepEqual(codes, [200, 503, 503]);
  for (const r of results.filter((r) => r.status === 503)) {
    assert.equal(r.headers.get("retry-after"), "1");
    assert.match(r.json.error, /busy/);
  }
  const ok = results.find((r) => r.status === 200)!;
  assert.equal(ok.json.actions.length, 5, "the one admitted plan is a whole plan");
});

Deno.test("a plan past its deadline answers 504, never hangs", async () => {
  const r = await post(app({ deadlineMs: 1 }), body({ planner: { samples: 64, iterations: 20 } }));
  assert.equal(r.status, 504);
  assert.match(r.json.error, /exceeded the 1 ms deadline/);
  assert.equal(r.json.actions, undefined, "no partial plan is returned");
});

Deno.test("a request's own deadline_ms shortens the server's, and never lengthens it", async () => {
  const short = await post(
    app({ deadlineMs: 60_000 }),
    body({ deadline_ms: 1, planner: { samples: 64, iterations: 20 } }),
  );
  assert.equal(short.status, 504);
  assert.match(short.json.error, /exceeded the 1 ms deadline/);
  const capped = await post(
    app({ deadlineMs: 1 }),
    body({ deadline_ms: 60_000, planner: { samples: 64, iterations: 20 } }),
  );
  assert.equal(capped.status, 504);
  assert.match(capped.json.error, /exceeded the 1 ms deadline/);
  const bad = await post(app(), body({ deadline_ms: 0 }));
  assert.equal(bad.status, 400);
  assert.equal(bad.json.field, "deadline_ms");
});

Deno.test("plan requests are refused with 503 until models are loaded", async () => {
  const r = await post(app({ isReady: () => false }), body());
  assert.equal(r.status, 503);
  assert.equal(r.headers.get("retry-after"), "2");
  assert.match(r.json.error, /loading/);
});

Deno.test("a request that names no variant gets the task's served default", async () => {
  const a = createApp({ models, defaults: { wall: "fp32" }, isReady: () => true, log: quiet });
  const r = await post(a, { ...body(), variant: undefined });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.variant, "fp32");
  const none = createApp({ models, defaults: { wall: "w4" }, isReady: () => true, log: quiet });
  const r2 = await post(none, { ...body(), variant: undefined });
  assert.equal(r2.status, 404);
  assert.match(r2.json.error, /no model wall\/w4/);
  const list = await (await a.request("/v1/models")).json();
  assert.equal(list.models[0].default, true);
  assert.deepEqual(Object.keys(list.models[0].objective), ["patch", "global", "proprio", "distance", "global_metric"]);
  assert.equal(list.models[0].objective.global_metric, null, "wall's global term is the plain L2");
  assert.deepEqual(list.models[0].planner, {
    method: "icem",
    horizon: 5,
    samples: 32,
    topk: 8,
    iterations: 3,
    execute: 1,
    proposal: "none",
  });
  // The contract names each number of an action and of the proprio, with its unit.
  assert.deepEqual(list.models[0].proprio_names.map((d: { name: string }) => d.name), ["x", "y"]);
  assert.equal(list.models[0].action_names.length, 2);
});

Deno.test("a request that names no preset plans with the model's own planner (model.json `planner`)", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (const e of Deno.readDirSync(MODEL_DIR)) Deno.copyFileSync(`${MODEL_DIR}/${e.name}`, `${dir}/${e.name}`);
    const card = JSON.parse(Deno.readTextFileSync(`${dir}/model.json`));
    card.planner = { preset: "fast", samples: 16, topk: 4, iterations: 2, execute: 3 };
    Deno.writeTextFileSync(`${dir}/model.json`, JSON.stringify(card));
    const own = await WorldModel.load(dir, { threads: 1 });
    const a = createApp({ models: new Map([["wall/fp32", own]]), isReady: () => true, log: quiet });
    const r = await post(a, { ...body(), planner: undefined });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.control.execute, 3, "the card's execute count");
    const named = await post(a, body());
    assert.equal(named.json.control.execute, 1, "a named preset wins");
    const listed = (await (await a.request("/v1/models")).json()).models[0].planner;
    assert.deepEqual(listed, {
      method: "cem",
      horizon: 5,
      samples: 16,
      topk: 4,
      iterations: 2,
      execute: 3,
      proposal: "none",
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("the plan also comes as env actions [H x frameskip][env action dim], with the control period", async () => {
  const r = await post(app(), body());
  assert.equal(r.status, 200);
  assert.equal(r.json.env_actions.length, 5 * 5);
  for (const a of r.json.env_actions) assert.equal(a.length, 2);
  assert.deepEqual(r.json.env_actions.slice(0, 5).flat(), r.json.actions[0], "the first model action, in order");
  assert.deepEqual(r.json.control, { env_steps_per_action: 5, env_step_seconds: null, execute: 1 });
  assert.ok(Number.isFinite(r.json.cost));
});

Deno.test("only JSON bodies are taken (415), wrong methods get 405 with Allow, responses carry security headers", async () => {
  const a = app();
  const text = await a.request("/v1/plan", {
    method: "POST",
    body: JSON.stringify(body()),
    headers: { "content-type": "text/plain" },
  });
  assert.equal(text.status, 415);
  assert.equal((await text.json()).field, "content-type");
  const put = await a.request("/v1/plan", { method: "PUT", body: "{}" });
  assert.equal(put.status, 405);
  assert.match(put.headers.get("allow")!, /POST/);
  const del = await a.request("/health", { method: "DELETE" });
  assert.equal(del.status, 405);
  assert.match(del.headers.get("allow")!, /GET/);
  const h = await a.request("/health");
  assert.equal(h.headers.get("x-content-type-options"), "nosniff");
  assert.equal(h.headers.get("x-frame-options"), "SAMEORIGIN");
  assert.equal(h.headers.get("access-control-allow-origin"), null, "no CORS unless configured");
  const withCors = app({ corsOrigins: ["https://robot.example"] });
  const pre = await withCors.request("/v1/plan", {
    method: "OPTIONS",
    headers: { origin: "https://robot.example", "access-control-request-method": "POST" },
  });
  assert.equal(pre.headers.get("access-control-allow-origin"), "https://robot.example");
});

Deno.test("an aborted request cancels its plan: logged as a client disconnect (499), never a 500", async () => {
  const lines: Record<string, unknown>[] = [];
  const a = createApp({ models, isReady: () => true, log: (l) => lines.push(l), deadlineMs: 120_000 });
  const ctl = new AbortController();
  const req = new Request("http://x/v1/plan", {
    method: "POST",
    body: JSON.stringify(body({ planner: { samples: 2000, topk: 10, iterations: 100 } })),
    headers: { "content-type": "application/json" },
    signal: ctl.signal,
  });
  setTimeout(() => ctl.abort(), 200);
  const res = await a.fetch(req);
  assert.equal(res.status, 499);
  const line = lines.find((l) => l.path === "/v1/plan")!;
  assert.equal(line.status, 499);
  assert.match(String(line.note), /client disconnected/);
  assert.ok(!lines.some((l) => l.level === "error"), "no error logged");
  // The executor is free again at once: the next plan runs.
  assert.equal((await post(a, body())).status, 200);
});

Deno.test("the deadline covers queueing: a plan still waiting at its deadline gets 504 without running", async () => {
  const a = app({ maxConcurrent: 1, maxQueue: 4, deadlineMs: 300 });
  const slow = post(a, body({ planner: { samples: 2000, topk: 10, iterations: 100 } }));
  const queued = await post(a, body());
  assert.equal(queued.status, 504);
  assert.match(queued.json.error, /while queued/);
  assert.equal((await slow).status, 504);
});

Deno.test("the OpenAPI document's example request is one the server answers with 200", async () => {
  const example = body({ planner: { preset: "fast" } });
  const a = app({ example: () => Promise.resolve(example) });
  const doc = await (await a.request("/openapi.json")).json();
  const ex = doc.paths["/v1/plan"].post.requestBody.content["application/json"].example;
  assert.deepEqual(ex, example);
  const r = await post(a, ex);
  assert.equal(r.status, 200, JSON.stringify(r.json));
});

Deno.test("GET /v1/models lists pusht's 96-px model with its wide planner from its policy, and a card's limitation", async () => {
  const pusht = await WorldModel.load("models/pusht/fp32", { threads: 1 });
  const a = createApp({ models: new Map([["pusht/fp32", pusht]]), isReady: () => true, log: quiet });
  const [m] = (await (await a.request("/v1/models")).json()).models;
  assert.equal(m.image_size, 96);
  assert.deepEqual(m.planner, {
    method: "icem",
    horizon: 5,
    samples: 150,
    topk: 8,
    iterations: 6,
    execute: 5,
    proposal: "policy",
  });
  // Issue 39's gate 3 passed (0.94 / 0.94 over 50 x 50, above DINO-WM's 0.90): pusht no longer carries one.
  assert.equal(m.limitation, null);
  const dir = Deno.makeTempDirSync();
  try {
    for (const e of Deno.readDirSync(MODEL_DIR)) Deno.copyFileSync(`${MODEL_DIR}/${e.name}`, `${dir}/${e.name}`);
    const card = JSON.parse(Deno.readTextFileSync(`${dir}/model.json`));
    card.limitation = "Not yet a working default: 0.10 success over 50 x 50";
    Deno.writeTextFileSync(`${dir}/model.json`, JSON.stringify(card));
    const own = await WorldModel.load(dir, { threads: 1 });
    const b = createApp({ models: new Map([["wall/fp32", own]]), isReady: () => true, log: quiet });
    assert.equal((await (await b.request("/v1/models")).json()).models[0].limitation, card.limitation);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  assert.equal((await (await app().request("/v1/models")).json()).models[0].limitation, null, "wall's has none");
});
