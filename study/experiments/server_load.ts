/**
 * Load on the served app, side by side in one run: planning on the HTTP thread with 2 wasm threads
 * (the server's configuration before planning workers; EDGEWM_WORKERS=0) against planning workers
 * (one per core, one wasm thread each). For each, 1, 8 and 32
 * clients send fast-preset plans for wall's served default for --seconds each while a prober hits /health every 100 ms.
 * Reported: throughput, plan latency p50/p95/p99, status counts, /health p50/p99, the server's peak
 * RSS. All traffic goes to 127.0.0.1; every loop is bounded in time.
 *
 *   deno run -A study/experiments/server_load.ts --seconds 20 --out study/results/server_load/server_load
 */
import { parseFlags, runCli } from "../../lib/cli.ts";
import { encodeBase64 } from "../../lib/base64.ts";
import { encodePng } from "../../lib/png.ts";
import { evaluationEpisode } from "../../tasks/evaluation.ts";
import { getTask } from "../../tasks/registry.ts";
import { percentile } from "../../lib/stats.ts";

const wall = getTask("wall");

function body(i: number): string {
  const ep = evaluationEpisode(wall, 7, i % 50);
  const png = (s: Float64Array) => encodeBase64(encodePng(wall.render(s, 64), 64, 64));
  return JSON.stringify({
    task: "wall",
    observation: { image: { png: png(ep.start) }, proprio: Array.from(ep.start) },
    goal: { image: { png: png(ep.goal) }, proprio: Array.from(ep.goal) },
    seed: i,
  });
}

async function waitReady(url: string) {
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${url}/ready`);
      await r.body?.cancel();
      if (r.ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} never became ready`);
}

async function load(url: string, clients: number, seconds: number) {
  const bodies = Array.from({ length: 50 }, (_, i) => body(i));
  const ms: number[] = [], statuses: Record<string, number> = {}, health: number[] = [];
  const end = Date.now() + seconds * 1000;
  const client = async (c: number) => {
    for (let i = c; Date.now() < end; i += clients) {
      const t0 = performance.now();
      const r = await fetch(`${url}/v1/plan`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: bodies[i % bodies.length],
      });
      await r.body?.cancel();
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      if (r.status === 200) ms.push(performance.now() - t0);
      else if (r.status === 503) await new Promise((res) => setTimeout(res, 100)); // as Retry-After asks, briefly
    }
  };
  const prober = async () => {
    while (Date.now() < end) {
      const t0 = performance.now();
      const r = await fetch(`${url}/health`);
      await r.body?.cancel();
      health.push(performance.now() - t0);
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  await Promise.all([...Array.from({ length: clients }, (_, c) => client(c)), prober()]);
  const f = (x: number) => +x.toFixed(1);
  return {
    clients,
    plans_per_s: f(ms.length / seconds),
    p50_ms: f(percentile(ms, 50)),
    p95_ms: f(percentile(ms, 95)),
    p99_ms: f(percentile(ms, 99)),
    statuses,
    health_p50_ms: f(percentile(health, 50)),
    health_p99_ms: f(percentile(health, 99)),
  };
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(
      Deno.args,
      {
        seconds: { type: "int", default: 20, min: 1, max: 600, help: "seconds per client count" },
        clients: { type: "string", default: "1,8,32" },
        port: { type: "int", default: 18555, min: 1024, max: 65000 },
        out: { type: "string", help: "path prefix for .json and .md (default: print only)" },
      },
      "study/experiments/server_load.ts: the served app under 1/8/32 clients, planning on the HTTP thread vs in workers",
    );
    const modes: [string, Record<string, string>][] = [
      // Today's configuration before planning workers: plans on the HTTP thread with 2 wasm threads.
      ["HTTP thread, 2 wasm threads (EDGEWM_WORKERS=0)", { EDGEWM_WORKERS: "0", EDGEWM_THREADS: "2" }],
      [`planning workers (${navigator.hardwareConcurrency})`, {}],
    ];
    const wallDefault = JSON.parse(Deno.readTextFileSync("models/defaults.json")).wall as string;
    const results = [];
    for (const [name, env] of modes) {
      const port = f.port;
      const server = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-net", "--allow-env", "main.ts"],
        // The served default of wall (requests name no variant, so they get it).
        env: { PORT: String(port), EDGEWM_MODELS: `models/wall/${wallDefault}`, EDGEWM_MAX_QUEUE: "16", ...env },
        stdout: "null",
        stderr: "inherit",
      }).spawn();
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitReady(url);
        for (const c of f.clients.split(",").map(Number)) {
          const r = { mode: name, ...(await load(url, c, f.seconds)) };
          const hwm = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${server.pid}/status`));
          results.push({ ...r, rss_peak_mb: hwm ? +(Number(hwm[1]) / 1024).toFixed(0) : null });
          console.error(JSON.stringify(results.at(-1)));
        }
      } finally {
        server.kill("SIGTERM");
        await server.status;
      }
    }
    const md = [
      "| server | clients | plans/s | p50 ms | p95 ms | p99 ms | statuses | /health p50 / p99 ms | peak RSS MB |",
      "|---|---|---|---|---|---|---|---|---|",
      ...results.map((r) =>
        `| ${r.mode} | ${r.clients} | ${r.plans_per_s} | ${r.p50_ms} | ${r.p95_ms} | ${r.p99_ms} | ${
          Object.entries(r.statuses).map(([k, v]) => `${k}: ${v}`).join(", ")
        } | ${r.health_p50_ms} / ${r.health_p99_ms} | ${r.rss_peak_mb} |`
      ),
    ].join("\n");
    console.log(md);
    if (f.out) {
      Deno.writeTextFileSync(`${f.out}.json`, JSON.stringify(results, null, 2) + "\n");
      Deno.writeTextFileSync(`${f.out}.md`, md + "\n");
    }
  });
}
