import assert from "node:assert/strict";
import { LruCache } from "../../agent/latent_cache.ts";

Deno.test("LruCache: holds at most its capacity, evicting the least recently used; counts hits and misses", () => {
  const c = new LruCache<number>(2);
  c.set("a", 1);
  c.set("b", 2);
  assert.equal(c.get("a"), 1); // a is now the most recent
  c.set("c", 3); // evicts b
  assert.equal(c.get("b"), undefined);
  assert.equal(c.get("c"), 3);
  assert.equal(c.get("a"), 1);
  assert.equal(c.size, 2);
  assert.deepEqual([c.hits, c.misses], [3, 1]);
});
