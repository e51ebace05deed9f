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

from .encoder import Frames
from .landscape import load_encoder
from .predictor import Predictor, PredictorConfig
from .train_predictor import encode_all


@torch.no_grad()
def rollout_errors(pred: Predictor, tokens, global_, actions, proprio, fs: int, steps: int):
    """tokens (E, T, N, D) etc. of held-out episodes -> per-step MSE of model and copy baseline."""
    h = pred.cfg.num_hist
    E, T = tokens.shape[:2]
    starts = list(range(0, T - (h - 1 + steps) * fs - 1, fs * 2))
    out = [{"visual": [], "global": [], "copy_visual": [], "copy_global": []} for _ in range(steps)]
    for t0 in starts:
        idx = [t0 + i * fs for i in range(h)]
        tok, glo, pro = tokens[:, idx], global_[:, idx], proprio[:, idx]
        for s in range(steps):
            a_idx = [t0 + (s + i) * fs for i in range(tok.shape[1])]
            act = torch.stack([actions[:, a:a + fs].flatten(1) for a in a_idx], 1)  # (E, h, fs*A)
            nt, ng, np_ = pred(tok, glo, act, pro)
            tgt = t0 + (s + h) * fs
            out[s]["visual"].append(((nt[:, -1] - tokens[:, tgt]) ** 2).mean().item())
            out[s]["global"].append(((ng[:, -1] - global_[:, tgt]) ** 2).mean().item())
            last = t0 + (h - 1) * fs
            out[s]["copy_visual"].append(((tokens[:, last] - tokens[:, tgt]) ** 2).mean().item())
            out[s]["copy_global"].append(((global_[:, last] - global_[:, tgt]) ** 2).mean().item())
            tok = torch.cat([tok, nt[:, -1:]], 1)[:, -h:]
            glo = torch.cat([glo, ng[:, -1:]], 1)[:, -h:]
            pro = torch.cat([pro, np_[:, -1:]], 1)[:, -h:]
    return [{k: float(np.mean(v)) for k, v in o.items()} for o in out]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--predictor", required=True)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--holdout", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(2)
    state = torch.load(args.predictor, weights_only=False, map_location="cpu")
    pred = Predictor(PredictorConfig(**state["config"]))
    pred.load_state_dict(state["model"])
    pred.eval()
    meta = state["meta"]
    data = Frames(args.data)
    held = slice(data.N - args.holdout, data.N)
    enc = load_encoder(state["encoder"])
    tokens, global_ = encode_all(enc, data.obs[held], pool=state.get("token_pool", 1))
    global_ = global_ / state["global_scale"]
    a = (data.actions[held] - torch.tensor(meta["action_mean"])) / torch.tensor(meta["action_std"])
    p = torch.from_numpy(np.load(Path(args.data) / "proprio.npy")[held])
    p = (p - torch.tensor(meta["proprio_mean"])) / torch.tensor(meta["proprio_std"])
    for s, r in enumerate(rollout_errors(pred, tokens, global_, a, p, meta["frameskip"], args.steps), 1):
        print(json.dumps({"task": meta["task"], "step": s, **{k: round(v, 5) for k, v in r.items()}}))


if __name__ == "__main__":
    main()
