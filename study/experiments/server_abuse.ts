/**
 * The server under abuse, over real sockets against a started server (`main.ts` of a checkout): what a
 * client that goes away, a burst of maximum-size bodies, a plan that executes past its horizon and an
 * oversized chunked body do to it. Each case is a function `tests/server_abuse_test.ts` holds to the
 * server's promises; this script prints their figures for one checkout, to compare two side by side:
 *
 *   deno run -A study/experiments/server_abuse.ts [--root DIR] [--out study/results/server_abuse/NAME]
 *
 * RSS is read from /proc (Linux); elsewhere it is left out.
 */
import { parseFlags, runCli } from "../../lib/cli.ts";
import { encodeBase64 } from "../../lib/base64.ts";
import { concatBytes, encodePng, pngChunk } from "../../lib/png.ts";
import { Rng } from "../../lib/rng.ts";
import { getTask } from "../../tasks/registry.ts";

const wall = getTask("wall");
const te = new TextEncoder(), td = new TextDecoder();

/** A plan request for wall's fp32 model; `pad` grows each PNG to about that many base64 characters. */
export function planBody(planner: Record<string, unknown>, pad = 0): string {
  const png = (s: number[]) => {
    const plain = encodePng(wall.render(Float64Array.from(s), 64), 64, 64);
    if (!pad) return encodeBase64(plain);
    // An ancillary chunk a decoder skips: a valid PNG of the model's size, as large as the limit allows.
    const filler = new Uint8Array(Math.max(0, Math.floor(pad * 3 / 4) - plain.length - 12));
    const rng = new Rng(1);
    for (let i = 0; i < filler.length; i++) filler[i] = rng.int(256);
    return encodeBase64(concatBytes([plain.subarray(0, -12), pngChunk("zzZz", filler), plain.subarray(-12)]));
  };
  return JSON.stringify({
    task: "wall",
    variant: "fp32",
    observation: { image: { png: png([10, 20]) }, proprio: [10, 20] },
    goal: { image: { png: png([50, 40]) }, proprio: [50, 40] },
    planner,
  });
}

export interface Server {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Start `main.ts` of `root` on a free port and wait until it is ready; `denoArgs` go before the script. */
export async function startServer(env: Record<string, string>, root = ".", denoArgs: string[] = []): Promise<Server> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-net", "--allow-env", ...denoArgs, "main.ts"],
    cwd: root,
    env: { PORT: String(port), EDGEWM_MODELS: "models/wall/fp32", ...env },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const t0 = Date.now();
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/ready`);
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() - t0 > 60_000) throw new Error("the server did not get ready in 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      await child.stderr.cancel();
    },
  };
}

/** Resident memory of a process in MB (VmRSS), or undefined where /proc is not there. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The count of answers with `status` on /v1/plan so far (from /metrics). */
export async function planStatusCount(port: number, status: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`edgewm_requests_total\\{route="/v1/plan",status="${status}"\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

/** Send a POST over a raw socket and close it after `ms`, without reading the answer. */
export async function postAndLeave(port: number, body: string, ms: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const b = te.encode(body);
  await conn.write(te.encode(
    `POST /v1/plan HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${b.length}\r\n\r\n`,
  ));
  await conn.write(b);
  await new Promise((r) => setTimeout(r, ms));
  conn.close();
}

/** Case 1: a heavy plan whose client leaves after 0.5 s; how long until a small plan gets the one worker. */
export async function abandonedPlan(s: Server) {
  const heavy = planBody({ samples: 1000, topk: 10, iterations: 30 });
  const small = planBody({ samples: 16, topk: 4, iterations: 1 });
  const plan = async () => {
    const t0 = performance.now();
    const r = await fetch(`http://127.0.0.1:${s.port}/v1/plan`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: small,
    });
    await r.body?.cancel();
    return { status: r.status, ms: performance.now() - t0 };
  };
  const alone = (await plan(), await plan()).ms; // warm, then alone
  const before499 = await planStatusCount(s.port, 499);
  await postAndLeave(s.port, heavy, 500);
  const after = await plan();
  // What the small plan waited beyond its own time: how long the abandoned plan kept the worker.
  const heldMs = Math.max(0, after.ms - alone);
  await new Promise((r) => setTimeout(r, 200));
  const counted = (await planStatusCount(s.port, 499)) - before499;
  // 50 clients that leave after 50 ms, then: how many were counted as gone, and whether any was answered.
  const before = await planStatusCount(s.port, 499), before200 = await planStatusCount(s.port, 200);
  await Promise.all(Array.from({ length: 50 }, () => postAndLeave(s.port, heavy, 50)));
  const t0 = performance.now();
  const next = await plan();
  const burstHeldMs = Math.max(0, next.ms - alone);
  await new Promise((r) => setTimeout(r, 300));
  return {
    worker_held_ms: +heldMs.toFixed(0),
    counted_499: counted,
    fifty_left_counted_499: (await planStatusCount(s.port, 499)) - before,
    // A client that closed before its request was read leaves nothing to count; none may be planned to its end.
    fifty_left_answered_200: (await planStatusCount(s.port, 200)) - before200 - 1,
    after_fifty_worker_held_ms: +burstHeldMs.toFixed(0),
    after_fifty_next_plan_status: next.status,
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
  };
}

/**
 * Case 2: 48 simultaneous valid requests of ~900 KB; statuses and the server's RSS when idle, at peak and
 * after (the lowest over the 5 s that follow). Idle is measured after some ordinary plans (two at a time), so that the runtime's own
 * first-use growth (onnxruntime's wasm memory, which never shrinks) is not counted as the burst's.
 */
export async function largeBurst(s: Server, clients = 48) {
  const body = planBody({ samples: 16, topk: 4, iterations: 1 }, 445_000);
  const ordinary = planBody({ samples: 16, topk: 4, iterations: 1 });
  for (let i = 0; i < 4; i++) {
    await Promise.all([0, 1].map(async () => {
      const r = await fetch(`http://127.0.0.1:${s.port}/v1/plan`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: ordinary,
      });
      await r.body?.cancel();
    }));
  }
  const idle = rssMb(s.pid);
  let peak = idle ?? 0, sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, rssMb(s.pid) ?? 0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const statuses: Record<number, number> = {};
  await Promise.all(Array.from({ length: clients }, async () => {
    const r = await fetch(`http://127.0.0.1:${s.port}/v1/plan`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    }).catch(() => null);
    const st = r?.status ?? 0;
    statuses[st] = (statuses[st] ?? 0) + 1;
    await r?.body?.cancel();
  }));
  // After: the lowest RSS over the next 5 s (the garbage of a burst is collected in its own time).
  let after = Infinity;
  for (let i = 0; i < 25; i++) {
    await new Promise((r) => setTimeout(r, 200));
    after = Math.min(after, rssMb(s.pid) ?? NaN);
  }
  sampling = false;
  await sampler;
  return { body_bytes: te.encode(body).length, statuses, rss_idle_mb: idle, rss_peak_mb: peak, rss_after_mb: after };
}

/** Case 3: execute beyond the horizon. */
export async function executePastHorizon(s: Server) {
  const r = await fetch(`http://127.0.0.1:${s.port}/v1/plan`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: planBody({ horizon: 1, execute: 20 }),
  });
  const j = await r.json();
  return { status: r.status, field: j.field ?? null, execute: j.control?.execute ?? null };
}

/** Case 4: a chunked body over the limit; the status, and whether the server closes the socket after it. */
export async function oversizedChunked(s: Server, limit = 1_000_000) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  await conn.write(te.encode(
    "POST /v1/plan HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
  ));
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  let sent = 0;
  try {
    while (sent < limit * 2) {
      await conn.write(concatBytes([te.encode(`${chunk.length.toString(16)}\r\n`), chunk, te.encode("\r\n")]));
      sent += chunk.length;
    }
  } catch { /* the server stopped reading */ }
  // Read the answer, then wait for the end of the stream: a closed connection ends it.
  const t0 = performance.now();
  const { text, closed } = await readUntilClosed(conn, 5000);
  return {
    status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0),
    connection_header: /\r\nconnection: (\S+)/i.exec(text)?.[1] ?? null,
    closed_by_server: closed,
    closed_after_ms: closed ? +(performance.now() - t0).toFixed(0) : null,
  };
}

/** Everything a connection sends until the server closes it (`closed`) or `ms` pass (then we close it). */
async function readUntilClosed(conn: Deno.Conn, ms: number): Promise<{ text: string; closed: boolean }> {
  const buf = new Uint8Array(65536);
  let text = "", closed = false;
  const timer = setTimeout(() => conn.close(), ms);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) {
        closed = true;
        break;
      }
      text += td.decode(buf.subarray(0, n));
    }
  } catch { /* closed by the timer: the server kept it open */ }
  clearTimeout(timer);
  try {
    conn.close();
  } catch { /* already */ }
  return { text, closed };
}

/** Case 5 (slowloris): headers that never finish; the server answers 408 and closes (lib/platform.ts). */
export async function slowHeaders(s: Server) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  await conn.write(te.encode("POST /v1/plan HTTP/1.1\r\nhost: x\r\n"));
  const t0 = performance.now();
  const { text } = await readUntilClosed(conn, 30_000);
  return {
    status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0),
    closed_after_s: +((performance.now() - t0) / 1000).toFixed(1),
  };
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(Deno.args, {
      root: { type: "string", default: ".", help: "the checkout whose main.ts is started" },
      out: { type: "string", help: "write OUT.json" },
    }, "study/experiments/server_abuse.ts: the server's behaviour under four abusive loads");
    const results: Record<string, unknown> = {};
    const one = { EDGEWM_WORKERS: "1", EDGEWM_DEADLINE_MS: "60000", EDGEWM_MAX_QUEUE: "64" };
    for (
      const [name, env, run] of [
        ["abandoned_plan", one, abandonedPlan],
        ["large_burst", {}, largeBurst],
        ["execute_past_horizon", {}, executePastHorizon],
        ["oversized_chunked", {}, oversizedChunked],
        ["slow_headers", {}, slowHeaders],
      ] as const
    ) {
      const s = await startServer(env, f.root);
      try {
        results[name] = await run(s);
        console.error(name, JSON.stringify(results[name]));
      } finally {
        await s.stop();
      }
    }
    if (f.out) {
      Deno.mkdirSync(f.out.split("/").slice(0, -1).join("/"), { recursive: true });
      Deno.writeTextFileSync(`${f.out}.json`, JSON.stringify({ root: f.root, results }, null, 2) + "\n");
    }
    console.log(JSON.stringify(results));
  });
}
