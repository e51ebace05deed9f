import assert from "node:assert/strict";
import { WorkerExecutor } from "../../../agent/http/executors.ts";
import type { PlanJob } from "../../../agent/http/plan_job.ts";
import { PlanQueue } from "../../../agent/http/plan_queue.ts";
import { ModelLoadError } from "../../../model/model_card.ts";
import { DeadlineError } from "../../../agent/planners/world_model_planner.ts";

const url = new URL("./_scripted_worker.ts", import.meta.url);
const job = (model: string, ms = 5000) => ({ model, deadline: Date.now() + ms }) as unknown as PlanJob;
const workerId = (out: unknown) => (out as { worker: string }).worker;

Deno.test("WorkerExecutor: a worker stuck past its plan's deadline is replaced, the plan is a 504, the next plan runs", async () => {
  const ex = await WorkerExecutor.start(["m"], "web", 1, { url, stuckGraceMs: 300 });
  try {
    const before = workerId(await ex.run(job("ok")));
    const t0 = Date.now();
    await assert.rejects(
      ex.run(job("spin", 200)),
      (e) => e instanceof DeadlineError && /did not stop within 300 ms/.test(e.message),
    );
    const waited = Date.now() - t0;
    assert.ok(waited >= 450, `rejected after ${waited} ms, before deadline + grace`);
    assert.equal(ex.restarts, 1);
    const after = workerId(await ex.run(job("ok")));
    assert.notEqual(after, before, "the stuck worker was replaced by a fresh one");
    assert.equal(workerId(await ex.run(job("ok"))), after, "and the fresh one is kept");
  } finally {
    ex.close();
  }
});

Deno.test("WorkerExecutor: a worker that crashes fails its plan with the crash and is replaced", async () => {
  const ex = await WorkerExecutor.start(["m"], "web", 1, { url });
  try {
    const before = workerId(await ex.run(job("ok")));
    await assert.rejects(ex.run(job("crash")), /planning worker crashed: .*worker fell over/);
    assert.equal(ex.restarts, 1);
    assert.notEqual(workerId(await ex.run(job("ok"))), before);
  } finally {
    ex.close();
  }
});

Deno.test("WorkerExecutor: a model that does not load refuses the start with its message", async () => {
  await assert.rejects(
    WorkerExecutor.start(["unloadable"], "web", 1, { url }),
    (e) => e instanceof ModelLoadError && /unloadable: no model.json/.test(e.message),
  );
});

Deno.test("PlanQueue: counts its executors' worker restarts, and a replaced worker keeps serving the queue", async () => {
  const ex = await WorkerExecutor.start(["m"], "web", 1, { url, stuckGraceMs: 100 });
  const queue = new PlanQueue([ex], 4);
  try {
    const stuck = queue.plan(job("spin", 100));
    const next = queue.plan(job("ok", 10_000)); // queued behind the stuck plan
    await assert.rejects(stuck, DeadlineError);
    assert.ok(workerId(await next));
    assert.equal(queue.restarts, 1);
  } finally {
    await queue.close();
  }
});
