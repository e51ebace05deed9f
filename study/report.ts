/**
 * `deno task study report --in study/runs/NAME [--out study]`: the study's report, generated from the
 * rows (all shards merged) and never edited by hand: study/REPORT.md with SVG plots under
 * study/figures/, success tables in the paper's shape, a verdict per finding of arXiv 2602.02110,
 * and the default the rule picks per task.
 */
import { parseFlags } from "../lib/cli.ts";
import { CHECKPOINTS } from "../tasks/evaluation.ts";
import { TASK_NAMES } from "../tasks/task.ts";
import {
  type Choice,
  chooseDefault,
  MAX_NET_LOSS,
  MAX_SLOWDOWN,
  netLoss,
  readSpeedFile,
  SIZE_GOAL,
  type SpeedRow,
  successGoal,
} from "./choose_default.ts";
import { alignment, moduleSensitivity, renderSvg, successVsBits, successVsBytes, successVsLatency } from "./figures.ts";
import { type GraphBudget, modelBudget } from "./byte_budget.ts";
import { buildGrid, hasDistanceHead, type RowSpec } from "./grid.ts";
import { currentRows, rowKey, type RowResult } from "./sweep.ts";
import { estimateCoreSeconds, rowCoreSeconds } from "./row_cost.ts";
import {
  f2,
  final,
  mean,
  MIN_FP32_SUCCESS,
  setting,
  verdictAlignment,
  verdictAsymmetry,
  verdictGroups,
  verdictPerToken,
  verdictTasks,
} from "./verdicts.ts";

/** Lines of `first`, then those of `second` for tasks `first` has none of. */
function preferring(first: SpeedRow[], second: SpeedRow[], key = (s: SpeedRow) => s.task): SpeedRow[] {
  const have = new Set(first.map(key));
  return [...first, ...second.filter((s) => !have.has(key(s)))];
}

/**
 * What the default rule reads: `study speed --candidates` (speed.jsonl: each candidate paired with fp32 round by
 * round), else, for a task it has not measured, the full run (speed_all.jsonl).
 */
export function readSpeed(dir: string): SpeedRow[] {
  return preferring(readSpeedFile(`${dir}/speed.jsonl`), readSpeedFile(`${dir}/speed_all.jsonl`));
}

/** What the speed table and latency plot show: the full run where there is one, else the candidates run. */
export function readSpeedTable(dir: string): SpeedRow[] {
  return preferring(readSpeedFile(`${dir}/speed_all.jsonl`), readSpeedFile(`${dir}/speed.jsonl`));
}

function successTable(rows: RowResult[], task: string, budget: number): string {
  const cps = CHECKPOINTS.filter((c) => c <= budget);
  const head = `| variant | family | ${
    cps.map((c) => `@${c}`).join(" | ")
  } | 95% CI @${budget} | final distance | objective | KB | latent err step 1 / 5 |`;
  const lines = [head, `|${"---|".repeat(cps.length + 7)}`];
  const mine = rows.filter((r) => r.task === task && r.status === "done");
  const order = (r: RowResult) => (r.id === "oracle" ? 0 : r.id === "fp32" ? 1 : 2);
  // Where fp32 itself rarely succeeds (pusht), success barely separates the rows: the distance left does.
  const fp32 = mine.find((r) => r.id === "fp32");
  const byDistance = fp32 !== undefined && final(fp32)! < MIN_FP32_SUCCESS;
  const rank = (a: RowResult, b: RowResult) =>
    byDistance ? (a.final_distance_mean ?? Infinity) - (b.final_distance_mean ?? Infinity) : final(b)! - final(a)!;
  for (const r of mine.sort((a, b) => order(a) - order(b) || rank(a, b))) {
    const ci = r.ci95?.[String(budget)];
    const le = r.latent_error, obj = r.objective?.per_iteration.at(-1);
    lines.push(
      `| ${r.id} | ${r.family} | ${cps.map((c) => f2(r.success?.[String(c)])).join(" | ")} | ${
        ci ? `${ci[0].toFixed(2)}-${ci[1].toFixed(2)}` : "-"
      } | ${f2(r.final_distance_mean)} | ${obj === undefined ? "-" : obj.toPrecision(3)} | ${
        r.bytes ? (r.bytes.total / 1024).toFixed(0) : "-"
      } | ${le ? `${le.step1.toExponential(1)} / ${le.step5.toExponential(1)}` : "-"} |`,
    );
  }
  return lines.join("\n");
}

/**
 * onnxruntime's own weight-only quantizer (RTN, HQQ at W4 g32 / g128, MatMul layers of both graphs)
 * beside ours at the same bits and groups (every MatMul/Gemm), on the same paired episodes.
 */
function peerTable(rows: RowResult[], speed: SpeedRow[], task: string): string | null {
  const mine = rows.filter((r) => r.task === task && r.status === "done");
  const fp32 = mine.find((r) => r.id === "fp32");
  if (!fp32 || !mine.some((r) => r.family === "peer")) return null;
  const web2 = (id: string) => speed.find((s) => s.task === task && s.id === id && s.backend === "web-2t");
  const lines = [
    "| group | quantizer | success @50 | net episodes lost vs fp32 | KB | latent err step 5 | web-2t replan p50 (x fp32) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const g of [32, 128]) {
    for (const id of [`ort-rtn-w4g${g}`, `ort-hqq-w4g${g}`, `rtn-w4g${g}`, `awq-w4g${g}`, `gptq-w4g${g}`]) {
      const r = mine.find((x) => x.id === id);
      if (!r) continue;
      lines.push(
        `| ${g} | ${
          id.startsWith("ort-") ? `onnxruntime ${id.split("-")[1].toUpperCase()}` : `ours ${id.split("-")[0]}`
        } | ${f2(final(r))} | ${netLoss(r, fp32)} | ${r.bytes ? (r.bytes.total / 1024).toFixed(0) : "-"} | ${
          r.latent_error ? r.latent_error.step5.toExponential(1) : "-"
        } | ${
          ((s) => (s ? `${s.p50_ms.toFixed(0)} ms${s.vs_fp32 ? ` (${s.vs_fp32.toFixed(2)}x)` : ""}` : "-"))(web2(id))
        } |`,
      );
    }
  }
  return lines.join("\n");
}

function choiceSection(c: Choice): string {
  const out = [`**${c.task}**: fp32 ${(c.fp32.bytes / 1024).toFixed(0)} KB, success ${f2(c.fp32.success)}.`];
  if (c.chosen) {
    out.push(
      ` Chosen: **${c.chosen.id}**, ${(c.chosen.bytes / 1024).toFixed(0)} KB (${
        (100 * c.chosen.bytes / c.fp32.bytes).toFixed(0)
      }% of fp32), success ${
        f2(c.chosen.success)
      } (net loss ${c.chosen.net_loss}), ${c.chosen.slowdown}x fp32's replan time.`,
    );
  } else out.push(" No variant meets the rule yet.");
  // Only variants no larger than the choice were passed over; larger ones were never in the running.
  const rejected = c.candidates.filter((x) => !x.eligible && (!c.chosen || x.bytes <= c.chosen.bytes)).slice(0, 6);
  if (rejected.length) {
    out.push(
      "\n\n  Smaller candidates passed over: " +
        rejected.map((x) => `${x.id} (${(x.bytes / 1024).toFixed(0)} KB: ${x.why})`).join("; ") + ".",
    );
  }
  return out.join("");
}

/** Replan latency (p50 and its ratio to fp32 in the same run, p95), peak RSS and bytes per backend, one line a variant. */
function speedTable(speed: SpeedRow[], rows: RowResult[], task: string): string | null {
  const mine = speed.filter((s) => s.task === task);
  if (!mine.length) return null;
  const ids = [...new Set(mine.map((s) => s.id))];
  // The row's bytes where there is one: a speed line keeps those of the graph it timed, which `study bytes` may
  // since have brought up to date in the row (same computation, smaller graph).
  const bytesOf = (id: string) =>
    rows.find((r) => r.task === task && r.id === id)?.bytes?.total ?? mine.find((s) => s.id === id)!.bytes;
  ids.sort((a, b) => (a === "fp32" ? -1 : b === "fp32" ? 1 : bytesOf(a) - bytesOf(b)));
  const backends = ["web-1t", "web-2t", "node"];
  const cell = (id: string, b: string) => {
    const s = mine.find((x) => x.id === id && x.backend === b);
    if (!s) return "-";
    return `${s.p50_ms.toFixed(0)} / ${s.p95_ms.toFixed(0)}${s.vs_fp32 ? ` (${s.vs_fp32.toFixed(2)}x)` : ""}, ${
      s.rss_peak_mb.toFixed(0)
    } MB`;
  };
  const lines = [
    `| variant | KB | success @50 | ${
      backends.map((b) => `${b}: p50 / p95 ms (x fp32), RSS`).join(" | ")
    } | measured as |`,
    `|---|---|---|${backends.map(() => "---").join("|")}|---|`,
  ];
  for (const id of ids) {
    const r = rows.find((x) => x.task === task && x.id === id);
    const as = mine.find((x) => x.id === id && x.measured_as)?.measured_as;
    lines.push(
      `| ${id} | ${(bytesOf(id) / 1024).toFixed(0)} | ${r ? f2(final(r)) : "-"} | ${
        backends.map((b) => cell(id, b)).join(" | ")
      } | ${as ?? ""} |`,
    );
  }
  return lines.join("\n");
}

/** Where the chosen default's bytes are, and what keeps it above the size goal (read from the shipped files). */
function budgetSection(c: Choice, dir: string): string | null {
  let graphs: GraphBudget[];
  try {
    graphs = modelBudget(dir);
  } catch {
    return null; // not shipped (yet) under models/
  }
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
  const sum = (k: keyof Omit<GraphBudget, "graph">) => graphs.reduce((a, g) => a + g[k], 0);
  const total = sum("total"), goal = SIZE_GOAL * c.fp32.bytes;
  const parts = graphs.map((g) =>
    `${g.graph} ${kb(g.total)} (codes ${kb(g.codes)}, scales and zero points ${kb(g.scales)}, fp32 tensors ${
      kb(g.float)
    }, structure ${kb(g.structure)})`
  ).join("; ");
  const verdict = total <= goal
    ? `within the ${100 * SIZE_GOAL}% goal (${kb(goal)})`
    : `${kb(total - goal)} over the ${100 * SIZE_GOAL}% goal (${kb(goal)}): beyond its weight codes (${
      kb(sum("codes"))
    }) it carries ${kb(sum("scales"))} of scales and zero points, ${kb(sum("float"))} of fp32 tensors and ${
      kb(sum("structure"))
    } of graph structure`;
  return `Where its bytes are: ${parts}. In all ${kb(total)}, ${verdict}.`;
}

export async function report(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    in: { type: "string", required: true, help: "the sweep's run folder" },
    out: { type: "string", default: "study", help: "where REPORT.md and figures/ go" },
    grid: { type: "enum", values: ["paper", "quick"], default: "paper", help: "the grid the rows came from" },
    models: { type: "string", default: "models", help: "the fp32 models the rows must have measured" },
  }, "deno task study report --in DIR: the generated report (REPORT.md + SVG plots)");
  const { rows, stale } = currentRows(f.in, f.models), speed = readSpeed(f.in), table = readSpeedTable(f.in);
  const tasks = TASK_NAMES.filter((t) => rows.some((r) => r.task === t));
  const grid = buildGrid(f.grid, [...TASK_NAMES], (t) => hasDistanceHead(t, f.models));
  const done = new Set(rows.map(rowKey));
  const pending: RowSpec[] = grid.filter((s) => !done.has(rowKey(s)));
  const budget = rows[0]?.budget ?? 50, episodes = rows[0]?.episodes ?? 50;
  // CPU seconds where a row has them; older rows have only wall seconds (which also count pauses and a shared core).
  const coreHours = rows.reduce((a, r) => a + rowCoreSeconds(r), 0) / 3600;
  const hoursLeft = estimateCoreSeconds(rows, pending) / 3600;
  const wallOnly = rows.filter((r) => r.seconds && !r.seconds.cpu).length;
  Deno.mkdirSync(`${f.out}/figures`, { recursive: true });

  // Plot data.
  const fp32Of = (t: string) => final(rows.find((r) => r.task === t && r.id === "fp32") ?? {} as RowResult);
  const wo = rows.filter((r) => r.family === "weight-only" && r.status === "done").map((r) => ({
    task: r.task,
    ...setting(r)!,
    success: final(r),
    fp32: fp32Of(r.task),
  }));
  const asym = rows.filter((r) => r.family === "asymmetry" && r.status === "done").map((r) => ({
    task: r.task,
    module: r.id.startsWith("enc-") ? "encoder quantized" : "predictor quantized",
    setting: r.id.split(".")[0].replace(/^(enc|pred)-/, ""),
    success: final(r),
  }));
  const quantRows = rows.filter((r) => r.status === "done" && r.objective && r.kind !== "oracle");
  const align = quantRows.map((r) => ({
    task: r.task,
    id: r.id,
    objective: mean(r.objective!.last.filter(Number.isFinite)),
    success: final(r),
    bits: setting(r)?.bits ?? 32,
    acts: setting(r)?.abits ? `A${setting(r)!.abits}` : "float",
  }));
  const sizes = rows.filter((r) => r.status === "done" && r.bytes).map((r) => ({
    task: r.task,
    id: r.id,
    kb: r.bytes!.total / 1024,
    success: final(r),
    family: r.family,
    deployable: r.deployable ? "deployable" : "simulated",
  }));
  const lat = table.filter((s) => s.backend === "web-2t" && s.id !== "fp32").map((s) => {
    const ref = table.find((x) => x.task === s.task && x.id === "fp32" && x.backend === "web-2t");
    const r = rows.find((x) => x.task === s.task && x.id === s.id);
    return {
      task: s.task,
      id: s.id,
      ratio: s.vs_fp32 ?? (ref ? s.p50_ms / ref.p50_ms : NaN),
      success: r ? final(r) : NaN,
    };
  });
  const figures: [string, string, Record<string, unknown>, number][] = [
    ["success_vs_bits", "Success vs bits per method and granularity", successVsBits(wo), wo.length],
    ["module_sensitivity", "Encoder vs predictor sensitivity", moduleSensitivity(asym), asym.length],
    ["alignment", "Objective vs success", alignment(align), align.length],
    ["success_vs_bytes", "Success vs bytes", successVsBytes(sizes), sizes.length],
    ["success_vs_latency", "Success vs latency", successVsLatency(lat), lat.length],
  ];
  const md: string[] = [
    "# The quantization study (generated)",
    "",
    `Generated by \`deno task study report --in ${f.in}\` from ${rows.length} rows${
      stale ? ` (${stale} more rows measured earlier fp32 models or oracle settings and are left out)` : ""
    }; do not edit by hand.`,
    "",
    `Protocol: \`tasks/evaluation.ts\`, ${episodes} episodes x ${budget} replans per (task, variant), seed ${
      rows[0]?.seed ?? 0
    }, the same episodes for every variant (paired), calibration from its own seed stream. Planner: the server's fast`,
    "CEM preset (64 samples x 4 iterations, horizon 5, execute 1) on onnxruntime-node.",
    "",
    `Grid \`${f.grid}\`: ${grid.length} rows; ${rows.filter((r) => r.status === "done").length} done, ${
      rows.filter((r) => r.status === "pruned").length
    } pruned, ${rows.filter((r) => r.status === "skipped").length} skipped, ${pending.length} not run yet. ` +
    `Compute so far: ${coreHours.toFixed(1)} core-hours (2-core CPU, one core per shard; CPU time of each row, ` +
    `or its wall time for the ${wallOnly} rows recorded before CPU time was)` +
    (pending.length
      ? `; the ${pending.length} rows not run would take about ${hoursLeft.toFixed(1)} more (each at its task's mean).`
      : "."),
    "",
    "## Findings of arXiv 2602.02110 on our models",
    "",
  ];
  for (
    const v of [
      verdictGroups(rows),
      verdictPerToken(rows),
      verdictAsymmetry(rows),
      verdictTasks(rows, tasks),
      verdictAlignment(rows),
    ]
  ) md.push(`- **${v.finding}: ${v.verdict}.** ${v.evidence}.`);
  md.push(
    "",
    "## The chosen defaults",
    "",
    `Rule (\`study/choose_default.ts\`): per task, the deployable variant with the fewest bytes that loses at most ${MAX_NET_LOSS} of the paired episodes (net) against fp32 and whose replan p50 on onnxruntime-web with 2 threads is at most ${MAX_SLOWDOWN}x fp32's, measured side by side (\`deno task study speed\`).`,
    "",
  );
  for (const t of tasks) {
    const c = chooseDefault(t, rows, speed);
    if (!c) continue;
    md.push(`- ${choiceSection(c)}`);
    const budget = c.chosen ? budgetSection(c, `${f.models}/${t}/${c.chosen.id}`) : null;
    if (budget) md.push("", `  ${budget}`);
    // The rule's paired timings first; the full table for variants they leave out.
    const timed = preferring(speed, table, (s) => `${s.task}/${s.id}/${s.backend}`);
    const goal = successGoal(c, chooseDefault(t, rows, timed)!.candidates);
    if (goal) md.push("", `  ${goal}`);
  }
  md.push(
    "",
    "## onnxruntime's quantizer against ours",
    "",
    "`onnxruntime.quantization.matmul_nbits_quantizer` (RTN and HQQ, W4, groups 32 and 128; `study/ort_quantize.py`) on the same fp32 graphs, through the same protocol and episodes, beside our RTN, AWQ and GPTQ at the same bits and groups (every MatMul/Gemm layer).",
    "",
  );
  let peers = 0;
  for (const t of tasks) {
    const lines = peerTable(rows, table, t);
    if (!lines) continue;
    md.push(`### ${t}`, "", lines, "");
    peers++;
  }
  if (!peers) md.push("No peer rows yet.", "");
  md.push(
    "## Speed and size of the deployable variants",
    "",
    "Measured by `deno task study speed` on this 2-core CPU, each (variant, backend) in a process of its own (its peak RSS is a process holding that one model and planning), variants alternating with fp32 within a backend; ratios are to the fp32 rounds of the same run. A variant built as the same graph as another (RTN, OMSE and GPTQ of one configuration; W3 in W4's containers) carries that one's figures, named under *measured as* (`study/structure.ts`). The rule above reads `study speed --candidates` instead where it ran (each candidate in rounds paired with fp32, more plans): one fp32 per round here is the coarser comparison.",
    "",
  );
  let timed = 0;
  for (const t of tasks) {
    const lines = speedTable(table, rows, t);
    // Deployable rows that finished after the task's speed run: say so rather than leave them out silently.
    const untimed = rows.filter((r) =>
      r.task === t && r.status === "done" && r.deployable && !table.some((s) => s.task === t && s.id === r.id)
    );
    const later = untimed.length
      ? `Not timed yet: ${untimed.length} deployable variant${untimed.length === 1 ? "" : "s"} of ${t} finished after ${
        lines ? "this table was measured" : "any speed run"
      } (${untimed.slice(0, 6).map((r) => r.id).join(", ")}${untimed.length > 6 ? ", ..." : ""}); ` +
        `\`deno task study speed --in ${f.in} --tasks ${t} --missing\` on a quiet machine times them.`
      : "";
    if (!lines) {
      if (later) md.push(`### ${t}`, "", later, "");
      continue;
    }
    // Rounds differ between runs (a 1-round table is the coarser one): say how many each figure is the median of.
    const rounds = [...new Set(table.filter((s) => s.task === t).map((s) => s.rounds ?? 1))].sort((a, b) => a - b);
    md.push(
      `### ${t}`,
      "",
      `Medians of ${rounds.join(" or ")} round${rounds.at(-1) === 1 ? "" : "s"} per (variant, backend).`,
      "",
      lines,
      "",
      ...(later ? [later, ""] : []),
    );
    timed++;
  }
  if (!timed) md.push("Not measured yet.", "");
  md.push("", "## Plots", "");
  for (const [name, title, spec, n] of figures) {
    if (n === 0) {
      md.push(`- ${title}: no rows yet.`);
      continue;
    }
    Deno.writeTextFileSync(`${f.out}/figures/${name}.svg`, await renderSvg(spec));
    md.push(`### ${title}`, "", `![${title}](figures/${name}.svg)`, "");
  }
  md.push(
    "## Success by replan checkpoint",
    "",
    "Success at each replan checkpoint over the paired episodes; *final distance*: the mean distance to the goal state " +
      "when the episode ends, in success thresholds (success is roughly below 1); *objective*: the planning objective's " +
      `mean best value after the sampler's last iteration. Rows rank by success, or, where fp32 succeeds in under ${
        MIN_FP32_SUCCESS * 100
      }% of episodes (success cannot separate them there), by final distance.`,
    "",
  );
  for (const t of tasks) md.push(`### ${t}`, "", successTable(rows, t, budget), "");
  const pruned = rows.filter((r) => r.status !== "done");
  md.push("## Pruned and skipped rows", "");
  if (pruned.length === 0) md.push("None.");
  for (const r of pruned) md.push(`- ${r.task}/${r.id}: ${r.status} (${r.reason})`);
  md.push(
    "",
    "## Not run yet",
    "",
    pending.length ? `${pending.length} rows, e.g. ${pending.slice(0, 12).map(rowKey).join(", ")}.` : "None.",
    "",
  );
  Deno.writeTextFileSync(`${f.out}/REPORT.md`, md.join("\n"));
  console.error(`report: wrote ${f.out}/REPORT.md and ${figures.filter((x) => x[3] > 0).length} plots`);
}
