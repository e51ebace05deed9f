import assert from "node:assert/strict";
import { Metrics } from "../../../agent/http/metrics.ts";

Deno.test("Metrics: request counters by route and status, a cumulative plan histogram, gauges and counters", () => {
  const m = new Metrics();
  m.request("/v1/plan", 200);
  m.request("/v1/plan", 200);
  m.request("/v1/plan", 503);
  for (const ms of [20, 80, 400, 20000]) m.plan(ms);
  const t = m.text({ edgewm_plans_running: 1 }, { edgewm_planning_worker_restarts_total: 2 });
  assert.match(t, /edgewm_requests_total\{route="\/v1\/plan",status="200"\} 2\n/);
  assert.match(t, /edgewm_requests_total\{route="\/v1\/plan",status="503"\} 1\n/);
  assert.match(t, /edgewm_plan_seconds_bucket\{le="0.025"\} 1\n/);
  assert.match(t, /edgewm_plan_seconds_bucket\{le="0.1"\} 2\n/);
  assert.match(t, /edgewm_plan_seconds_bucket\{le="0.5"\} 3\n/);
  assert.match(t, /edgewm_plan_seconds_bucket\{le="10"\} 3\n/, "20 s is above the last finite bucket");
  assert.match(t, /edgewm_plan_seconds_bucket\{le="\+Inf"\} 4\n/);
  assert.match(t, /edgewm_plan_seconds_count 4\n/);
  const sum = Number(/edgewm_plan_seconds_sum (\S+)\n/.exec(t)![1]);
  assert.ok(Math.abs(sum - 20.5) < 1e-9, `sum ${sum}`);
  assert.match(t, /# TYPE edgewm_plans_running gauge\nedgewm_plans_running 1\n/);
  assert.match(t, /# TYPE edgewm_planning_worker_restarts_total counter\nedgewm_planning_worker_restarts_total 2\n/);
});
