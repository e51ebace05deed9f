"""Whiten a model's global embedding by its one-step changes: the metric of the planning cost.

  python -m train.step_metric --model models/pusht/fp32 --data data/pusht_demo96,data/pusht_demo96_s1 --ridge 0.003

The cost's global term is ||M (g - g*)||. With M the identity every dimension counts alike: the agent's keypoint,
which moves far each step, as much as the block's, and the small offsets between the block's keypoints that say how
the T is turned hardly at all (issue 39: blocks left ~115 deg off their goal that the cost called nearly reached).
Here M = C^(-1/2) / sqrt(G), C the covariance of the embedding's change over one model step (frameskip env steps)
across the datasets' frames, plus `ridge` x its mean variance: each direction counts by how many typical steps it
lies from the goal, linearly (a Mahalanobis distance). Self-supervised: it reads the frames' own latents and nothing
else. Writes `objective.global_metric` into the card (in place, or into a copy with --out); the graphs are unchanged.
"""
import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from .distance_head import dataset_latents


def step_covariance(glo: np.ndarray, frameskip: int) -> np.ndarray:
    """(E, T+1, G) global embeddings -> (G, G) covariance of their change over `frameskip` steps."""
    if glo.shape[1] <= frameskip:
        raise ValueError(f"episodes of {glo.shape[1]} frames hold no step of {frameskip}")
    d = (glo[:, frameskip:] - glo[:, :-frameskip]).reshape(-1, glo.shape[-1]).astype(np.float64)
    return np.cov(d, rowvar=False)


def whitening(cov: np.ndarray, ridge: float) -> np.ndarray:
    """M = (C + ridge x mean variance x I)^(-1/2) / sqrt(G): unit steps become distance ~1 in all."""
    G = len(cov)
    w, V = np.linalg.eigh(cov + ridge * np.trace(cov) / G * np.eye(G))
    if w.min() <= 0:
        raise ValueError("the step covariance is singular: give a --ridge above 0")
    return V @ np.diag(w ** -0.5) @ V.T / np.sqrt(G)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model folder (its encoder.onnx encodes the data)")
    ap.add_argument("--data", required=True, help="dataset folder(s) of the model's task, comma-separated")
    ap.add_argument("--ridge", type=float, default=0.003,
                    help="added to every variance, as a share of their mean: bounds the weight of dimensions "
                         "that barely move")
    ap.add_argument("--out", default=None, help="write a copy of the model here (default: the card in place)")
    args = ap.parse_args()
    if args.ridge < 0:
        raise SystemExit(f"--ridge {args.ridge}: must be >= 0")
    model = Path(args.model)
    card = json.loads((model / "model.json").read_text())
    folders = [Path(f) for f in args.data.split(",")]
    for f in folders:
        task = json.loads((f / "meta.json").read_text()).get("task")
        if task != card["task"]:
            raise SystemExit(f"{f} holds task {task}, {model} is a {card['task']} model")
    glo = np.concatenate([dataset_latents(f, model)[1] for f in folders])
    try:
        metric = whitening(step_covariance(glo, card["frameskip"]), args.ridge)
    except ValueError as e:
        raise SystemExit(str(e))
    gain = np.diag(metric.T @ metric)
    print("weight of each global dimension (diagonal of M^T M):", " ".join(f"{g:.2f}" for g in gain))
    card["objective"]["global_metric"] = [[round(float(v), 6) for v in row] for row in metric]
    card.setdefault("training", {})["step_metric"] = {
        "data": [str(f) for f in folders], "frames": int(glo.shape[0] * glo.shape[1]), "frameskip": card["frameskip"],
        "ridge": args.ridge}
    out = Path(args.out) if args.out else model
    if out != model:
        shutil.copytree(model, out, dirs_exist_ok=True)
    (out / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {out / 'model.json'}")


if __name__ == "__main__":
    main()
