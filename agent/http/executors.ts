/**
 * The two kinds of plan executor behind the queue: a slot on this thread (onnxruntime-node runs its
 * kernels off the JS thread, and tests want no workers), and a planning worker (onnxruntime-web runs
 * inference on the calling thread, so the HTTP thread must not be that thread).
 */
import { startWorker, type WorkerHandle } from "../../lib/platform.ts";
import { ModelLoadError } from "../model_card.ts";
import { CancelledError, DeadlineError } from "../planners/world_model_planner.ts";
import { type BackendName, WorldModel } from "../world_model.ts";
import { type PlanJob, type PlanOutput, PlanRequestError, runPlanJob } from "./plan_job.ts";
import type { Executor } from "./plan_queue.ts";

/** The check a plan runs before each chunk of work: cancelled, or past its deadline. */
export function planGuard(job: PlanJob, cancelled: () => boolean): () => void {
  return () => {
    // The deadline first: the queue also cancels plans that run past it, and those are 504s.
    if (Date.now() > job.deadline) throw new DeadlineError("the plan ran past its deadline");
    if (cancelled()) throw new CancelledError("the plan was cancelled");
  };
}

/** Plans on this thread with already loaded models. */
export class LocalExecutor implements Executor {
  #cancelled = false;
  constructor(private readonly models: Map<string, WorldModel>) {}

  async run(job: PlanJob): Promise<PlanOutput> {
    this.#cancelled = false;
    const model = this.models.get(job.model);
    if (!model) throw new PlanRequestError("variant", `no model ${job.model}`, 404);
    const check = planGuard(job, () => this.#cancelled);
    // On this thread a plan would hold the event loop for its whole length: yield between chunks,
    // so that health checks, aborts and timers get their turn.
    return await runPlanJob(model, job, async () => {
      await new Promise((r) => setTimeout(r, 0));
      check();
    });
  }
  cancel(): void {
    this.#cancelled = true;
  }
  close(): void {}
}

/** What crosses the worker boundary for an error: enough to rebuild its class and HTTP status. */
export interface WireError {
  name: string;
  message: string;
  field?: string;
  status?: PlanRequestError["status"];
}

export function toWire(e: unknown): WireError {
  const err = e as Error;
  return {
    name: err?.name ?? "Error",
    message: err?.message ?? String(e),
    ...(e instanceof PlanRequestError ? { field: e.field, status: e.status } : {}),
  };
}

export function fromWire(w: WireError): Error {
  if (w.name === "PlanRequestError") return new PlanRequestError(w.field ?? "body", w.message, w.status ?? 400);
  if (w.name === "DeadlineError") return new DeadlineError(w.message);
  if (w.name === "CancelledError") return new CancelledError(w.message);
  if (w.name === "ModelLoadError") return new ModelLoadError(w.message);
  const e = new Error(w.message);
  e.name = w.name;
  return e;
}

/** A planning worker (plan_worker.ts) holding its own copy of every model. */
export class WorkerExecutor implements Executor {
  readonly #worker: WorkerHandle;
  readonly #flag = new Int32Array(new SharedArrayBuffer(4));
  #pending: { resolve: (o: PlanOutput) => void; reject: (e: unknown) => void } | null = null;
  #failed: Error | null = null;

  private constructor(worker: WorkerHandle) {
    this.#worker = worker;
  }

  /** Start a worker and load the models; a model that does not load rejects with its message. */
  static async start(dirs: string[], backend: BackendName, threads: number): Promise<WorkerExecutor> {
    // From source the worker is plan_worker.ts beside this file; in the bundle, plan_worker.js beside it.
    const file = import.meta.url.endsWith(".ts") ? "./plan_worker.ts" : "./plan_worker.js";
    const worker = await startWorker(new URL(file, import.meta.url));
    const ex = new WorkerExecutor(worker);
    await new Promise<void>((resolve, reject) => {
      worker.onMessage((data) => {
        const m = data as { kind: string; error?: WireError };
        if (m.kind === "loaded") resolve();
        else if (m.kind === "load-error") reject(fromWire(m.error!));
      });
      worker.onError((message) => reject(new Error(`planning worker failed to start: ${message}`)));
      worker.post({ kind: "load", dirs, backend, threads, flag: ex.#flag });
    });
    worker.onMessage((data) => ex.#onMessage(data as { kind: string; out?: PlanOutput; error?: WireError }));
    worker.onError((message) => {
      ex.#failed = new Error(`planning worker crashed: ${message}`);
      ex.#pending?.reject(ex.#failed);
      ex.#pending = null;
    });
    return ex;
  }

  #onMessage(m: { kind: string; out?: PlanOutput; error?: WireError }) {
    const p = this.#pending;
    this.#pending = null;
    if (!p) return;
    if (m.kind === "done") p.resolve(m.out!);
    else p.reject(fromWire(m.error!));
  }

  run(job: PlanJob): Promise<PlanOutput> {
    if (this.#failed) return Promise.reject(this.#failed);
    Atomics.store(this.#flag, 0, 0);
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#worker.post({ kind: "plan", job });
    });
  }
  cancel(): void {
    Atomics.store(this.#flag, 0, 1);
  }
  close(): void {
    this.#worker.terminate();
  }
}
