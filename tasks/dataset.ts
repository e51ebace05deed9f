/**
 * Dataset generation: behaviour-policy episodes of one task, written in the
 * data contract of DESIGN.md (NumPy files + meta.json).
 *
 *   deno task dataset --task wall --episodes 1000 --steps 100 --seed 0 --out data/wall
 *
 * Episode i is generated from its own stream `Rng.derive(seed, i)`, so the
 * files depend only on the settings, and an interrupted run resumes where it
 * stopped (progress.json records finished episodes).
 */
import { type FlagSpec, parseFlags, runCli } from "../lib/cli.ts";
import { UserError } from "../lib/errors.ts";
import { NpyWriter, readNpy } from "../lib/npy.ts";
import { Progress } from "../lib/progress.ts";
import { getTask } from "./registry.ts";
import { Rng } from "../lib/rng.ts";
import { type Task, TASK_NAMES } from "./task.ts";

/** Bumped when what a dataset holds changes (2: reacher's proprio reads the wrist as its angle, not on the circle). */
export const DATASET_VERSION = 2;

export class DatasetError extends UserError {
  override name = "DatasetError";
}

export interface DatasetOptions {
  task: string;
  episodes: number;
  /** Environment steps per episode (frames = steps + 1). */
  steps: number;
  seed: number;
  out: string;
  size?: number;
  /** Print progress to stderr. */
  progress?: boolean;
  /** Where episodes come from (default: the task's behaviour policy). */
  source?: EpisodeSource;
}

/** One episode's arrays, laid out as the data contract's rows. */
export interface EpisodeArrays {
  obs: Uint8Array;
  actions: Float32Array;
  proprio: Float32Array;
  states: Float32Array;
}

/**
 * A generator of dataset episodes: episode `index` of `seed` must depend on nothing else, so a
 * dataset resumes and reproduces byte for byte. `name` goes into meta.json and the resume key.
 */
export interface EpisodeSource {
  readonly name: string;
  /** Settings that change the episodes (compared on resume, written to meta.json). */
  readonly settings?: Record<string, number | string>;
  episode(task: Task, seed: number, index: number, steps: number, size: number): EpisodeArrays | Promise<EpisodeArrays>;
}

/** The task's own behaviour policy (what `deno task dataset` writes). */
export const behaviourSource: EpisodeSource = {
  name: "behaviour",
  episode: (task, seed, index, steps, size) => generateEpisode(task, seed, index, steps, size),
};

export interface DatasetMeta {
  task: string;
  version: number;
  episodes: number;
  steps: number;
  seed: number;
  image_size: number;
  frameskip: number;
  action_dim: number;
  proprio_dim: number;
  state_dim: number;
  action_low: number[];
  action_high: number[];
  action_mean: number[];
  action_std: number[];
  proprio_mean: number[];
  proprio_std: number[];
  success_rule: string;
  generator: { policy: string; episode_seed: string; source?: string; settings?: Record<string, number | string> };
  files: Record<string, { dtype: string; shape: number[] }>;
}

/** One episode of the behaviour policy: frames, actions, proprio and states. */
export function generateEpisode(task: Task, seed: number, index: number, steps: number, size: number): EpisodeArrays {
  const rng = Rng.derive(seed, index);
  const sim = task.create(task.sampleState(rng));
  const policy = task.behaviour(rng);
  const A = task.actionDim, P = task.proprioDim, S = task.stateDim, F = size * size * 3;
  const obs = new Uint8Array((steps + 1) * F);
  const actions = new Float32Array(steps * A);
  const proprio = new Float32Array((steps + 1) * P);
  const states = new Float32Array((steps + 1) * S);
  for (let t = 0; t <= steps; t++) {
    const s = sim.state();
    obs.set(task.render(s, size), t * F);
    proprio.set(task.proprio(s), t * P);
    states.set(s, t * S);
    if (t === steps) break;
    const a = policy(s);
    actions.set(a, t * A);
    sim.step(a);
  }
  return { obs, actions, proprio, states };
}

function settingsKey(o: Required<DatasetOptions>): string {
  const { name, settings } = o.source;
  return JSON.stringify({
    task: o.task,
    episodes: o.episodes,
    steps: o.steps,
    seed: o.seed,
    size: o.size,
    version: DATASET_VERSION,
    // The behaviour policy's key stays as it was, so datasets written before sources existed still resume.
    ...(name === behaviourSource.name ? {} : { source: name, settings }),
  });
}

function meanStd(data: Float32Array, dim: number): { mean: number[]; std: number[] } {
  const n = data.length / dim;
  const mean = new Array(dim).fill(0), sq = new Array(dim).fill(0);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] += data[i * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= n;
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) sq[d] += (data[i * dim + d] - mean[d]) ** 2;
  const std = sq.map((v) => Math.max(Math.sqrt(v / n), 1e-6));
  const r = (v: number) => Math.fround(v);
  return { mean: mean.map(r), std: std.map(r) };
}

/** Write (or finish writing) a dataset; returns its meta. */
export async function writeDataset(options: DatasetOptions): Promise<DatasetMeta> {
  const o = { size: 64, progress: false, source: behaviourSource, ...options } as Required<DatasetOptions>;
  const task = getTask(o.task);
  if (!Number.isInteger(o.episodes) || o.episodes < 1) {
    throw new DatasetError(`episodes must be a positive integer, got ${o.episodes}`);
  }
  if (!Number.isInteger(o.steps) || o.steps < 1) {
    throw new DatasetError(`steps must be a positive integer, got ${o.steps}`);
  }

  let stat: Deno.FileInfo | null = null;
  try {
    stat = Deno.statSync(o.out);
  } catch { /* new folder */ }
  if (stat && !stat.isDirectory) throw new DatasetError(`--out ${o.out} is a file, not a folder`);
  Deno.mkdirSync(o.out, { recursive: true });

  const key = settingsKey(o);
  const progressPath = `${o.out}/progress.json`;
  let done = 0;
  try {
    const p = JSON.parse(Deno.readTextFileSync(progressPath));
    if (p.settings !== key) {
      throw new DatasetError(
        `${o.out} holds a partial dataset with other settings (${p.settings}); choose another --out or delete it`,
      );
    }
    done = p.done;
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    if (Deno.readDirSync(o.out).next().done === false) {
      try {
        const meta = JSON.parse(Deno.readTextFileSync(`${o.out}/meta.json`)) as DatasetMeta;
        const sameSource = (meta.generator.source ?? behaviourSource.name) === o.source.name &&
          JSON.stringify(meta.generator.settings ?? {}) === JSON.stringify(o.source.settings ?? {});
        const same = sameSource && settingsKey({
              ...o,
              task: meta.task,
              episodes: meta.episodes,
              steps: meta.steps,
              seed: meta.seed,
              size: meta.image_size,
            }) === key;
        if (same && meta.version === DATASET_VERSION) return meta; // already complete
      } catch { /* not a dataset */ }
      throw new DatasetError(`${o.out} is not empty and holds no dataset with these settings; choose another --out`);
    }
  }

  const { actionDim: A, proprioDim: P, stateDim: S } = task;
  const F = [o.size, o.size, 3];
  const files = {
    obs: new NpyWriter(`${o.out}/obs.npy`, "u1", o.episodes, [o.steps + 1, ...F], done),
    actions: new NpyWriter(`${o.out}/actions.npy`, "f4", o.episodes, [o.steps, A], done),
    proprio: new NpyWriter(`${o.out}/proprio.npy`, "f4", o.episodes, [o.steps + 1, P], done),
    states: new NpyWriter(`${o.out}/states.npy`, "f4", o.episodes, [o.steps + 1, S], done),
  };
  const bar = o.progress ? new Progress(`dataset ${o.task}`, o.episodes, "episodes") : null;
  const t0 = performance.now();
  try {
    for (let i = done; i < o.episodes; i++) {
      const ep = await o.source.episode(task, o.seed, i, o.steps, o.size);
      files.obs.write(ep.obs);
      files.actions.write(ep.actions);
      files.proprio.write(ep.proprio);
      files.states.write(ep.states);
      Deno.writeTextFileSync(progressPath, JSON.stringify({ settings: key, done: i + 1 }));
      const fps = ((i + 1 - done) * (o.steps + 1)) / ((performance.now() - t0) / 1000);
      bar?.update(i + 1, `(${fps.toFixed(0)} frames/s)`);
    }
  } finally {
    for (const f of Object.values(files)) f.close();
  }

  const act = readNpy(`${o.out}/actions.npy`).data as Float32Array;
  const pro = readNpy(`${o.out}/proprio.npy`).data as Float32Array;
  const a = meanStd(act, A), p = meanStd(pro, P);
  const meta: DatasetMeta = {
    task: task.name,
    version: DATASET_VERSION,
    episodes: o.episodes,
    steps: o.steps,
    seed: o.seed,
    image_size: o.size,
    frameskip: task.frameskip,
    action_dim: A,
    proprio_dim: P,
    state_dim: S,
    action_low: [...task.actionLow],
    action_high: [...task.actionHigh],
    action_mean: a.mean,
    action_std: a.std,
    proprio_mean: p.mean,
    proprio_std: p.std,
    success_rule: task.successRule,
    generator: {
      policy: o.source === behaviourSource ? task.behaviourName : o.source.name,
      episode_seed: "Rng.derive(seed, episode)",
      ...(o.source === behaviourSource ? {} : { source: o.source.name, settings: o.source.settings }),
    },
    files: {
      obs: { dtype: "uint8", shape: [o.episodes, o.steps + 1, ...F] },
      actions: { dtype: "float32", shape: [o.episodes, o.steps, A] },
      proprio: { dtype: "float32", shape: [o.episodes, o.steps + 1, P] },
      states: { dtype: "float32", shape: [o.episodes, o.steps + 1, S] },
    },
  };
  Deno.writeTextFileSync(`${o.out}/meta.json`, JSON.stringify(meta, null, 2) + "\n");
  Deno.removeSync(progressPath);
  return meta;
}

/** The flags of every command that writes a dataset (`deno task dataset`, `deno task demos`). */
export const DATASET_FLAGS = {
  task: { type: "string", required: true, help: TASK_NAMES.join(" | ") },
  episodes: { type: "int", required: true, min: 1 },
  steps: { type: "int", default: 100, min: 1, max: 100000, help: "environment steps per episode" },
  seed: { type: "int", default: 0, min: 0, max: 2 ** 32 - 1 },
  size: { type: "int", default: 64, min: 8, max: 1024, help: "image size (px)" },
  out: { type: "string", required: true, help: "dataset folder (resumed if it holds a partial run)" },
} as const satisfies Record<string, FlagSpec>;

/** Write a dataset with progress on stderr; the last line on stdout is what was written, as JSON. */
export async function writeDatasetCli(options: DatasetOptions): Promise<void> {
  const t0 = performance.now();
  const meta = await writeDataset({ ...options, progress: true });
  console.log(JSON.stringify({
    task: meta.task,
    episodes: meta.episodes,
    frames: meta.episodes * (meta.steps + 1),
    seconds: +((performance.now() - t0) / 1000).toFixed(2),
    out: options.out,
  }));
}

if (import.meta.main) {
  await runCli(async () => {
    const f = parseFlags(
      Deno.args,
      DATASET_FLAGS,
      "deno task dataset --task T --episodes N --out DIR: behaviour-policy episodes as NumPy files + meta.json",
    );
    await writeDatasetCli(f);
  });
}
