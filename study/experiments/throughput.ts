/**
 * Plans per second a served model gives concurrent clients in closed loop, for two checkouts side by side
 * (alternating, so that both see the same machine): each client replans one evaluation episode after
 * another (the same goal image for a whole episode, a new observation each time, as a robot would) against
 * wall's served default, through `main.ts` with its default configuration.
 *
 *   deno run -A study/experiments/throughput.ts --roots /tmp/base,. --clients 8 --seconds 20 \
 *     --out study/results/throughput/throughput
 */
import { parseFlags, runCli } from "../../lib/cli.ts";
import { encodeBase64 } from "../../lib/base64.ts";
import { encodePng } from "../../lib/png.ts";
import { percentile } from "../../lib/stats.ts";
import { evaluationEpisode } from "../../tasks/evaluation.ts";
import { getTask } from "../../tasks/registry.ts";
import { startServer } from "./server_abuse.ts";

const wall = getTask("wall");
const png = (s: Float64Array) => encodeBase64(encodePng(wall.render(s, 64), 64, 64));

/** Closed-loop clients for `seconds`: each episode's goal is fixed, its observation moves along a straight line. */
export async function closedLoopLoad(port: number, clients: number, seconds: number) {
  const t0 = performance.now(), end = t0 + seconds * 1000, ms: number[] = [], statuses: Record<number, number> = {};
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let e = 0; performance.now() < end; e++) {
      const ep = evaluationEpisode(wall, 11, c * 1000 + e), goal = png(ep.goal);
      for (let k = 0; k < 10 && performance.now() < end; k++) {
        const s = Float64Array.from([0, 1], (i) => ep.start[i] + (ep.goal[i] - ep.start[i]) * k / 10);
        const t = performance.now();
        const r = await fetch(`http://127.0.0.1:${port}/v1/plan`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            task: "wall",
            observation: { image: { png: png(s) }, proprio: Array.from(s) },
            goal: { image: { png: goal }, proprio: Array.from(ep.goal) },
            seed: k,
          }),
        });
        await r.body?.cancel();
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 200) ms.push(performance.now() - t);
      }
    }
  }));
  const wall_s = (performance.now() - t0) / 1000;
  return {
    plans_per_s: +(ms.length / wall_s).toFixed(2),
    p50_ms: +percentile(ms, 50).toFixed(1),
    p95_ms: +percentile(ms, 95).toFixed(1),
    statuses,
  };
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      roots: { type: "string", default: ".", help: "comma-separated checkouts whose main.ts is started" },
      clients: { type: "int", default: 8, min: 1, max: 256 },
      seconds: { type: "int", default: 20, min: 1, max: 3600 },
      rounds: { type: "int", default: 2, min: 1, max: 20 },
      out: { type: "string", help: "write OUT.json" },
    }, "study/experiments/throughput.ts: closed-loop plans per second for checkouts side by side");
    const results: Record<string, unknown>[] = [];
    for (let round = 0; round < f.rounds; round++) {
      for (const root of f.roots.split(",")) {
        const defaults = JSON.parse(Deno.readTextFileSync(`${root}/models/defaults.json`));
        const s = await startServer({ EDGEWM_MODELS: `models/wall/${defaults.wall}` }, root);
        try {
          const r = { root, round, clients: f.clients, ...(await closedLoopLoad(s.port, f.clients, f.seconds)) };
          results.push(r);
          console.error(JSON.stringify(r));
        } finally {
          await s.stop();
        }
      }
    }
    if (f.out) {
      Deno.mkdirSync(f.out.split("/").slice(0, -1).join("/"), { recursive: true });
      Deno.writeTextFileSync(`${f.out}.json`, JSON.stringify(results, null, 2) + "\n");
    }
    console.log(JSON.stringify(results));
  });
}
