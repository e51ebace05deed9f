// The server as a deployed process (`main.ts`): environment validation, planning workers that keep
// the HTTP thread answering, a streamed body limit, and a graceful drain on SIGTERM.
import assert from "node:assert/strict";
import { stopServer, waitReady } from "./_helpers.ts";
import { encodeBase64 } from "../lib/base64.ts";
import { encodePng } from "../lib/png.ts";
import { getTask } from "../tasks/registry.ts";

const PERMS = ["--allow-read", "--allow-net", "--allow-env"];

function start(env: Record<string, string>) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMS, "main.ts"],
    env: { EDGEWM_MODELS: "models/wall/fp32", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

const wall = getTask("wall");
const png = (s: number[]) => encodeBase64(encodePng(wall.render(Float64Array.from(s), 64), 64, 64));
const plan = (planner: Record<string, unknown>) =>
  JSON.stringify({
    task: "wall",
    variant: "fp32",
    observation: { image: { png: png([10, 20]) }, proprio: [10, 20] },
    goal: { image: { png: png([50, 40]) }, proprio: [50, 40] },
    planner,
  });

Deno.test("bad environment: one line naming the variable, exit 2, before listening", async () => {
  for (
    const [k, v, msg] of [
      ["EDGEWM_MAX_CONCURRENT", "0", /EDGEWM_MAX_CONCURRENT must be an integer in \[1, 64\], got "0"/],
      ["EDGEWM_DEADLINE_MS", "abc", /EDGEWM_DEADLINE_MS must be an integer/],
      ["EDGEWM_BACKEND", "gpu", /EDGEWM_BACKEND/],
      ["PORT", "-1", /PORT must be an integer/],
      ["EDGEWM_MODELS", "models/nope", /models\/nope: cannot read model.json/],
    ] as const
  ) {
    const out = await start({ [k]: v }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, `${k}=${v}: ${err}`);
    assert.match(err, msg);
    assert.equal(err.trim().split("\n").length, 1, "one line");
  }
});

Deno.test("a busy port is one line and exit 2; a public bind without a key warns at start", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const out = await start({ PORT: String(port), EDGEWM_WORKERS: "0" }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, err);
    assert.match(err, new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`));
    assert.equal(err.trim().split("\n").length, 1, "one line");
  } finally {
    listener.close();
  }
  // 0.0.0.0 with no key: the server starts, and says at once that anyone who reaches it can plan.
  const child = start({ HOST: "0.0.0.0", PORT: String(port), EDGEWM_WORKERS: "0" });
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  assert.match(first.value ?? "", /^warning: listening on 0\.0\.0\.0 without EDGEWM_API_KEY/);
  child.kill("SIGTERM");
  await child.status;
  // stderr is locked by the pipe above: cancelling the reader cancels the whole chain down to it.
  await reader.cancel();
  await child.stdout.cancel();
});

Deno.test("planning workers keep /health answering under load; overload is shed with 503; SIGTERM drains and exits 0", async () => {
  const port = 18000 + Math.floor(Math.random() * 1000);
  // Drain time and deadline far beyond two heavy plans on a loaded machine (a CI run beside other jobs once took
  // over 20 s for them): the drain ends as soon as the plans are answered, so a fast machine waits no longer.
  const p = start({
    PORT: String(port),
    EDGEWM_WORKERS: "1",
    EDGEWM_MAX_QUEUE: "1",
    EDGEWM_DRAIN_MS: "300000",
    EDGEWM_DEADLINE_MS: "300000",
  });
  try {
    await waitReady(port, p);
    const heavy = () =>
      fetch(`http://127.0.0.1:${port}/v1/plan`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: plan({ samples: 1000, topk: 10, iterations: 6 }),
      });
    const inflight = [heavy(), heavy(), heavy(), heavy()];
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    const h = await fetch(`http://127.0.0.1:${port}/health`);
    const healthMs = performance.now() - t0;
    assert.equal(h.status, 200);
    await h.body?.cancel();
    // Not a timing assertion on the plan: the health check is answered while a plan runs, i.e. long
    // before the heavy plans (seconds) could have finished.
    const statuses: number[] = [];
    const done = Promise.all(inflight.map(async (r) => {
      const res = await r;
      statuses.push(res.status);
      if (res.status === 503) assert.equal(res.headers.get("retry-after"), "1");
      await res.body?.cancel();
    }));
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /edgewm_plans_running 1/);
    p.kill("SIGTERM"); // while plans are in flight: they are answered, then it exits 0
    await done;
    assert.ok(statuses.includes(200), `statuses ${statuses}`);
    assert.ok(statuses.includes(503), `statuses ${statuses}: beyond one running + one queued, 503`);
    assert.ok(statuses.every((s) => s === 200 || s === 503), `statuses ${statuses}`);
    const st = await p.status;
    assert.equal(st.code, 0);
    console.log(JSON.stringify({ health_ms_under_load: +healthMs.toFixed(1), statuses }));
  } finally {
    await stopServer(p);
  }
});

Deno.test("an oversized chunked body is cut off while streaming (413) without the server reading it all", async () => {
  const port = 19000 + Math.floor(Math.random() * 1000);
  const p = start({ PORT: String(port), EDGEWM_WORKERS: "1" });
  try {
    await waitReady(port, p);
    // The server's resident memory, from its own /metrics (reading /proc would need --allow-all).
    const rss = async () => {
      const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/process_resident_memory_bytes (\d+)/.exec(t)![1]) / 2 ** 20;
    };
    const before = await rss();
    const chunk = new Uint8Array(1 << 20).fill(32);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent >= 200) return ctl.close(); // up to 200 MB, never Content-Length
        sent++;
        ctl.enqueue(chunk);
      },
    });
    const res = await fetch(`http://127.0.0.1:${port}/v1/plan`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    }).catch((e) => e as Error);
    if (res instanceof Response) {
      assert.equal(res.status, 413);
      assert.equal((await res.json()).field, "body");
    }
    assert.ok(sent < 200, `the server stopped reading after ${sent} MB`);
    const grew = (await rss()) - before;
    assert.ok(grew < 20, `the server's RSS grew ${grew.toFixed(1)} MB`);
    const h = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(h.status, 200);
    await h.body?.cancel();
  } finally {
    p.kill("SIGKILL");
    await p.status;
    await p.stdout.cancel().catch(() => {});
    await p.stderr.cancel().catch(() => {});
  }
});

Deno.test("`deno task serve` may read every variable the server reads, and no other", async () => {
  const { ENV_NAMES } = await import("../agent/http/config.ts");
  const serve = JSON.parse(Deno.readTextFileSync("deno.json")).tasks.serve as string;
  const allowed = /--allow-env=(\S+)/.exec(serve)![1].split(",").sort();
  assert.deepEqual(allowed, [...ENV_NAMES].sort());
});
