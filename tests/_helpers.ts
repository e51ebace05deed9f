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

/** Toy planning problem for the sampling planners: squared distance of a [5 x 2] sequence to a fixed target. */
export const TOY_TARGET = Float32Array.from({ length: 10 }, (_, i) => Math.sin(i) * 0.8);
export function toyQuadratic(batch: Float32Array, n: number): Float64Array {
  const J = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < 10; j++) J[i] += (batch[i * 10 + j] - TOY_TARGET[j]) ** 2;
  return J;
}
