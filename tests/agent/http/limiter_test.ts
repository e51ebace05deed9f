import assert from "node:assert/strict";
import { BusyError, Limiter } from "../../../agent/http/limiter.ts";

/** A job that finishes when `release()` is called. */
function gate() {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { release, job: () => done };
}

Deno.test("Limiter: at most `concurrent` jobs run, the next `queue` wait, the rest get BusyError at once", async () => {
  const l = new Limiter(2, 1);
  const gates = [gate(), gate(), gate()];
  const running = gates.map((g) => l.run(g.job));
  await Promise.resolve();
  assert.equal(l.running, 2);
  assert.equal(l.queued, 1);
  await assert.rejects(() => l.run(async () => {}), BusyError);
  gates[0].release();
  await running[0];
  assert.equal(l.running, 2, "the waiter took the freed slot");
  assert.equal(l.queued, 0);
  gates[1].release();
  gates[2].release();
  await Promise.all(running);
  assert.equal(l.running, 0);
});

Deno.test("Limiter: a failing job frees its slot and its error reaches the caller", async () => {
  const l = new Limiter(1, 0);
  await assert.rejects(() => l.run(() => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(l.running, 0);
  assert.equal(await l.run(() => Promise.resolve(7)), 7);
});
