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
import { intFlag, parseFlags, runCli, stringFlag } from "./cli.ts";
import { writeNpy } from "./npy.ts";
import { getTask } from "./registry.ts";
import { Rng } from "./rng.ts";
import { type Task, wrapAngle } from "./task.ts";

const PROBE_STREAM = 0x50524f; // "PRO": apart from datasets and evaluation
const ANGLE_DIMS: Record<string, number[]> = { reacher: [0], pusht: [4] };

/** States evenly spaced on the straight line a -> b (angles the short way round). */
export function straightPath(task: Task, a: Float64Array, b: Float64Array, n: number): Float64Array[] {
  const angles = ANGLE_DIMS[task.name] ?? [];
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
    if (task.name === "wall" && Math.abs(task.distance(a, b) - Math.hypot(b[0] - a[0], b[1] - a[1]) / 4.5) > 1e-6) {
      continue;
    }
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
      task: { type: "string" },
      pairs: { type: "string", default: "2000" },
      paths: { type: "string", default: "200" },
      length: { type: "string", default: "16" },
      seed: { type: "string", default: "1" },
      size: { type: "string", default: "64" },
      out: { type: "string" },
    });
    const o: ProbeOptions = {
      task: stringFlag(f.task, "task"),
      pairs: intFlag(f.pairs, "pairs", 1),
      paths: intFlag(f.paths, "paths", 1),
      length: intFlag(f.length, "length", 2, 1000),
      seed: intFlag(f.seed, "seed", 0, 2 ** 32 - 1),
      size: intFlag(f.size, "size", 8, 1024),
      out: stringFlag(f.out, "out"),
    };
    writeProbe(o);
    console.log(JSON.stringify({ task: o.task, pairs: o.pairs, paths: o.paths, out: o.out }));
  });
}
