"""Open-loop prediction error vs rollout step on held-out trajectories, against the
copy-the-last-frame baseline (the latent of the start frame held fixed).

  python -m train.rollout_error --data data/wall --predictor runs/pred_wall/predictor.pt --steps 5

Errors are MSE in the predictor's latent space (patch tokens, scaled global embedding),
averaged over the held-out episodes (the last --holdout of the dataset, as in training).
Prints one JSON line per rollout step.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch

from .distance_head import encode_frames
from .encoder import Frames
from .landscape import load_encoder
from .predictor import Predictor, PredictorConfig, rollout
from .train_predictor import encode_all


class HeldOut:
    """A predictor checkpoint, its frozen encoder, and the held-out episodes (the last `holdout` of
    the dataset, as in training) with actions and proprio z-scored as the predictor saw them."""

    def __init__(self, data_dir: str, predictor: str, holdout: int):
        state = torch.load(predictor, weights_only=False, map_location="cpu")
        self.pred = Predictor(PredictorConfig(**state["config"])).eval()
        self.pred.load_state_dict(state["model"])
        self.meta, self.fs = state["meta"], state["meta"]["frameskip"]
        self.pool, self.global_scale = state.get("token_pool", 1), state["global_scale"]
        # A predictor trained on a model folder (train_predictor --encoder DIR) reads that folder's encoder.onnx,
        # whose outputs are already its latents (pooled tokens, global divided by the model's scale).
        folder = Path(state["encoder"])
        self.encoder_onnx = folder / "encoder.onnx" if folder.is_dir() else None
        self.enc = None if self.encoder_onnx else load_encoder(state["encoder"])
        self.data = Frames(data_dir)
        self.train_n = self.data.N - holdout
        self.episodes = list(range(self.train_n, self.data.N))
        self.proprio_all = np.load(Path(data_dir) / "proprio.npy", mmap_mode="r")
        self.actions, self.proprio = self.inputs(self.episodes)

    def inputs(self, episodes: list[int]):
        """Actions (E, T, A) and proprio (E, T+1, P) of `episodes`, z-scored as the predictor saw them."""
        m = self.meta
        a = (self.data.actions[episodes] - torch.tensor(m["action_mean"])) / torch.tensor(m["action_std"])
        p = torch.from_numpy(np.ascontiguousarray(self.proprio_all[episodes]))
        return a, (p - torch.tensor(m["proprio_mean"])) / torch.tensor(m["proprio_std"])

    @torch.no_grad()
    def encode(self, obs: torch.Tensor):
        """uint8 (E, T, H, W, 3) -> the predictor's latents: pooled tokens, scaled global embedding."""
        if self.encoder_onnx:
            E, T = obs.shape[:2]
            tok, glo = encode_frames(self.encoder_onnx, np.asarray(obs).reshape(E * T, *obs.shape[2:]))
            return torch.from_numpy(tok).reshape(E, T, *tok.shape[1:]), torch.from_numpy(glo).reshape(E, T, -1)
        tok, glo = encode_all(self.enc, obs, pool=self.pool)
        return tok, glo / self.global_scale


def window_starts(T: int, h: int, fs: int, steps: int) -> range:
    """First frames of the open-loop windows in episodes of T frames: every other model step."""
    return range(0, T - (h - 1 + steps) * fs - 1, fs * 2)


@torch.no_grad()
def open_loop(pred: Predictor, tokens, global_, actions, proprio, fs: int, steps: int):
    """Open-loop rollouts from every window of the episodes given (tokens (E, T, N, D) etc.); yields
    (step index, frame of the last history latent, target frame, predicted tokens, predicted global)."""
    h = pred.cfg.num_hist
    for t0 in window_starts(tokens.shape[1], h, fs, steps):
        idx = [t0 + i * fs for i in range(h)]
        window = rollout(pred, tokens[:, idx], global_[:, idx], proprio[:, idx], actions, t0, fs, steps)
        for s, (nt, ng, _) in enumerate(window):
            yield s, idx[-1], t0 + (s + h) * fs, nt, ng


def rollout_errors(pred: Predictor, tokens, global_, actions, proprio, fs: int, steps: int):
    """tokens (E, T, N, D) etc. of held-out episodes -> per-step MSE of model and copy baseline."""
    out = [{"visual": [], "global": [], "copy_visual": [], "copy_global": []} for _ in range(steps)]
    for s, last, tgt, nt, ng in open_loop(pred, tokens, global_, actions, proprio, fs, steps):
        out[s]["visual"].append(((nt - tokens[:, tgt]) ** 2).mean().item())
        out[s]["global"].append(((ng - global_[:, tgt]) ** 2).mean().item())
        out[s]["copy_visual"].append(((tokens[:, last] - tokens[:, tgt]) ** 2).mean().item())
        out[s]["copy_global"].append(((global_[:, last] - global_[:, tgt]) ** 2).mean().item())
    return [{k: float(np.mean(v)) for k, v in o.items()} for o in out]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--predictor", required=True)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--holdout", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(2)
    ho = HeldOut(args.data, args.predictor, args.holdout)
    tokens, global_ = ho.encode(ho.data.obs[ho.episodes])
    for s, r in enumerate(rollout_errors(ho.pred, tokens, global_, ho.actions, ho.proprio, ho.fs, args.steps), 1):
        print(json.dumps({"task": ho.meta["task"], "step": s, **{k: round(v, 5) for k, v in r.items()}}))


if __name__ == "__main__":
    main()
