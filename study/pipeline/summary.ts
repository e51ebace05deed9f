/**
 * What a row's episodes come to: success at every replan checkpoint with a 95% Wilson interval, each
 * episode's first success (for paired comparisons), the final distance, and the planning objective per
 * sampler iteration and per replan.
 */
import type { PlanTrace } from "../../agent/planners/world_model_planner.ts";
import { CHECKPOINTS, type ProtocolResult } from "../../tasks/evaluation.ts";

/** Wilson score interval for k successes in n trials (95%). */
export function wilson(k: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n, d = 1 + z * z / n;
  const c = (p + z * z / (2 * n)) / d, h = (z * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / d;
  return [+Math.max(0, c - h).toFixed(4), +Math.min(1, c + h).toFixed(4)];
}

export function summarise(r: ProtocolResult, traces: PlanTrace[][], budget: number) {
  const n = r.episodes, success: Record<string, number> = {}, ci95: Record<string, [number, number]> = {};
  for (const c of CHECKPOINTS) {
    if (c > budget) continue;
    const k = r.results.filter((e) => (c === 0 ? e.openLoopSuccess : e.successAt !== null && e.successAt <= c)).length;
    success[String(c)] = k / n;
    ci95[String(c)] = wilson(k, n);
  }
  // The budget itself is always a checkpoint, so every row has its final success.
  const kFinal = r.results.filter((e) => e.successAt !== null).length;
  success[String(budget)] = kFinal / n;
  ci95[String(budget)] = wilson(kFinal, n);
  const all = traces.flat();
  const iters = Math.max(0, ...all.map((t) => t.history.length));
  const mean = (xs: number[]) => xs.length ? +(xs.reduce((a, b) => a + b, 0) / xs.length).toPrecision(5) : NaN;
  const perReplan: number[] = [];
  for (let i = 0; i < budget; i++) {
    const xs = traces.filter((t) => t.length > i).map((t) => t[i].cost);
    if (!xs.length) break;
    perReplan.push(mean(xs));
  }
  return {
    success,
    ci95,
    success_at_episode: r.results.map((e) => e.successAt),
    final_distance_mean: +(r.results.reduce((a, e) => a + e.finalDistance, 0) / n).toFixed(4),
    objective: {
      per_iteration: Array.from(
        { length: iters },
        (_, i) => mean(all.map((t) => t.history[i]).filter(Number.isFinite)),
      ),
      per_replan: perReplan,
      first: traces.map((t) => +(t[0]?.cost ?? NaN).toPrecision(5)),
      last: traces.map((t) => +(t.at(-1)?.cost ?? NaN).toPrecision(5)),
    },
    plan_ms_p50: (() => {
      const ms = r.results.flatMap((e) => e.planMs).sort((a, b) => a - b);
      return +(ms[Math.floor(ms.length / 2)] ?? 0).toFixed(1);
    })(),
  };
}
