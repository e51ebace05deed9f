/** Small summary statistics shared by the CLIs, the benchmarks and the studies. */

/**
 * The p-th percentile of `xs` by the nearest-rank rule (no interpolation); 0 for no values.
 *
 * ```ts
 * percentile([5, 1, 3], 50); // 3
 * ```
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Relative squared error ||a - b||^2 / ||b||^2 (b the reference). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0, d = 0;
  for (let i = 0; i < b.length; i++) {
    n += (a[i] - b[i]) ** 2;
    d += b[i] ** 2;
  }
  return n / Math.max(d, 1e-30);
}
