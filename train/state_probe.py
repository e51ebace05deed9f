"""How much of the true task state the world model's latents hold: a probe read on held-out episodes.

  python -m train.state_probe --data data/pusht --predictor runs/pred_pusht_long/predictor.pt
  python -m train.state_probe --data data/pusht --encoder runs/enc_all_tdist/encoder.pt --pool 1

A small MLP (the probe) is fit on frozen latents of the training episodes (pooled tokens and the
scaled global embedding, exactly what the predictor sees) to the parts of the state that decide
success, on true latents and on the predictor's open-loop latents of the same episodes. It is then
read on the held-out episodes three ways, per open-loop rollout step:
  latent     the probe on the encoded true frame: what the encoder keeps;
  predicted  the probe on the predictor's open-loop latent: what the world model can plan with;
  copy       the start state itself: the baseline a useful prediction must beat.
Errors are in units of the task's success tolerance, so below 1 means the state is resolved finely
enough to tell a success. The probe uses state labels, so it measures the latents; it is not part of
any model. With --encoder instead of --predictor only the encoder is read (latent and copy columns),
at any token pooling: what a world model on that encoder could at best plan with. --export-cost DIR
then writes that encoder as an ONNX graph whose `global` output is the probe's reading, weighted as the
oracle weighs the state, for `study/experiments/encoder_planning.ts --cost global` (planning on the true simulator).
Prints one JSON line per rollout step.
"""
import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .encoder import Frames
from .landscape import load_encoder
from .export import EncoderGraph, export_encoder_graph
from .rollout_error import HeldOut, open_loop, window_starts
from .train_predictor import encode_all

# task -> parts of the state that decide success: (name, state indices, kind, success tolerance)
PARTS = {
    "wall": [("dot", (0, 1), "pos", 4.5)],
    "pointmaze": [("point", (0, 1), "pos", 0.5)],
    "reacher": [("q1", (0,), "angle", 0.2), ("q2", (1,), "angle", 0.2)],
    "pusht": [("agent", (0, 1), "pos", 20.0), ("block", (2, 3), "pos", 20.0), ("angle", (4,), "angle", math.pi / 9)],
}

# The oracle's pusht cost counts the agent at a quarter (Task.oracleCost in tasks/pusht.ts): the exported cost does too.
COST_WEIGHTS = {"pusht": {"agent": 0.25}}


def targets(states: torch.Tensor, parts) -> torch.Tensor:
    """(..., S) states -> (..., K) probe targets: positions and (cos, sin) of angles, in tolerance units."""
    out = []
    for _, idx, kind, tol in parts:
        if kind == "pos":
            out += [states[..., i] / tol for i in idx]
        else:
            a = states[..., idx[0]]
            out += [torch.cos(a) / tol, torch.sin(a) / tol]  # chord ~ angle for small errors
    return torch.stack(out, -1).float()


def part_errors(est: torch.Tensor, states: torch.Tensor, parts, decoded: bool) -> dict:
    """Mean error of each part in tolerance units. `est` is probe output (decoded=True) or states."""
    errs, k = {}, 0
    for name, idx, kind, tol in parts:
        if kind == "pos":
            got = est[..., k:k + len(idx)] * tol if decoded else est[..., list(idx)]
            errs[name] = ((got - states[..., list(idx)]).norm(dim=-1) / tol).mean().item()
            k += len(idx)
        else:
            got = torch.atan2(est[..., k + 1], est[..., k]) if decoded else est[..., idx[0]]
            d = torch.remainder(got - states[..., idx[0]] + math.pi, 2 * math.pi) - math.pi
            errs[name] = (d.abs() / tol).mean().item()
            k += 2
    return errs


class Probe(nn.Module):
    def __init__(self, mean: torch.Tensor, std: torch.Tensor, out: int, width: int = 256):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.net = nn.Sequential(nn.Linear(len(mean), width), nn.GELU(), nn.Linear(width, width), nn.GELU(),
                                 nn.Linear(width, out))

    def forward(self, tokens: torch.Tensor, global_: torch.Tensor) -> torch.Tensor:
        x = torch.cat([tokens.flatten(-2), global_], -1)
        return self.net((x - self.mean) / self.std)


def fit_probe(tokens, global_, y, steps: int, batch: int = 512, lr: float = 1e-3, log=print) -> Probe:
    """Fit on (M, n, D) tokens, (M, G) global -> (M, K) targets with AdamW and a cosine schedule."""
    x = torch.cat([tokens.flatten(-2), global_], -1)
    probe = Probe(x.mean(0), x.std(0) + 1e-6, y.shape[-1])
    opt = torch.optim.AdamW(probe.parameters(), lr, weight_decay=1e-4)
    t0 = time.time()
    for step in range(1, steps + 1):
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        i = torch.randint(len(y), (batch,))
        loss = ((probe(tokens[i], global_[i]) - y[i]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % max(1, steps // 10) == 0 or step == steps:
            log(f"probe step {step}/{steps} loss {loss.item():.4f} ({time.time() - t0:.0f} s)")
    return probe.eval()


@torch.no_grad()
def probe_rollouts(ho: HeldOut | None, probe: Probe, tokens, global_, states, parts, steps: int, fs: int) -> list[dict]:
    """Per rollout step, each part's error: probe on true latents, on the predictor's open-loop
    latents of the held-out episodes (with a predictor, `ho`), and copying the start state."""
    hows = ["latent", "copy"] + (["predicted"] if ho else [])
    rows = [{name: {how: [] for how in hows} for name, *_ in parts} for _ in range(steps)]
    if ho:
        windows = open_loop(ho.pred, tokens, global_, ho.actions, ho.proprio, fs, steps)
    else:  # the same windows with one history frame, nothing predicted
        windows = ((s, t0, t0 + (s + 1) * fs, None, None)
                   for t0 in window_starts(tokens.shape[1], 1, fs, steps) for s in range(steps))
    for s, last, tgt, nt, ng in windows:
        truth = states[:, tgt]
        found = {
            "latent": part_errors(probe(tokens[:, tgt], global_[:, tgt]), truth, parts, True),
            "copy": part_errors(states[:, last], truth, parts, False),
        }
        if ho:
            found["predicted"] = part_errors(probe(nt, ng), truth, parts, True)
        for how, errs in found.items():
            for name, e in errs.items():
                rows[s][name][how].append(e)
    return [{name: {how: round(float(np.mean(v)), 3) for how, v in r.items()} for name, r in row.items()} for row in rows]


class ProbeCostGraph(nn.Module):
    """The encoder graph the planner sees (pooled tokens, unscaled global) with the probe's weighted
    reading of the state as its `global` output."""

    def __init__(self, enc, probe: Probe, pool: int, weights: torch.Tensor):
        super().__init__()
        self.graph, self.probe = EncoderGraph(enc, 1.0, pool), probe
        self.register_buffer("weights", weights)

    def forward(self, image):
        tokens, g = self.graph(image)
        return tokens, self.probe(tokens, g) * self.weights


def export_cost(enc, probe: Probe, pool: int, task: str, out: Path) -> Path:
    w = [COST_WEIGHTS.get(task, {}).get(name, 1.0) for name, idx, kind, _ in PARTS[task]
         for _ in (idx if kind == "pos" else (0, 1))]
    return export_encoder_graph(ProbeCostGraph(enc, probe, pool, torch.tensor(w)), enc.cfg.image_size, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--predictor", help="predictor checkpoint: its encoder, pooling and rollouts are read")
    which.add_argument("--encoder", help="encoder checkpoint alone: latent and copy columns only")
    ap.add_argument("--pool", type=int, default=2, help="token pooling with --encoder (the predictors use 2)")
    ap.add_argument("--probe-steps", type=int, default=20000)
    ap.add_argument("--episodes", type=int, default=900, help="training episodes the probe is fit on")
    ap.add_argument("--steps", type=int, default=5, help="open-loop rollout steps")
    ap.add_argument("--holdout", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--export-cost", metavar="DIR", help="with --encoder: write the probe-cost encoder graph here")
    args = ap.parse_args()
    if args.export_cost and not args.encoder:
        ap.error("--export-cost needs --encoder")
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    if args.predictor:
        ho = HeldOut(args.data, args.predictor, args.holdout)
        data, encode, fs, held = ho.data, ho.encode, ho.fs, ho.episodes
    else:
        ho, data, enc = None, Frames(args.data), load_encoder(args.encoder)
        encode = lambda obs: encode_all(enc, obs, pool=args.pool)  # noqa: E731
        fs, held = data.meta["frameskip"], list(range(data.N - args.holdout, data.N))
    task = data.meta["task"]
    parts = PARTS[task]
    log = lambda m: print(f"[state_probe {task}] {m}", flush=True)  # noqa: E731
    states = torch.from_numpy(np.load(f"{args.data}/states.npy")).double()
    train = list(range(min(args.episodes, data.N - args.holdout)))
    tok, glo = encode(data.obs[train])
    xs_t, xs_g, ys = [tok.flatten(0, 1)], [glo.flatten(0, 1)], [states[train].flatten(0, 1)]
    if ho:
        # Fit on the predictor's own open-loop latents of the training episodes too, so that
        # reading predictions measures what they hold, not how far off-manifold they are.
        actions, proprio = ho.inputs(train)
        for _, _, tgt, nt, ng in open_loop(ho.pred, tok, glo, actions, proprio, fs, args.steps):
            xs_t.append(nt)
            xs_g.append(ng)
            ys.append(states[train, tgt])
    log(f"{len(train) * tok.shape[1]} true and {sum(len(x) for x in xs_t[1:])} predicted training latents")
    probe = fit_probe(torch.cat(xs_t), torch.cat(xs_g), targets(torch.cat(ys), parts), args.probe_steps, log=log)
    htok, hglo = encode(data.obs[held])
    rows = probe_rollouts(ho, probe, htok, hglo, states[held], parts, args.steps, fs)
    if args.export_cost:
        log(f"wrote {export_cost(enc, probe, args.pool, task, Path(args.export_cost))}")
    source = {"predictor": args.predictor} if ho else {"encoder": args.encoder, "pool": args.pool}
    for s, row in enumerate(rows, 1):
        print(json.dumps({"task": task, **source, "step": s, "unit": "success tolerance", **row}))


if __name__ == "__main__":
    main()
