"""A learned distance over the frozen encoder's latents that chains across trajectories
(after HILP, Park et al. 2024): phi maps a latent (pooled patch tokens + global embedding, as
the encoder graph outputs them) to a space where V(s, g) = -||phi(s) - phi(g)|| is the value of
reaching g from s, trained by expectile TD on the dataset's transitions:

    V(s, g) <- -1 + gamma * V_target(s', g)        (upper expectile: the shortest observed way)

Frames no single trajectory connects get their distance through frames that chain them, so the
distance goes around a wall rather than through it, which the encoder's own Monte-Carlo
temporal distance (tdist) cannot learn. No state labels are used; the encoder stays frozen.

    python -m train.distance_head --data data/wall --model models/wall/fp32 --minutes 10 \
        --out runs/dist_wall [--probe data/probe_wall]

Writes out/distance.pt (resumable checkpoint), out/distance.onnx (tokens, global -> phi) and,
with --probe, the landscape metrics of the learned distance beside the latent's own.
"""
import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .landscape import spearman
from .loop import Budget, optimizer_step, progress_line, warmup_lr

OPSET = 17


def encode_frames(encoder_onnx: Path, frames: np.ndarray, batch: int = 512, log=None):
    """uint8 (M, H, W, 3) frames -> (tokens (M, N, D), global (M, G)) through the exported encoder."""
    try:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(str(encoder_onnx), opts, providers=["CPUExecutionProvider"])
    except ImportError:  # onnx's reference evaluator: slow, enough for the tests' tiny datasets
        from onnx.reference import ReferenceEvaluator

        sess = ReferenceEvaluator(str(encoder_onnx))
    toks, gs = [], []
    t0 = time.time()
    for i in range(0, len(frames), batch):
        t, g = sess.run(["tokens", "global"], {"image": np.ascontiguousarray(frames[i:i + batch])})
        toks.append(t)
        gs.append(g)
        if log and (i // batch) % 40 == 0:
            log(f"encode {i + len(t)}/{len(frames)} frames, {time.time() - t0:.0f}s")
    return np.concatenate(toks), np.concatenate(gs)


def dataset_latents(data: Path, model: Path, log=print):
    """The dataset's latents under the model's encoder, cached next to the data (keyed by the
    encoder's sha256, so a new encoder re-encodes). Returns (tokens, global) shaped (E, T+1, ...)."""
    card = json.loads((model / "model.json").read_text())
    key = card["files"]["encoder.onnx"]["sha256"][:12]
    cache = data / f"latents_{key}.npz"
    if cache.exists():
        z = np.load(cache)
        return z["tokens"], z["global"]
    obs = np.load(data / "obs.npy", mmap_mode="r")
    E, T1 = obs.shape[:2]
    tok, glo = encode_frames(model / "encoder.onnx", obs.reshape(E * T1, *obs.shape[2:]), log=log)
    tok, glo = tok.reshape(E, T1, *tok.shape[1:]), glo.reshape(E, T1, -1)
    np.savez(cache, **{"tokens": tok, "global": glo})
    return tok, glo


class DistanceHead(nn.Module):
    """phi: latent -> R^out. Inputs are z-scored with the dataset's statistics (kept as buffers,
    so the exported graph takes the planner's latents unchanged)."""

    def __init__(self, in_dim: int, hidden: int = 512, out: int = 64):
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("std", torch.ones(in_dim))
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.LayerNorm(hidden), nn.GELU(),
            nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.GELU(),
            nn.Linear(hidden, out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


class DistanceGraph(nn.Module):
    """The exported graph: (tokens [B, N, D], global [B, G]) -> phi [B, out]; a head over the
    global embedding alone (`inputs="global"`) exports with the global input only."""

    def __init__(self, head: DistanceHead, inputs: str = "all"):
        super().__init__()
        self.head, self.inputs = head, inputs

    def forward(self, tokens, global_=None):
        if self.inputs == "global":
            return self.head(tokens)  # called with the global embedding as its only input
        return self.head(torch.cat([tokens.flatten(1), global_], 1))


def value(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return -torch.sqrt(((a - b) ** 2).sum(-1) + 1e-6)


class HilpTD:
    """Expectile TD on V(s, g) = -||phi(s) - phi(g)|| with an EMA target (HILP's recipe:
    goals are the next frame, a geometric-offset future frame of the same episode, or any frame)."""

    def __init__(self, head: DistanceHead, gamma: float, expectile: float, tau: float):
        self.gamma, self.expectile, self.tau = gamma, expectile, tau
        self.target = DistanceHead(head.mean.numel(), head.net[0].out_features, head.net[-1].out_features)
        self.target.load_state_dict(head.state_dict())
        self.target.requires_grad_(False)

    def goals(self, E: int, T1: int, e, t, g: torch.Generator):
        B = e.shape[0]
        u = torch.rand(B, generator=g)
        p = torch.full((B,), 1 - self.gamma)
        u0 = torch.rand(B, generator=g).clamp_min(1e-12)  # log(0) would overflow the offset
        off = (torch.log(u0) / torch.log1p(-p)).floor().clamp(0, T1).long() + 1  # geometric >= 1
        ge, gt = e.clone(), torch.minimum(t + off, torch.full_like(t, T1 - 1))
        nxt = u < 0.2
        gt[nxt] = t[nxt] + 1
        rnd = u >= 0.7
        ge[rnd] = torch.randint(0, E, (int(rnd.sum()),), generator=g)
        gt[rnd] = torch.randint(0, T1, (int(rnd.sum()),), generator=g)
        return ge, gt

    def loss(self, head: DistanceHead, x: torch.Tensor, B: int, g: torch.Generator):
        E, T1 = x.shape[:2]
        e = torch.randint(0, E, (B,), generator=g)
        t = torch.randint(0, T1 - 1, (B,), generator=g)
        ge, gt = self.goals(E, T1, e, t, g)
        s, s1, goal = x[e, t], x[e, t + 1], x[ge, gt]
        reached = (ge == e) & (gt == t + 1)
        with torch.no_grad():
            p1 = self.target(torch.cat([s1, goal]))
            target = -1.0 + self.gamma * (~reached).float() * value(p1[:B], p1[B:])
        p = head(torch.cat([s, goal]))
        v = value(p[:B], p[B:])
        diff = target - v
        w = torch.where(diff > 0, self.expectile, 1 - self.expectile)
        return (w * diff**2).mean(), {"v": v.mean().item(), "v_next": (-v[reached]).mean().item()}

    @torch.no_grad()
    def update_target(self, head: DistanceHead) -> None:
        for pt, ps in zip(self.target.parameters(), head.parameters()):
            pt.mul_(1 - self.tau).add_(ps, alpha=self.tau)


def features(tokens: np.ndarray, glo: np.ndarray, inputs: str = "all") -> torch.Tensor:
    """(..., N, D) tokens and (..., G) global -> (..., N*D + G) float32 features (or (..., G) for
    `inputs="global"`)."""
    if inputs == "global":
        return torch.from_numpy(np.ascontiguousarray(glo, dtype=np.float32))
    lead = tokens.shape[:-2]
    return torch.from_numpy(np.concatenate([tokens.reshape(*lead, -1), glo], -1).astype(np.float32))


@torch.no_grad()
def probe_metrics(phi, tokens_of, probe: Path, far: float) -> dict:
    """Landscape metrics (train/landscape.py's) of a distance over latents on a probe set."""
    a, b = np.load(probe / "pairs_a.npy"), np.load(probe / "pairs_b.npy")
    dist = np.load(probe / "pairs_dist.npy")
    paths = np.load(probe / "paths.npy")
    K, L = paths.shape[:2]
    fa, fb = tokens_of(a), tokens_of(b)
    fp = tokens_of(paths.reshape(K * L, *paths.shape[2:]))
    out = {}
    for name, d in phi.items():
        c = d(fa, fb)
        pc = d(fp, fp.reshape(K, L, -1)[:, -1:].expand(K, L, -1).reshape(K * L, -1)).reshape(K, L)
        mask = dist > far
        out[name] = {
            "spearman": round(spearman(c, dist), 3),
            "spearman_far": round(spearman(c[mask], dist[mask]), 3),
            "path_fall": round(float((np.diff(pc[:, :-1], axis=1) < 0).mean()), 3),
        }
    return out


def export_onnx(head: DistanceHead, n_tokens: int, dim: int, gdim: int, out: Path, inputs: str = "all") -> Path:
    graph = DistanceGraph(head, inputs).eval()
    path = out / "distance.onnx"
    if inputs == "global":
        args, names = (torch.zeros(2, gdim),), ["global"]
    else:
        args, names = (torch.zeros(2, n_tokens, dim), torch.zeros(2, gdim)), ["tokens", "global"]
    torch.onnx.export(
        graph, args, str(path), input_names=names, output_names=["phi"], opset_version=OPSET,
        dynamic_axes={**{n: {0: "batch"} for n in names}, "phi": {0: "batch"}}, dynamo=False,
    )
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True, help="model folder whose encoder.onnx makes the latents")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--max-steps", type=int, default=10**9)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--expectile", type=float, default=0.9)
    ap.add_argument("--tau", type=float, default=0.005)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--inputs", choices=["all", "global"], default="all",
                    help="the latent parts the head reads: patch tokens + global, or the global embedding alone")
    ap.add_argument("--holdout", type=int, default=50, help="last episodes kept out of training")
    ap.add_argument("--probe", help="probe folder (deno task probe) to measure the landscape on")
    ap.add_argument("--far", type=float, default=3.33)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out, data, model = Path(args.out), Path(args.data), Path(args.model)
    out.mkdir(parents=True, exist_ok=True)
    log = lambda s: print(s, flush=True)  # noqa: E731

    tok, glo = dataset_latents(data, model, log)
    N, D, G = tok.shape[2], tok.shape[3], glo.shape[2]
    x = features(tok[: len(tok) - args.holdout], glo[: len(glo) - args.holdout], args.inputs)
    head = DistanceHead(x.shape[-1], args.hidden, args.dim)
    flat = x.reshape(-1, x.shape[-1])
    head.mean.copy_(flat.mean(0))
    head.std.copy_(flat.std(0) + 1e-6)
    td = HilpTD(head, args.gamma, args.expectile, args.tau)
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(args.seed)
    step, ckpt = 0, out / "distance.pt"
    if ckpt.exists():  # resume where it stopped
        st = torch.load(ckpt, weights_only=False)
        head.load_state_dict(st["head"])
        td.target.load_state_dict(st["target"])
        opt.load_state_dict(st["opt"])
        g.set_state(st["rng"])
        step = st["step"]
        log(f"resumed at step {step}")

    def save():
        torch.save({"head": head.state_dict(), "target": td.target.state_dict(), "opt": opt.state_dict(),
                    "rng": g.get_state(), "step": step, "args": vars(args)}, ckpt)

    budget = Budget(args.minutes, args.max_steps)
    while budget.running(step):
        loss, parts = td.loss(head, x, args.batch, g)
        optimizer_step(opt, loss, head.parameters(), warmup_lr(args.lr, step, 500))
        td.update_target(head)
        step += 1
        if budget.log_due():
            log(progress_line(step, loss.item(), parts) + f" {budget.elapsed():.0f}s")
        if budget.save_due():
            save()
    save()
    head.eval()
    path = export_onnx(head, N, D, G, out, args.inputs)
    summary = {"steps": step, "seconds": round(budget.elapsed()), "onnx": str(path),
               "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "args": vars(args)}
    if args.probe:
        def latents(frames):
            t, gl = encode_frames(model / "encoder.onnx", frames)
            return features(t, gl)

        def learned(a, b):
            if args.inputs == "global":
                a, b = a[:, -G:], b[:, -G:]
            return torch.sqrt(((head(a) - head(b)) ** 2).sum(-1)).numpy()

        def global_l2(a, b):
            return torch.sqrt(((a[:, -G:] - b[:, -G:]) ** 2).sum(-1)).numpy()

        def patch_global(a, b):  # the planner's cost today: patch MSE + global L2 (weights 1, 1)
            return (((a[:, :-G] - b[:, :-G]) ** 2).mean(-1) + torch.sqrt(((a[:, -G:] - b[:, -G:]) ** 2).sum(-1))).numpy()

        summary["probe"] = probe_metrics({"learned": learned, "global": global_l2, "patch+global": patch_global},
                                         latents, Path(args.probe), args.far)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    log(json.dumps(summary))


if __name__ == "__main__":
    main()
