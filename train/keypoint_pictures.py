"""What a keypoint encoder keeps: held-out frames with their keypoints marked, and the decoder's redraw.

  python -m train.keypoint_pictures --data data/pusht_demo96 --encoder runs/enc_pusht96_kp8/encoder.pt \\
      --out models/figures/keypoints_pusht96.png

Row 1: frames of held-out episodes, each keypoint a coloured cross (the same colour is the same keypoint
in every frame). Row 2: what the training decoder draws from those keypoints alone (at half size,
shown enlarged): whatever it cannot draw, the keypoints do not hold.
"""
import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .encoder import Frames, KeypointLoss
from .landscape import load_encoder
from .rollout_pictures import grid, write_png

COLOURS = np.array([[230, 25, 75], [60, 180, 75], [255, 160, 0], [0, 130, 200], [145, 30, 180], [70, 240, 240],
                    [240, 50, 230], [128, 128, 0], [0, 0, 128], [170, 110, 40]], np.uint8)


def mark(frame: np.ndarray, kp: np.ndarray, arm: int = 3) -> np.ndarray:
    """Draw a cross at each (x, y) in [-1, 1] on a copy of an (H, W, 3) frame."""
    out, h = frame.copy(), frame.shape[0]
    for k, (x, y) in enumerate(kp):
        c, r = int(round((x + 1) / 2 * h - 0.5)), int(round((y + 1) / 2 * h - 0.5))
        for d in range(-arm, arm + 1):
            for rr, cc in ((r + d, c), (r, c + d)):
                if 0 <= rr < h and 0 <= cc < h:
                    out[rr, cc] = COLOURS[k % len(COLOURS)]
    return out


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--encoder", required=True, help="a checkpoint trained with --objective keypoints")
    ap.add_argument("--out", required=True, help="PNG to write")
    ap.add_argument("--frames", type=int, default=8, help="frames pictured, one per held-out episode")
    ap.add_argument("--holdout", type=int, default=50)
    args = ap.parse_args()
    state = torch.load(args.encoder, weights_only=False, map_location="cpu")
    if state.get("objective") != "keypoints":
        raise SystemExit(f"{args.encoder} was trained with --objective {state.get('objective')}, not keypoints")
    enc = load_encoder(args.encoder)
    loss = KeypointLoss(enc.cfg)
    loss.load_state_dict(state["objective_state"])
    data = Frames(args.data)
    episodes = torch.linspace(data.N - args.holdout, data.N - 1, args.frames).long()
    steps = torch.linspace(0, data.T1 - 1, args.frames).long()
    frames = data.obs[episodes, steps]
    _, kp = enc(frames)
    redraw = (loss.decoder(loss.draw(kp)).clamp(-0.5, 0.5) + 0.5) * 255
    redraw = F.interpolate(redraw, scale_factor=2, mode="nearest").permute(0, 2, 3, 1).round().byte().numpy()
    kps = kp.view(len(frames), -1, 2).numpy()
    rows = [[mark(f.numpy(), k) for f, k in zip(frames, kps)], list(redraw)]
    write_png(Path(args.out), grid(rows))
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
