/**
 * The playground measured in headless Chromium: replan latency planning in the page (onnxruntime-web's
 * wasm in a Web Worker; 1 and 2 threads) for a task's served default and its fp32, beside the same
 * episodes planned on the server through POST /v1/plan (one planning worker, one thread, as served on a
 * small host); every configuration plays the same evaluation episodes, interleaved over rounds so that all
 * see the same machine. Also: the page's weight, and time to first plan on a cold load (navigation to the
 * first answer: page, wasm and model fetched and compiled, nothing cached).
 *
 *   deno run -A study/experiments/page_latency.ts --task wall --episodes 3 --rounds 2 \
 *     --out study/results/page_latency/wall
 */
import { join } from "node:path";
import { buildSite } from "../../deploy/site.ts";
import { parseFlags, runCli } from "../../lib/cli.ts";
import { percentile } from "../../lib/stats.ts";
import { playPages } from "./playground_pages.ts";
import { startServer } from "./server_abuse.ts";

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      task: { type: "string", default: "wall" },
      episodes: { type: "number", default: 3, help: "evaluation episodes per configuration and round" },
      rounds: { type: "number", default: 2 },
      chromium: { type: "string", default: "/usr/bin/chromium" },
      out: { type: "string", default: "study/results/page_latency/wall", help: "writes OUT.json and OUT.md" },
    }, "page_latency.ts [--task wall] [--episodes 3] [--rounds 2]: replan latency in the page vs the server");
    const defaults = JSON.parse(Deno.readTextFileSync("models/defaults.json"));
    const low = defaults[f.task] as string;
    const site = Deno.makeTempDirSync({ prefix: "edgewm-page-" });
    const sizes = await buildSite(site);
    const server = await startServer({
      EDGEWM_MODELS: `models/${f.task}/${low},models/${f.task}/fp32`,
      EDGEWM_SITE: site,
      EDGEWM_WORKERS: "1",
      EDGEWM_THREADS: "1",
    });
    const configs = [low, "fp32"].flatMap((variant) => [
      { name: `page-1t ${variant}`, variant, q: "mode=page&threads=1" },
      { name: `page-2t ${variant}`, variant, q: "mode=page&threads=2" },
      { name: `server-1t ${variant}`, variant, q: "mode=server" },
    ]);
    const ms: Record<string, number[]> = {}, first: Record<string, number[]> = {};
    try {
      for (let round = 0; round < f.rounds; round++) {
        for (const c of configs) {
          const pages = Array.from({ length: f.episodes }, (_, e) => ({
            url: `http://127.0.0.1:${server.port}/?task=${f.task}&variant=${c.variant}&seed=0&episode=${e}&${c.q}` +
              "&autoplay",
          }));
          for (const r of await playPages(f.chromium, pages)) {
            if (r.errors.length || r.console.length) throw new Error(`${c.name}: ${[...r.errors, ...r.console]}`);
            // The first replan of a page warms its wasm up: latencies from the second on.
            (ms[c.name] ??= []).push(...r.lanes[0].latencies.slice(1));
            (first[c.name] ??= []).push(r.firstPlanMs!);
          }
          console.error(`round ${round + 1}/${f.rounds} ${c.name}: ${ms[c.name].length} replans`);
        }
      }
    } finally {
      await server.stop();
      Deno.removeSync(site, { recursive: true });
    }
    const rows = configs.map((c) => ({
      config: c.name,
      replans: ms[c.name].length,
      p50_ms: +percentile(ms[c.name], 50).toFixed(1),
      p90_ms: +percentile(ms[c.name], 90).toFixed(1),
      first_plan_ms_p50: +percentile(first[c.name], 50).toFixed(0),
    }));
    const ratio = (a: string, b: string) => {
      const x = rows.find((r) => r.config === a)!, y = rows.find((r) => r.config === b)!;
      return +(x.p50_ms / y.p50_ms).toFixed(2);
    };
    const result = {
      task: f.task,
      episodes: f.episodes,
      rounds: f.rounds,
      sizes,
      rows,
      ratios: {
        [`page-1t ${low} / server-1t ${low}`]: ratio(`page-1t ${low}`, `server-1t ${low}`),
        [`page-2t ${low} / page-1t ${low}`]: ratio(`page-2t ${low}`, `page-1t ${low}`),
        [`page-1t ${low} / page-1t fp32`]: ratio(`page-1t ${low}`, "page-1t fp32"),
      },
    };
    Deno.mkdirSync(join(f.out, ".."), { recursive: true });
    Deno.writeTextFileSync(`${f.out}.json`, JSON.stringify(result, null, 2) + "\n");
    const md = [
      `# The playground's replan latency: ${f.task} (headless Chromium, this machine)`,
      "",
      `${f.episodes} evaluation episodes (seed 0) per configuration and round, ${f.rounds} rounds interleaved; ` +
      "latency: a replan's round trip as the page sees it (its first replan left out: wasm warm-up); time to " +
      "first plan: navigation to the first answer on a cold load (page, wasm, model fetched; nothing cached).",
      "",
      "| configuration | replans | p50 ms | p90 ms | time to first plan, p50 ms |",
      "|---|---|---|---|---|",
      ...rows.map((r) => `| ${r.config} | ${r.replans} | ${r.p50_ms} | ${r.p90_ms} | ${r.first_plan_ms_p50} |`),
      "",
      ...Object.entries(result.ratios).map(([k, v]) => `- ${k}: ${v}x`),
      "",
      `Page weight: ${(sizes.page_bytes / 1024).toFixed(0)} KB of HTML and JS (${
        (sizes.page_gzip_bytes / 1024).toFixed(0)
      } KB gzip), wasm ${(sizes.wasm_bytes / 1e6).toFixed(1)} MB (${
        (sizes.wasm_gzip_bytes / 1e6).toFixed(1)
      } MB gzip).`,
      "",
    ].join("\n");
    Deno.writeTextFileSync(`${f.out}.md`, md);
    console.log(JSON.stringify(result));
  });
}
