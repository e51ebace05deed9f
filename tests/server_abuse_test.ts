// The server's promises under abuse, over real sockets against a started server (study/experiments/
// server_abuse.ts has the cases and prints their figures): an abandoned plan is cancelled and counted as 499,
// a burst of maximum-size bodies is refused unread with memory bounded, execute cannot pass the horizon, and
// an oversized chunked body gets a 413 that closes its connection.
import assert from "node:assert/strict";
import {
  abandonedPlan,
  executePastHorizon,
  largeBurst,
  oversizedChunked,
  slowHeaders,
  startServer,
} from "../study/experiments/server_abuse.ts";

Deno.test("a client that goes away over HTTP/1.1 cancels its plan: counted as 499, its worker free for the next plan", async () => {
  // One worker; a deadline far beyond the heavy plans, so that only cancellation can free it in time.
  const s = await startServer({ EDGEWM_WORKERS: "1", EDGEWM_DEADLINE_MS: "120000", EDGEWM_MAX_QUEUE: "64" });
  try {
    const r = await abandonedPlan(s);
    console.log(JSON.stringify(r));
    assert.equal(r.counted_499, 1, "the abandoned plan is logged as 499, not answered as 200");
    // Of 50 clients that left after 50 ms, none was planned to its end; those whose request the server had read
    // are counted as 499 (46-50 on a quiet machine; on a loaded one many close before theirs is read, and leave
    // nothing to count: 22 with a training run, a study sweep and the other suites on this machine's 2 cores).
    assert.equal(r.fifty_left_answered_200, 0);
    assert.ok(r.fifty_left_counted_499 >= 10, JSON.stringify(r));
    assert.equal(r.after_fifty_next_plan_status, 200);
    // Not a latency assertion: a heavy plan not cancelled would hold the worker for its whole length (1000
    // samples x 30 iterations: ~15 s here), and 50 of them for minutes; the next plan gets it at once.
    assert.ok(r.worker_held_ms < 8000 && r.after_fifty_worker_held_ms < 8000, JSON.stringify(r));
  } finally {
    await s.stop();
  }
});

Deno.test("a burst of 48 maximum-size requests is refused unread beyond the in-flight budget; memory stays bounded", async () => {
  const s = await startServer({});
  try {
    const r = await largeBurst(s);
    console.log(JSON.stringify(r));
    assert.ok(Object.keys(r.statuses).every((k) => k === "200" || k === "503"), JSON.stringify(r.statuses));
    assert.ok((r.statuses[200] ?? 0) >= 1, "the burst's first requests are planned");
    if (r.rss_idle_mb !== undefined) { // where /proc is there
      assert.ok(r.rss_peak_mb - r.rss_idle_mb <= 100, `peak ${r.rss_peak_mb} MB over idle ${r.rss_idle_mb} MB`);
      assert.ok(r.rss_after_mb - r.rss_idle_mb <= 20, `after ${r.rss_after_mb} MB vs idle ${r.rss_idle_mb} MB`);
    }
  } finally {
    await s.stop();
  }
});

Deno.test("planner.execute past the horizon is a 400 naming it; an oversized chunked body's 413 closes the connection", async () => {
  const s = await startServer({});
  try {
    assert.deepEqual(await executePastHorizon(s), { status: 400, field: "planner.execute", execute: null });
    const c = await oversizedChunked(s);
    assert.equal(c.status, 413);
    assert.equal(c.connection_header, "close");
    assert.equal(c.closed_by_server, true, "the server closes the socket after its 413");
  } finally {
    await s.stop();
  }
});

Deno.test("headers that never finish (slowloris) get a 408 and a closed connection", async () => {
  const s = await startServer({});
  try {
    const r = await slowHeaders(s);
    assert.equal(r.status, 408, JSON.stringify(r));
    // The limit is 10 s (HTTP_TIMEOUTS.headersMs); the assertion only says it ended, not when, under 30 s.
    assert.ok(r.closed_after_s < 30, JSON.stringify(r));
  } finally {
    await s.stop();
  }
});
