/**
 * A planning worker: loads its own copy of every model, then runs one plan job at a time off the
 * HTTP thread. The main thread cancels a running plan through a shared flag, which the plan checks
 * before every chunk of rollouts (messages would wait until the plan is done).
 */
/// <reference lib="deno.worker" />
import { type BackendName, WorldModel } from "../world_model.ts";
import { planGuard, toWire } from "./executors.ts";
import { type PlanJob, PlanRequestError, runPlanJob } from "./plan_job.ts";

const models = new Map<string, WorldModel>();
let flag = new Int32Array(1);

self.onmessage = async (e: MessageEvent) => {
  const m = e.data;
  if (m.kind === "load") {
    try {
      flag = m.flag;
      for (const dir of m.dirs as string[]) {
        const model = await WorldModel.load(dir, { backend: m.backend as BackendName, threads: m.threads });
        models.set(`${model.card.task}/${model.card.variant}`, model);
      }
      self.postMessage({ kind: "loaded" });
    } catch (err) {
      self.postMessage({ kind: "load-error", error: toWire(err) });
    }
    return;
  }
  const job = m.job as PlanJob;
  try {
    const model = models.get(job.model);
    if (!model) throw new PlanRequestError("variant", `no model ${job.model}`, 404);
    const out = await runPlanJob(model, job, planGuard(job, () => Atomics.load(flag, 0) === 1));
    self.postMessage({ kind: "done", out });
  } catch (err) {
    self.postMessage({ kind: "error", error: toWire(err) });
  }
};
