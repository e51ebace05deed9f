"""Weigh the agent's own body less in a model's planning cost.

  python -m train.body_weights --model models/pusht/fp32 --data data/pusht_demo96 --weight 0.25

A keypoint encoder's global embedding holds points on the agent, on the objects it moves and on the
static scene, and the planning cost is the distance from the predicted points to the goal's. The agent
then counts as one more object: near a goal it would rather park on its own goal spot than leave it to
push the block the last few pixels (issue 39: pusht episodes stuck 1-2 tolerances off). The global
dimensions the proprio explains linearly (R^2 >= --threshold over the dataset's frames) are the body;
their squared differences are weighed by --weight in the card's `objective.global_weights`. The
proprio is the agent's own sensing, an input of every model: no state labels are read. The graphs and
their hashes are unchanged; the card is rewritten in place unless --out names a copy.
"""
import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from .distance_head import dataset_latents


def explained_by(proprio: np.ndarray, global_: np.ndarray) -> np.ndarray:
    """R^2 of each global dimension from an affine map of the proprio, [G]; 0 for a dimension that never
    moves (nothing to explain), so static scenery is never taken for the body."""
    X = np.concatenate([proprio, np.ones((len(proprio), 1))], axis=1).astype(np.float64)
    Y = global_.astype(np.float64)
    coef, *_ = np.linalg.lstsq(X, Y, rcond=None)
    resid = ((Y - X @ coef) ** 2).sum(0)
    total = ((Y - Y.mean(0)) ** 2).sum(0)
    moving = total > 1e-9 * len(Y)
    return np.where(moving, 1 - resid / np.where(moving, total, 1), 0.0)


def body_weights(r2: np.ndarray, weight: float, threshold: float) -> list[float]:
    """The card's global_weights: `weight` where the proprio explains a dimension, 1 elsewhere."""
    return [weight if r >= threshold else 1.0 for r in r2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model folder (its encoder.onnx encodes the data)")
    ap.add_argument("--data", required=True, help="a dataset folder of the model's task")
    ap.add_argument("--weight", type=float, required=True, help="weight of the body's dimensions (0-1)")
    ap.add_argument("--threshold", type=float, default=0.9, help="R^2 from the proprio that marks the body")
    ap.add_argument("--episodes", type=int, default=200, help="episodes whose frames fit the map")
    ap.add_argument("--out", default=None, help="write a copy of the model here (default: the card in place)")
    args = ap.parse_args()
    if not 0 <= args.weight <= 1:
        raise SystemExit(f"--weight {args.weight}: must be within 0-1 (the body weighs less, not more)")
    model, data = Path(args.model), Path(args.data)
    card = json.loads((model / "model.json").read_text())
    meta = json.loads((data / "meta.json").read_text())
    if meta.get("task") != card["task"]:
        raise SystemExit(f"{data} holds task {meta.get('task')}, {model} is a {card['task']} model")
    _, glo = dataset_latents(data, model)
    proprio = np.load(data / "proprio.npy", mmap_mode="r")
    n = min(args.episodes, len(glo))
    r2 = explained_by(np.asarray(proprio[:n]).reshape(-1, proprio.shape[-1]), glo[:n].reshape(-1, glo.shape[-1]))
    weights = body_weights(r2, args.weight, args.threshold)
    body = [i for i, w in enumerate(weights) if w != 1.0]
    print("R^2 from the proprio per global dimension:", " ".join(f"{r:.3f}" for r in r2))
    if not body:
        raise SystemExit(f"no global dimension reaches R^2 {args.threshold}: nothing to weigh (card unchanged)")
    print(f"body: dimensions {body} weigh {args.weight}")
    card["objective"]["global_weights"] = weights
    card.setdefault("training", {})["body_weights"] = {
        "data": str(data), "episodes": n, "weight": args.weight, "threshold": args.threshold,
        "r2": [round(float(r), 4) for r in r2], "body": body}
    out = Path(args.out) if args.out else model
    if out != model:
        shutil.copytree(model, out, dirs_exist_ok=True)
    (out / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {out / 'model.json'}")


if __name__ == "__main__":
    main()
