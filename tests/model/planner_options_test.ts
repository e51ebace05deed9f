// Planner options, defined once: presets, limits, the shared schema and resolvePlanner().
import assert from "node:assert/strict";
import {
  cardPreset,
  describePlanner,
  PlannerOptions,
  PlannerOptionsError,
  PRESET_NAMES,
  PRESETS,
  resolvePlanner,
} from "../../model/planner_options.ts";

Deno.test("resolvePlanner(): overrides replace only what they name; the method and temperature get defaults", () => {
  const p = resolvePlanner({ preset: "fast", samples: 100, horizon: 3 });
  assert.deepEqual(p.sampler, { ...PRESETS.fast.sampler, samples: 100, horizon: 3 });
  assert.equal(p.method, "cem");
  assert.equal(p.temperature, 0.5);
  assert.equal(p.execute, PRESETS.fast.execute);
  assert.equal(resolvePlanner({ preset: "mppi" }).method, "mppi");
  assert.equal(resolvePlanner({ preset: "fast", method: "mppi", execute: 3 }).execute, 3);
  assert.equal(PRESETS.fast.sampler.samples, 64, "the preset itself is not modified");
});

Deno.test("resolvePlanner(): with no preset named, the fallback (a model's own planner) is the base", () => {
  const own = resolvePlanner({ preset: "dinowm", execute: 2 });
  const p = resolvePlanner({ samples: 500 }, own);
  assert.equal(p.sampler.samples, 500);
  assert.equal(p.sampler.iterations, PRESETS.dinowm.sampler.iterations);
  assert.equal(p.execute, 2);
  // A named preset wins over the fallback.
  assert.equal(resolvePlanner({ preset: "fast" }, own).sampler.samples, 64);
});

Deno.test("resolvePlanner() throws PlannerOptionsError naming topk above samples (CEM) and execute above horizon", () => {
  assert.throws(() => resolvePlanner({ preset: "fast", topk: 65 }), (e: unknown) => {
    assert.ok(e instanceof PlannerOptionsError);
    assert.equal(e.field, "topk");
    assert.match(e.message, /topk 65 must not exceed samples 64/);
    return true;
  });
  // The bound is the resolved samples: lowering samples below the preset's topk is the same misfit.
  assert.throws(() => resolvePlanner({ samples: 4 }), /topk 8 must not exceed samples 4/);
  assert.throws(() => resolvePlanner({ horizon: 1, execute: 20 }), (e: unknown) => {
    assert.ok(e instanceof PlannerOptionsError);
    assert.equal(e.field, "execute");
    return true;
  });
});

Deno.test("resolvePlanner(): MPPI does not refuse a topk it does not use", () => {
  const p = resolvePlanner({ preset: "mppi", samples: 16, topk: 100 });
  assert.equal(p.method, "mppi");
  assert.equal(p.sampler.topk, 100);
});

Deno.test("PlannerOptions: the preset names come from the preset table; limits and unknown keys are refused", () => {
  assert.deepEqual(PRESET_NAMES, Object.keys(PRESETS));
  assert.equal(PlannerOptions.safeParse({ preset: "fast" }).success, true);
  assert.equal(PlannerOptions.safeParse({ preset: "slow" }).success, false);
  assert.equal(PlannerOptions.safeParse({ samples: 1 }).success, false);
  assert.equal(PlannerOptions.safeParse({ execute: 21 }).success, false);
  assert.equal(PlannerOptions.safeParse({ horizon: 2.5 }).success, false);
  const r = PlannerOptions.safeParse({ sample: 10 });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error!.issues), /sample/);
});

Deno.test("cardPreset(): a card without a planner gets the default preset; describePlanner() spells it out", () => {
  assert.deepEqual(cardPreset({}), resolvePlanner({ preset: "icem" }));
  assert.equal(
    describePlanner(resolvePlanner({ preset: "fast" })),
    "CEM 64 samples x 4 iterations (top 8), horizon 5, execute 1",
  );
  assert.equal(
    describePlanner(cardPreset({})),
    "iCEM (noise beta 0, population / 1.25 per iteration, 30% of elites kept) 32 samples x 3 iterations (top 8), " +
      "horizon 5, execute 1",
  );
  assert.equal(
    describePlanner(resolvePlanner({ preset: "mppi" })),
    "MPPI (temperature 0.5) 64 samples x 4 iterations, horizon 5, execute 1",
  );
});

Deno.test("resolvePlanner(): proposal 'policy' travels with the preset; 'none' or a preset without it has no key", () => {
  const p = resolvePlanner({ preset: "wide", proposal: "policy" });
  assert.equal(p.proposal, "policy");
  assert.equal(resolvePlanner({ samples: 20 }, p).proposal, "policy", "a card's proposal stays under overrides");
  assert.equal("proposal" in resolvePlanner({ proposal: "none" }, p), false, "a request can turn it off");
  assert.deepEqual(resolvePlanner({ preset: "wide", proposal: "none" }), resolvePlanner({ preset: "wide" }));
  assert.match(describePlanner(p), /execute 5, from the proposal policy$/);
  assert.equal(PlannerOptions.safeParse({ proposal: "demo" }).success, false);
});
