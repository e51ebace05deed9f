/**
 * The constrained-host profile, side by side in one run: the bundle on one wasm thread with no
 * planning workers (hosts without workers) and a 128 MB V8 heap, on Deno (also with V8's baseline
 * wasm compiler only), on Node and (with --workerd) on workerd, against the unbundled source server with planning workers and
 * with 2 wasm threads. One task's model (wall; --model to change).
 * Reported: cold start to /ready, resident memory idle and peak under 8 concurrent clients, and
 * replan p50/p95 of sequential plans. Traffic goes to 127.0.0.1 only; loops are bounded.
 *
 *   deno run -A study/experiments/edge_profile.ts --model wall/fp32 --out study/results/edge_profile/edge_profile
 */
import { percentile } from "../../lib/stats.ts";
import { ENV_NAMES } from "../../agent/http/config.ts";
import { bundle } from "../../deploy/bundle.ts";
import { bundleWorkers } from "../../deploy/workers_bundle.ts";
import { encodeBase64 } from "../../lib/base64.ts";
import { parseFlags, runCli } from "../../lib/cli.ts";
import { encodePng } from "../../lib/png.ts";
import { evaluationEpisode } from "../../tasks/evaluation.ts";
import { getTask } from "../../tasks/registry.ts";

const rss = (pid: number, key: "VmRSS" | "VmHWM") =>
  Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]) / 1024;

async function profile(
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  model: string,
  plans: number,
) {
  const [task, variant] = model.split("/");
  const t0 = performance.now();
  const p = new Deno.Command(cmd, {
    args,
    env: { PORT: String(port), ...env },
    stdout: "null",
    stderr: "inherit",
  })
    .spawn();
  const url = `http://127.0.0.1:${port}`;
  try {
    let ready = false;
    while (!ready && performance.now() - t0 < 120_000) {
      try {
        const r = await fetch(`${url}/ready`);
        await r.body?.cancel();
        ready = r.ok;
      } catch { /* not listening yet */ }
      if (!ready) await new Promise((r) => setTimeout(r, 20));
    }
    const cold = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 500));
    const idle = rss(p.pid, "VmRSS");
    const t = getTask(task);
    const req = (i: number) => {
      const ep = evaluationEpisode(t, 11, i);
      const png = (s: Float64Array) => encodeBase64(encodePng(t.render(s, 64), 64, 64));
      return JSON.stringify({
        task,
        variant,
        observation: { image: { png: png(ep.start) }, proprio: Array.from(t.proprio(ep.start)) },
        goal: { image: { png: png(ep.goal) }, proprio: Array.from(t.proprio(ep.goal)) },
        seed: i,
      });
    };
    const post = async (i: number) => {
      const t1 = performance.now();
      const r = await fetch(`${url}/v1/plan`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: req(i),
        signal: AbortSignal.timeout(120_000), // a server that never answers fails the profile, not hangs it
      });
      await r.body?.cancel();
      return { ms: performance.now() - t1, status: r.status };
    };
    for (let i = 0; i < 3; i++) await post(i); // warm up
    const ms: number[] = [];
    for (let i = 0; i < plans; i++) ms.push((await post(100 + i)).ms);
    const before = rss(p.pid, "VmHWM");
    const statuses: Record<number, number> = {};
    await Promise.all(Array.from({ length: 8 }, async (_, c) => {
      for (let i = 0; i < Math.ceil(plans / 2); i++) {
        const r = await post(1000 + c * 100 + i);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }));
    return {
      server: name,
      cold_start_ms: Math.round(cold),
      rss_idle_mb: +idle.toFixed(0),
      rss_peak_8_clients_mb: +Math.max(before, rss(p.pid, "VmHWM")).toFixed(0),
      replan_p50_ms: +percentile(ms, 50).toFixed(1),
      replan_p95_ms: +percentile(ms, 95).toFixed(1),
      statuses_8_clients: statuses,
    };
  } finally {
    try {
      p.kill("SIGTERM");
    } catch { /* it exited already */ }
    await p.status;
  }
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      model: { type: "string", default: "wall/fp32", help: "task/variant" },
      plans: { type: "int", default: 20, min: 3, max: 1000 },
      out: { type: "string", help: "path prefix for .json and .md" },
      node: { type: "string", default: "node", help: "Node to profile the bundle on too ('' to skip)" },
      workerd: { type: "string", default: "", help: "a workerd binary, to profile the Workers bundle too" },
    }, "study/experiments/edge_profile.ts: the bundle on a constrained profile vs the unbundled server, side by side");
    const dist = Deno.makeTempDirSync({ prefix: "edgewm-profile-" }) + "/dist";
    const sizes = await bundle(dist, [f.model]);
    const envs = ENV_NAMES.join(",");
    const rows = [];
    const small = { EDGEWM_WORKERS: "0", EDGEWM_THREADS: "1" };
    const leastDeno = (v8: string) => [
      "run",
      `--v8-flags=${v8}`,
      `--allow-read=${dist}`,
      "--allow-net=127.0.0.1",
      `--allow-env=${envs}`,
      `${dist}/edgewm.js`,
    ];
    const deno = Deno.execPath();
    rows.push(
      await profile(
        "bundle on Deno: 1 wasm thread, no workers, 128 MB heap",
        deno,
        leastDeno("--max-old-space-size=128"),
        small,
        18601,
        f.model,
        f.plans,
      ),
    );
    // What V8's optimising wasm tier costs at start and in memory, and buys in replan time.
    rows.push(
      await profile(
        "the same, baseline wasm compiler only (--liftoff-only)",
        deno,
        leastDeno("--max-old-space-size=128,--liftoff-only"),
        small,
        18604,
        f.model,
        f.plans,
      ),
    );
    if (f.node) {
      rows.push(
        await profile(
          "bundle on Node: 1 wasm thread, no workers, 128 MB heap, fs reads of dist only",
          f.node,
          ["--max-old-space-size=128", "--experimental-permission", `--allow-fs-read=${dist}/*`, `${dist}/edgewm.js`],
          small,
          18605,
          f.model,
          f.plans,
        ),
      );
    }
    if (f.workerd) {
      // workerd loads the models on the first request: /ready answers once they are loaded.
      const workers = await bundleWorkers(`${dist}/workers`, [f.model]);
      rows.push({
        ...(await profile(
          "bundle on workerd (Workers runtime): 1 wasm thread, plans on the request",
          f.workerd,
          ["serve", `${dist}/workers/config.capnp`, "--socket-addr", "http=127.0.0.1:18606"],
          {},
          18606,
          f.model,
          f.plans,
        )),
        code_and_wasm_gzip_bytes: workers.code_and_wasm_gzip_bytes,
      });
    }
    rows.push(
      await profile(
        "source server: 2 workers, 1 wasm thread each",
        deno,
        ["run", "--allow-read", "--allow-net", `--allow-env=${envs}`, "main.ts"],
        { EDGEWM_MODELS: `models/${f.model}` },
        18602,
        f.model,
        f.plans,
      ),
    );
    rows.push(
      await profile(
        "source server: on the HTTP thread, 2 wasm threads",
        deno,
        ["run", "--allow-read", "--allow-net", `--allow-env=${envs}`, "main.ts"],
        { EDGEWM_MODELS: `models/${f.model}`, EDGEWM_WORKERS: "0", EDGEWM_THREADS: "2" },
        18603,
        f.model,
        f.plans,
      ),
    );
    const md = [
      `Bundle: ${sizes.js_bytes} bytes of JS, ${sizes.wasm_bytes} of wasm, ${sizes.model_bytes} of models (${f.model}).`,
      "",
      "| server | cold start to /ready ms | RSS idle MB | peak RSS, 8 clients MB | replan p50 ms | p95 ms | 8-client statuses |",
      "|---|---|---|---|---|---|---|",
      ...rows.map((r) =>
        `| ${r.server} | ${r.cold_start_ms} | ${r.rss_idle_mb} | ${r.rss_peak_8_clients_mb} | ${r.replan_p50_ms} | ${r.replan_p95_ms} | ${
          Object.entries(r.statuses_8_clients).map(([k, v]) => `${k}: ${v}`).join(", ")
        } |`
      ),
    ].join("\n");
    console.log(md);
    if (f.out) {
      Deno.writeTextFileSync(`${f.out}.json`, JSON.stringify({ sizes, rows }, null, 2) + "\n");
      Deno.writeTextFileSync(`${f.out}.md`, md + "\n");
    }
  });
}
