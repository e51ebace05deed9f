"""A goal-conditioned proposal policy for the planner (issue 39's "proposal distribution from a small
policy trained on the demonstrations, fused into CEM", as TD-MPC2 and PRISM do).

From the frozen encoder's global embedding of the current frame, the z-scored proprio and the goal
frame's global embedding, it regresses the next H model actions (z-scored), on demonstrations with
hindsight goals: a frame of the same episode 1..max_goal model steps later (goal-conditioned behaviour
cloning). The planner starts its search from this plan (planner option `proposal: "policy"`) and keeps
whatever the world model scores best, so the policy only has to put the search near plans that work.

  python -m train.proposal_policy --model models/pusht/fp32 --encoder runs/enc_pusht96_kp8_step3661.pt \
      --data data/pusht_demo96_s1,data/pusht_demo96 --minutes 20 --out runs/policy_pusht
  python -m train.proposal_policy --model models/pusht/fp32 --attach runs/policy_pusht --out runs/model_pusht_pol

Latents come from the torch checkpoint of the model's encoder (fast), checked against the model's
encoder.onnx on a few frames, and are cached next to the data as `dataset_latents` caches them. Progress
prints every few seconds, checkpoints every minute; rerunning with the same --out resumes.
"""
import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .distance_head import OPSET, encode_frames
from .export import copy_model_with, sha256
from .landscape import load_encoder
from .loop import Budget, optimizer_step, progress_line, warmup_lr
from .train_predictor import dataset_proprio, encode_all


class ProposalPolicy(nn.Module):
    """(global [B, G], proprio [B, P], goal_global [B, G]) -> z-scored model actions [B, H, A]."""

    def __init__(self, global_dim: int, proprio_dim: int, action_dim: int, horizon: int, hidden: int = 256):
        super().__init__()
        self.horizon, self.action_dim = horizon, action_dim
        d = 3 * global_dim + proprio_dim  # the goal's offset from the frame as well: what has to move
        self.net = nn.Sequential(
            nn.Linear(d, hidden), nn.LayerNorm(hidden), nn.GELU(),
            nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.GELU(),
            nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.GELU(),
            nn.Linear(hidden, horizon * action_dim),
        )

    def forward(self, global_, proprio, goal_global):
        x = torch.cat([global_, proprio, goal_global, goal_global - global_], -1)
        return self.net(x).reshape(-1, self.horizon, self.action_dim)


def card_latents(folders: list[Path], model: Path, encoder: Path, n: int, log=lambda m: print(m, flush=True)):
    """(tokens, global) of every frame as the model's encoder.onnx outputs them (tokens pooled, global divided
    by the model's global_scale), computed with the torch checkpoint and cached per folder under the key
    `dataset_latents` uses. The checkpoint must be the ONNX graph's: checked on four frames."""
    card = json.loads((model / "model.json").read_text())
    key = card["files"]["encoder.onnx"]["sha256"][:12]
    scale, pool = float(card["training"]["global_scale"]), int(card["token_pool"])
    enc = None
    out = []
    for f in folders:
        cache = f / f"latents_{key}.npz"
        if not cache.exists():
            obs = np.load(f / "obs.npy", mmap_mode="r")
            if enc is None:
                enc = load_encoder(str(encoder))
                probe = np.array(obs[0, :4])  # a writable copy
                want = encode_frames(model / "encoder.onnx", probe)[1]
                got = encode_all(enc, torch.from_numpy(probe)[None], pool=pool)[1][0].numpy() / scale
                if not np.allclose(got, want, atol=1e-3):
                    raise SystemExit(f"{encoder} is not the encoder of {model} (global differs by "
                                     f"{np.abs(got - want).max():.3g} on the first frames)")
            t0, toks, glos = time.time(), [], []
            for i in range(0, len(obs), 100):  # 100 episodes at a time, with progress
                tok, glo = encode_all(enc, torch.from_numpy(np.array(obs[i:i + 100])), pool=pool)
                toks.append(tok.numpy())
                glos.append(glo.numpy() / scale)
                log(f"encode {f}: {i + len(tok)}/{len(obs)} episodes, {time.time() - t0:.0f}s")
            np.savez(cache, tokens=np.concatenate(toks), **{"global": np.concatenate(glos)})
        z = np.load(cache)
        out.append(z["global"][:n])
    return torch.from_numpy(np.concatenate(out).astype(np.float32))


class GoalWindows:
    """Hindsight-goal samples: a start frame t (any env step), a goal k model steps later (1 <= k <= max_goal),
    the H model actions from t (each frameskip env actions), masked after the goal and past the episode."""

    def __init__(self, global_, proprio, actions, fs: int, horizon: int, max_goal: int):
        self.g, self.p, self.a = global_, proprio, actions  # (N, T+1, G), (N, T+1, P), (N, T, A), z-scored
        self.fs, self.H, self.K = fs, horizon, max_goal
        self.N, self.T = actions.shape[:2]

    def sample(self, B: int, gen: torch.Generator):
        fs, H = self.fs, self.H
        e = torch.randint(0, self.N, (B,), generator=gen)
        t = torch.randint(0, self.T - fs + 1, (B,), generator=gen)  # at least one whole model action
        k_max = torch.clamp((self.T - t) // fs, max=self.K)
        k = 1 + (torch.rand(B, generator=gen) * k_max).long()
        steps = torch.arange(H)
        idx = t[:, None, None] + steps[None, :, None] * fs + torch.arange(fs)[None, None]  # (B, H, fs)
        valid = (steps[None] < k[:, None]) & (idx[:, :, -1] < self.T)  # (B, H)
        act = self.a[e[:, None, None], idx.clamp(max=self.T - 1)].flatten(2)  # (B, H, fs*A)
        return self.g[e, t], self.p[e, t], self.g[e, t + k * fs], act, valid


def masked_mse(pred, target, valid):
    err = ((pred - target) ** 2).mean(-1)
    return (err * valid).sum() / valid.sum()


def export_onnx(policy: ProposalPolicy, gdim: int, pdim: int, path: Path) -> None:
    names = ["global", "proprio", "goal_global"]
    torch.onnx.export(
        policy.eval(), (torch.zeros(2, gdim), torch.zeros(2, pdim), torch.zeros(2, gdim)), str(path),
        input_names=names, output_names=["actions"], opset_version=OPSET,
        dynamic_axes={**{n: {0: "batch"} for n in names}, "actions": {0: "batch"}}, dynamo=False,
    )


def load_policy(run: Path, card: dict) -> tuple[ProposalPolicy, dict]:
    st = torch.load(run / "policy.pt", weights_only=False, map_location="cpu")
    policy = ProposalPolicy(card["global_dim"], card["proprio_dim"], card["action_dim"], st["horizon"], st["hidden"])
    policy.load_state_dict(st["model"])
    return policy.eval(), st


def attach(model: Path, run: Path, out: Path) -> dict:
    """Copy `model` to `out` with the run's policy.onnx listed (sha256), its outputs on the encoder's reference
    latents added to reference.json (the Deno parity test), and the card's planner set to start from it."""
    card = json.loads((model / "model.json").read_text())
    policy, st = load_policy(run, card)
    if st["encoder_sha256"] != card["files"]["encoder.onnx"]["sha256"]:
        raise SystemExit(f"{run} was trained on the latents of another encoder than {model}'s")
    copy_model_with(model, card, out, {"policy.onnx": run / "policy.onnx"})
    if "reference.json" in card["files"]:
        ref = json.loads((out / "reference.json").read_text())
        g = ref["encoder"]["outputs"]["global"]
        glo = torch.tensor(g["data"], dtype=torch.float32).reshape(g["shape"])
        inputs = {"global": glo, "proprio": torch.linspace(-1, 1, len(glo) * card["proprio_dim"]).reshape(len(glo), -1),
                  "goal_global": glo.flip(0)}
        with torch.no_grad():
            act = policy(*inputs.values())
        flat = lambda t: {"shape": list(t.shape), "data": t.reshape(-1).tolist()}  # noqa: E731
        ref["policy"] = {"inputs": {k: flat(v) for k, v in inputs.items()}, "outputs": {"actions": flat(act)}}
        (out / "reference.json").write_text(json.dumps(ref))
        card["files"]["reference.json"] = {"sha256": sha256(out / "reference.json"),
                                           "bytes": (out / "reference.json").stat().st_size}
    card["planner"] = {**card.get("planner", {}), "proposal": "policy"}
    G, P, A, H = card["global_dim"], card["proprio_dim"], card["action_dim"], st["horizon"]
    card.setdefault("tensors", {})["policy"] = {
        "inputs": {"global": ["batch", G], "proprio": ["batch", P], "goal_global": ["batch", G]},
        "outputs": {"actions": ["batch", H, A]},
    }
    card.setdefault("training", {})["policy"] = {
        "data": st["data"], "steps": st["step"], "horizon": H, "max_goal": st["max_goal"], "hidden": st["hidden"],
        "held_out": st["log"][-1]["held_out"] if st["log"] else None,
        "zero_plan": st["log"][-1]["zero_plan"] if st["log"] else None,
    }
    (out / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model folder whose encoder the policy reads")
    ap.add_argument("--out", required=True)
    ap.add_argument("--attach", default=None, help="a trained run: write --model plus its policy to --out, and stop")
    ap.add_argument("--encoder", help="the torch checkpoint of the model's encoder (to encode the data fast)")
    ap.add_argument("--data", help="dataset folder(s), comma-separated; held-out = the last folder's last --holdout")
    ap.add_argument("--horizon", type=int, default=5, help="model actions proposed (the planner's horizon)")
    ap.add_argument("--max-goal", type=int, default=10, help="hindsight goals up to this many model steps ahead")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--episodes", type=int, default=None)
    ap.add_argument("--holdout", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    model, out = Path(args.model), Path(args.out)
    if args.attach:
        card = attach(model, Path(args.attach), out)
        print(f"wrote {out} (policy.onnx {card['files']['policy.onnx']['sha256'][:12]}...)")
        return
    if not args.encoder or not args.data:
        ap.error("training needs --encoder and --data")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out.mkdir(parents=True, exist_ok=True)
    card = json.loads((model / "model.json").read_text())
    # Only actions, proprio and the cached latents are read: the frames are encoded (once) by card_latents.
    folders, n = [Path(f) for f in args.data.split(",") if f], args.episodes  # n: episodes per folder (None: all)
    glo = card_latents(folders, model, Path(args.encoder), n)  # (N, T+1, G)
    env_actions = torch.from_numpy(np.concatenate([np.load(f / "actions.npy", mmap_mode="r")[:n] for f in folders]))
    a_mean, a_std = torch.tensor(card["action_mean"]), torch.tensor(card["action_std"])
    p_mean, p_std = torch.tensor(card["proprio_mean"]), torch.tensor(card["proprio_std"])
    fs, A = card["frameskip"], card["env_action_dim"]
    actions = (env_actions.float() - a_mean[:A]) / a_std[:A]  # (N, T, A) env actions, z-scored as the planner's
    proprio = (dataset_proprio(folders, n).float() - p_mean) / p_std  # (N, T+1, P)
    if not len(glo) == len(actions) == len(proprio):
        raise SystemExit(f"{args.data}: latents, actions and proprio hold different numbers of episodes")
    train_n = len(actions) - args.holdout
    win = GoalWindows(glo[:train_n], proprio[:train_n], actions[:train_n], fs, args.horizon, args.max_goal)
    held = GoalWindows(glo[train_n:], proprio[train_n:], actions[train_n:], fs, args.horizon, args.max_goal)

    G, P = glo.shape[-1], proprio.shape[-1]
    policy = ProposalPolicy(G, P, fs * A, args.horizon, args.hidden)
    opt = torch.optim.AdamW(policy.parameters(), lr=args.lr, weight_decay=0.01)
    gen = torch.Generator().manual_seed(args.seed)
    ckpt = out / "policy.pt"
    step, log = 0, []
    if ckpt.exists():
        st = torch.load(ckpt, weights_only=False)
        policy.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        step, log = st["step"], st["log"]
        gen.manual_seed(args.seed + step)
        print(f"resumed from {ckpt} at step {step}", flush=True)

    def save():
        torch.save({"model": policy.state_dict(), "optimizer": opt.state_dict(), "step": step, "log": log,
                    "horizon": args.horizon, "max_goal": args.max_goal, "hidden": args.hidden, "data": args.data,
                    "encoder_sha256": card["files"]["encoder.onnx"]["sha256"]}, ckpt)
        export_onnx(policy, G, P, out / "policy.onnx")
        policy.train()

    held_batch = held.sample(4096, torch.Generator().manual_seed(1))
    with torch.no_grad():  # the plan the planner starts from without a policy: all zeros (the mean action)
        zero = masked_mse(torch.zeros_like(held_batch[3]), held_batch[3], held_batch[4]).item()
    print(f"policy: {sum(p.numel() for p in policy.parameters()) / 1e6:.3f} M parameters, {train_n} train episodes, "
          f"held-out error of the zero plan {zero:.4f}", flush=True)
    budget = Budget(args.minutes, args.steps)
    while budget.running(step):
        g, p, goal, act, valid = win.sample(args.batch, gen)
        loss = masked_mse(policy(g, p, goal), act, valid)
        optimizer_step(opt, loss, policy.parameters(), warmup_lr(args.lr, step, 200))
        step += 1
        if budget.log_due() or step == args.steps:
            with torch.no_grad():
                g, p, goal, act, valid = held_batch
                hl = masked_mse(policy(g, p, goal), act, valid).item()
            log.append({"step": step, "loss": loss.item(), "held_out": hl, "zero_plan": zero})
            print(f"{progress_line(step, loss.item(), {})} held-out {hl:.4f} (zero plan {zero:.4f}) "
                  f"({step / max(budget.elapsed(), 1e-9):.1f} steps/s)", flush=True)
        if budget.save_due():
            save()
    save()
    print(f"saved {ckpt} and policy.onnx after {step} steps", flush=True)


if __name__ == "__main__":
    main()
