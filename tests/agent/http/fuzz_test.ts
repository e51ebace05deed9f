// Property-based fuzzing of POST /v1/plan (fast-check): whatever arrives, the answer is never a
// 5xx, and a 200 always carries finite actions and a finite cost. Requests are built around a real
// PNG so that many get past the image checks and reach the planner.
// EDGEWM_FUZZ_RUNS=5000 deno test -A tests/agent/http/fuzz_test.ts   # the long run
import assert from "node:assert/strict";
import fc from "fast-check";
import { createApp } from "../../../agent/http/app.ts";
import { WorldModel } from "../../../agent/world_model.ts";
import { encodeBase64 } from "../../../lib/base64.ts";
import { encodePng } from "../../../lib/png.ts";
import { getTask } from "../../../tasks/registry.ts";

const model = await WorldModel.load("models/wall/fp32", { threads: 1 });
const app = createApp({ models: new Map([["wall/fp32", model]]), isReady: () => true, log: () => {}, maxQueue: 1000 });
const wall = getTask("wall");
const PNG = encodeBase64(encodePng(wall.render(Float64Array.of(12, 30), 64), 64, 64));

/** Mostly valid values, sometimes anything at all: many requests pass validation and reach the planner. */
const mostly = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<unknown>) =>
  fc.oneof({ arbitrary: valid, weight: 19 }, { arbitrary: invalid, weight: 1 });
const wild = fc.oneof(
  fc.double(),
  fc.constantFrom(1e39, -1e39, 3.5e38, Number.MAX_VALUE, -0),
  fc.string(),
  fc.anything(),
);
const num = mostly(
  fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constantFrom(0, 3.4e38, -3.4e38, 1e-45)),
  wild,
);
const image = mostly(
  fc.oneof(fc.constant({ png: PNG }), fc.constant({ rgb: Array.from(wall.render(Float64Array.of(40, 8), 64)) })),
  fc.oneof(
    fc.record({ png: fc.oneof(fc.string(), fc.constant(PNG.slice(0, 300))) }),
    fc.record({ rgb: fc.array(fc.integer({ min: -1, max: 256 }), { maxLength: 20 }) }),
    fc.record({ png: fc.constant(PNG), rgb: fc.constant([1]) }),
    fc.anything(),
  ),
);
const proprio = mostly(fc.tuple(num, num), fc.oneof(fc.array(num, { maxLength: 4 }), fc.anything()));
const frame = mostly(fc.record({ image, proprio }), fc.record({ image }, { requiredKeys: [] }));
const planner = fc.record({
  preset: mostly(fc.constantFrom("fast", "mppi", "dinowm"), fc.string()),
  method: mostly(fc.constantFrom("cem", "mppi"), fc.string()),
  samples: mostly(fc.integer({ min: 2, max: 8 }), fc.integer({ min: -2, max: 3000 })),
  topk: mostly(fc.integer({ min: 1, max: 2 }), fc.integer({ min: -1, max: 30 })),
  iterations: mostly(fc.integer({ min: 1, max: 2 }), fc.integer({ min: -1, max: 1000 })),
  horizon: mostly(fc.integer({ min: 1, max: 6 }), fc.integer({ min: -1, max: 100 })),
  temperature: mostly(fc.double({ min: 0.01, max: 100, noNaN: true }), wild),
  execute: mostly(fc.integer({ min: 1, max: 5 }), wild),
}, { requiredKeys: [] });
const request = fc.record({
  task: mostly(fc.constant("wall"), fc.constantFrom("pusht", "chess", 3)),
  variant: mostly(fc.constant("fp32"), fc.constantFrom("w4", "../../etc", "")),
  observation: frame,
  goal: frame,
  planner: mostly(planner, fc.anything()),
  warm_start: mostly(
    fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 50, maxLength: 50 }),
    fc.array(num, { maxLength: 60 }),
  ),
  seed: mostly(fc.integer({ min: 0, max: 2 ** 32 - 1 }), wild),
  extra: fc.oneof({ arbitrary: fc.constant(undefined), weight: 9 }, { arbitrary: fc.anything(), weight: 1 }),
}, { requiredKeys: ["task", "observation", "goal"] });

Deno.test("fuzzed plan requests: never a 5xx; a 200 only with finite actions and cost", async () => {
  const runs = Number(Deno.env.get("EDGEWM_FUZZ_RUNS") ?? 300);
  let ok = 0;
  const statuses = new Map<number, number>(), fields = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(request, async (req) => {
      // Keep plans small: fuzzing is about the inputs, not the search.
      const r = req as Record<string, unknown>;
      const p = (r.planner ?? {}) as Record<string, unknown>;
      // (Presets alone would mean up to 300 samples x 30 iterations: absent sizes are small ones too.)
      if (p && typeof p === "object") {
        if (p.samples === undefined || (typeof p.samples === "number" && p.samples > 8)) p.samples = 8;
        if (p.iterations === undefined || (typeof p.iterations === "number" && p.iterations > 2)) p.iterations = 2;
        if (p.topk === undefined) p.topk = 2;
      }
      if (typeof p.horizon === "number" && p.horizon > 6) delete r.warm_start;
      const res = await app.request("/v1/plan", {
        method: "POST",
        body: JSON.stringify(r),
        headers: { "content-type": "application/json" },
      });
      const body = await res.json();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.ok(res.status < 500, `${res.status} ${JSON.stringify(body)} for ${JSON.stringify(r).slice(0, 300)}`);
      if (res.status === 200) {
        ok++;
        assert.ok(Number.isFinite(body.cost));
        assert.ok(body.actions.flat().every(Number.isFinite));
        assert.ok(body.env_actions.flat().every(Number.isFinite));
      } else {
        assert.equal(typeof body.error, "string");
        fields.set(body.field, (fields.get(body.field) ?? 0) + 1);
      }
    }),
    { numRuns: runs, seed: 42 },
  );
  console.log(
    JSON.stringify({ runs, planned: ok, statuses: Object.fromEntries(statuses), fields: Object.fromEntries(fields) }),
  );
  assert.ok(ok > 0, "some fuzzed requests were planned");
});
