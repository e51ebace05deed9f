/**
 * `deno task study choose --model models/T/fp32 --data DIR`: a low-bit default for a task with no
 * simulator (a user's own robot), chosen by open-loop latent error on held-out trajectories of its
 * dataset instead of closed-loop success. Each candidate (deployable whole-model settings) is quantized,
 * calibrated on the dataset's first episodes, and rolled out beside fp32 from the same frames with the
 * same recorded actions on its last episodes. The rule: the candidate with the fewest bytes whose
 * predicted latents after 5 steps differ from fp32's by at most `--max-ratio` of fp32's own error
 * against the true latents there: quantization may add a fraction of the error the model already makes.
 * The choice and its evidence go into the chosen card (`selection`, which says it is by latent error).
 */
import { parseFlags } from "../../lib/cli.ts";
import { readNpy } from "../../lib/npy.ts";
import { graphFiles, loadModelCard, type ModelCard } from "../../model/model_card.ts";
import { WorldModel } from "../../agent/world_model.ts";
import { type QuantizeConfig, settingTag } from "../../quant/config.ts";
import { quantizeModelDir } from "../../quant/quantize_model.ts";
import { relErr } from "../../lib/stats.ts";

/** The candidates: the study's whole-model settings that deploy as real low-bit graphs. */
export const OWN_CANDIDATES: { id: string; config: Omit<QuantizeConfig, "calib"> }[] = [
  ...[[4, 16], [4, 32], [4, 64], [8, undefined]].map(([bits, group]) => {
    const weight = {
      bits: bits!,
      symmetric: false,
      ...(group ? { granularity: "group" as const, group } : { granularity: "channel" as const }),
    };
    return {
      id: `gptq-${settingTag(weight)}-whole`,
      config: {
        method: "gptq" as const,
        weight,
        modules: ["encoder" as const, "predictor" as const],
        format: "deploy" as const,
        layers: "whole" as const,
      },
    };
  }),
];

export interface HeldOut {
  /** [W, S, S, 3] start frames, [W, 5, A] z-scored model actions, [W, P] z-scored proprio, [W, S, S, 3] frames 5 steps on */
  frames: Uint8Array;
  actions: Float32Array;
  proprio: Float32Array;
  later: Uint8Array;
  windows: number;
}

/** Windows of 5 model steps from the last `episodes` episodes of a dataset (one per episode, from its start). */
export function heldOutWindows(card: ModelCard, dir: string, episodes: number): HeldOut {
  const obs = readNpy(`${dir}/obs.npy`), act = readNpy(`${dir}/actions.npy`), pro = readNpy(`${dir}/proprio.npy`);
  const [N, T1, S] = obs.shape, H = 5, fs = card.frameskip, a = card.env_action_dim, A = card.action_dim;
  const P = card.proprio_dim, F = S * S * 3;
  if (S !== card.image_size) throw new Error(`${dir}: frames are ${S}px, the model wants ${card.image_size}px`);
  if (T1 - 1 < H * fs) throw new Error(`${dir}: episodes of ${T1 - 1} steps are shorter than 5 model steps`);
  const W = Math.min(episodes, N);
  const out: HeldOut = {
    frames: new Uint8Array(W * F),
    actions: new Float32Array(W * H * A),
    proprio: new Float32Array(W * P),
    later: new Uint8Array(W * F),
    windows: W,
  };
  const o = obs.data as Uint8Array, ac = act.data as Float32Array, pr = pro.data as Float32Array;
  for (let w = 0; w < W; w++) {
    const e = N - W + w;
    out.frames.set(o.subarray(e * T1 * F, (e * T1 + 1) * F), w * F);
    out.later.set(o.subarray((e * T1 + H * fs) * F, (e * T1 + H * fs + 1) * F), w * F);
    for (let p = 0; p < P; p++) {
      out.proprio[w * P + p] = (pr[e * T1 * P + p] - card.proprio_mean[p]) / card.proprio_std[p];
    }
    for (let j = 0; j < H * A; j++) {
      const d = j % A;
      out.actions[w * H * A + j] = (ac[(e * (T1 - 1)) * a + j] - card.action_mean[d]) / card.action_std[d];
    }
  }
  return out;
}

/**
 * Step-5 latent errors on held-out windows: `own`, fp32's prediction against the encoded true frame;
 * `added`, the variant's prediction against fp32's (both rolled out from fp32's latent of the start).
 */
export async function latentErrors(ref: WorldModel, m: WorldModel, h: HeldOut) {
  const c = ref.card, S = c.image_size, F = S * S * 3, H = 5, A = c.action_dim, P = c.proprio_dim;
  let own = 0, added = 0;
  for (let w = 0; w < h.windows; w++) {
    const z = await ref.encode(h.frames.subarray(w * F, (w + 1) * F), 1);
    const truth = await ref.encode(h.later.subarray(w * F, (w + 1) * F), 1);
    const act = h.actions.subarray(w * H * A, (w + 1) * H * A), p0 = h.proprio.subarray(w * P, (w + 1) * P);
    const [rr, rm] = [await ref.rollout(z, p0, act, 1, H), await m.rollout(z, p0, act, 1, H)];
    own += relErr(rr[H - 1].tokens, truth.tokens);
    added += relErr(rm[H - 1].tokens, rr[H - 1].tokens);
  }
  return { own: own / h.windows, added: added / h.windows };
}

export async function chooseByLatent(args: string[]): Promise<void> {
  const f = parseFlags(args, {
    model: { type: "string", required: true, help: "the fp32 model folder" },
    data: { type: "string", required: true, help: "its dataset (data contract): calibration and held-out windows" },
    holdout: { type: "int", default: 20, min: 1, help: "last episodes the latent error is measured on" },
    "calib-episodes": { type: "int", default: 32, min: 1, help: "calibration windows from the first episodes" },
    "max-ratio": { type: "number", default: 0.25, min: 0, max: 10, help: "added error / fp32's own error allowed" },
    candidates: { type: "string", help: `comma-separated (default: ${OWN_CANDIDATES.map((c) => c.id).join(",")})` },
  }, "deno task study choose --model DIR --data DIR: a low-bit default by open-loop latent error (no simulator)");
  const card = loadModelCard(f.model);
  const root = f.model.replace(/\/[^/]+\/?$/, "");
  const ids = f.candidates?.split(",") ?? OWN_CANDIDATES.map((c) => c.id);
  const ref = await WorldModel.load(f.model, { backend: "node", threads: 1 });
  const held = heldOutWindows(card, f.data, f.holdout);
  const bytes = (c: ModelCard) => graphFiles(c).reduce((a, g) => a + c.files[g].bytes, 0);
  const rows = [];
  for (const id of ids) {
    const cand = OWN_CANDIDATES.find((c) => c.id === id);
    if (!cand) throw new Error(`unknown candidate ${id}; known: ${OWN_CANDIDATES.map((c) => c.id).join(", ")}`);
    const dir = `${root}/${id}`;
    const t0 = performance.now();
    const { card: q } = await quantizeModelDir(f.model, dir, {
      ...cand.config,
      calib: { dir: f.data, episodes: f["calib-episodes"] },
    }, { variant: id, backend: "node", log: () => {} });
    const m = await WorldModel.load(dir, { backend: "node", threads: 1 });
    const e = await latentErrors(ref, m, held);
    rows.push({ id, dir, bytes: bytes(q), own: e.own, added: e.added, ratio: e.added / e.own });
    console.error(
      `${id}: ${bytes(q)} bytes, step-5 error added ${e.added.toExponential(2)} vs fp32's own ${
        e.own.toExponential(2)
      } (${(e.added / e.own).toFixed(3)}x), ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
  }
  const ok = rows.filter((r) => r.ratio <= f["max-ratio"]).sort((a, b) => a.bytes - b.bytes);
  const chosen = ok[0];
  if (chosen) {
    const cardPath = `${chosen.dir}/model.json`;
    const c = JSON.parse(Deno.readTextFileSync(cardPath));
    c.selection = {
      rule: `fewest bytes whose step-5 open-loop latent error added to fp32's is at most ${
        f["max-ratio"]
      } of fp32's own, on the last ${held.windows} episodes of ${f.data} (no simulator: not closed-loop success)`,
      by: "latent error",
      success: null,
      fp32_success: null,
      candidates: rows.map(({ dir: _, ...r }) => r),
    };
    Deno.writeTextFileSync(cardPath, JSON.stringify(c, null, 2) + "\n");
  }
  console.log(JSON.stringify({
    chosen: chosen?.id ?? null,
    serve: chosen ? `EDGEWM_MODELS=${chosen.dir} EDGEWM_DEFAULTS=${card.task}=${chosen.id} deno task serve` : null,
    candidates: rows.map(({ dir: _, ...r }) => r),
  }));
}
