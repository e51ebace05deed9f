"""Whiten a model's global embedding by its one-step changes: the metric of the planning cost.

  python -m train.step_metric --model models/pusht/fp32 --data data/pusht_demo96,data/pusht_demo96_s1 --ridge 0.003 \
      --body-weight 0.25

The cost's global term is ||M (g - g*)||. With M the identity every dimension counts alike: the agent's keypoint,
which moves far each step, as much as the block's, and the small offsets between the block's keypoints that say how
the T is turned hardly at all (issue 39: blocks left ~115 deg off their goal that the cost called nearly reached).
Here M = C^(-1/2) / sqrt(G), C the covariance of the embedding's change over one model step (frameskip env steps)
across the datasets' frames, plus `ridge` x its mean variance: each direction counts by how many typical steps it
lies from the goal, linearly (a Mahalanobis distance). Self-supervised: it reads the frames' own latents and nothing
else. Writes `objective.global_metric` into the card (in place, or into a copy with --out); the graphs are unchanged.

--body-weight F scales the agent's own dimensions (those the proprio explains linearly, R^2 >= --body-threshold)
by F inside the metric. A step of the agent is cheap, so whitening alone still leaves its position a large part of
the cost near a goal: in pusht, moving the agent 60 px off its goal spot costs as much as 24 px of block error, and
plans parked the agent on that spot beside a block 1.2-2 tolerances off rather than leave it to push (issue 39). The
proprio is the agent's own sensing, an input of every model: still no state labels.
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


def explained_by(proprio: np.ndarray, glo: np.ndarray) -> np.ndarray:
    """R^2 of each global dimension from an affine map of the proprio, [G] (frames flattened); 0 for a dimension
    that never moves, so static scenery is never taken for the agent."""
    X = np.concatenate([proprio, np.ones((len(proprio), 1))], axis=1).astype(np.float64)
    Y = glo.astype(np.float64)
    coef, *_ = np.linalg.lstsq(X, Y, rcond=None)
    resid, total = ((Y - X @ coef) ** 2).sum(0), ((Y - Y.mean(0)) ** 2).sum(0)
    moving = total > 1e-9 * len(Y)
    return np.where(moving, 1 - resid / np.where(moving, total, 1), 0.0)


def scale_body(metric: np.ndarray, body: list[int], weight: float) -> np.ndarray:
    """M with the body's columns times `weight`: ||M' d|| = ||M d'||, d' the difference with the body's parts scaled."""
    out = metric.copy()
    out[:, body] *= weight
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model folder (its encoder.onnx encodes the data)")
    ap.add_argument("--data", required=True, help="dataset folder(s) of the model's task, comma-separated")
    ap.add_argument("--ridge", type=float, default=0.003,
                    help="added to every variance, as a share of their mean: bounds the weight of dimensions "
                         "that barely move")
    ap.add_argument("--body-weight", type=float, default=1.0,
                    help="scale of the agent's own dimensions inside the metric (0-1; 1 leaves them whitened)")
    ap.add_argument("--body-threshold", type=float, default=0.9, help="R^2 from the proprio that marks the agent")
    ap.add_argument("--body-episodes", type=int, default=200, help="episodes per dataset whose frames fit that R^2")
    ap.add_argument("--out", default=None, help="write a copy of the model here (default: the card in place)")
    args = ap.parse_args()
    if args.ridge < 0:
        raise SystemExit(f"--ridge {args.ridge}: must be >= 0")
    if not 0 <= args.body_weight <= 1:
        raise SystemExit(f"--body-weight {args.body_weight}: must be within 0-1 (the agent weighs less, not more)")
    model = Path(args.model)
    card = json.loads((model / "model.json").read_text())
    folders = [Path(f) for f in args.data.split(",")]
    for f in folders:
        task = json.loads((f / "meta.json").read_text()).get("task")
        if task != card["task"]:
            raise SystemExit(f"{f} holds task {task}, {model} is a {card['task']} model")
    latents = [dataset_latents(f, model)[1] for f in folders]
    glo = np.concatenate(latents)
    try:
        metric = whitening(step_covariance(glo, card["frameskip"]), args.ridge)
    except ValueError as e:
        raise SystemExit(str(e))
    record = {"data": [str(f) for f in folders], "frames": int(glo.shape[0] * glo.shape[1]),
              "frameskip": card["frameskip"], "ridge": args.ridge}
    if args.body_weight != 1:
        n = args.body_episodes
        proprio = np.concatenate([np.load(f / "proprio.npy", mmap_mode="r")[:n] for f in folders])
        seen = np.concatenate([g[:n] for g in latents])
        if proprio.shape[:2] != seen.shape[:2]:
            raise SystemExit(f"proprio.npy holds {proprio.shape[:2]} (episodes, frames), the latents {seen.shape[:2]}")
        r2 = explained_by(proprio.reshape(-1, proprio.shape[-1]), seen.reshape(-1, seen.shape[-1]))
        body = [i for i, r in enumerate(r2) if r >= args.body_threshold]
        print("R^2 from the proprio per global dimension:", " ".join(f"{r:.3f}" for r in r2))
        if not body:
            raise SystemExit(f"no global dimension reaches R^2 {args.body_threshold} from the proprio: no agent to "
                             "weigh (card unchanged)")
        print(f"the agent: dimensions {body}, scaled by {args.body_weight}")
        metric = scale_body(metric, body, args.body_weight)
        record.update(body=body, body_weight=args.body_weight, body_threshold=args.body_threshold,
                      r2=[round(float(r), 4) for r in r2])
    gain = np.diag(metric.T @ metric)
    print("weight of each global dimension (diagonal of M^T M):", " ".join(f"{g:.2f}" for g in gain))
    card["objective"]["global_metric"] = [[round(float(v), 6) for v in row] for row in metric]
    card.setdefault("training", {})["step_metric"] = record
    out = Path(args.out) if args.out else model
    if out != model:
        shutil.copytree(model, out, dirs_exist_ok=True)
    (out / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {out / 'model.json'}")


if __name__ == "__main__":
    main()
