// The bounded plan queue, with scripted executors: FIFO order, refusal beyond its bound, deadlines that
// cover queueing, and cancellation of waiting and running plans.
import assert from "node:assert/strict";
import { BusyError, type Executor, PlanQueue } from "../../../agent/http/plan_queue.ts";
import type { PlanJob, PlanOutput } from "../../../agent/http/plan_job.ts";
import { CancelledError, DeadlineError } from "../../../agent/planners/world_model_planner.ts";
import { resolvePlanner } from "../../../model/planner_options.ts";

/** An executor whose plans finish when the test says so (or are cancelled). */
class ScriptedExecutor implements Executor {
  readonly started: string[] = [];
  #finish: (() => void)[] = [];
  #cancel: (() => void) | null = null;
  cancels = 0;
  run(job: PlanJob): Promise<PlanOutput> {
    this.started.push(job.model);
    return new Promise((resolve, reject) => {
      this.#finish.push(() => resolve({ task: job.model } as PlanOutput));
      this.#cancel = () => reject(new CancelledError("cancelled"));
    });
  }
  finish() {
    this.#finish.shift()?.();
  }
  cancel() {
    this.cancels++;
    this.#cancel?.();
  }
  close() {}
}

const job = (model: string, ms = 10_000): PlanJob => ({
  model,
  observation: { rgb: new Uint8Array(), proprio: [] },
  goal: { rgb: new Uint8Array(), key: "" },
  decodeMs: 0,
  preset: resolvePlanner({}),
  seed: 0,
  deadline: Date.now() + ms,
});

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("PlanQueue: plans wait in FIFO order for a free executor; beyond maxQueue they are refused at once", async () => {
  const ex = new ScriptedExecutor(), q = new PlanQueue([ex], 2);
  const a = q.plan(job("a")), b = q.plan(job("b")), c = q.plan(job("c"));
  await assert.rejects(q.plan(job("d")), BusyError);
  assert.equal(q.running, 1);
  assert.equal(q.queued, 2);
  for (const p of [a, b, c]) {
    ex.finish();
    await p;
    await tick();
  }
  assert.deepEqual(ex.started, ["a", "b", "c"]);
  assert.equal(q.running, 0);
});

Deno.test("PlanQueue: a plan still waiting at its deadline is dropped with DeadlineError and never runs", async () => {
  const ex = new ScriptedExecutor(), q = new PlanQueue([ex], 4);
  const first = q.plan(job("first"));
  const late = q.plan(job("late", 30));
  await assert.rejects(late, DeadlineError);
  assert.equal(q.queued, 0);
  ex.finish();
  await first;
  await tick();
  assert.deepEqual(ex.started, ["first"]);
});

Deno.test("PlanQueue: an aborted request leaves the queue, or cancels its running plan", async () => {
  const ex = new ScriptedExecutor(), q = new PlanQueue([ex], 4);
  const running = new AbortController(), waiting = new AbortController();
  const a = q.plan(job("a"), running.signal), b = q.plan(job("b"), waiting.signal);
  waiting.abort();
  await assert.rejects(b, CancelledError);
  assert.equal(q.queued, 0);
  running.abort();
  await assert.rejects(a, CancelledError);
  assert.equal(ex.cancels, 1);
  // An already aborted signal is refused before it takes a slot.
  await assert.rejects(q.plan(job("c"), AbortSignal.abort()), CancelledError);
  assert.deepEqual(ex.started, ["a"]);
});

Deno.test("PlanQueue: close() refuses the waiting plans and closes every executor", async () => {
  let closed = 0;
  const ex = new ScriptedExecutor();
  ex.close = () => void closed++;
  const q = new PlanQueue([ex], 4);
  const a = q.plan(job("a")), b = q.plan(job("b"));
  const closing = q.close(0);
  await assert.rejects(b, /shutting down/);
  await closing;
  assert.equal(closed, 1);
  ex.finish();
  await a;
});
