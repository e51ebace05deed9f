/**
 * `deno task study speed --in study/results/study/NAME`: replan latency and memory of every deployable variant
 * the sweep wrote, side by side with fp32 in one run, on onnxruntime-web with 1 and 2 threads and on
 * onnxruntime-node. Each (variant, backend) runs in a process of its own, so its peak RSS is that of
 * a server holding just that model; variants alternate within a backend so that drift in the
 * machine's load spreads over all of them. Lines go to <in>/speed_all.jsonl (replaced per task); with
 * `--candidates`, to <in>/speed.jsonl, which the default rule reads first (report.ts, readSpeed).
 *
 * Variants built as the same graph (same operators and shapes; RTN, OMSE and GPTQ of one configuration) run
 * the same kernels on the same shapes: one per structure is built and measured, and the others' lines carry
 * its figures with `measured_as` naming it (study/pipeline/structure.ts).
 *
 * Run it on a quiet machine, apart from the sweep: its numbers are ratios to fp32 measured together.
 * `--missing` keeps a task's lines and times only the deployable variants the sweep added since (new graph
 * structures beside a fresh fp32; the rest borrow the lines of a structure measured before).
 * `--candidates` measures only what the default rule needs (fp32, then the variants within its episode
 * margin from the smallest up, until one is within its latency margin): minutes instead of an hour.
 */
import { graphFiles } from "../../model/model_card.ts";
import { CliError, parseFlags } from "../../lib/cli.ts";
import { percentile } from "../../lib/stats.ts";
import { worldModelPlanner } from "../../agent/planners/world_model_planner.ts";
import { cardPreset } from "../../model/planner_options.ts";
import { type BackendName, WorldModel } from "../../agent/world_model.ts";
import { Rng } from "../../lib/rng.ts";
import { evaluationEpisode, observe } from "../../tasks/evaluation.ts";
import { getTask } from "../../tasks/registry.ts";
import { TASK_NAMES } from "../../tasks/task.ts";
import { MAX_NET_LOSS, MAX_SLOWDOWN, netLoss, readSpeedFile, type SpeedRow } from "./choose_default.ts";
import { buildGrid, hasDistanceHead, type RowSpec } from "./grid.ts";
import { representative, structureKey } from "./structure.ts";
import { currentRows } from "./rows.ts";
import { variantDir } from "./sweep.ts";
import type { TaskName } from "../../tasks/task.ts";

const BACKENDS: [BackendName, number, string][] = [["web", 1, "web-1t"], ["web", 2, "web-2t"], ["node", 2, "node"]];

/** Peak resident set of this process (VmHWM), in MB. */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? +(Number(m[1]) / 1024).toFixed(1) : NaN;
}

/** One (model, backend) measurement, in this process. */
async function measureHere(dir: string, backend: BackendName, threads: number, plans: number) {
  const model = await WorldModel.load(dir, { backend, threads });
  const task = getTask(model.card.task), S = model.card.image_size;
  const ms: number[] = [];
  for (let i = 0; i < plans + 2; i++) {
    const ep = evaluationEpisode(task, 99, i);
    const planner = worldModelPlanner(model, cardPreset(model.card)); // as served
    const t0 = performance.now();
    await planner.plan(observe(task, ep.start, S), observe(task, ep.goal, S), undefined, new Rng(i));
    if (i >= 2) ms.push(performance.now() - t0); // the first two warm up
  }
  // Every graph the model loads (a distance head too, where it has one).
  const bytes = graphFiles(model.card).reduce((a, f) => a + model.card.files[f].bytes, 0);
  return {
    p50_ms: +percentile(ms, 50).toFixed(1),
    p95_ms: +percentile(ms, 95).toFixed(1),
    rss_peak_mb: peakRssMb(),
    bytes,
  };
}

/** How much `speed` times; `study all` takes them too and passes them on. */
export const TIMING_FLAGS = {
  plans: { type: "int", default: 20, min: 3, max: 1000, help: "timed replans per variant and backend" },
  rounds: {
    type: "int",
    default: 3,
    min: 1,
    max: 20,
    help: "measurements per variant and backend, alternating with fp32 (medians are kept)",
  },
  candidates: {
    type: "boolean",
    help: "only fp32 and the variants the rule could choose, smallest first, until one qualifies",
  },
} as const;

export async function speed(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    in: { type: "string", required: true, help: "the sweep's run folder" },
    tasks: { type: "string", default: TASK_NAMES.join(","), help: "comma-separated tasks" },
    models: { type: "string", default: "models", help: "folder of <task>/fp32 models" },
    child: { type: "string", help: "(internal) measure this model directory in this process" },
    backend: { type: "enum", values: ["web", "node"], default: "web" },
    threads: { type: "int", default: 1, min: 1, max: 64 },
    ...TIMING_FLAGS,
    missing: {
      type: "boolean",
      help:
        "keep the lines there are and time only the deployable variants without one (e.g. rows the sweep added since)",
    },
  }, "deno task study speed --in DIR: replan p50/p95, peak RSS and bytes of every deployable variant vs fp32");
  if (f.child) {
    console.log(JSON.stringify(await measureHere(f.child, f.backend, f.threads, f.plans)));
    return;
  }
  if (f.missing && f.candidates) {
    throw new CliError("speed: --missing adds to the full table; --candidates re-pairs the rule's");
  }
  const rows = currentRows(f.in, f.models).rows;
  // The rule's paired measurements and the full table are kept apart: a full run's single fp32 per round is a
  // coarser comparison than --candidates' pairs, and must not overwrite what the rule chose by.
  const file = `${f.in}/${f.candidates ? "speed.jsonl" : "speed_all.jsonl"}`;
  let kept = readSpeedFile(file);
  // A child that runs far past any plan's time is stuck: onnxruntime-web with 2 threads now and then loses its
  // worker thread and its main thread spins (a stuck child had its main thread at 100% and only V8's two platform
  // threads beside it, no pthread worker). In Deno, onnxruntime-web takes its Node path, so its pthreads are
  // node:worker_threads workers. It struck only graphs whose patch embedding is a Conv, which WorldModel.load now
  // runs as a MatMul on threaded wasm (encoderGraphFor); the net stays. A plan takes well under a second on every
  // backend, so a child gets a minute to start and 3 s a plan; then it is killed and rerun, up to MAX_TRIES times.
  const limitMs = 60_000 + f.plans * 3_000;
  // Three tries were not enough: on a quiet machine fp32's web-2t child hung three times in a row once.
  const MAX_TRIES = 6;
  const measure = async (task: string, id: string, dir: string, b: typeof BACKENDS[number], tries = MAX_TRIES) => {
    const [backend, threads, name] = b;
    const p = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../study.ts", import.meta.url).pathname, // the CLI, whose `speed --child` measures one model
        "speed",
        "--in",
        f.in,
        "--child",
        dir,
        "--backend",
        backend,
        "--threads",
        String(threads),
        "--plans",
        String(f.plans),
      ],
      stdout: "piped",
      stderr: "inherit",
      signal: AbortSignal.timeout(limitMs),
    }).output();
    if (p.signal === "SIGTERM") {
      console.error(
        `speed: ${task}/${id} ${name}: no answer in ${limitMs / 1000} s, killed${tries > 1 ? "; once more" : ""}`,
      );
      if (tries > 1) return measure(task, id, dir, b, tries - 1);
      throw new Error(`speed: ${dir} on ${name} did not finish in ${limitMs / 1000} s, ${MAX_TRIES} times`);
    }
    if (p.code !== 0) throw new Error(`speed: ${dir} on ${name} failed (exit ${p.code})`);
    const m = JSON.parse(new TextDecoder().decode(p.stdout).trim().split("\n").at(-1)!);
    console.error(`speed: ${task}/${id} ${name}: p50 ${m.p50_ms} ms, p95 ${m.p95_ms} ms, RSS ${m.rss_peak_mb} MB`);
    return { task, id, backend: name, ...m } as SpeedRow;
  };
  // Medians over rounds that alternate fp32 and the variant: one process's p50 moves by 10-30% with the machine's
  // mood, which a 1.25x rule cannot absorb from a single pair.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const merge = (ms: SpeedRow[]): SpeedRow => ({
    ...ms[0],
    p50_ms: median(ms.map((m) => m.p50_ms)),
    p95_ms: median(ms.map((m) => m.p95_ms)),
    rss_peak_mb: Math.max(...ms.map((m) => m.rss_peak_mb)),
    rounds: ms.length,
  });
  // Every variant (fp32 first) measured f.rounds times in turn on one backend, merged, with its ratio to fp32.
  const inRounds = async (task: string, variants: [string, string][], b: typeof BACKENDS[number]) => {
    const got = new Map<string, SpeedRow[]>();
    for (let r = 0; r < f.rounds; r++) {
      for (const [id, dir] of variants) got.set(id, [...got.get(id) ?? [], await measure(task, id, dir, b)]);
    }
    const ref = merge(got.get("fp32")!);
    return [...got.values()].map((ms) => {
      const m = merge(ms);
      return m.id === "fp32" ? m : { ...m, vs_fp32: +(m.p50_ms / ref.p50_ms).toFixed(3) };
    });
  };
  const grids = new Map<string, RowSpec[]>();
  const gridOf = (task: string) => {
    if (!grids.has(task)) {
      grids.set(task, buildGrid("paper", [task as TaskName], (t) => hasDistanceHead(t, f.models)));
    }
    return grids.get(task)!;
  };
  const ensure = async (task: string, id: string, dir: string) => {
    try {
      Deno.statSync(`${dir}/model.json`);
      return;
    } catch { /* rebuild below */ }
    const spec = gridOf(task).find((s) => s.id === id);
    if (!spec) {
      throw new CliError(`speed: ${task}/${id} has no variant in ${f.in}/variants and no grid row to build it`);
    }
    console.error(`speed: ${task}/${id}: variant missing here, rebuilding it from its grid row`);
    await variantDir(spec, `${f.models}/${task}/fp32`, { out: f.in });
  };
  for (const task of f.tasks.split(",").filter(Boolean)) {
    const fp32Row = rows.find((r) => r.task === task && r.id === "fp32" && r.status === "done");
    // onnxruntime's own quantizer's graphs (peer rows) are timed too, for the comparison; the rule never picks them.
    let pool = rows.filter((r) =>
      r.task === task && r.status === "done" && r.deployable && (r.kind === "quant" || r.kind === "ort")
    );
    // --candidates: only what the rule needs, smallest first: variants within its episode margin, until one
    // is also within its latency margin on web with 2 threads (the rule's choice).
    if (f.candidates) {
      if (!fp32Row) throw new CliError(`speed --candidates: ${task} has no fp32 row in ${f.in}`);
      pool = pool.filter((r) => r.kind === "quant" && netLoss(r, fp32Row) <= MAX_NET_LOSS)
        .sort((a, b) => a.bytes!.total - b.bytes!.total);
    }
    let variants: [string, string][] = [["fp32", `${f.models}/${task}/fp32`]];
    for (const r of pool) variants.push([r.id, `${f.in}/variants/${task}/${r.id}`]);
    const out: SpeedRow[] = [];
    if (f.candidates) {
      const web2 = BACKENDS.find((b) => b[2] === "web-2t")!, refs: SpeedRow[] = [];
      let n = 1;
      while (n < variants.length) {
        await ensure(task, ...variants[n]);
        const mine: SpeedRow[] = [];
        for (let r = 0; r < f.rounds; r++) {
          refs.push(await measure(task, "fp32", variants[0][1], web2));
          mine.push(await measure(task, ...variants[n], web2));
        }
        const ref = merge(refs.slice(-f.rounds)), m = merge(mine);
        const row = { ...m, vs_fp32: +(m.p50_ms / ref.p50_ms).toFixed(3) };
        out.push(row);
        n++;
        console.error(`speed: ${task}/${row.id} web-2t: ${row.vs_fp32}x fp32 (medians of ${f.rounds} rounds each)`);
        if (row.p50_ms <= MAX_SLOWDOWN * ref.p50_ms) {
          // The rule reads the pair measured together: fp32's rounds beside this variant (fp32 first, as elsewhere).
          out.unshift(ref);
          break;
        }
      }
      if (!out.some((s) => s.id === "fp32")) {
        out.unshift(merge(refs.length ? refs : [await measure(task, "fp32", variants[0][1], web2)]));
      }
      variants = variants.slice(0, n);
      for (const b of BACKENDS.filter((b) => b !== web2)) {
        out.push(...await inRounds(task, variants, b));
      }
    } else {
      // One variant per graph structure is built and measured; the others sharing it get its figures, marked
      // `measured_as` (structure.ts: same operators on same shapes, only the weights' values differ).
      // --missing keeps the task's lines and adds only variants without one: a structure measured before lends
      // its lines, and the new structures are measured beside an fp32 of their own (their ratios are to it).
      const grid = gridOf(task), byKey = new Map<string, RowSpec[]>(), dirOf = new Map(variants);
      const specOf = (id: string) => {
        const spec = grid.find((s) => s.id === id);
        if (!spec) throw new CliError(`speed: ${task}/${id} is not a row of the paper grid`);
        return spec;
      };
      const had = f.missing ? kept.filter((s) => s.task === task) : [];
      const hadBy = new Map<string, string>(); // structure -> the id measured for it
      for (const s of had) if (s.id !== "fp32" && !s.measured_as) hadBy.set(structureKey(specOf(s.id)), s.id);
      for (const [id] of variants.slice(1)) {
        if (had.some((s) => s.id === id)) continue;
        const key = structureKey(specOf(id));
        byKey.set(key, [...byKey.get(key) ?? [], specOf(id)]);
      }
      const bytesOf = (id: string) => rows.find((r) => r.task === task && r.id === id)!.bytes!.total;
      for (const [key, specs] of byKey) {
        const from = hadBy.get(key);
        if (!from) continue;
        for (const m of had.filter((s) => s.id === from)) {
          for (const other of specs) out.push({ ...m, id: other.id, bytes: bytesOf(other.id), measured_as: from });
        }
        byKey.delete(key);
      }
      const built = (s: RowSpec) => {
        try {
          return Deno.statSync(`${dirOf.get(s.id)}/model.json`).isFile;
        } catch {
          return false;
        }
      };
      const reps = [...byKey.values()].map((specs) => ({ rep: representative(specs, built), specs }));
      const measured: [string, string][] = [
        variants[0],
        ...reps.map(({ rep }) => [rep.id, dirOf.get(rep.id)!] as [string, string]),
      ];
      console.error(
        `speed: ${task}: ${variants.length - 1} deployable variants, ${
          f.missing ? `${out.length / BACKENDS.length} borrowing the lines of a structure measured before, ` : ""
        }${reps.length} graph structures to measure`,
      );
      for (const [id, dir] of measured.slice(1)) await ensure(task, id, dir);
      for (const b of f.missing && !reps.length ? [] : BACKENDS) {
        const got = await inRounds(task, measured, b);
        // With --missing the table keeps the fp32 it had; the new lines' ratios are to this run's fp32.
        out.push(...got.filter((m) => !(f.missing && had.length && m.id === "fp32")));
        for (const { rep, specs } of reps) {
          const m = got.find((x) => x.id === rep.id)!;
          for (const other of specs.filter((s) => s !== rep)) {
            out.push({ ...m, id: other.id, bytes: bytesOf(other.id), measured_as: rep.id });
          }
        }
      }
    }
    kept = [...kept.filter((s) => s.task !== task), ...(f.missing ? kept.filter((s) => s.task === task) : []), ...out];
    Deno.writeTextFileSync(file, kept.map((s) => JSON.stringify(s)).join("\n") + "\n");
  }
}
