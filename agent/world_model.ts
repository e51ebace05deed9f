/**
 * The world model at planning time: an encoder and a predictor ONNX graph on
 * onnxruntime (web/wasm by default, node as the fast opt-in backend).
 *
 * Latent of a frame = N patch tokens (D wide) + a global embedding (G wide).
 * A rollout starts every candidate from the same observed latent (computed
 * once, not per sample) and applies the predictor autoregressively, feeding
 * back only the newest num_hist frames.
 */
import { readBytes } from "../lib/platform.ts";
import { loadModelCard, type ModelCard, ModelLoadError } from "../model/model_card.ts";
import {
  type BackendName,
  DEFAULT_LOW_BIT,
  encoderGraphFor,
  graphFor,
  type LowBitMode,
  ortFor,
  type OrtModule,
  type Session,
} from "../model/ort.ts";

import { LruCache } from "./latent_cache.ts";

export type { BackendName } from "../model/ort.ts";

/** Goal latents a loaded model keeps (a latent is ~2 KB: 64 concurrent episodes' goals in ~130 KB). */
export const GOAL_CACHE_SIZE = 64;

export interface Latent {
  /** [B, N, D] */
  tokens: Float32Array;
  /** [B, G] */
  global: Float32Array;
  batch: number;
}

export interface WorldModelOptions {
  backend?: BackendName;
  /** Threads for the wasm backend; default 1, as the server runs (onnxruntime-web with 2 can hang under load). */
  threads?: number;
  /** How low-bit weights run (model/ort.ts); default: the backend's (`DEFAULT_LOW_BIT`). */
  lowBit?: LowBitMode;
  /** Which listed files are hash-checked: all (default), or the graphs only (a page that fetched just those). */
  checkFiles?: "all" | "graphs";
}

// The card's metric as one row-major array, made once per card (the cost runs for every chunk of rollouts).
const flatMetrics = new WeakMap<number[][], Float64Array>();
function flatMetric(m: number[][]): Float64Array {
  let f = flatMetrics.get(m);
  if (!f) flatMetrics.set(m, f = Float64Array.from(m.flat()));
  return f;
}

export class WorldModel {
  private constructor(
    readonly card: ModelCard,
    readonly dir: string,
    private readonly ort: OrtModule,
    private readonly encoder: Session,
    private readonly predictor: Session,
    private readonly distance: Session | null,
    private readonly policy: Session | null,
  ) {}

  /** phi of the goal latents seen so far (a plan scores thousands of rollouts against one goal). */
  private goalPhi = new WeakMap<Latent, Float32Array>();

  /** Goal latents by a key of their image (agent/http/plan_job.ts): one encode per goal, not per replan. */
  readonly goals = new LruCache<Latent>(GOAL_CACHE_SIZE);

  /** Load and verify a model directory. Hash mismatches and unreadable graphs throw `ModelLoadError`. */
  static async load(dir: string, options: WorldModelOptions = {}): Promise<WorldModel> {
    const card = loadModelCard(dir, { files: options.checkFiles });
    const backend = options.backend ?? "web", lowBit = options.lowBit ?? DEFAULT_LOW_BIT[backend];
    const ort = await ortFor(backend, options.threads ?? 1);
    const open = async (name: string, threads = options.threads ?? 1) => {
      try {
        // onnxruntime-node uses every core unless told; the wasm backend takes its count from ortFor.
        const opts = backend === "node" ? { intraOpNumThreads: threads } : {};
        const bytes = graphFor(readBytes(`${dir}/${name}`), lowBit);
        const graph = name === "encoder.onnx" ? encoderGraphFor(bytes, card.image_size, backend, threads) : bytes;
        return await ort.InferenceSession.create(graph, opts);
      } catch (e) {
        throw new ModelLoadError(`${dir}/${name}: onnxruntime cannot load it (${(e as Error).message})`);
      }
    };
    const encoder = await open("encoder.onnx"), predictor = await open("predictor.onnx");
    for (const n of ["image"]) {
      if (!encoder.inputNames.includes(n)) throw new ModelLoadError(`${dir}/encoder.onnx has no input "${n}"`);
    }
    for (const n of ["tokens", "global", "action", "proprio"]) {
      if (!predictor.inputNames.includes(n)) throw new ModelLoadError(`${dir}/predictor.onnx has no input "${n}"`);
    }
    let distance: Session | null = null;
    if (card.objective.distance > 0) {
      // One thread: the head is a few small layers, and a second spinning thread pool would slow the predictor's.
      distance = await open("distance.onnx", 1);
      const extra = distance.inputNames.filter((n) => n !== "tokens" && n !== "global");
      if (extra.length || !distance.inputNames.length) {
        throw new ModelLoadError(
          `${dir}/distance.onnx must take "tokens" and/or "global", not [${distance.inputNames}]`,
        );
      }
      if (!distance.outputNames.includes("phi")) throw new ModelLoadError(`${dir}/distance.onnx has no output "phi"`);
    }
    let policy: Session | null = null;
    if (card.files["policy.onnx"]) {
      policy = await open("policy.onnx", 1); // one call per replan, a few small layers
      for (const n of ["global", "proprio", "goal_global"]) {
        if (!policy.inputNames.includes(n)) throw new ModelLoadError(`${dir}/policy.onnx has no input "${n}"`);
      }
      if (!policy.outputNames.includes("actions")) {
        throw new ModelLoadError(`${dir}/policy.onnx has no output "actions"`);
      }
    }
    return new WorldModel(card, dir, ort, encoder, predictor, distance, policy);
  }

  /** Encode B images, uint8 [B, H, W, 3] concatenated. */
  async encode(images: Uint8Array, batch: number): Promise<Latent> {
    const S = this.card.image_size;
    const out = await this.encoder.run({ image: new this.ort.Tensor("uint8", images, [batch, S, S, 3]) });
    return { tokens: out.tokens.data as Float32Array, global: out.global.data as Float32Array, batch };
  }

  /** Encode an observation and a goal image (uint8 [H, W, 3] each) in one batch of two. */
  async encodePair(obs: Uint8Array, goal: Uint8Array): Promise<{ start: Latent; goal: Latent }> {
    const F = this.card.image_size ** 2 * 3;
    if (obs.length !== F || goal.length !== F) {
      throw new RangeError(`images must be ${this.card.image_size}x${this.card.image_size} RGB (${F} bytes)`);
    }
    const both = new Uint8Array(2 * F);
    both.set(obs);
    both.set(goal, F);
    const z = await this.encode(both, 2);
    const ND = this.card.tokens * this.card.latent_dim, G = this.card.global_dim;
    return {
      start: { tokens: z.tokens.subarray(0, ND), global: z.global.subarray(0, G), batch: 1 },
      goal: { tokens: z.tokens.subarray(ND), global: z.global.subarray(G), batch: 1 },
    };
  }

  /**
   * Roll S candidate action sequences out from one observed frame.
   * `start` has batch 1; `proprio` is z-scored [P]; `actions` z-scored [S, H, A].
   * Returns the predicted latent and proprio after each step: steps[h] for h = 1..H. `guard` runs before
   * every predictor call and throws to stop the rollout (a cancelled plan stops within one call).
   */
  async rollout(
    start: Latent,
    proprio: Float32Array,
    actions: Float32Array,
    samples: number,
    horizon: number,
    guard: () => void | Promise<void> = () => {},
  ): Promise<{ tokens: Float32Array; global: Float32Array; proprio: Float32Array }[]> {
    const { tokens: N, latent_dim: D, global_dim: G, action_dim: A, proprio_dim: P, num_hist } = this.card;
    const ND = N * D;
    // History window, oldest first: each entry holds all S samples.
    const hist: { tokens: Float32Array; global: Float32Array; proprio: Float32Array }[] = [{
      tokens: _repeat(start.tokens.subarray(0, ND), samples),
      global: _repeat(start.global.subarray(0, G), samples),
      proprio: _repeat(proprio, samples),
    }];
    const steps = [];
    for (let h = 0; h < horizon; h++) {
      if (h > 0) await guard();
      const win = hist.slice(-num_hist), w = win.length;
      const tok = new Float32Array(samples * w * ND), glo = new Float32Array(samples * w * G);
      const pro = new Float32Array(samples * w * P), act = new Float32Array(samples * w * A);
      for (let s = 0; s < samples; s++) {
        for (let f = 0; f < w; f++) {
          tok.set(win[f].tokens.subarray(s * ND, (s + 1) * ND), (s * w + f) * ND);
          glo.set(win[f].global.subarray(s * G, (s + 1) * G), (s * w + f) * G);
          pro.set(win[f].proprio.subarray(s * P, (s + 1) * P), (s * w + f) * P);
          const hh = h - (w - 1 - f); // the action taken after frame f of the window
          act.set(actions.subarray((s * horizon + hh) * A, (s * horizon + hh + 1) * A), (s * w + f) * A);
        }
      }
      const T = this.ort.Tensor;
      const out = await this.predictor.run({
        tokens: new T("float32", tok, [samples, w, N, D]),
        global: new T("float32", glo, [samples, w, G]),
        action: new T("float32", act, [samples, w, A]),
        proprio: new T("float32", pro, [samples, w, P]),
      });
      // Keep the prediction for the newest frame of each sample.
      const nt = out.next_tokens.data as Float32Array, ng = out.next_global.data as Float32Array;
      const np = out.next_proprio.data as Float32Array;
      const next = {
        tokens: new Float32Array(samples * ND),
        global: new Float32Array(samples * G),
        proprio: new Float32Array(samples * P),
      };
      for (let s = 0; s < samples; s++) {
        const f = s * w + w - 1;
        next.tokens.set(nt.subarray(f * ND, (f + 1) * ND), s * ND);
        next.global.set(ng.subarray(f * G, (f + 1) * G), s * G);
        next.proprio.set(np.subarray(f * P, (f + 1) * P), s * P);
      }
      hist.push(next);
      steps.push(next);
    }
    return steps;
  }

  /**
   * Planning cost of predicted frames against the goal (batch 1):
   * w_patch * MSE(tokens) + w_global * ||M (global - goal)||_2 + w_proprio * MSE(proprio), M the card's
   * `global_metric` (identity where it has none).
   */
  cost(
    pred: { tokens: Float32Array; global: Float32Array; proprio: Float32Array },
    goal: Latent,
    goalProprio: Float32Array,
    samples: number,
  ): Float64Array {
    const { tokens: N, latent_dim: D, global_dim: G, proprio_dim: P, objective: w } = this.card;
    const ND = N * D, J = new Float64Array(samples), M = w.global_metric && flatMetric(w.global_metric);
    const diff = new Float64Array(G);
    for (let s = 0; s < samples; s++) {
      let patch = 0, glob = 0, prop = 0;
      if (w.patch) { for (let i = 0; i < ND; i++) patch += (pred.tokens[s * ND + i] - goal.tokens[i]) ** 2; }
      if (w.global) {
        for (let i = 0; i < G; i++) diff[i] = pred.global[s * G + i] - goal.global[i];
        if (!M) { for (let k = 0; k < G; k++) glob += diff[k] * diff[k]; }
        else {
          for (let k = 0; k < G; k++) {
            let v = 0;
            for (let i = 0; i < G; i++) v += M[k * G + i] * diff[i];
            glob += v * v;
          }
        }
      }
      if (w.proprio) { for (let i = 0; i < P; i++) prop += (pred.proprio[s * P + i] - goalProprio[i]) ** 2; }
      J[s] = w.patch * patch / ND + w.global * Math.sqrt(glob) + w.proprio * prop / P;
    }
    return J;
  }

  /** The distance head's embedding of B latents, [B, K] (needs objective.distance > 0). */
  async phi(z: { tokens: Float32Array; global: Float32Array }, batch: number): Promise<Float32Array> {
    if (!this.distance) throw new Error(`${this.dir}: the model has no distance head`);
    const { tokens: N, latent_dim: D, global_dim: G } = this.card, T = this.ort.Tensor;
    // A head may read the global embedding alone: feed only the inputs the graph declares.
    const feeds: Record<string, InstanceType<typeof T>> = {};
    if (this.distance.inputNames.includes("tokens")) {
      feeds.tokens = new T("float32", z.tokens.subarray(0, batch * N * D), [batch, N, D]);
    }
    if (this.distance.inputNames.includes("global")) {
      feeds.global = new T("float32", z.global.subarray(0, batch * G), [batch, G]);
    }
    const out = await this.distance.run(feeds);
    return out.phi.data as Float32Array;
  }

  /**
   * The full planning objective of predicted frames: `cost` plus, where the card weighs it,
   * w_distance * ||phi(pred) - phi(goal)||_2 through the distance head.
   */
  async objective(
    pred: { tokens: Float32Array; global: Float32Array; proprio: Float32Array },
    goal: Latent,
    goalProprio: Float32Array,
    samples: number,
  ): Promise<Float64Array> {
    const J = this.cost(pred, goal, goalProprio, samples), w = this.card.objective.distance;
    if (!w) return J;
    let g = this.goalPhi.get(goal);
    if (!g) this.goalPhi.set(goal, g = await this.phi(goal, 1));
    const p = await this.phi(pred, samples), K = g.length;
    for (let s = 0; s < samples; s++) {
      let d = 0;
      for (let k = 0; k < K; k++) d += (p[s * K + k] - g[k]) ** 2;
      J[s] += w * Math.sqrt(d);
    }
    return J;
  }

  /** Whether the model carries a proposal policy (policy.onnx), which planner option `proposal: "policy"` needs. */
  get hasPolicy(): boolean {
    return this.policy !== null;
  }

  /**
   * The proposal policy's plan from an observed frame (`proprio` z-scored) to a goal: z-scored model actions
   * [Hp * A], Hp the horizon the policy was trained for (train/proposal_policy.py).
   */
  async propose(start: Latent, proprio: Float32Array, goal: Latent): Promise<Float32Array> {
    if (!this.policy) throw new Error(`${this.dir}: the model has no proposal policy (policy.onnx)`);
    const { global_dim: G, proprio_dim: P } = this.card, T = this.ort.Tensor;
    const out = await this.policy.run({
      global: new T("float32", start.global.slice(0, G), [1, G]),
      proprio: new T("float32", proprio.slice(0, P), [1, P]),
      goal_global: new T("float32", goal.global.slice(0, G), [1, G]),
    });
    return out.actions.data as Float32Array;
  }

  /** z-score a proprio vector with the model's statistics. */
  normProprio(p: ArrayLike<number>): Float32Array {
    const { proprio_mean: m, proprio_std: s } = this.card;
    return Float32Array.from({ length: m.length }, (_, i) => (p[i] - m[i]) / s[i]);
  }
}

/** n copies of `x` back to back. */
export function _repeat(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(x.length * n);
  for (let i = 0; i < n; i++) out.set(x, i * x.length);
  return out;
}
