/**
 * The verdicts on arXiv 2602.02110's findings, computed from the study's rows: each names the rows
 * that show it, or says "pending" while too few of them have run.
 */
import type { RowResult } from "./rows.ts";
import { settingTag } from "../../quant/config.ts";
import type { ActSpec } from "../../quant/activations.ts";
import type { WeightSpec } from "../../quant/quantizer.ts";

export const final = (r: RowResult) => r.success?.[String(r.budget)];
export const mean = (xs: number[]) => xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
export const f2 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(2));

/** What a row's first quantize step says: bits, group, activation bits and mode. */
export function setting(r: RowResult) {
  const steps = (Array.isArray(r.config) ? r.config : []) as {
    weight: { bits: number; granularity: string; group?: number };
    act?: { bits: number; mode: string };
    method: string;
  }[];
  const s = steps[0];
  if (!s) return null;
  return {
    method: s.method,
    /** The setting's tag (quant/config.ts `settingTag`), e.g. w4a8 or w4g32. */
    tag: settingTag(s.weight as WeightSpec, s.act as ActSpec | undefined),
    bits: s.weight.bits,
    granularity: s.weight.granularity === "group" ? `g${s.weight.group}` : s.weight.granularity,
    abits: s.act?.bits ?? null,
    amode: s.act?.mode ?? null,
  };
}

/** Below this fp32 success a task cannot show what quantization does to success (pusht: 0.06). */
export const MIN_FP32_SUCCESS = 0.3;

/** fp32's success on a task (undefined before its row has run). */
function fp32Success(rows: RowResult[], task: string): number | undefined {
  return final(rows.find((r) => r.task === task && r.id === "fp32" && r.status === "done") ?? {} as RowResult);
}

/** fp32's success on a task where it is high enough to compare against, else undefined. */
function solvedBy(rows: RowResult[], task: string): number | undefined {
  const ref = fp32Success(rows, task);
  return ref !== undefined && ref >= MIN_FP32_SUCCESS ? ref : undefined;
}

/** Says which tasks with rows of the kind a verdict compares were left out, and why. */
function leftOut(rows: RowResult[], considered: RowResult[]): string {
  const out = [...new Set(considered.map((r) => r.task))].filter((t) => solvedBy(rows, t) === undefined).map((t) => {
    const ref = fp32Success(rows, t);
    return `${t} (fp32 ${ref === undefined ? "not run" : `succeeds ${f2(ref)}`})`;
  });
  return out.length ? `; left out, success too rare to compare: ${out.join(", ")}` : "";
}

export type Verdict = { finding: string; verdict: "confirmed" | "refuted" | "mixed" | "pending"; evidence: string };

/** I. Group-wise weights stabilise low-bit rollouts: groups vs per-channel at W4/W3/W2, same method. */
export function verdictGroups(rows: RowResult[]): Verdict {
  const finding = "I. group-wise weights stabilise low-bit rollouts";
  const gains: string[] = [];
  let better = 0, worse = 0, n = 0;
  const considered = rows.filter((r) => r.family === "weight-only" && r.status === "done");
  for (const r of considered.filter((r) => solvedBy(rows, r.task) !== undefined)) {
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
    evidence: `${better} of ${n} pairs gain > 0.04, ${worse} lose; ${gains.slice(0, 8).join("; ")}${
      leftOut(rows, considered)
    }`,
  };
}

/** II. Per-token activation granularity gives inconsistent benefits over per-tensor. */
export function verdictPerToken(rows: RowResult[]): Verdict {
  const finding = "II. per-token activation granularity gives inconsistent benefits";
  const ds: string[] = [];
  let up = 0, down = 0, n = 0;
  const considered = rows.filter((r) => r.family === "weight-act" && r.status === "done" && r.id.includes("tok"));
  for (const r of considered.filter((r) => solvedBy(rows, r.task) !== undefined)) {
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
    evidence: `per-token better in ${up}, worse in ${down} of ${n}; ${ds.slice(0, 8).join("; ")}${
      leftOut(rows, considered)
    }`,
  };
}

/** III. Encoder and predictor are asymmetrically sensitive; do more MPC iterations recover encoder errors? */
export function verdictAsymmetry(rows: RowResult[]): Verdict {
  const finding = "III. encoder and predictor are asymmetrically sensitive";
  const pairs: string[] = [];
  let enc = 0, pred = 0, n = 0;
  const recover: number[] = [];
  const considered = rows.filter((r) => r.family === "asymmetry" && r.status === "done" && r.id.startsWith("enc-"));
  for (const r of considered.filter((r) => solvedBy(rows, r.task) !== undefined)) {
    const twinId = r.id.replace(/^enc-(.*)\.pred-(.*)$/, "pred-$1.enc-$2");
    const twin = rows.find((x) => x.task === r.task && x.id === twinId && x.status === "done");
    if (!twin) continue;
    n++;
    const d = final(r)! - final(twin)!;
    if (d < -0.04) enc++; // quantizing the encoder hurts more
    if (d > 0.04) pred++;
    recover.push(final(r)! - (r.success?.["10"] ?? 0));
    pairs.push(`${r.task} ${setting(r)!.tag}: enc-only ${f2(final(r))} vs pred-only ${f2(final(twin))}`);
  }
  if (n < 2) return { finding, verdict: "pending", evidence: `${n} comparable pairs so far` };
  const bottleneck = enc > pred ? "encoder" : pred > enc ? "predictor" : "neither";
  const verdict = Math.max(enc, pred) >= 0.6 * n ? "confirmed" : enc + pred === 0 ? "refuted" : "mixed";
  return {
    finding,
    verdict,
    evidence: `bottleneck: ${bottleneck} (${enc} pairs encoder worse, ${pred} predictor worse, of ${n}); ` +
      `encoder-quantized rows gain ${f2(mean(recover))} success from replan 10 to 50; ${pairs.slice(0, 8).join("; ")}${
        leftOut(rows, considered)
      }`,
  };
}

/** IV. Failure modes differ by task: the lowest weight-only bits that keep 90% of fp32's success, per task. */
export function verdictTasks(rows: RowResult[], tasks: string[]): Verdict {
  const finding = "IV. failure modes differ by task";
  const lows: Record<string, number> = {};
  for (const t of tasks) {
    const ref = solvedBy(rows, t);
    if (ref === undefined) continue; // a task its fp32 model rarely solves cannot show a threshold
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
export function verdictAlignment(rows: RowResult[]): Verdict {
  const finding =
    "V. aggressive low-bit quantization breaks objective-success alignment; more iterations do not fix it";
  const cases: string[] = [];
  let broken = 0, n = 0;
  for (const r of rows.filter((r) => r.status === "done" && r.objective && r.kind === "quant")) {
    const s = setting(r), fp32 = rows.find((x) => x.task === r.task && x.id === "fp32" && x.status === "done");
    if (!s || !fp32?.objective || (s.bits > 3 && (s.abits ?? 8) > 4)) continue;
    const ref = final(fp32)!;
    if (ref < MIN_FP32_SUCCESS || final(r)! > 0.5 * ref) continue; // not a failure, or nothing to fail against
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

/**
 * VI. OmniQuant's learned clipping (and, with activations, its learned scale and shift) closes the gap that
 * round to nearest and OMSE leave: at each setting where both fall short of 90% of fp32's success, does
 * OmniQuant reach it? GPTQ at the same setting is named beside it.
 */
export function verdictOmniQuant(rows: RowResult[]): Verdict {
  const finding = "VI. OmniQuant closes the gap RTN and OMSE leave at low bits";
  // Whole-model rows and single-module (asymmetry) rows quantize other layers: only the grid's main families.
  const done = rows.filter((r) => r.status === "done" && (r.family === "weight-only" || r.family === "weight-act"));
  const omni = done.filter((r) => setting(r)?.method === "omniquant");
  const at = (r: RowResult, method: string) =>
    done.find((x) => x.task === r.task && setting(x)?.method === method && setting(x)?.tag === setting(r)!.tag);
  const cases: string[] = [];
  let gaps = 0, closed = 0, helped = 0;
  for (const r of omni) {
    const ref = solvedBy(rows, r.task);
    if (ref === undefined) continue;
    const base = ["rtn", "omse"].map((m) => at(r, m)).filter((x) => x !== undefined).map((x) => final(x)!);
    if (!base.length || Math.max(...base) >= 0.9 * ref) continue; // no gap to close at this setting
    gaps++;
    if (final(r)! >= 0.9 * ref) closed++;
    if (final(r)! >= Math.max(...base) + 0.1) helped++;
    const gptq = at(r, "gptq");
    cases.push(
      `${r.task} ${setting(r)!.tag}: omniquant ${f2(final(r))}, rtn/omse ${f2(Math.max(...base))}, gptq ${
        f2(gptq && final(gptq))
      }`,
    );
  }
  if (gaps < 2) return { finding, verdict: "pending", evidence: `${gaps} settings with a gap and an OmniQuant row` };
  return {
    finding,
    verdict: closed >= 0.6 * gaps ? "confirmed" : helped === 0 ? "refuted" : "mixed",
    evidence:
      `of ${gaps} settings where RTN and OMSE fall below 90% of fp32's success, OmniQuant reaches it at ${closed}` +
      ` and gains >= 0.10 over them at ${helped}: ${cases.join("; ")}${leftOut(rows, omni)}`,
  };
}
