/**
 * The rule that picks each task's served low-bit default from the study's rows, stated once and
 * applied by code:
 *
 *   among the deployable variants of our toolkit (real MatMulNBits / MatMulInteger graphs) whose
 *   success loses at most MAX_NET_LOSS of the paired episodes (net) against fp32 and whose replan
 *   p50 on onnxruntime-web with 2 threads is at most MAX_SLOWDOWN x fp32's (measured side by side),
 *   the one with the fewest bytes; ties go to the higher success.
 */
import type { RowResult } from "./rows.ts";

export const MAX_NET_LOSS = 2;
export const MAX_SLOWDOWN = 1.25;

/** The issue's goal for a default, beyond the rule: at most this share of fp32's bytes... */
export const SIZE_GOAL = 0.2;
/** ...with success at most this far below fp32's (3 points; the rule's 2 episodes of 50 allow 4). */
export const SUCCESS_GOAL = 0.03;

/** One latency measurement of the speed run (`deno task study speed`). */
export interface SpeedRow {
  task: string;
  id: string;
  backend: string;
  p50_ms: number;
  p95_ms: number;
  rss_peak_mb: number;
  bytes: number;
  /** Measurements the p50/p95 are medians of (alternating with fp32); 1 where absent. */
  rounds?: number;
  /** p50 over the median p50 of the fp32 rounds measured alongside it, same backend (what the rule reads). */
  vs_fp32?: number;
  /** The variant of the same graph structure whose figures these are (study/pipeline/structure.ts); absent if its own. */
  measured_as?: string;
}

/** The lines of a speed file (speed.jsonl, speed_all.jsonl); none if it is not there yet. */
export function readSpeedFile(file: string): SpeedRow[] {
  try {
    return Deno.readTextFileSync(file).split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/** Episodes fp32 solved and the row did not, minus the reverse (same episodes, same seeds). */
export function netLoss(row: RowResult, fp32: RowResult): number {
  const a = fp32.success_at_episode ?? [], b = row.success_at_episode ?? [];
  let net = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) net += Number(a[i] !== null) - Number(b[i] !== null);
  return net;
}

export interface Candidate {
  id: string;
  /** "whole": every layer quantized; other families leave the patch embedding, embeddings and heads fp32. */
  family: RowResult["family"];
  bytes: number;
  success: number;
  net_loss: number;
  /** p50 / fp32's p50 on web with 2 threads; null where not measured. */
  slowdown: number | null;
  eligible: boolean;
  why?: string;
}

export interface Choice {
  task: string;
  fp32: { bytes: number; success: number; p50_ms: number | null };
  chosen: Candidate | null;
  candidates: Candidate[];
}

/** Apply the rule to one task's rows. */
export function chooseDefault(task: string, rows: RowResult[], speed: SpeedRow[]): Choice | null {
  const mine = rows.filter((r) => r.task === task && r.status === "done");
  const fp32 = mine.find((r) => r.id === "fp32");
  if (!fp32) return null;
  const row2 = (id: string) => speed.find((s) => s.task === task && s.id === id && s.backend === "web-2t");
  const web2 = (id: string) => row2(id)?.p50_ms;
  const ref = web2("fp32") ?? null;
  const final = (r: RowResult) => r.success?.[String(r.budget)] ?? 0;
  const candidates: Candidate[] = mine.filter((r) => r.kind === "quant" && r.deployable).map((r) => {
    const loss = netLoss(r, fp32), s = row2(r.id);
    // The ratio to the fp32 rounds measured alongside it where recorded, else to the one fp32 line.
    const ratio = s?.vs_fp32 ?? (s && ref ? s.p50_ms / ref : undefined);
    const slowdown = ratio !== undefined ? +ratio.toFixed(3) : null;
    const why = loss > MAX_NET_LOSS
      ? `loses ${loss} episodes net (> ${MAX_NET_LOSS})`
      : slowdown === null
      ? "latency not measured"
      : slowdown > MAX_SLOWDOWN
      ? `${slowdown}x fp32's replan time (> ${MAX_SLOWDOWN})`
      : undefined;
    return {
      id: r.id,
      family: r.family,
      bytes: r.bytes!.total,
      success: final(r),
      net_loss: loss,
      slowdown,
      eligible: !why,
      why,
    };
  }).sort((a, b) => a.bytes - b.bytes || b.success - a.success);
  return {
    task,
    fp32: { bytes: fp32.bytes!.total, success: final(fp32), p50_ms: ref },
    chosen: candidates.find((c) => c.eligible) ?? null,
    candidates,
  };
}

/**
 * Whether the choice meets the success half of the goal and, where it does not, the smallest of `candidates`
 * (the choice's own, or the same rows with more of them timed) that would (within the latency bound or not
 * timed yet) and what keeps that one from the size half.
 */
export function successGoal(c: Choice, candidates: Candidate[] = c.candidates): string | null {
  if (!c.chosen) return null;
  const eps = 1e-9, pts = (x: number) => (100 * x).toFixed(0);
  const inGoal = (x: { success: number }) => c.fp32.success - x.success <= SUCCESS_GOAL + eps;
  const gap = c.fp32.success - c.chosen.success;
  if (inGoal(c.chosen)) {
    return `Its success is within the ${pts(SUCCESS_GOAL)}-point goal (${pts(Math.max(gap, 0))} points below fp32's).`;
  }
  const out = [
    `Its success is ${pts(gap)} points below fp32's, outside the ${
      pts(SUCCESS_GOAL)
    }-point goal (the rule allows ${MAX_NET_LOSS} episodes net, ${pts(MAX_NET_LOSS / 50)} points of 50).`,
  ];
  const within = candidates.find((x) => inGoal(x) && (x.slowdown === null || x.slowdown <= MAX_SLOWDOWN));
  if (!within) return out.concat(" No deployable variant is within it.").join("");
  const share = within.bytes / c.fp32.bytes;
  out.push(
    ` The smallest deployable variant within it is ${within.id}, ${(within.bytes / 1024).toFixed(0)} KB (${
      pts(share)
    }% of fp32${within.slowdown === null ? "; latency not timed yet" : `, ${within.slowdown}x fp32's replan time`})`,
  );
  if (share <= SIZE_GOAL + eps) return out.concat(", which meets both goals.").join("");
  out.push(`, over the ${pts(SIZE_GOAL)}% size goal`);
  if (within.family !== "whole") {
    out.push(
      ": it quantizes the transformer blocks only and keeps the patch embedding, action/proprio embeddings and heads fp32",
    );
    if (!candidates.some((x) => x.family === "whole" && inGoal(x))) {
      out.push(", and no variant quantizing those layers too is within the success goal");
    }
  }
  out.push(".");
  out.push(" No deployable variant measured meets both goals.");
  return out.join("");
}

/** Lines of `first`, then those of `second` for tasks `first` has none of. */
export function preferring(first: SpeedRow[], second: SpeedRow[], key = (s: SpeedRow) => s.task): SpeedRow[] {
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
