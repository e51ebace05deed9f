/**
 * Bounded planning: a fixed set of executors (planning workers, or slots on this thread), a bounded
 * FIFO queue in front of them, and the rules that keep the server answerable under any load:
 * - at most `maxQueue` plans wait; beyond that `plan` rejects at once with `BusyError` (503);
 * - the deadline covers queueing: a plan still waiting at its deadline is dropped with `DeadlineError`;
 * - an aborted request (its client went away) leaves the queue, or cancels its running plan, which stops at
 *   its next predictor call (lib/platform.ts serves through node:http, which reports a closed socket at once).
 */
import { CancelledError, DeadlineError } from "../planners/world_model_planner.ts";
import type { PlanJob, PlanOutput } from "./plan_job.ts";

export class BusyError extends Error {
  override name = "BusyError";
}

/** Something that runs one plan at a time: a worker, or a slot on the HTTP thread. */
export interface Executor {
  run(job: PlanJob): Promise<PlanOutput>;
  /** Stop the running plan at its next check (it then rejects with `CancelledError`). */
  cancel(): void;
  close(): void | Promise<void>;
  /** Workers this executor has replaced (stuck or crashed), where it has any. */
  readonly restarts?: number;
}

interface Waiting {
  job: PlanJob;
  signal?: AbortSignal;
  resolve: (o: PlanOutput) => void;
  reject: (e: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
  onAbort: () => void;
}

export class PlanQueue {
  readonly #idle: Executor[];
  readonly #all: Executor[];
  readonly #waiting: Waiting[] = [];
  #running = 0;

  /** Executors may also join later (`add`), as planning workers finish loading. */
  constructor(executors: Executor[], readonly maxQueue: number) {
    this.#all = [...executors];
    this.#idle = [...executors];
  }

  add(ex: Executor): void {
    this.#all.push(ex);
    this.#next(ex);
  }

  /** Whether a plan would be taken now (a free executor, or room in the queue). */
  hasRoom(): boolean {
    return this.#idle.length > 0 || this.#waiting.length < this.maxQueue;
  }

  get running(): number {
    return this.#running;
  }
  get queued(): number {
    return this.#waiting.length;
  }
  get capacity(): number {
    return this.#all.length;
  }
  get restarts(): number {
    return this.#all.reduce((n, ex) => n + (ex.restarts ?? 0), 0);
  }

  /** Plan `job` on the next free executor. */
  plan(job: PlanJob, signal?: AbortSignal): Promise<PlanOutput> {
    if (signal?.aborted) return Promise.reject(new CancelledError("the client went away"));
    const ex = this.#idle.pop();
    if (ex) return this.#start(ex, job, signal);
    if (this.#waiting.length >= this.maxQueue) {
      return Promise.reject(new BusyError("server busy: too many plans in flight"));
    }
    return new Promise((resolve, reject) => {
      const w: Waiting = {
        job,
        signal,
        resolve,
        reject,
        timer: setTimeout(
          () => this.#drop(w, new DeadlineError("the deadline passed while queued")),
          Math.max(0, job.deadline - Date.now()),
        ),
        onAbort: () => this.#drop(w, new CancelledError("the client went away")),
      };
      signal?.addEventListener("abort", w.onAbort, { once: true });
      this.#waiting.push(w);
    });
  }

  #drop(w: Waiting, e: Error) {
    const i = this.#waiting.indexOf(w);
    if (i < 0) return;
    this.#waiting.splice(i, 1);
    clearTimeout(w.timer);
    w.signal?.removeEventListener("abort", w.onAbort);
    w.reject(e);
  }

  async #start(ex: Executor, job: PlanJob, signal?: AbortSignal): Promise<PlanOutput> {
    this.#running++;
    const onAbort = () => ex.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    // The executor checks the deadline itself; this timer only makes sure a stuck plan is cancelled.
    const timer = setTimeout(() => ex.cancel(), Math.max(0, job.deadline - Date.now()) + 50);
    try {
      return await ex.run(job);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      this.#running--;
      this.#next(ex);
    }
  }

  #next(ex: Executor) {
    const w = this.#waiting.shift();
    if (!w) {
      this.#idle.push(ex);
      return;
    }
    clearTimeout(w.timer);
    w.signal?.removeEventListener("abort", w.onAbort);
    // Its timer may not have had a turn (a plan on this thread holds the loop): check here too.
    if (Date.now() > w.job.deadline) {
      w.reject(new DeadlineError("the deadline passed while queued"));
      this.#next(ex);
      return;
    }
    this.#start(ex, w.job, w.signal).then(w.resolve, w.reject);
  }

  /** Wait for running plans to finish (up to `ms`), then close every executor. */
  async close(ms = 0): Promise<void> {
    for (const w of [...this.#waiting]) this.#drop(w, new CancelledError("the server is shutting down"));
    const t0 = Date.now();
    while (this.#running > 0 && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 20));
    for (const ex of this.#all) await ex.close();
  }
}
