"""Nearest-neighbour pictures of predicted rollouts: what the predictor's latents look like.

  python -m train.rollout_pictures --data data/wall --predictor runs/pred_wall_all/predictor.pt \\
      --out models/figures/rollout_nn_wall.png

For a few held-out episodes the predictor rolls out `--steps` model steps open loop from
the first frame with the episode's own actions. Each predicted latent is shown as the
training frame whose latent is nearest under the planning cost (patch-token MSE + global
MSE). Rows per episode: the true frames; the neighbour of the predicted latent; the
neighbour of the true latent (what retrieval alone can show). Beside the picture it prints,
per step, how far (in the task's state units) the neighbours' states are from the true state,
against copying the start frame, over all held-out episodes (the dot or point mass position
in wall and pointmaze, the block position in pusht, the joint angles in reacher).
"""
import argparse
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from .predictor import rollout
from .rollout_error import HeldOut


def write_png(path: Path, rgb: np.ndarray) -> None:
    """uint8 (H, W, 3) -> PNG file (8-bit RGB, no filter)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def nearest(tok: torch.Tensor, glo: torch.Tensor, bank_tok: torch.Tensor, bank_glo: torch.Tensor) -> torch.Tensor:
    """Index of the bank entry with the lowest patch MSE + global MSE for each query (Q, N, D), (Q, G)."""
    q = torch.cat([tok.flatten(1) / tok[0].numel() ** 0.5, glo / glo.shape[1] ** 0.5], 1)
    b = torch.cat([bank_tok.flatten(1) / bank_tok[0].numel() ** 0.5, bank_glo / bank_glo.shape[1] ** 0.5], 1)
    return torch.cdist(q, b).argmin(1)


def grid(rows: list[list[np.ndarray]], scale: int = 2, gap: int = 2) -> np.ndarray:
    """Frames (H, W, 3) in rows -> one image, upscaled, with white gaps."""
    h, w = rows[0][0].shape[:2]
    H, W = h * scale, w * scale
    cols = max(len(r) for r in rows)
    out = np.full((len(rows) * (H + gap) + gap, cols * (W + gap) + gap, 3), 255, np.uint8)
    for i, r in enumerate(rows):
        for j, f in enumerate(r):
            y, x = gap + i * (H + gap), gap + j * (W + gap)
            out[y:y + H, x:x + W] = f.repeat(scale, 0).repeat(scale, 1)
    return out


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--predictor", required=True)
    ap.add_argument("--out", required=True, help="PNG to write")
    ap.add_argument("--episodes", type=int, default=4, help="held-out episodes pictured")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--holdout", type=int, default=50)
    ap.add_argument("--bank", type=int, default=20000, help="training frames searched for neighbours")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    ho = HeldOut(args.data, args.predictor, args.holdout)
    data, fs, h = ho.data, ho.fs, ho.pred.cfg.num_hist
    states = np.load(Path(args.data) / "states.npy", mmap_mode="r")

    # The bank: random frames of the training episodes.
    g = torch.Generator().manual_seed(args.seed)
    be = torch.randint(0, ho.train_n, (args.bank,), generator=g)
    bt = torch.randint(0, data.T1, (args.bank,), generator=g)
    bank_tok, bank_glo = (x[:, 0] for x in ho.encode(data.obs[be, bt][:, None]))
    bank_states = np.stack([states[e, t] for e, t in zip(be.tolist(), bt.tolist())])

    held = ho.episodes  # every held-out episode is measured; the first few are pictured
    idx = [i * fs for i in range(h + args.steps)]  # frames of the rollout, frameskip apart
    obs = data.obs[held][:, idx]  # (E, h+S, H, W, 3)
    tok, glo = ho.encode(obs)
    with torch.no_grad():
        preds = list(rollout(ho.pred, tok[:, :h], glo[:, :h], ho.proprio[:, idx[:h]], ho.actions, 0, fs, args.steps))
    pt, pg = torch.stack([p[0] for p in preds], 1), torch.stack([p[1] for p in preds], 1)  # (E, S, N, D), (E, S, G)
    E, S = pt.shape[:2]
    nn_pred = nearest(pt.flatten(0, 1), pg.flatten(0, 1), bank_tok, bank_glo).reshape(E, S)
    nn_true = nearest(tok[:, h:].flatten(0, 1), glo[:, h:].flatten(0, 1), bank_tok, bank_glo).reshape(E, S)

    rows = []
    for e in range(min(E, args.episodes)):
        truth = [obs[e, i].numpy() for i in range(h + S)]
        blank = [np.full_like(truth[0], 230)] * h  # grey: no frame here
        rows.append(truth)
        rows.append(blank + [data.obs[be[k], bt[k]].numpy() for k in nn_pred[e].tolist()])
        rows.append(blank + [data.obs[be[k], bt[k]].numpy() for k in nn_true[e].tolist()])
    write_png(Path(args.out), grid(rows))

    # State error of what each row shows, per step.
    true_states = np.stack([np.stack([states[ep, i] for i in idx[h:]]) for ep in held])  # (E, S, dim)
    start = np.stack([states[ep, idx[h - 1]] for ep in held])[:, None]

    def err(s: np.ndarray) -> np.ndarray:
        dims = slice(2, 4) if ho.meta["task"] == "pusht" else slice(0, 2)  # pusht: the block, which is the task
        d = s[..., dims] - true_states[..., dims]
        if ho.meta["task"] == "reacher":  # joint angles: the short way round
            d = (d + np.pi) % (2 * np.pi) - np.pi
        return np.linalg.norm(d, axis=-1).mean(0)

    e_pred, e_true, e_copy = err(bank_states[nn_pred.numpy()]), err(bank_states[nn_true.numpy()]), err(start)
    for s in range(S):
        print(json.dumps({"task": ho.meta["task"], "step": s + 1, "nn_of_predicted": round(float(e_pred[s]), 2),
                          "nn_of_true": round(float(e_true[s]), 2), "copy_start": round(float(e_copy[s]), 2)}))
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
