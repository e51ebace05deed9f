/**
 * The two kinds of plan executor behind the queue: a slot on this thread (onnxruntime-node runs its
 * kernels off the JS thread, and tests want no workers), and a planning worker (onnxruntime-web runs
 * inference on the calling thread, so the HTTP thread must not be that thread).
 */
import { startWorker, type WorkerHandle } from "../../lib/platform.ts";
import { ModelLoadError } from "../../model/model_card.ts";
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

/** How long a plan on the HTTP thread holds it at most between turns of the event loop. */
export const YIELD_MS = 20;

/** Plans on this thread with already loaded models. */
export class LocalExecutor implements Executor {
  #cancelled = false;
  constructor(private readonly models: Map<string, WorldModel>) {}

  async run(job: PlanJob): Promise<PlanOutput> {
    this.#cancelled = false;
    const model = this.models.get(job.model);
    if (!model) throw new PlanRequestError("variant", `no model ${job.model}`, 404);
    const check = planGuard(job, () => this.#cancelled);
    // On this thread a plan would hold the event loop for its whole length: yield every YIELD_MS at a
    // predictor call, so that health checks, aborts and timers get their turn (not at every call: a
    // timer's turn costs up to a millisecond, and a replan makes ~20 calls).
    let last = performance.now();
    return await runPlanJob(model, job, async () => {
      if (performance.now() - last >= YIELD_MS) {
        await new Promise((r) => setTimeout(r, 0));
        last = performance.now();
      }
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

/** How long past its deadline a plan may keep its worker before the worker is taken for stuck. */
export const STUCK_GRACE_MS = 2000;

export interface WorkerExecutorOptions {
  /** The worker script (default: plan_worker.ts, or plan_worker.js in the bundle). */
  url?: URL;
  /** Grace past a plan's deadline before its worker is replaced (default `STUCK_GRACE_MS`). */
  stuckGraceMs?: number;
}

/**
 * A planning worker (plan_worker.ts) holding its own copy of every model.
 *
 * A healthy plan stops within one chunk of its deadline (it checks the shared flag between chunks).
 * One that is still running `stuckGraceMs` later is stuck where no check runs - onnxruntime-web with
 * more than one thread has been seen to spin for good once its pthread worker is gone - so the
 * worker is terminated, the plan rejects with a DeadlineError (504), and a fresh worker loads the
 * models. A worker that crashes is replaced the same way. Until its replacement has loaded, a plan
 * given to this executor waits for it (its deadline still counts).
 */
export class WorkerExecutor implements Executor {
  #worker: WorkerHandle | null = null;
  #ready: Promise<void> = Promise.resolve();
  readonly #flag = new Int32Array(new SharedArrayBuffer(4));
  #pending: { resolve: (o: PlanOutput) => void; reject: (e: unknown) => void } | null = null;
  #failed: Error | null = null;
  #closed = false;
  #restarts = 0;

  private constructor(
    private readonly dirs: string[],
    private readonly backend: BackendName,
    private readonly threads: number,
    private readonly url: URL,
    private readonly stuckGraceMs: number,
  ) {}

  /** Start a worker and load the models; a model that does not load rejects with its message. */
  static async start(
    dirs: string[],
    backend: BackendName,
    threads: number,
    options: WorkerExecutorOptions = {},
  ): Promise<WorkerExecutor> {
    // From source the worker is plan_worker.ts beside this file; in the bundle, plan_worker.js beside it.
    const file = import.meta.url.endsWith(".ts") ? "./plan_worker.ts" : "./plan_worker.js";
    const url = options.url ?? new URL(file, import.meta.url);
    const ex = new WorkerExecutor(dirs, backend, threads, url, options.stuckGraceMs ?? STUCK_GRACE_MS);
    ex.#worker = await ex.#spawn();
    return ex;
  }

  /** Workers replaced so far (stuck past the grace, or crashed). */
  get restarts(): number {
    return this.#restarts;
  }

  async #spawn(): Promise<WorkerHandle> {
    const worker = await startWorker(this.url);
    try {
      await new Promise<void>((resolve, reject) => {
        worker.onMessage((data) => {
          const m = data as { kind: string; error?: WireError };
          if (m.kind === "loaded") resolve();
          else if (m.kind === "load-error") reject(fromWire(m.error!));
        });
        worker.onError((message) => reject(new Error(`planning worker failed to start: ${message}`)));
        worker.post({ kind: "load", dirs: this.dirs, backend: this.backend, threads: this.threads, flag: this.#flag });
      });
    } catch (e) {
      worker.terminate();
      throw e;
    }
    // A replaced worker's late words are not the current plan's answer.
    worker.onMessage((data) => {
      if (this.#worker === worker) this.#onMessage(data as { kind: string; out?: PlanOutput; error?: WireError });
    });
    worker.onError((message) => {
      if (this.#worker === worker) this.#replace(new Error(`planning worker crashed: ${message}`));
    });
    return worker;
  }

  /** Terminate the current worker, fail its plan with `reason`, and load a fresh one. */
  #replace(reason: Error) {
    const p = this.#pending;
    this.#pending = null;
    this.#worker?.terminate();
    this.#worker = null;
    p?.reject(reason);
    if (this.#closed) return;
    this.#restarts++;
    console.error(`${reason.message}; starting a fresh planning worker (restart ${this.#restarts})`);
    this.#ready = this.#spawn().then(
      (w) => {
        if (this.#closed) w.terminate();
        else this.#worker = w;
      },
      (e) => {
        this.#failed = new Error(`planning worker could not be restarted: ${(e as Error).message}`);
      },
    );
  }

  #onMessage(m: { kind: string; out?: PlanOutput; error?: WireError }) {
    const p = this.#pending;
    this.#pending = null;
    if (!p) return;
    if (m.kind === "done") p.resolve(m.out!);
    else p.reject(fromWire(m.error!));
  }

  async run(job: PlanJob): Promise<PlanOutput> {
    await this.#ready;
    if (this.#failed) throw this.#failed;
    if (!this.#worker) throw new Error("the planning worker is closed");
    const worker = this.#worker;
    Atomics.store(this.#flag, 0, 0);
    return await new Promise<PlanOutput>((resolve, reject) => {
      const watchdog = setTimeout(() => {
        if (this.#worker !== worker || !this.#pending) return;
        this.#replace(
          new DeadlineError(
            `the plan ran past its deadline and its worker did not stop within ${this.stuckGraceMs} ms`,
          ),
        );
      }, Math.max(0, job.deadline - Date.now()) + this.stuckGraceMs);
      this.#pending = {
        resolve: (o) => (clearTimeout(watchdog), resolve(o)),
        reject: (e) => (clearTimeout(watchdog), reject(e)),
      };
      worker.post({ kind: "plan", job });
    });
  }
  cancel(): void {
    Atomics.store(this.#flag, 0, 1);
  }
  close(): void {
    this.#closed = true;
    this.#worker?.terminate();
    this.#worker = null;
    this.#pending?.reject(new CancelledError("the server is shutting down"));
    this.#pending = null;
  }
}
