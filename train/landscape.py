"""How well a latent distance works as a planning cost, on a probe set written by
`deno task probe` (held-out frames, true distances in units of the task's success
threshold):

  spearman      rank correlation of latent cost with true distance, all pairs
  spearman_far  the same for pairs farther apart than --far (wall: 15 px = 3.33 units)
  path_fall     fraction of steps along straight paths to a goal where the cost falls

  python -m train.landscape --probe data/probe_wall --encoder runs/enc_hilp/encoder.pt

Costs measured: `pixels` (MSE between frames), `patch` (MSE between patch tokens, the
DINO-WM objective) and `global` (L2 between global embeddings). Prints one JSON line
per cost.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch

from .vit import Encoder, EncoderConfig


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def load_encoder(path: str) -> Encoder:
    state = torch.load(path, weights_only=False, map_location="cpu")
    enc = Encoder(EncoderConfig(**state["config"]))
    enc.load_state_dict(state["model"])
    return enc.eval()


@torch.no_grad()
def embed(enc: Encoder | None, frames: np.ndarray, batch: int = 256) -> dict[str, np.ndarray]:
    """frames uint8 (M, H, W, 3) -> {'pixels', 'patch', 'global'} features, flattened per frame."""
    out = {"pixels": frames.reshape(len(frames), -1).astype(np.float32) / 255.0}
    if enc is None:
        return out
    toks, gs = [], []
    for i in range(0, len(frames), batch):
        t, g = enc(torch.from_numpy(np.ascontiguousarray(frames[i:i + batch])))
        toks.append(t.flatten(1).numpy())
        gs.append(g.numpy())
    out["patch"], out["global"] = np.concatenate(toks), np.concatenate(gs)
    return out


def costs(fa: dict, fb: dict) -> dict[str, np.ndarray]:
    c = {k: ((fa[k] - fb[k]) ** 2).mean(1) for k in fa if k != "global"}
    if "global" in fa:
        c["global"] = np.sqrt(((fa["global"] - fb["global"]) ** 2).sum(1))
    return c


def measure(enc: Encoder | None, probe: Path, far: float) -> dict[str, dict]:
    a, b = np.load(probe / "pairs_a.npy"), np.load(probe / "pairs_b.npy")
    dist = np.load(probe / "pairs_dist.npy")
    pair_cost = costs(embed(enc, a), embed(enc, b))
    paths = np.load(probe / "paths.npy")  # (K, L, H, W, 3), last frame = goal
    K, L = paths.shape[:2]
    fp = embed(enc, paths.reshape(K * L, *paths.shape[2:]))
    results = {}
    for name, c in pair_cost.items():
        feats = fp[name].reshape(K, L, -1)
        goal = np.repeat(feats[:, -1:], L, axis=1)
        pc = costs({name: feats.reshape(K * L, -1)}, {name: goal.reshape(K * L, -1)})[name].reshape(K, L)
        falls = (np.diff(pc[:, :-1], axis=1) < 0).mean()  # steps before the goal itself
        far_mask = dist > far
        results[name] = {
            "spearman": round(spearman(c, dist), 3),
            "spearman_far": round(spearman(c[far_mask], dist[far_mask]), 3),
            "path_fall": round(float(falls), 3),
        }
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--encoder", help="encoder checkpoint; omit for raw pixels only")
    ap.add_argument("--far", type=float, default=15 / 4.5, help="'far' pairs: true distance above this")
    ap.add_argument("--label", default=None)
    args = ap.parse_args()
    torch.set_num_threads(2)
    enc = load_encoder(args.encoder) if args.encoder else None
    for cost, r in measure(enc, Path(args.probe), args.far).items():
        print(json.dumps({"encoder": args.label or args.encoder or "none", "cost": cost, **r}), flush=True)


if __name__ == "__main__":
    main()
