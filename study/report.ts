/**
 * `deno task study report --in study/runs/NAME [--out study]`: the study's report, generated from the
 * rows (all shards merged) and never edited by hand: study/REPORT.md with SVG plots under
 * study/figures/, success tables in the paper's shape, a verdict per finding of arXiv 2602.02110,
 * and the default the rule picks per task.
 */
import { parseFlags } from "../lib/cli.ts";
import { CHECKPOINTS } from "../tasks/evaluation.ts";
import { TASK_NAMES } from "../tasks/task.ts";
import { type Choice, chooseDefault, MAX_NET_LOSS, MAX_SLOWDOWN, type SpeedRow } from "./choose_default.ts";
import { alignment, moduleSensitivity, renderSvg, successVsBits, successVsBytes, successVsLatency } from "./figures.ts";
import { buildGrid, type RowSpec } from "./grid.ts";
import { readRows, rowKey, type RowResult } from "./sweep.ts";

const final = (r: RowResult) => r.success?.[String(r.budget)];
const mean = (xs: number[]) => xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
const f2 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(2));

/** What a row's first quantize step says: bits, group, activation bits and mode. */
function setting(r: RowResult) {
  const steps = (Array.isArray(r.config) ? r.config : []) as {
    weight: { bits: number; granularity: string; group?: number };
    act?: { bits: number; mode: string };
    method: string;
  }[];
  const s = steps[0];
  if (!s) return null;
  return {
    method: s.method,
    bits: s.weight.bits,
    granularity: s.weight.granularity === "group" ? `g${s.weight.group}` : s.weight.granularity,
    abits: s.act?.bits ?? null,
    amode: s.act?.mode ?? null,
  };
}

export function readSpeed(dir: string): SpeedRow[] {
  try {
    return Deno.readTextFileSync(`${dir}/speed.jsonl`).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

type Verdict = { finding: string; verdict: "confirmed" | "refuted" | "mixed" | "pending"; evidence: string };

/** I. Group-wise weights stabilise low-bit rollouts: groups vs per-channel at W4/W3/W2, same method. */
function verdictGroups(rows: RowResult[]): Verdict {
  const finding = "I. group-wise weights stabilise low-bit rollouts";
  const gains: string[] = [];
  let better = 0, worse = 0, n = 0;
  for (const r of rows.filter((r) => r.family === "weight-only" && r.status === "done")) {
    const s = setting(r);
    if (!s || s.granularity !== "channel" || s.bits > 4) continue;
    for (const g of ["g16", "g32"]) {
      const twin = rows.find((x) => x.task === r.task && x.id === `${s.method}-w${s.bits}${g}` && x.status === "done");
      if (!twin) continue;
      const d = final(twin)! - final(r)!;
      n++;
      if (d > 0.04) better++;
      if (d < -0.04) worse++;
      gains.push(`${r.task} ${s.method} W${s.bits} ${g} vs channel: ${d >= 0 ? "+" : ""}${d.toFixed(2)}`);
    }
  }
  if (n < 3) return { finding, verdict: "pending", evidence: `${n} comparable pairs so far` };
  const verdict = better >= 0.6 * n && worse === 0 ? "confirmed" : worse >= 0.5 * n ? "refuted" : "mixed";
  return {
    finding,
    verdict,
    evidence: `${better} of ${n} pairs gain > 0.04, ${worse} lose; ${gains.slice(0, 8).join("; ")}`,
  };
}

/** II. Per-token activation granularity gives inconsistent benefits over per-tensor. */
function verdictPerToken(rows: RowResult[]): Verdict {
  const finding = "II. per-token activation granularity gives inconsistent benefits";
  const ds: string[] = [];
  let up = 0, down = 0, n = 0;
  for (const r of rows.filter((r) => r.family === "weight-act" && r.status === "done" && r.id.includes("tok"))) {
    const twin = rows.find((x) => x.task === r.task && x.id === r.id.replace("tok", "") && x.status === "done");
    if (!twin) continue;
    const d = final(r)! - final(twin)!;
    n++;
    if (d > 0.04) up++;
    if (d < -0.04) down++;
    ds.push(`${r.task} ${r.id}: ${d >= 0 ? "+" : ""}${d.toFixed(2)}`);
  }
  if (n < 3) return { finding, verdict: "pending", evidence: `${n} comparable pairs so far` };
  const verdict = up > 0 && down > 0 ? "confirmed" : up >= 0.6 * n ? "refuted" : "mixed";
  return {
    finding,
    verdict,
    evidence: `per-token better in ${up}, worse in ${down} of ${n}; ${ds.slice(0, 8).join("; ")}`,
  };
}

/** III. Encoder and predictor are asymmetrically sensitive; do more MPC iterations recover encoder errors? */
function verdictAsymmetry(rows: RowResult[]): Verdict {
  const finding = "III. encoder and predictor are asymmetrically sensitive";
  const pairs: string[] = [];
  let enc = 0, pred = 0, n = 0;
  const recover: number[] = [];
  for (const r of rows.filter((r) => r.family === "asymmetry" && r.status === "done" && r.id.startsWith("enc-"))) {
    const twinId = r.id.replace(/^enc-(.*)\.pred-(.*)$/, "pred-$1.enc-$2");
    const twin = rows.find((x) => x.task === r.task && x.id === twinId && x.status === "done");
    if (!twin) continue;
    n++;
    const d = final(r)! - final(twin)!;
    if (d < -0.04) enc++; // quantizing the encoder hurts more
    if (d > 0.04) pred++;
    recover.push(final(r)! - (r.success?.["10"] ?? 0));
    pairs.push(`${r.task} ${r.id.split(".")[0].slice(4)}: enc-only ${f2(final(r))} vs pred-only ${f2(final(twin))}`);
  }
  if (n < 2) return { finding, verdict: "pending", evidence: `${n} comparable pairs so far` };
  const bottleneck = enc > pred ? "encoder" : pred > enc ? "predictor" : "neither";
  const verdict = Math.max(enc, pred) >= 0.6 * n ? "confirmed" : enc + pred === 0 ? "refuted" : "mixed";
  return {
    finding,
    verdict,
    evidence: `bottleneck: ${bottleneck} (${enc} pairs encoder worse, ${pred} predictor worse, of ${n}); ` +
      `encoder-quantized rows gain ${f2(mean(recover))} success from replan 10 to 50; ${pairs.slice(0, 8).join("; ")}`,
  };
}

/** IV. Failure modes differ by task: the lowest weight-only bits that keep 90% of fp32's success, per task. */
function verdictTasks(rows: RowResult[], tasks: string[]): Verdict {
  const finding = "IV. failure modes differ by task";
  const lows: Record<string, number> = {};
  for (const t of tasks) {
    const ref = final(rows.find((r) => r.task === t && r.id === "fp32" && r.status === "done") ?? {} as RowResult);
    if (ref === undefined) continue;
    const ok = rows.filter((r) => r.task === t && r.family === "weight-only" && r.status === "done")
      .filter((r) => final(r)! >= 0.9 * ref).map((r) => setting(r)!.bits);
    if (ok.length) lows[t] = Math.min(...ok);
  }
  const known = Object.entries(lows);
  if (known.length < 2) return { finding, verdict: "pending", evidence: `${known.length} tasks with weight-only rows` };
  const distinct = new Set(known.map(([, b]) => b)).size;
  return {
    finding,
    verdict: distinct > 1 ? "confirmed" : "refuted",
    evidence: `lowest weight bits keeping >= 90% of fp32's success: ${known.map(([t, b]) => `${t} W${b}`).join(", ")}`,
  };
}

/**
 * V. Aggressive low-bit quantization breaks the alignment of objective and success, and more iterations
 * do not fix it: failing low-bit rows still drive their objective down (as far as fp32 does) yet do not
 * succeed, and gain little from replan 20 to 50.
 */
function verdictAlignment(rows: RowResult[]): Verdict {
  const finding =
    "V. aggressive low-bit quantization breaks objective-success alignment; more iterations do not fix it";
  const cases: string[] = [];
  let broken = 0, n = 0;
  for (const r of rows.filter((r) => r.status === "done" && r.objective && r.kind === "quant")) {
    const s = setting(r), fp32 = rows.find((x) => x.task === r.task && x.id === "fp32" && x.status === "done");
    if (!s || !fp32?.objective || (s.bits > 3 && (s.abits ?? 8) > 4)) continue;
    const ref = final(fp32)!;
    if (ref < 0.3 || final(r)! > 0.5 * ref) continue; // not a failure, or nothing to fail against
    n++;
    const obj = r.objective!.per_iteration.at(-1)!, objRef = fp32.objective.per_iteration.at(-1)!;
    const late = final(r)! - (r.success?.["20"] ?? 0);
    const optimised = obj <= 1.5 * objRef; // the search still finds plans the model scores as good
    if (optimised && late <= 0.05) broken++;
    cases.push(
      `${r.task} ${r.id}: success ${f2(final(r))} vs ${f2(ref)}, objective ${obj.toPrecision(3)} vs ${
        objRef.toPrecision(3)
      }, +${late.toFixed(2)} after replan 20`,
    );
  }
  if (n < 2) return { finding, verdict: "pending", evidence: `${n} failing low-bit rows so far` };
  return {
    finding,
    verdict: broken >= 0.6 * n ? "confirmed" : broken === 0 ? "refuted" : "mixed",
    evidence: `${broken} of ${n} failing low-bit rows reach fp32-like objectives without success and do not recover; ${
      cases.slice(0, 6).join("; ")
    }`,
  };
}

function successTable(rows: RowResult[], task: string, budget: number): string {
  const cps = CHECKPOINTS.filter((c) => c <= budget);
  const head = `| variant | family | ${
    cps.map((c) => `@${c}`).join(" | ")
  } | 95% CI @${budget} | KB | latent err step 1 / 5 |`;
  const lines = [head, `|${"---|".repeat(cps.length + 5)}`];
  const mine = rows.filter((r) => r.task === task && r.status === "done");
  const order = (r: RowResult) => (r.id === "oracle" ? 0 : r.id === "fp32" ? 1 : 2);
  for (const r of mine.sort((a, b) => order(a) - order(b) || (final(b)! - final(a)!))) {
    const ci = r.ci95?.[String(budget)];
    const le = r.latent_error;
    lines.push(
      `| ${r.id} | ${r.family} | ${cps.map((c) => f2(r.success?.[String(c)])).join(" | ")} | ${
        ci ? `${ci[0].toFixed(2)}-${ci[1].toFixed(2)}` : "-"
      } | ${r.bytes ? (r.bytes.total / 1024).toFixed(0) : "-"} | ${
        le ? `${le.step1.toExponential(1)} / ${le.step5.toExponential(1)}` : "-"
      } |`,
    );
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
  const rejected = c.candidates.filter((x) => !x.eligible).slice(0, 6);
  if (rejected.length) {
    out.push(
      "\n\n  Smaller candidates passed over: " +
        rejected.map((x) => `${x.id} (${(x.bytes / 1024).toFixed(0)} KB: ${x.why})`).join("; ") + ".",
    );
  }
  return out.join("");
}

export async function report(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    in: { type: "string", required: true, help: "the sweep's run folder" },
    out: { type: "string", default: "study", help: "where REPORT.md and figures/ go" },
    grid: { type: "enum", values: ["paper", "quick"], default: "paper", help: "the grid the rows came from" },
  }, "deno task study report --in DIR: the generated report (REPORT.md + SVG plots)");
  const rows = readRows(f.in), speed = readSpeed(f.in);
  const tasks = TASK_NAMES.filter((t) => rows.some((r) => r.task === t));
  const grid = buildGrid(f.grid, [...TASK_NAMES]);
  const done = new Set(rows.map(rowKey));
  const pending: RowSpec[] = grid.filter((s) => !done.has(rowKey(s)));
  const budget = rows[0]?.budget ?? 50, episodes = rows[0]?.episodes ?? 50;
  const coreHours = rows.reduce((a, r) => a + (r.seconds?.total || r.seconds?.eval || 0), 0) / 3600;
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
  const lat = speed.filter((s) => s.backend === "web-2t" && s.id !== "fp32").map((s) => {
    const ref = speed.find((x) => x.task === s.task && x.id === "fp32" && x.backend === "web-2t");
    const r = rows.find((x) => x.task === s.task && x.id === s.id);
    return { task: s.task, id: s.id, ratio: ref ? s.p50_ms / ref.p50_ms : NaN, success: r ? final(r) : NaN };
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
    `Generated by \`deno task study report --in ${f.in}\` from ${rows.length} rows; do not edit by hand.`,
    "",
    `Protocol: \`tasks/evaluation.ts\`, ${episodes} episodes x ${budget} replans per (task, variant), seed ${
      rows[0]?.seed ?? 0
    }, the same episodes for every variant (paired), calibration from its own seed stream. Planner: the server's fast`,
    "CEM preset (64 samples x 4 iterations, horizon 5, execute 1) on onnxruntime-node.",
    "",
    `Grid \`${f.grid}\`: ${grid.length} rows; ${rows.filter((r) => r.status === "done").length} done, ${
      rows.filter((r) => r.status === "pruned").length
    } pruned, ${rows.filter((r) => r.status === "skipped").length} skipped, ${pending.length} not run yet. ` +
    `Compute so far: ${coreHours.toFixed(1)} core-hours (2-core CPU, one core per shard).`,
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
    if (c) md.push(`- ${choiceSection(c)}`);
  }
  md.push("", "## Plots", "");
  for (const [name, title, spec, n] of figures) {
    if (n === 0) {
      md.push(`- ${title}: no rows yet.`);
      continue;
    }
    Deno.writeTextFileSync(`${f.out}/figures/${name}.svg`, await renderSvg(spec));
    md.push(`### ${title}`, "", `![${title}](figures/${name}.svg)`, "");
  }
  md.push("## Success by replan checkpoint", "");
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
