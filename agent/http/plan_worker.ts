/**
 * A planning worker: loads its own copy of every model, then runs one plan job at a time off the
 * HTTP thread. The main thread cancels a running plan through a shared flag, which the plan checks
 * before every chunk of rollouts (messages would wait until the plan is done).
 */
import { parentPort } from "../../lib/platform.ts";
import { type BackendName, WorldModel } from "../world_model.ts";
import { planGuard, toWire } from "./executors.ts";
import { type PlanJob, PlanRequestError, runPlanJob } from "./plan_job.ts";

const models = new Map<string, WorldModel>();
let flag: Int32Array<ArrayBufferLike> = new Int32Array(1);
const port = await parentPort();

port.onMessage(async (data) => {
  const m = data as {
    kind: string;
    dirs: string[];
    backend: BackendName;
    threads: number;
    flag: Int32Array;
    job: PlanJob;
  };
  if (m.kind === "load") {
    try {
      flag = m.flag;
      for (const dir of m.dirs) {
        const model = await WorldModel.load(dir, { backend: m.backend, threads: m.threads });
        models.set(`${model.card.task}/${model.card.variant}`, model);
      }
      port.post({ kind: "loaded" });
    } catch (err) {
      port.post({ kind: "load-error", error: toWire(err) });
    }
    return;
  }
  const job = m.job;
  try {
    const model = models.get(job.model);
    if (!model) throw new PlanRequestError("variant", `no model ${job.model}`, 404);
    const out = await runPlanJob(model, job, planGuard(job, () => Atomics.load(flag, 0) === 1));
    port.post({ kind: "done", out });
  } catch (err) {
    port.post({ kind: "error", error: toWire(err) });
  }
});
