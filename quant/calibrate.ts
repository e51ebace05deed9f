/**
 * Calibration: each quantizable layer's input activations on calibration data.
 *
 * The data are short episodes of the task's behaviour policy, simulated from
 * a seed stream of their own (never the evaluation stream) or read from a
 * dataset folder. The encoder sees their frames; the predictor sees short
 * planning-style rollouts: the encoded first frame, then its own predictions,
 * under the episode's actions. Layer inputs are read by adding them as graph
 * outputs of a throw-away copy of the model.
 */
import { type BackendName, ortFor } from "../model/ort.ts";
import type { ModelCard } from "../model/model_card.ts";
import { generateEpisode } from "../tasks/dataset.ts";
import { readNpy } from "../lib/npy.ts";
import { getTask } from "../tasks/registry.ts";
import type { TaskName } from "../tasks/task.ts";
import type { Layer } from "./layers.ts";
import type { Matrix } from "./matrix.ts";
import { encodeModel, type Model } from "../lib/onnx.ts";
import { makeValueInfo } from "../lib/onnx_graph.ts";
import { QuantError } from "./quant_error.ts";

/** Seed stream of calibration episodes ("CAL"); evaluation uses its own stream. */
export const CALIBRATION_SEED = 0x43414c;

export interface CalibrationOptions {
  /** Dataset folder to read episodes from instead of simulating them. */
  dir?: string;
  episodes?: number;
  /** Predictor steps per episode (frames are taken every frameskip env steps). */
  steps?: number;
  seed?: number;
  backend?: BackendName;
  /** wasm threads; 1 by default: calibration with 2 threads on onnxruntime-web hung now and then in Deno. */
  threads?: number;
  /** Rows kept per layer (evenly strided). */
  maxRows?: number;
}

type Feed = Record<string, { type: "uint8" | "float32"; data: Uint8Array | Float32Array; dims: number[] }>;

export interface CalibrationData {
  encoder: Feed[];
  predictor: Feed[];
  /** The latents a distance head sees in planning: encoded starts and every predicted step (tokens and global). */
  distance: Feed[];
  source: string;
}

interface Episodes {
  /** [E, R + 1, S, S, 3] frames every frameskip steps */
  frames: Uint8Array;
  /** [E, R, A] frameskip-concatenated, z-scored */
  actions: Float32Array;
  /** [E, R + 1, P] z-scored */
  proprio: Float32Array;
  E: number;
  R: number;
}

function loadEpisodes(card: ModelCard, o: CalibrationOptions): { eps: Episodes; source: string } {
  const E = o.episodes ?? 48, R = o.steps ?? 4, fs = card.frameskip, S = card.image_size;
  const F = S * S * 3, a = card.env_action_dim, A = card.action_dim, P = card.proprio_dim;
  const frames = new Uint8Array(E * (R + 1) * F), actions = new Float32Array(E * R * A);
  const proprio = new Float32Array(E * (R + 1) * P);
  let source: string;
  let episode: (e: number) => { obs: Uint8Array; actions: Float32Array; proprio: Float32Array };
  if (o.dir) {
    const obs = readNpy(`${o.dir}/obs.npy`),
      act = readNpy(`${o.dir}/actions.npy`),
      pro = readNpy(`${o.dir}/proprio.npy`);
    const [N, T1, H] = obs.shape;
    if (H !== S) throw new QuantError(`${o.dir}: frames are ${H}px, the model wants ${S}px`);
    // Calibration windows are R model steps (R x frameskip env steps) long; an episode holds as many
    // back-to-back windows as fit, so 20 episodes of 50 steps serve as well as 48 of 20.
    const L = R * fs, perEpisode = Math.floor((T1 - 1) / L), windows = N * perEpisode;
    if (windows < E) {
      throw new QuantError(
        `${o.dir}: calibration needs ${E} windows of ${L} steps (${R} model steps); the dataset has ${windows} ` +
          `(${N} episodes of ${T1 - 1} steps)`,
      );
    }
    if (act.shape[2] !== a || pro.shape[2] !== P) {
      throw new QuantError(`${o.dir}: action/proprio dims do not match the model`);
    }
    episode = (w) => {
      const e = Math.floor(w / perEpisode), t0 = (w % perEpisode) * L;
      return {
        obs: (obs.data as Uint8Array).subarray((e * T1 + t0) * F, (e * T1 + t0 + L + 1) * F),
        actions: (act.data as Float32Array).subarray((e * (T1 - 1) + t0) * a, (e * (T1 - 1) + t0 + L) * a),
        proprio: (pro.data as Float32Array).subarray((e * T1 + t0) * P, (e * T1 + t0 + L + 1) * P),
      };
    };
    source = `${o.dir} (first ${E} windows of ${L} steps)`;
  } else {
    const task = getTask(card.task as TaskName);
    const seed = o.seed ?? CALIBRATION_SEED;
    episode = (e) => generateEpisode(task, seed, e, R * fs, S);
    source = `simulated: ${E} episodes of ${R * fs} steps, seed ${seed}`;
  }
  for (let e = 0; e < E; e++) {
    const ep = episode(e);
    for (let r = 0; r <= R; r++) {
      const t = r * fs;
      frames.set(ep.obs.subarray(t * F, (t + 1) * F), (e * (R + 1) + r) * F);
      for (let p = 0; p < P; p++) {
        proprio[(e * (R + 1) + r) * P + p] = (ep.proprio[t * P + p] - card.proprio_mean[p]) / card.proprio_std[p];
      }
      if (r === R) break;
      for (let j = 0; j < A; j++) {
        actions[(e * R + r) * A + j] = (ep.actions[t * a + j] - card.action_mean[j]) / card.action_std[j];
      }
    }
  }
  return { eps: { frames, actions, proprio, E, R }, source };
}

type OrtModule = Awaited<ReturnType<typeof ortFor>>;

function toOrt(ort: OrtModule, feed: Feed) {
  return Object.fromEntries(
    Object.entries(feed).map(([k, v]) => [k, new ort.Tensor(v.type, v.data as Float32Array, v.dims)]),
  );
}

/** Encoder, predictor and distance-head inputs for calibration, produced with the fp32 graphs. */
export async function calibrationData(
  card: ModelCard,
  encoderBytes: Uint8Array,
  predictorBytes: Uint8Array,
  o: CalibrationOptions = {},
): Promise<CalibrationData> {
  const { eps, source } = loadEpisodes(card, o);
  const { E, R } = eps;
  const S = card.image_size, F = S * S * 3, N = card.tokens, D = card.latent_dim, G = card.global_dim;
  const A = card.action_dim, P = card.proprio_dim;
  const ort = await ortFor(o.backend ?? "web", o.threads ?? 1);
  const encoder: Feed[] = [];
  const frames = eps.frames, count = E * (R + 1);
  const chunk = 64;
  for (let i = 0; i < count; i += chunk) {
    const b = Math.min(chunk, count - i);
    encoder.push({ image: { type: "uint8", data: frames.subarray(i * F, (i + b) * F), dims: [b, S, S, 3] } });
  }
  // The first frame of every episode, encoded, starts its rollout.
  const enc = await ort.InferenceSession.create(encoderBytes);
  const starts = new Uint8Array(E * F);
  for (let e = 0; e < E; e++) starts.set(frames.subarray(e * (R + 1) * F, (e * (R + 1) + 1) * F), e * F);
  const z = await enc.run({ image: new ort.Tensor("uint8", starts, [E, S, S, 3]) });
  let tokens = z.tokens.data as Float32Array, global = z.global.data as Float32Array;
  let proprio: Float32Array = new Float32Array(E * P);
  for (let e = 0; e < E; e++) proprio.set(eps.proprio.subarray(e * (R + 1) * P, (e * (R + 1) + 1) * P), e * P);
  const pred = await ort.InferenceSession.create(predictorBytes);
  const predictor: Feed[] = [], distance: Feed[] = [];
  const latents = (t: Float32Array, g: Float32Array): Feed => ({
    tokens: { type: "float32", data: t, dims: [E, N, D] },
    global: { type: "float32", data: g, dims: [E, G] },
  });
  distance.push(latents(tokens, global));
  for (let r = 0; r < R; r++) {
    const action = new Float32Array(E * A);
    for (let e = 0; e < E; e++) action.set(eps.actions.subarray((e * R + r) * A, (e * R + r + 1) * A), e * A);
    const feed: Feed = {
      tokens: { type: "float32", data: tokens, dims: [E, 1, N, D] },
      global: { type: "float32", data: global, dims: [E, 1, G] },
      action: { type: "float32", data: action, dims: [E, 1, A] },
      proprio: { type: "float32", data: proprio, dims: [E, 1, P] },
    };
    predictor.push(feed);
    const out = await pred.run(toOrt(ort, feed));
    tokens = out.next_tokens.data as Float32Array;
    global = out.next_global.data as Float32Array;
    proprio = out.next_proprio.data as Float32Array;
    distance.push(latents(tokens, global));
  }
  return { encoder, predictor, distance, source };
}

/** Rows [M, K] of each layer's input over the feeds, keyed by layer name. */
export async function collectLayerInputs(
  model: Model,
  layers: Layer[],
  feeds: Feed[],
  o: { backend?: BackendName; threads?: number; maxRows?: number } = {},
): Promise<Map<string, Matrix>> {
  // A copy that differs only in its output list: the layer inputs become graph outputs.
  const graphInputs = new Set(model.graph.inputs.map((v) => v.name));
  const existing = new Set(model.graph.outputs.map((v) => v.name));
  const wanted = [...new Set(layers.map((l) => l.input))];
  const extra = wanted.filter((n) => !graphInputs.has(n) && !existing.has(n)).map((n) => makeValueInfo(n));
  const probe: Model = { ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, ...extra] } };
  const ort = await ortFor(o.backend ?? "web", o.threads ?? 1);
  const session = await ort.InferenceSession.create(encodeModel(probe));
  const parts = new Map<string, Float32Array[]>(wanted.map((n) => [n, []]));
  for (const feed of feeds) {
    // A feed may carry more than this graph reads (a wall distance head reads only "global").
    const own = Object.fromEntries(Object.entries(feed).filter(([k]) => graphInputs.has(k)));
    const out = await session.run(toOrt(ort, own));
    for (const name of wanted) {
      const v = graphInputs.has(name) ? feed[name].data : out[name].data;
      if (!(v instanceof Float32Array)) throw new QuantError(`layer input ${name} is not float32`);
      parts.get(name)!.push(v);
    }
  }
  const maxRows = o.maxRows ?? 1024;
  const result = new Map<string, Matrix>();
  for (const layer of layers) {
    const chunks = parts.get(layer.input)!, K = layer.K;
    const total = chunks.reduce((a, c) => a + c.length, 0) / K;
    const all = new Float32Array(total * K);
    let o2 = 0;
    for (const c of chunks) {
      all.set(c, o2);
      o2 += c.length;
    }
    if (total <= maxRows) {
      result.set(layer.name, { data: all, rows: total, cols: K });
      continue;
    }
    const x = new Float32Array(maxRows * K);
    for (let i = 0; i < maxRows; i++) {
      const r = Math.floor(i * total / maxRows);
      x.set(all.subarray(r * K, (r + 1) * K), i * K);
    }
    result.set(layer.name, { data: x, rows: maxRows, cols: K });
  }
  return result;
}

export type { Feed };
