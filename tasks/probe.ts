/**
 * Probe sets for judging a latent space as a planning cost: held-out frame
 * pairs with their true distance, and straight-line paths of frames that end
 * at a goal. Training uses them to measure, per encoder, how well latent
 * distance ranks true distance and how often it falls along a path to a goal.
 *
 *   deno task probe --task wall --pairs 2000 --paths 200 --seed 1 --out data/probe_wall
 *
 * Files: pairs_a.npy, pairs_b.npy uint8 [M, H, W, 3]; pairs_dist.npy float32 [M]
 * (the task's true distance, in units of its success threshold);
 * paths.npy uint8 [K, L, H, W, 3] (index L-1 is the goal); paths_dist.npy
 * float32 [K, L]; meta.json.
 */
import { parseFlags, runCli } from "../lib/cli.ts";
import { writeNpy } from "../lib/npy.ts";
import { getTask } from "./registry.ts";
import { Rng } from "../lib/rng.ts";
import { type Task, TASK_NAMES, wrapAngle } from "./task.ts";

const PROBE_STREAM = 0x50524f; // "PRO": apart from datasets and evaluation

/** States evenly spaced on the straight line a -> b (angles the short way round). */
export function straightPath(task: Task, a: Float64Array, b: Float64Array, n: number): Float64Array[] {
  const angles = task.angleDims;
  return Array.from({ length: n }, (_, i) => {
    const t = i / (n - 1);
    return a.map((v, d) => angles.includes(d) ? wrapAngle(v + t * wrapAngle(b[d] - v)) : v + t * (b[d] - v));
  });
}

function feasible(task: Task, s: Float64Array): boolean {
  try {
    task.create(s);
    return true;
  } catch {
    return false;
  }
}

export interface ProbeOptions {
  task: string;
  pairs: number;
  paths: number;
  length: number;
  seed: number;
  size: number;
  out: string;
}

export function writeProbe(o: ProbeOptions): void {
  const task = getTask(o.task), rng = Rng.derive(o.seed, PROBE_STREAM);
  const F = o.size * o.size * 3;
  Deno.mkdirSync(o.out, { recursive: true });
  const A = new Uint8Array(o.pairs * F), B = new Uint8Array(o.pairs * F), dist = new Float32Array(o.pairs);
  for (let i = 0; i < o.pairs; i++) {
    const a = task.sampleState(rng), b = task.sampleState(rng);
    A.set(task.render(a, o.size), i * F);
    B.set(task.render(b, o.size), i * F);
    dist[i] = task.distance(a, b);
  }
  const P = new Uint8Array(o.paths * o.length * F), pd = new Float32Array(o.paths * o.length);
  for (let k = 0; k < o.paths;) {
    const a = task.sampleState(rng), b = task.sampleState(rng);
    const path = straightPath(task, a, b, o.length);
    // Keep paths that stay feasible and are long enough to matter.
    if (task.distance(a, b) < 2 || !path.every((s) => feasible(task, s))) continue;
    if (task.clearLine && !task.clearLine(a, b)) continue;
    path.forEach((s, j) => {
      P.set(task.render(s, o.size), (k * o.length + j) * F);
      pd[k * o.length + j] = task.distance(s, b);
    });
    k++;
  }
  const S = [o.size, o.size, 3];
  writeNpy(`${o.out}/pairs_a.npy`, "u1", [o.pairs, ...S], A);
  writeNpy(`${o.out}/pairs_b.npy`, "u1", [o.pairs, ...S], B);
  writeNpy(`${o.out}/pairs_dist.npy`, "f4", [o.pairs], dist);
  writeNpy(`${o.out}/paths.npy`, "u1", [o.paths, o.length, ...S], P);
  writeNpy(`${o.out}/paths_dist.npy`, "f4", [o.paths, o.length], pd);
  Deno.writeTextFileSync(
    `${o.out}/meta.json`,
    JSON.stringify({ ...o, distance_unit: "task success threshold", success_rule: task.successRule }, null, 2) + "\n",
  );
}

if (import.meta.main) {
  await runCli(() => {
    const f = parseFlags(Deno.args, {
      task: { type: "string", required: true, help: TASK_NAMES.join(" | ") },
      pairs: { type: "int", default: 2000, min: 1, help: "frame pairs with their true distance" },
      paths: { type: "int", default: 200, min: 1, help: "straight paths of frames ending at a goal" },
      length: { type: "int", default: 16, min: 2, max: 1000, help: "frames per path" },
      seed: { type: "int", default: 1, min: 0, max: 2 ** 32 - 1 },
      size: { type: "int", default: 64, min: 8, max: 1024 },
      out: { type: "string", required: true },
    }, "deno task probe --task T --out DIR: probe sets for judging a latent space as a planning cost");
    writeProbe(f);
    console.log(JSON.stringify({ task: f.task, pairs: f.pairs, paths: f.paths, out: f.out }));
  });
}
