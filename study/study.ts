/**
 * The quantization study, one command:
 *
 *   deno task study [sweep] --grid paper|quick [--tasks wall,pointmaze,reacher,pusht] [--shard i/n] --out study/results/study/NAME
 *   deno task study report --in study/results/study/NAME       # study/results/study/paper/REPORT.md + plots
 *   deno task study speed --in study/results/study/NAME        # latency and memory of the deployable variants vs fp32
 *   deno task study ship --in study/results/study/NAME         # commit the chosen defaults to models/
 *   deno task study bytes --in study/results/study/NAME        # rows' bytes as today's quantizer writes their graphs
 *   deno task study merge --in study/results/study/NAME        # join the shards' row files into rows.jsonl
 *   deno task study choose --model models/T/fp32 --data DIR    # a task without a simulator: by latent error
 *   deno task study all --out study/results/study/NAME [--tasks ...] [--tier 1] [--candidates] [--report study]   # all four in turn
 *
 * `all` is the one command to rerun when the fp32 models change: rows measured on other fp32 models
 * rerun, then latency (run it on a quiet machine), the defaults are re-chosen and the report written.
 *
 * `sweep` runs the grid's rows (resumable: finished rows are skipped). Shards come from --shard, or
 * from JOB_COMPLETION_INDEX (Kubernetes indexed Job) / SLURM_ARRAY_TASK_ID with the count in
 * EDGEWM_SHARDS (or SLURM_ARRAY_TASK_COUNT), so a job array runs it unchanged.
 */
import { CliError, type Flags, listFlag, parseFlags, runCli } from "../lib/cli.ts";
import { TASK_NAMES } from "../tasks/task.ts";
import { WorldModel } from "../agent/world_model.ts";
import { buildGrid, FAMILIES, GRIDS, hasDistanceHead, runOrder, shardRows } from "./pipeline/grid.ts";
import { basisCache, currentRows, mergeRowFiles, rowKey, type RowResult } from "./pipeline/rows.ts";
import { failed, runRow } from "./pipeline/sweep.ts";
import { TIMING_FLAGS } from "./pipeline/speed.ts";
import { costPerRow, estimateCoreSeconds } from "./pipeline/row_cost.ts";

/** `--shard i/n`, else the job-array index from the environment, else 0/1. */
export function shardFrom(flag: string | undefined, env: (k: string) => string | undefined): [number, number] {
  let spec = flag;
  if (spec === undefined) {
    const index = env("JOB_COMPLETION_INDEX") ?? env("SLURM_ARRAY_TASK_ID");
    if (index !== undefined) spec = `${index}/${env("EDGEWM_SHARDS") ?? env("SLURM_ARRAY_TASK_COUNT") ?? ""}`;
  }
  if (spec === undefined) return [0, 1];
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  if (!m || Number(m[1]) >= Number(m[2])) {
    throw new CliError(`--shard must be i/n with 0 <= i < n (or set EDGEWM_SHARDS with a job index), got "${spec}"`);
  }
  return [Number(m[1]), Number(m[2])];
}

/** The sweep's flags; `all` takes the same ones (and --report). */
const SWEEP_FLAGS = {
  grid: { type: "enum", values: GRIDS, default: "paper", help: "paper: the whole grid; quick: a smoke subset" },
  tasks: { type: "string", default: TASK_NAMES.join(","), help: "comma-separated tasks" },
  shard: { type: "string", help: "i/n: run shard i of n (or JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID)" },
  out: { type: "string", required: true, help: "run folder: rows*.jsonl, variants/" },
  episodes: { type: "int", default: 50, min: 1, max: 10000 },
  budget: { type: "int", default: 50, min: 1, max: 1000, help: "MPC replans per episode" },
  seed: { type: "int", default: 0, min: 0, max: 2 ** 32 - 1, help: "evaluation seed" },
  threads: { type: "int", default: 1, min: 1, max: 64, help: "onnxruntime threads per session" },
  python: {
    type: "string",
    help: "Python with onnxruntime, for the peer rows (default .venv/bin/python, else python3)",
  },
  tier: {
    type: "int",
    min: 0,
    max: 2,
    help: "run rows up to this tier only: 0 references, 1 + the default's candidates (and their deciders), 2 all",
  },
  families: {
    type: "string",
    help: `run only these row families (comma-separated: ${FAMILIES.join(", ")}); fp32 always runs`,
  },
  models: { type: "string", default: "models", help: "folder of <task>/fp32 models" },
  rerun: {
    type: "string",
    help: "run just these rows (comma-separated ids), again where finished (e.g. those `study bytes` names)",
  },
} as const;

function sweep(args: string[]) {
  return runSweep(parseFlags(
    args,
    SWEEP_FLAGS,
    "deno task study [sweep] --out DIR: the quantization study's sweep (resumable, shardable)",
  ));
}

async function runSweep(f: Flags<typeof SWEEP_FLAGS>) {
  const out = f.out;
  const [index, count] = shardFrom(f.shard, (k) => Deno.env.get(k));
  const o = { out, episodes: f.episodes, budget: f.budget, seed: f.seed, threads: f.threads, python: f.python };
  const tasks = listFlag(f.tasks, "tasks", TASK_NAMES);
  const all = buildGrid(f.grid, tasks, (t) => hasDistanceHead(t, f.models));
  // fp32 always runs: the pruning rule and every comparison read it.
  const families = f.families === undefined ? undefined : new Set<string>(listFlag(f.families, "families", FAMILIES));
  const again = f.rerun === undefined ? undefined : new Set(f.rerun.split(",").filter(Boolean));
  const unknown = [...again ?? []].filter((id) => !all.some((r) => r.id === id));
  if (unknown.length) throw new CliError(`--rerun: not rows of the ${f.grid} grid on ${tasks}: ${unknown.join(", ")}`);
  const rows = runOrder(shardRows(all, index, count)).filter((r) =>
    (f.tier === undefined || r.tier <= f.tier) &&
    (families === undefined || families.has(r.family) || r.id === "fp32") && (again === undefined || again.has(r.id))
  );
  Deno.mkdirSync(out, { recursive: true });
  const file = count === 1 ? `${out}/rows.jsonl` : `${out}/rows.shard-${index}-of-${count}.jsonl`;
  const same = (r: RowResult) => r.episodes === o.episodes && r.budget === o.budget && r.seed === o.seed;
  const current = currentRows(out, f.models);
  // The last line of a row wins; a skipped row (e.g. no onnxruntime for Python then) is no result: it runs again.
  const done = new Map(current.rows.filter(same).map((r) => [rowKey(r), r]));
  for (const [k, r] of done) if (r.status === "skipped") done.delete(k);
  if (current.stale) {
    console.error(`study: ${current.stale} rows in ${out} measured other fp32 models or oracle settings: they rerun`);
  }
  const todo = rows.filter((r) => !done.has(rowKey(r)) || again?.has(r.id));
  const finished = [...done.values()];
  const perRow = costPerRow(finished);
  const gridHours = estimateCoreSeconds(finished, all) / 3600;
  console.error(
    `study: grid ${f.grid} on ${tasks.join(",")}: ${all.length} rows (~${gridHours.toFixed(1)} core-hours; per row ${
      tasks.map((t) => `${t} ${perRow(t).toFixed(0)} s`).join(", ")
    }); shard ${index}/${count}: ${rows.length} rows, ${todo.length} to run, ` +
      `~${
        (estimateCoreSeconds(finished, todo) / 3600).toFixed(1)
      } core-hours; ${o.episodes} episodes x ${o.budget} replans, seed ${o.seed}`,
  );
  const basisOf = basisCache(f.models);
  const refs = new Map<string, WorldModel>();
  const t0 = performance.now();
  let ran = 0;
  for (const [i, spec] of todo.entries()) {
    const fp32Dir = `${f.models}/${spec.task}/fp32`;
    const fp32 = done.get(`${spec.task}/fp32`);
    const deciders = (spec.decidedBy ?? []).map((id) => done.get(`${spec.task}/${id}`));
    const basis = basisOf(spec.task, spec.kind);
    let row: RowResult;
    if (deciders.length && deciders.every((d) => d && failed(d, fp32))) {
      row = {
        id: spec.id,
        task: spec.task,
        family: spec.family,
        kind: spec.kind,
        status: "pruned",
        reason: `decided by ${spec.decidedBy!.join(", ")} (failed)`,
        episodes: o.episodes,
        budget: o.budget,
        seed: o.seed,
        basis,
      };
    } else {
      if (!refs.has(spec.task)) refs.set(spec.task, await WorldModel.load(fp32Dir, { backend: "node", threads: 1 }));
      console.error(`study: [${i + 1}/${todo.length}] ${spec.task}/${spec.id} ...`);
      row = { ...await runRow(spec, fp32Dir, refs.get(spec.task)!, o), basis };
      ran++;
    }
    Deno.writeTextFileSync(file, JSON.stringify(row) + "\n", { append: true });
    done.set(rowKey(row), row);
    const elapsed = (performance.now() - t0) / 1000, left = todo.length - i - 1;
    const eta = ran ? (elapsed / ran) * left : estimateCoreSeconds(finished, todo.slice(i + 1));
    const s = row.success?.[String(o.budget)];
    console.error(
      `study: [${i + 1}/${todo.length}] ${spec.task}/${spec.id}: ${row.status}${
        s !== undefined ? ` success ${s.toFixed(2)}` : ""
      }${row.reason ? ` (${row.reason})` : ""}${row.seconds ? ` in ${row.seconds.total} s` : ""}; ${left} left, eta ${
        (eta / 60).toFixed(0)
      } min`,
    );
  }
  console.error(`study: shard ${index}/${count} finished: ${rows.length} rows in ${file}`);
}

/** sweep, speed, ship and report in one go, on one machine (the sweep's --out is the others' --in). */
async function all(args: string[]) {
  const f = parseFlags(
    args,
    {
      ...SWEEP_FLAGS,
      report: { type: "string", help: "where REPORT.md and figures/ go (default: the --out folder)" },
      ...TIMING_FLAGS, // passed on to `speed`; smaller values are for smoke runs
    },
    "deno task study all --out DIR: sweep, speed, ship and report in turn (rerun it when the fp32 models change)",
  );
  if (f.shard !== undefined) throw new CliError("all runs every row on this machine: use sweep for shards");
  await runSweep(f);
  const { speed } = await import("./pipeline/speed.ts"), { ship } = await import("./pipeline/ship.ts");
  const { report } = await import("./pipeline/report.ts");
  const common = ["--in", f.out, "--tasks", f.tasks, "--models", f.models];
  await speed([
    ...common,
    ...["--plans", String(f.plans), "--rounds", String(f.rounds)],
    ...(f.candidates ? ["--candidates"] : []),
  ]);
  ship(common);
  await report(["--in", f.out, "--grid", f.grid, "--models", f.models, "--out", f.report ?? f.out]);
}

if (import.meta.main) {
  await runCli(async () => {
    const [cmd, ...rest] = Deno.args;
    if (cmd === "report") {
      const { report } = await import("./pipeline/report.ts");
      await report(rest);
    } else if (cmd === "speed") {
      const { speed } = await import("./pipeline/speed.ts");
      await speed(rest);
    } else if (cmd === "ship") {
      const { ship } = await import("./pipeline/ship.ts");
      await ship(rest);
    } else if (cmd === "bytes") {
      const { refreshBytes } = await import("./pipeline/refresh_bytes.ts");
      await refreshBytes(rest);
    } else if (cmd === "choose") {
      const { chooseByLatent } = await import("./pipeline/choose_by_latent.ts");
      await chooseByLatent(rest);
    } else if (cmd === "merge") {
      const f = parseFlags(rest, {
        in: { type: "string", required: true, help: "the sweep's run folder" },
      }, "deno task study merge --in DIR: join the shards' row files into rows.jsonl (every line kept)");
      const { lines, files } = mergeRowFiles(f.in);
      console.log(JSON.stringify({ in: f.in, merged_files: files.length, lines }));
    } else if (cmd === "all") await all(rest);
    else if (cmd === "sweep") await sweep(rest);
    else await sweep(Deno.args);
  });
}
