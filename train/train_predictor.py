"""Train one task's predictor on frozen encoder latents (teacher forcing, MSE on the
visual, global and proprio parts, as DINO-WM).

  python -m train.train_predictor --data data/wall --encoder runs/enc_hilp/encoder.pt \
      --minutes 10 --out runs/pred_wall

Latents of every dataset frame are computed once (the encoder is frozen). Progress
prints every few seconds; checkpoints every minute; rerunning with the same --out
resumes.
"""
import argparse
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .encoder import Frames
from .landscape import load_encoder
from .predictor import Predictor, PredictorConfig, rollout
from .loop import Budget, optimizer_step, progress_line, warmup_lr
from .vit import pool_tokens, save_checkpoint


@torch.no_grad()
def encode_all(enc, obs: torch.Tensor, batch: int = 512, pool: int = 1):
    """obs (N, T, H, W, 3) uint8 -> tokens (N, T, n, D) (grid pooled by `pool`), global (N, T, G)."""
    N, T = obs.shape[:2]
    flat = obs.reshape(N * T, *obs.shape[2:])
    toks, gs = [], []
    for i in range(0, len(flat), batch):
        t, g = enc(flat[i:i + batch])
        toks.append(pool_tokens(t, pool))
        gs.append(g)
    return torch.cat(toks).reshape(N, T, *toks[0].shape[1:]), torch.cat(gs).reshape(N, T, -1)


def model_latents(folders: list[Path], model: Path, n: int, pool: int):
    """Latents from a model folder's encoder.onnx (the frozen encoder as shipped; no torch checkpoint needed).
    The graph pools tokens and divides the global embedding by the model's global_scale: undone here, so the
    predictor trains on the same scale as from a checkpoint, and the scale is the model's own."""
    from .distance_head import dataset_latents

    card = json.loads((model / "model.json").read_text())
    if pool != card["token_pool"]:
        raise SystemExit(f"--pool {pool} does not match {model}'s encoder, which pools {card['token_pool']}")
    scale = float(card["training"]["global_scale"])
    latents = [dataset_latents(f, model) for f in folders]  # each cached in its folder
    tok, glo = (np.concatenate([z[i][:n] for z in latents]) for i in (0, 1))
    return torch.from_numpy(tok), torch.from_numpy(glo) * scale, scale


class Windows:
    """Training windows: num_hist + 1 frames, frameskip apart, with the actions between them."""

    def __init__(self, data: Frames, tokens, global_, proprio, meta: dict, num_hist: int, global_scale: float):
        fs = meta["frameskip"]
        self.fs, self.h = fs, num_hist
        self.tokens, self.global_ = tokens, global_ / global_scale
        a_mean, a_std = torch.tensor(meta["action_mean"]), torch.tensor(meta["action_std"])
        p_mean, p_std = torch.tensor(meta["proprio_mean"]), torch.tensor(meta["proprio_std"])
        self.actions = (data.actions - a_mean) / a_std  # (N, T, A) z-scored
        self.proprio = (proprio - p_mean) / p_std  # (N, T+1, P) z-scored
        self.N, self.T1 = tokens.shape[:2]
        self.span = num_hist * fs  # frames covered after the window's first

    def sample(self, B: int, g: torch.Generator):
        e = torch.randint(0, self.N, (B,), generator=g)
        t0 = torch.randint(0, self.T1 - self.span, (B,), generator=g)
        idx = t0[:, None] + torch.arange(self.h + 1)[None] * self.fs  # (B, h+1) frame indices
        E = e[:, None].expand_as(idx)
        act_idx = t0[:, None, None] + torch.arange(self.h)[None, :, None] * self.fs + torch.arange(self.fs)[None, None]
        act = self.actions[e[:, None, None].expand_as(act_idx), act_idx]  # (B, h, fs, A)
        return (self.tokens[E, idx], self.global_[E, idx], act.flatten(2), self.proprio[E, idx])


def loss_fn(pred: Predictor, batch, steps: int = 1, fs: int = 1):
    """Teacher forcing on the window's first num_hist + 1 frames (MSE on each part, as DINO-WM); with
    steps > 1 also `rollout`: the mean MSE of `steps` open-loop predictions, each fed back as the newest
    frame, as the planner rolls out (the window then holds num_hist + steps frames)."""
    dev = pred.pos.device
    tok, glo, act, pro = (t.to(dev) for t in batch)  # (B, F, N, D), (B, F, G), (B, F-1, A*fs), (B, F, P)
    h = pred.cfg.num_hist
    t_hat, g_hat, p_hat = pred(tok[:, :h], glo[:, :h], act[:, :h], pro[:, :h])
    parts = {
        "visual": F.mse_loss(t_hat, tok[:, 1:h + 1]),
        "global": F.mse_loss(g_hat, glo[:, 1:h + 1]),
        "proprio": F.mse_loss(p_hat, pro[:, 1:h + 1]),
    }
    if steps > 1:
        env_act = act.reshape(act.shape[0], act.shape[1] * fs, -1)  # (B, (F-1) fs, A): rollout() slices env steps
        errs = [F.mse_loss(nt, tok[:, h + k]) + F.mse_loss(ng, glo[:, h + k]) + F.mse_loss(np_, pro[:, h + k])
                for k, (nt, ng, np_) in enumerate(rollout(pred, tok[:, :h], glo[:, :h], pro[:, :h], env_act, 0, fs, steps))]
        parts["rollout"] = sum(errs) / steps
    return sum(parts.values()), {k: v.item() for k, v in parts.items()}


def dataset_proprio(folders: list[Path], n: int) -> torch.Tensor:
    """proprio.npy of the dataset folders, concatenated along episodes as `Frames` does."""
    parts = [np.load(f / "proprio.npy", mmap_mode="r") for f in folders]
    return torch.from_numpy(np.concatenate([np.asarray(p[:n]) for p in parts]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="dataset folder, or several comma-separated (the held-out episodes "
                    "are the last folder's last --holdout)")
    ap.add_argument("--encoder", required=True,
                    help="encoder checkpoint (.pt), or a model folder whose encoder.onnx makes the latents")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--steps", type=int, default=200000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--num-hist", type=int, default=1)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--rollout", type=int, default=1,
                    help="also train on this many open-loop steps, each prediction fed back (1: teacher forcing only)")
    ap.add_argument("--init", default=None, help="start from this predictor checkpoint's weights (same config) "
                    "when --out holds none")
    ap.add_argument("--residual", action="store_true", help="predict each frame's change (next = current + output)")
    ap.add_argument("--pool", type=int, default=2, help="average k x k patch tokens into one latent token")
    ap.add_argument("--episodes", type=int, default=None)
    ap.add_argument("--holdout", type=int, default=50, help="last N episodes kept out of training")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", help="cpu, or cuda where a GPU is present")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    data = Frames(args.data, args.episodes)
    meta = data.meta
    t0 = time.time()
    if Path(args.encoder).is_dir():
        tokens, global_, global_scale = model_latents(data.folders, Path(args.encoder), args.episodes or data.N, args.pool)
    else:
        enc = load_encoder(args.encoder).to(args.device)
        tokens, global_ = encode_all(enc, data.obs, pool=args.pool)
        tokens, global_ = tokens.cpu(), global_.cpu()
        global_scale = float(global_.std())
    print(f"encoded {data.N * data.T1} frames in {time.time() - t0:.0f}s", flush=True)
    ckpt = out / "predictor.pt"
    resume = torch.load(ckpt, weights_only=False, map_location=args.device) if ckpt.exists() else None
    init = torch.load(args.init, weights_only=False, map_location=args.device) if args.init and not resume else None
    if resume or init:
        global_scale = (resume or init)["global_scale"]  # the scale those weights were trained at, whatever the data
    proprio = dataset_proprio(data.folders, args.episodes or data.N)
    train_n = data.N - args.holdout
    span = args.num_hist + args.rollout - 1  # actions in a window; it holds span + 1 frames
    win = Windows(data, tokens[:train_n], global_[:train_n], proprio[:train_n], meta, span, global_scale)
    win.actions = win.actions[:train_n]
    held = Windows(data, tokens[train_n:], global_[train_n:], proprio[train_n:], meta, span, global_scale)
    held.actions = held.actions[train_n:]

    cfg = PredictorConfig(tokens=tokens.shape[2], latent_dim=tokens.shape[3], global_dim=global_.shape[2],
                          action_dim=meta["frameskip"] * meta["action_dim"], proprio_dim=meta["proprio_dim"],
                          num_hist=args.num_hist, depth=args.depth, width=args.width, residual=args.residual)
    pred = Predictor(cfg).to(args.device)
    opt = torch.optim.AdamW(pred.parameters(), lr=args.lr, weight_decay=0.01)
    g = torch.Generator().manual_seed(args.seed)
    step, log = 0, []
    if resume:
        pred.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        step, log = resume["step"], resume["log"]
        g.manual_seed(args.seed + step)
        print(f"resumed from {ckpt} at step {step}", flush=True)
    elif init:
        if init["config"] != asdict(cfg):
            raise SystemExit(f"--init {args.init} has config {init['config']}, this run {asdict(cfg)}")
        pred.load_state_dict(init["model"])
        print(f"initialised from {args.init} (step {init['step']})", flush=True)

    def save():
        save_checkpoint(ckpt, pred, cfg, step=step, log=log, optimizer=opt.state_dict(), global_scale=global_scale, token_pool=args.pool,
                        encoder=str(args.encoder), data=str(args.data), meta=meta)

    n_params = sum(p.numel() for p in pred.parameters())
    print(f"predictor: {n_params / 1e6:.3f} M parameters, {cfg.tokens}+1 tokens/frame, width {cfg.width}, "
          f"{train_n} train episodes", flush=True)
    budget = Budget(args.minutes, args.steps)
    while budget.running(step):
        loss, parts = loss_fn(pred, win.sample(args.batch, g), args.rollout, win.fs)
        optimizer_step(opt, loss, pred.parameters(), warmup_lr(args.lr, step, 300))
        step += 1
        if budget.log_due() or step == args.steps:
            with torch.no_grad():
                hl, hp = loss_fn(pred, held.sample(512, torch.Generator().manual_seed(1)), args.rollout, win.fs)
            log.append({"step": step, "loss": loss.item(), **parts, "held_out": hl.item(), "held_out_parts": hp})
            held_rollout = f"(rollout {hp['rollout']:.4f}) " if "rollout" in hp else ""
            print(f"{progress_line(step, loss.item(), parts)} held-out {hl.item():.4f} {held_rollout}"
                  f"({step / max(budget.elapsed(), 1e-9):.1f} steps/s)", flush=True)
        if budget.save_due():
            save()
    save()
    print(f"saved {ckpt} after {step} steps", flush=True)


if __name__ == "__main__":
    main()
