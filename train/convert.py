"""Your robot's logs into the data contract (meta.json + obs/actions/proprio/states .npy), from a folder
of episodes as .npz files, one per episode:

  obs      uint8   [T+1, H, W, 3]   square RGB frames (resized to --size if they are not)
  actions  float   [T, A]           the action taken after each frame (env units)
  proprio  float   [T+1, P]         what the robot's own sensors report at each frame
  states   float   [T+1, S]         optional: a full state, for measurements only (never planned on)

  python -m train.convert --npz logs/ --task myrobot --frameskip 5 --step-seconds 0.1 --out data/myrobot

Episodes of different lengths are cut into pieces of --steps steps (default: the shortest episode's),
in order, the remainder dropped: the contract's arrays are [N, T+1, ...]. Action bounds are the data's
per-dimension range unless --action-low/--action-high give them.
"""
import argparse
import json
from pathlib import Path

import numpy as np


def resize(frames: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize of [T, H, W, 3] frames to [T, size, size, 3] (no extra dependencies)."""
    T, H, W, _ = frames.shape
    if H == size and W == size:
        return frames
    ys = (np.arange(size) * H / size).astype(int)
    xs = (np.arange(size) * W / size).astype(int)
    return frames[:, ys][:, :, xs]


def load_episode(path: Path, size: int | None) -> dict:
    with np.load(path) as z:
        missing = {"obs", "actions", "proprio"} - set(z.files)
        if missing:
            raise SystemExit(f"{path}: missing {', '.join(sorted(missing))} (has {', '.join(z.files)})")
        ep = {k: z[k] for k in z.files if k in ("obs", "actions", "proprio", "states")}
    obs, act, pro = ep["obs"], ep["actions"], ep["proprio"]
    if obs.ndim != 4 or obs.shape[-1] != 3 or obs.dtype != np.uint8:
        raise SystemExit(f"{path}: obs must be uint8 [T+1, H, W, 3], got {obs.dtype} {list(obs.shape)}")
    T = act.shape[0]
    if obs.shape[0] != T + 1 or pro.shape[0] != T + 1:
        raise SystemExit(f"{path}: {T} actions need {T + 1} frames and proprio rows, got {obs.shape[0]} and {pro.shape[0]}")
    if "states" in ep and ep["states"].shape[0] != T + 1:
        raise SystemExit(f"{path}: states must have {T + 1} rows")
    for k in ("actions", "proprio", "states"):
        if k in ep and not np.all(np.isfinite(ep[k])):
            raise SystemExit(f"{path}: {k} holds NaN or infinite values")
    ep["obs"] = resize(obs, size or min(obs.shape[1], obs.shape[2]))
    return ep


def convert(npz: Path, out: Path, task: str, frameskip: int, step_seconds: float | None, steps: int | None,
            size: int | None, low: list[float] | None, high: list[float] | None) -> dict:
    files = sorted(npz.glob("*.npz"))
    if not files:
        raise SystemExit(f"{npz}: no .npz episodes")
    eps = [load_episode(f, size) for f in files]
    L = steps or min(e["actions"].shape[0] for e in eps)
    if L < 5 * frameskip:
        raise SystemExit(f"pieces of {L} steps are shorter than 5 model actions ({5 * frameskip} steps at frameskip {frameskip})")
    pieces = []
    for e in eps:
        for t0 in range(0, e["actions"].shape[0] - L + 1, L):
            pieces.append({k: (v[t0:t0 + L] if k == "actions" else v[t0:t0 + L + 1]) for k, v in e.items()})
    if any(p["obs"].shape[1:] != pieces[0]["obs"].shape[1:] for p in pieces):
        raise SystemExit("episodes' frames differ in size: pass --size")
    out.mkdir(parents=True, exist_ok=True)
    arrays = {
        "obs": np.stack([p["obs"] for p in pieces]).astype(np.uint8),
        "actions": np.stack([p["actions"] for p in pieces]).astype(np.float32),
        "proprio": np.stack([p["proprio"] for p in pieces]).astype(np.float32),
    }
    arrays["states"] = (np.stack([p["states"] for p in pieces]).astype(np.float32) if all("states" in p for p in pieces)
                        else arrays["proprio"])
    for k, v in arrays.items():
        np.save(out / f"{k}.npy", v)
    A, P = arrays["actions"].shape[2], arrays["proprio"].shape[2]
    flat_a, flat_p = arrays["actions"].reshape(-1, A), arrays["proprio"].reshape(-1, P)
    meta = {
        "task": task, "version": 1, "episodes": len(pieces), "steps": L, "seed": 0,
        "image_size": int(arrays["obs"].shape[2]), "frameskip": frameskip, "action_dim": A, "proprio_dim": P,
        "state_dim": int(arrays["states"].shape[2]),
        "action_low": low or flat_a.min(0).tolist(), "action_high": high or flat_a.max(0).tolist(),
        "action_mean": flat_a.mean(0).tolist(), "action_std": np.maximum(flat_a.std(0), 1e-6).tolist(),
        "proprio_mean": flat_p.mean(0).tolist(), "proprio_std": np.maximum(flat_p.std(0), 1e-6).tolist(),
        **({"env_step_seconds": step_seconds} if step_seconds else {}),
        "success_rule": "none given (a dataset of logs)",
        "generator": {"policy": f"converted from {len(files)} .npz episodes in {npz}", "episode_seed": "none"},
        "files": {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in arrays.items()},
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--npz", required=True, help="folder of episode .npz files")
    ap.add_argument("--out", required=True, help="dataset folder to write")
    ap.add_argument("--task", required=True, help="the task's name (lowercase letters, digits, '_' or '-')")
    ap.add_argument("--frameskip", type=int, default=5, help="env steps per model action")
    ap.add_argument("--step-seconds", type=float, help="seconds one env step lasts (the control period)")
    ap.add_argument("--steps", type=int, help="steps per piece (default: the shortest episode's)")
    ap.add_argument("--size", type=int, help="frame size to resize to (default: the frames' own)")
    ap.add_argument("--action-low", type=float, nargs="+")
    ap.add_argument("--action-high", type=float, nargs="+")
    a = ap.parse_args()
    m = convert(Path(a.npz), Path(a.out), a.task, a.frameskip, a.step_seconds, a.steps, a.size, a.action_low, a.action_high)
    print(json.dumps({k: m[k] for k in ("task", "episodes", "steps", "image_size", "action_dim", "proprio_dim")}))


if __name__ == "__main__":
    main()
