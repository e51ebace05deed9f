// What a sweep row costs: measured for finished rows, estimated per task for the rest.
import assert from "node:assert/strict";
import {
  costPerRow,
  estimateCoreSeconds,
  PRIOR_ROW_SECONDS,
  rowCoreSeconds,
} from "../../../study/pipeline/row_cost.ts";

Deno.test("rowCoreSeconds prefers CPU time, then wall time; a row that ran nothing costs 0", () => {
  assert.equal(rowCoreSeconds({ task: "pusht", seconds: { quantize: 5, eval: 400, total: 900, cpu: 420 } }), 420);
  assert.equal(rowCoreSeconds({ task: "pusht", seconds: { quantize: 5, eval: 400, total: 405 } }), 405);
  assert.equal(rowCoreSeconds({ task: "pusht" }), 0);
});

Deno.test("a row still to run is estimated from its own task's finished rows", () => {
  const finished = [
    { task: "reacher", seconds: { total: 30, cpu: 20 } },
    { task: "reacher", seconds: { total: 50, cpu: 40 } },
    { task: "pusht", seconds: { total: 500 } },
    { task: "pusht" }, // pruned: no timing, not averaged in as 0
  ];
  const per = costPerRow(finished);
  assert.equal(per("reacher"), 30);
  assert.equal(per("pusht"), 500);
  // A task with no finished row: all tasks' mean, of the rows with CPU time.
  assert.equal(per("wall"), 30);
  assert.equal(estimateCoreSeconds(finished, [{ task: "reacher" }, { task: "pusht" }, { task: "pusht" }]), 1030);
  // Once a task has rows with CPU time, its wall-only rows (slowed by whatever ran beside them) no longer count.
  const later = [...finished, { task: "pusht", seconds: { total: 200, cpu: 90 } }];
  assert.equal(costPerRow(later)("pusht"), 90);
});

Deno.test("before any row has finished, the prior", () => {
  assert.equal(costPerRow([])("pusht"), PRIOR_ROW_SECONDS);
  assert.equal(estimateCoreSeconds([], [{ task: "wall" }, { task: "pusht" }]), 2 * PRIOR_ROW_SECONDS);
});
