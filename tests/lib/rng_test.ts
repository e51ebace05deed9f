import assert from "node:assert/strict";
import { Rng } from "../../lib/rng.ts";

Deno.test("Rng gives the same stream for the same seed and different streams otherwise", () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const xs = Array.from({ length: 5 }, () => a.u32());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.u32()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.u32()));
});

Deno.test("Rng.derive() streams differ per key and repeat per key", () => {
  const x = Rng.derive(1, 0).u32(), y = Rng.derive(1, 1).u32(), z = Rng.derive(1, 0).u32();
  assert.equal(x, z);
  assert.notEqual(x, y);
});

Deno.test("Rng.normal() has mean 0 and variance 1; uniform() stays in range", () => {
  const r = new Rng(3);
  const n = 20000;
  let m = 0, v = 0;
  for (let i = 0; i < n; i++) {
    const x = r.normal();
    m += x;
    v += x * x;
  }
  assert.ok(Math.abs(m / n) < 0.03, `mean ${m / n}`);
  assert.ok(Math.abs(v / n - 1) < 0.05, `variance ${v / n}`);
  for (let i = 0; i < 1000; i++) {
    const u = r.uniform(-2, 3);
    assert.ok(u >= -2 && u < 3);
  }
});

Deno.test("Rng rejects a non-finite seed", () => {
  assert.throws(() => new Rng(NaN), /seed must be a finite number/);
});
