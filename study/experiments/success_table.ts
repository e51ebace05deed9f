/**
 * The agent's success table: every task's default model under the fixed
 * protocol (50 episodes x 50 replans by default), with CEM and MPPI at the
 * same cost, beside the ground-truth oracle. Each run is a `deno task eval`
 * or `deno task oracle` child; finished rows are kept in the JSONL file, so
 * an interrupted run resumes where it stopped.
 *
 *   deno run -A study/experiments/success_table.ts --episodes 50 --budget 50 --out study/results/success_table/success_50x50
 *   deno run -A study/experiments/success_table.ts --variants fp32,default --planners oracle,cem --seed 1 --out PREFIX
 *   deno run -A study/experiments/success_table.ts --variants default,fp32 --planners served --out PREFIX
 *
 * `--variants` names the model folders per task: `default` is the served one (models/defaults.json).
 */
import { parseFlags, runCli } from "../../lib/cli.ts";

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      episodes: { type: "int", default: 50, min: 1 },
      budget: { type: "int", default: 50, min: 1 },
      seed: { type: "int", default: 0, min: 0 },
      tasks: { type: "string", default: "wall,pointmaze,reacher,pusht" },
      planners: { type: "string", default: "oracle,cem,mppi", help: "oracle, cem, mppi, icem, or served (the card's)" },
      variants: { type: "string", default: "default", help: "comma-separated: default (the served one) or a variant" },
      backend: { type: "enum", values: ["web", "node"], default: "node" },
      out: { type: "string", required: true, help: "path prefix of the .jsonl and .md files" },
    }, "study/experiments/success_table.ts --out PREFIX: every task's default model and the oracle under the protocol");
    const { out, episodes, budget } = f;
    const defaults = JSON.parse(Deno.readTextFileSync("models/defaults.json")) as Record<string, string>;
    const rows: Record<string, unknown>[] = [];
    try {
      for (const l of Deno.readTextFileSync(`${out}.jsonl`).split("\n")) if (l.trim()) rows.push(JSON.parse(l));
    } catch { /* first run */ }
    const runs = (task: string) =>
      f.planners.split(",").flatMap((planner): { planner: string; model: string | null }[] =>
        planner === "oracle" ? [{ planner, model: null }] : f.variants.split(",").map((v) => ({
          planner,
          model: `models/${task}/${v === "default" ? defaults[task] : v}`,
        }))
      );
    for (const task of f.tasks.split(",")) {
      for (const { planner, model } of runs(task)) {
        const key = { task, planner, model, episodes, budget, seed: f.seed };
        // Rows from before --variants carry the default of their day as their model.
        if (rows.some((r) => Object.entries(key).every(([k, v]) => r[k] === v))) continue;
        const args = planner === "oracle" ? ["run", "-A", "agent/planners/oracle.ts", "--task", task] : [
          "run",
          "-A",
          "agent/eval.ts",
          "--task",
          task,
          "--model",
          model!,
          // "served": the model's own planner preset (its card's), as the server plans.
          ...(planner === "served" ? [] : ["--method", planner]),
          "--backend",
          f.backend,
        ];
        args.push("--episodes", String(episodes), "--budget", String(budget), "--seed", String(f.seed));
        console.error(`${task} ${planner}: deno ${args.join(" ")}`);
        const p = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" }).output();
        const last = new TextDecoder().decode(p.stdout).trim().split("\n").at(-1)!;
        if (p.code !== 0) throw new Error(`${task} ${planner}: exit ${p.code}`);
        const row = { ...JSON.parse(last), ...key };
        rows.push(row);
        Deno.writeTextFileSync(`${out}.jsonl`, JSON.stringify(row) + "\n", { append: true });
      }
    }
    const md = [
      `| task | planner | model | seed | success (${episodes} episodes, ${budget} replans) | success at 0 / 5 / 10 / 20 replans | p50 plan ms |`,
      "|---|---|---|---|---|---|---|",
    ];
    for (const r of rows.filter((r) => r.episodes === episodes && r.budget === budget)) {
      const at = r.success_at as Record<string, number>;
      const p50 = (r.plan_ms as { p50: number } | undefined)?.p50 ?? r.plan_ms_p50;
      md.push(
        `| ${r.task} | ${r.planner} | ${r.model ?? "-"} | ${r.seed} | ${(r.success_rate as number).toFixed(2)} | ${
          ["0", "5", "10", "20"].map((c) => at?.[c]?.toFixed(2) ?? "-").join(" / ")
        } | ${p50 ?? "-"} |`,
      );
    }
    Deno.writeTextFileSync(`${out}.md`, md.join("\n") + "\n");
    console.log(md.join("\n"));
  });
}
