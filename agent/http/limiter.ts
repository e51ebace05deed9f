/**
 * Bounded concurrency: at most `concurrent` jobs run, at most `queue` wait;
 * beyond that `run` rejects at once with `BusyError` (the app answers 503 +
 * Retry-After) instead of letting requests pile up.
 */
export class BusyError extends Error {
  override name = "BusyError";
}

export class Limiter {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly concurrent: number, readonly queue: number) {}

  get running(): number {
    return this.#running;
  }
  get queued(): number {
    return this.#waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrent) {
      if (this.#waiting.length >= this.queue) throw new BusyError("server busy: too many plans in flight");
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next) next(); // hand our slot straight to the next waiter
      else this.#running--;
    }
  }
}
