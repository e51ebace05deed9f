/// <reference lib="dom" />
/**
 * Where the playground's plans come from: the page's own planning worker (site/planner_worker.ts, the
 * server's plan path on onnxruntime-web) or the server (POST /v1/plan). The same request gives the same
 * answer either way.
 */

/** What the page reads of a plan answer (agent/http/schemas.ts PlanResponse). */
export interface Answer {
  actions: number[][];
  env_actions: number[][];
  control: { execute: number; env_steps_per_action: number };
  cost: number;
  cost_per_iteration: number[];
  warm_start: { actions: number[]; shifted_by: number };
}

type Reply = { plan?: Answer; loaded?: unknown; ms?: number; error?: string };

export class Planning {
  private worker: Worker | null = null;
  private nextId = 0;
  private pending = new Map<number, (m: Reply) => void>();
  private loaded = new Map<string, Promise<void>>();

  /** `base`: where the page's models and the server's routes are; `threads`: wasm threads in the worker. */
  constructor(readonly base: string, readonly threads: number) {}

  /** The planning worker, started on first use; one that fails (or never starts) fails every call waiting. */
  private pageWorker(): Worker {
    if (!this.worker) {
      this.worker = new Worker(new URL("./planner_worker.js", import.meta.url), { type: "module" });
      this.worker.onmessage = (e) => {
        this.pending.get(e.data.id)?.(e.data);
        this.pending.delete(e.data.id);
      };
      this.worker.onerror = (e) => {
        const error = `the planning worker failed: ${e.message ?? "it did not start"}`;
        for (const reply of this.pending.values()) reply({ error });
        this.pending.clear();
      };
    }
    return this.worker;
  }

  /** Ask the worker; its answer or its error. */
  private async ask(message: Record<string, unknown>): Promise<Reply> {
    const id = this.nextId++;
    const m = await new Promise<Reply>((resolve) => {
      this.pending.set(id, resolve);
      this.pageWorker().postMessage({ ...message, id });
    });
    if (m.error) throw new Error(m.error);
    return m;
  }

  /** Load a model into the worker once (a failed load is tried again next time). */
  load(task: string, variant: string): Promise<void> {
    const key = `${task}/${variant}`;
    if (!this.loaded.has(key)) {
      const p = this.ask({ load: { base: this.base, task, variant, threads: this.threads } }).then(() => {});
      p.catch(() => this.loaded.delete(key));
      this.loaded.set(key, p);
    }
    return this.loaded.get(key)!;
  }

  /**
   * One plan, in the page or on the server; the answer and the milliseconds it took end to end (the request
   * there and back, or the worker's round trip; not the wait for a model's first load).
   */
  async plan(mode: string, request: Record<string, unknown>): Promise<{ answer: Answer; ms: number }> {
    if (mode === "server") {
      const t0 = performance.now();
      const r = await fetch(`${this.base}v1/plan`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(request),
      });
      const answer = await r.json();
      if (!r.ok) throw new Error(`${r.status} ${answer.error} (${answer.field})`);
      return { answer, ms: performance.now() - t0 };
    }
    await this.load(request.task as string, request.variant as string);
    const t0 = performance.now();
    const m = await this.ask({ plan: request });
    return { answer: m.plan!, ms: performance.now() - t0 };
  }
}
