/**
 * Open-loop latent error of a quantized model against its fp32 model, on held-out behaviour
 * episodes from a seed stream of their own (never calibration's or evaluation's).
 */
import type { WorldModel } from "../../agent/world_model.ts";
import { generateEpisode } from "../../tasks/dataset.ts";
import { getTask } from "../../tasks/registry.ts";
import { relErr } from "../../lib/stats.ts";

/** Held-out frames for latent error come from a seed stream of their own ("HLD"). */
export const HELDOUT_SEED = 0x484c44;

/**
 * Open-loop latent error of `m` against `ref` on held-out behaviour episodes: the encoder's tokens,
 * and the predicted tokens after 1 and 5 steps of the episode's own actions from the same frame.
 */
export async function latentError(ref: WorldModel, m: WorldModel, windows = 16) {
  const card = ref.card, task = getTask(card.task), fs = card.frameskip, A = task.actionDim, S = card.image_size;
  const F = S * S * 3, H = 5, P = card.proprio_dim;
  let enc = 0, s1 = 0, s5 = 0;
  for (let w = 0; w < windows; w++) {
    const ep = generateEpisode(task, HELDOUT_SEED, w, H * fs, S);
    const frame = ep.obs.subarray(0, F);
    const [za, zb] = [await m.encode(frame, 1), await ref.encode(frame, 1)];
    enc += relErr(za.tokens, zb.tokens);
    const act = new Float32Array(H * card.action_dim);
    for (let h = 0; h < H; h++) {
      for (let f = 0; f < fs; f++) {
        for (let a = 0; a < A; a++) {
          const j = f * A + a;
          act[h * card.action_dim + j] = (ep.actions[(h * fs + f) * A + a] - card.action_mean[j]) / card.action_std[j];
        }
      }
    }
    const p0 = ref.normProprio(ep.proprio.subarray(0, P));
    // Both roll out from the fp32 latent, so the error is the predictor's (the encoder's is above).
    const ra = await m.rollout(zb, p0, act, 1, H), rb = await ref.rollout(zb, p0, act, 1, H);
    s1 += relErr(ra[0].tokens, rb[0].tokens);
    s5 += relErr(ra[H - 1].tokens, rb[H - 1].tokens);
  }
  const r = (x: number) => +(x / windows).toExponential(3);
  return { encoder: r(enc), step1: r(s1), step5: r(s5) };
}
