/** A one-line progress bar on stderr (plain lines when stderr is not a terminal or under CI). */
export class Progress {
  readonly #t0 = performance.now();
  #last = 0;
  readonly #tty = Deno.stderr.isTerminal() && !Deno.env.get("CI");

  constructor(readonly label: string, readonly total: number, readonly unit = "it") {}

  /** Report `done` of `total`; throttled to a few updates a second. */
  update(done: number, extra = ""): void {
    const now = performance.now();
    if (done < this.total && now - this.#last < (this.#tty ? 200 : 5000)) return;
    this.#last = now;
    const s = (now - this.#t0) / 1000;
    const rate = done / Math.max(s, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : 0;
    const w = 24, fill = Math.round((w * done) / Math.max(1, this.total));
    const line = `${this.label} [${"#".repeat(fill)}${".".repeat(w - fill)}] ${done}/${this.total} ` +
      `${rate.toFixed(1)} ${this.unit}/s, ${s.toFixed(0)}s elapsed, eta ${eta.toFixed(0)}s ${extra}`;
    const enc = new TextEncoder();
    Deno.stderr.writeSync(enc.encode(this.#tty ? `\r${line}\x1b[K` : `${line}\n`));
    if (done >= this.total && this.#tty) Deno.stderr.writeSync(enc.encode("\n"));
  }
}
