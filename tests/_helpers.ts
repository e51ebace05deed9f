/** Test helpers. */
import assert from "node:assert/strict";

/**
 * Assert two byte or number arrays are equal, reporting the first difference.
 * (node's deepEqual builds a full diff of large typed arrays, which can
 * exhaust memory.)
 */
export function assertSameArray(a: ArrayLike<number>, b: ArrayLike<number>, what = "arrays"): void {
  assert.equal(a.length, b.length, `${what}: lengths ${a.length} and ${b.length} differ`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
      assert.fail(`${what}: first difference at index ${i}: ${a[i]} vs ${b[i]}`);
    }
  }
}
