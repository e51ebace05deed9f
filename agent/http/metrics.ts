/** Prometheus text-format counters and a latency histogram, kept in memory. */
const BUCKETS_MS = [25, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000];

export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #planBuckets = new Array(BUCKETS_MS.length).fill(0);
  #planCount = 0;
  #planSum = 0;

  request(route: string, status: number): void {
    const k = `route="${route}",status="${status}"`;
    this.#requests.set(k, (this.#requests.get(k) ?? 0) + 1);
  }

  plan(ms: number): void {
    this.#planCount++;
    this.#planSum += ms / 1000;
    BUCKETS_MS.forEach((b, i) => {
      if (ms <= b) this.#planBuckets[i]++;
    });
  }

  text(gauges: Record<string, number> = {}, counters: Record<string, number> = {}): string {
    const lines = [
      "# HELP edgewm_requests_total HTTP requests by route and status",
      "# TYPE edgewm_requests_total counter",
    ];
    for (const [k, v] of this.#requests) lines.push(`edgewm_requests_total{${k}} ${v}`);
    lines.push("# HELP edgewm_plan_seconds Plan latency", "# TYPE edgewm_plan_seconds histogram");
    BUCKETS_MS.forEach((b, i) => lines.push(`edgewm_plan_seconds_bucket{le="${b / 1000}"} ${this.#planBuckets[i]}`));
    lines.push(`edgewm_plan_seconds_bucket{le="+Inf"} ${this.#planCount}`);
    lines.push(`edgewm_plan_seconds_sum ${this.#planSum}`, `edgewm_plan_seconds_count ${this.#planCount}`);
    for (const [k, v] of Object.entries(gauges)) lines.push(`# TYPE ${k} gauge`, `${k} ${v}`);
    for (const [k, v] of Object.entries(counters)) lines.push(`# TYPE ${k} counter`, `${k} ${v}`);
    return lines.join("\n") + "\n";
  }
}
