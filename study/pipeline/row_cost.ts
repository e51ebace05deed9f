/**
 * What a row of the sweep costs, in core-seconds: measured for finished rows, estimated for the rest.
 *
 * Rows differ by task far more than by variant (a reacher episode often ends at its goal within a few
 * replans; a pusht episode rarely does and runs all 50), so a row still to run is estimated from the
 * finished rows of its own task, and only falls back to all tasks' mean, then to a prior.
 */

/** The timing a finished row records (a subset of `RowResult`, so tests can build it). */
export interface RowTiming {
  task: string;
  seconds?: { quantize?: number; eval?: number; total?: number; cpu?: number };
}

/** Before any row has finished: the mean of the first paper sweep's rows (all tasks). */
export const PRIOR_ROW_SECONDS = 150;

/**
 * Core-seconds a finished row took: its CPU time where recorded (wall time overstates it beside
 * other load), else its wall time; 0 for a row that ran nothing (pruned, skipped).
 */
export function rowCoreSeconds(row: RowTiming): number {
  const s = row.seconds;
  return s?.cpu || s?.total || s?.eval || 0;
}

/**
 * Estimated core-seconds of each task's next row: the mean over that task's finished rows, over those that
 * recorded CPU time where any did (wall time beside other load overstates a row several times over).
 */
export function costPerRow(finished: RowTiming[]): (task: string) => number {
  // Per task (and "" for all tasks): [sum, count] of rows with CPU time, then of rows with wall time only.
  const sums = new Map<string, [number, number, number, number]>();
  for (const r of finished) {
    const s = rowCoreSeconds(r);
    if (s <= 0) continue;
    for (const key of [r.task, ""]) {
      const a = sums.get(key) ?? [0, 0, 0, 0];
      if (r.seconds?.cpu) [a[0], a[1]] = [a[0] + s, a[1] + 1];
      else [a[2], a[3]] = [a[2] + s, a[3] + 1];
      sums.set(key, a);
    }
  }
  const mean = (a: [number, number, number, number]) => (a[1] ? a[0] / a[1] : a[2] / a[3]);
  const all = sums.get("");
  return (task) => {
    const t = sums.get(task) ?? all;
    return t ? mean(t) : PRIOR_ROW_SECONDS;
  };
}

/** Estimated core-seconds of rows still to run, each at its task's mean. */
export function estimateCoreSeconds(finished: RowTiming[], todo: { task: string }[]): number {
  const per = costPerRow(finished);
  return todo.reduce((a, r) => a + per(r.task), 0);
}
