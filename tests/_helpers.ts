/** Test helpers. */
import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { concatBytes, encodePng, pngChunk } from "../lib/png.ts";
import { evaluate, type Planner, type ProtocolResult } from "../tasks/evaluation.ts";
import { getTask } from "../tasks/registry.ts";

/**
 * Assert two byte or number arrays are equal, reporting the first difference.
 * (node's deepEqual builds a full diff of large typed arrays, which can
 * exhaust memory.)
 */
export function assertSameArray(a: ArrayLike<number>, b: ArrayLike<number>, what = "arrays"): void {
  assert.equal(a.length, b.length, `${what}: lengths ${a.length} and ${b.length} differ`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
      assert.fail(`${what}: first difference at index ${i}: ${a[i]} vs ${b[i]}`);
    }
  }
}

/** Toy planning problem for the sampling planners: squared distance of a [5 x 2] sequence to a fixed target. */
export const TOY_TARGET = Float32Array.from({ length: 10 }, (_, i) => Math.sin(i) * 0.8);
export function toyQuadratic(batch: Float32Array, n: number): Float64Array {
  const J = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < 10; j++) J[i] += (batch[i * 10 + j] - TOY_TARGET[j]) ** 2;
  return J;
}

/** A PNG whose 64x64 RGB header hides `rawBytes` of compressed zeros (a decompression bomb). */
export function pngBomb(rawBytes: number): Uint8Array {
  const small = encodePng(new Uint8Array(64 * 64 * 3), 64, 64);
  const idat = new Uint8Array(deflateSync(new Uint8Array(rawBytes), { level: 9 }));
  const ihdr = small.subarray(8, 8 + 25); // length, type, 13 data bytes, CRC: copied as is
  const parts = [small.subarray(0, 8), ihdr, pngChunk("IDAT", idat), pngChunk("IEND", new Uint8Array())];
  return concatBytes(parts);
}

/**
 * Wait until a server on 127.0.0.1:port answers /ready with 200 (bounded: 120 s). With `proc`, a
 * server that exits first fails at once, with what it printed.
 */
export async function waitReady(port: number, proc?: Deno.ChildProcess): Promise<void> {
  let exited: Deno.CommandStatus | null = null;
  proc?.status.then((s) => (exited = s));
  for (let i = 0; i < 600; i++) {
    if (exited) {
      const err = await new Response(proc!.stderr).text().catch(() => "");
      throw new Error(`the server exited (${(exited as Deno.CommandStatus).code}) before it was ready: ${err}`);
    }
    try {
      const r = await fetch(`http://127.0.0.1:${port}/ready`);
      await r.body?.cancel();
      if (r.ok) return;
    } catch (e) {
      // Not listening yet; but a missing permission never goes away by waiting.
      if ((e as Error).name === "NotCapable" || e instanceof Deno.errors.PermissionDenied) throw e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the server on port ${port} never became ready`);
}

/** Kill a started server if it still runs, and release its pipes (test cleanup). */
export async function stopServer(p: Deno.ChildProcess): Promise<void> {
  try {
    p.kill("SIGKILL");
  } catch { /* exited */ }
  await p.stdout.cancel().catch(() => {});
  await p.stderr.cancel().catch(() => {});
}

/**
 * Plan `episodes` wall episodes (seed 0, budget 20, execute 1) through a server on 127.0.0.1:port, as a
 * client would: raw RGB images, the returned warm start handed back. Every answer must be a 200 with
 * 5 model actions (25 env actions), from `variant` when given.
 */
export async function wallClosedLoop(port: number, episodes: number, variant?: string): Promise<ProtocolResult> {
  let seed = 0;
  const planner: Planner = {
    async plan(obs, goal, warm) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/plan`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          task: "wall",
          observation: { image: { rgb: Array.from(obs.image()) }, proprio: Array.from(obs.proprio) },
          goal: { image: { rgb: Array.from(goal.image()) }, proprio: Array.from(goal.proprio) },
          warm_start: warm ? Array.from(warm) : undefined,
          seed: seed++,
        }),
      });
      const json = await res.json();
      assert.equal(res.status, 200, JSON.stringify(json));
      if (variant) assert.equal(json.variant, variant);
      assert.equal(json.actions.length, 5);
      assert.equal(json.env_actions.length, 25);
      return { actions: Float32Array.from(json.actions.flat()), warm: Float32Array.from(json.warm_start.actions) };
    },
  };
  return await evaluate(getTask("wall"), planner, { episodes, seed: 0, budget: 20, execute: 1 });
}
