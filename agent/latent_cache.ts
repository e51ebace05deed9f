/**
 * A bounded least-recently-used map, for the goal latents a server has encoded: a client in closed loop
 * sends the same goal image on every replan of an episode, so its encoding (and the distance head's
 * embedding of it, model.goalPhi) is done once per episode instead of once per replan. The server stays
 * stateless: a miss is only the cost of encoding the goal again.
 */
export class LruCache<V> {
  readonly #map = new Map<string, V>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {}

  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Map keeps insertion order: re-inserting makes it the most recent.
    this.#map.delete(key);
    this.#map.set(key, v);
    return v;
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.capacity) this.#map.delete(this.#map.keys().next().value!);
  }

  get size(): number {
    return this.#map.size;
  }
}
