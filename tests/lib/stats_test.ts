import assert from "node:assert/strict";
import { percentile, relErr } from "../../lib/stats.ts";

Deno.test("percentile: nearest rank on a sorted copy; 0 for no values", () => {
  const xs = [5, 1, 4, 2, 3];
  assert.equal(percentile(xs, 50), 3);
  assert.equal(percentile(xs, 0), 1);
  assert.equal(percentile(xs, 100), 5);
  assert.deepEqual(xs, [5, 1, 4, 2, 3], "the input is not sorted in place");
  assert.equal(percentile([], 50), 0);
});

Deno.test("relErr: ||a - b||^2 / ||b||^2 against the reference b", () => {
  assert.equal(relErr([1, 2], [1, 2]), 0);
  assert.equal(relErr([0, 0], [3, 4]), 1);
  assert.ok(Math.abs(relErr([3, 5], [3, 4]) - 1 / 25) < 1e-15);
  assert.ok(Number.isFinite(relErr([1], [0])), "a zero reference does not divide by zero");
});
