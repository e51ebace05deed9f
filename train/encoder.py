"""Self-supervised encoder training on task frames, with the candidate objectives
of the encoder study (models/README.md):

  random  no training: the ablation that shows what training buys
  sfa     PLDM-style: temporal smoothness ||g(t+1) - g(t)||^2 + VICReg variance and
          covariance + inverse dynamics, on the global embedding g
  hilp    temporal distance (after HILP, Park et al. 2024): V(s, g) = -||phi(s) - phi(g)||
          trained by expectile TD regression, so that latent distance tracks the number
          of steps between frames
  dino    DINO self-distillation with DINOv2's additions: an EMA teacher, two augmented
          views, Sinkhorn-Knopp centering, the iBOT masked-patch term and the KoLeo spread
          term (the DINO head reads the global embedding, the iBOT head the patch tokens)
  sigreg  LeWM-style JEPA: a predictor maps (g(t), action) to g(t+1) and SIGReg (Epps-Pulley
          tests of random 1-D projections against N(0, 1)) keeps the embedding from collapsing
  tdist   the same target without bootstrapping: frames k steps apart on one trajectory
          are at most k steps apart, so ||phi(s_t) - phi(s_t+k)|| is regressed onto k with
          an upper-bound expectile loss (overshooting k costs 9x undershooting); latent
          distance then tracks the fewest steps seen between two places
  keypoints  a spatial bottleneck: the global embedding is K (x, y) keypoints read from the patch
          tokens by a spatial softmax (--keypoints K), and a small decoder must redraw the frame
          (at half size) from Gaussian blobs at those points alone, so the keypoints have to land on
          what moves (after Finn et al. 2016's deep spatial autoencoder and Jakab et al. 2018)

  python -m train.encoder --data data/wall --objective hilp --minutes 10 --out runs/enc_hilp

Progress prints every few seconds; checkpoints are written every minute and a
rerun with the same --out resumes from the last one.
"""
import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dataclasses import asdict

from .loop import Budget, optimizer_step, progress_line, warmup_lr
from .vit import KP_SUB, Encoder, EncoderConfig, cell_centres, save_checkpoint


class Frames:
    """Dataset folders (tasks/ data contract) as tensors for sampling. Several folders,
    comma-separated, are concatenated along episodes (one encoder for all tasks); they
    must share episode length and action size."""

    def __init__(self, folder: str | Path, episodes: int | None = None):
        self.folders = folders = [Path(f) for f in str(folder).split(",") if f]
        self.folder = folders[0]
        metas = [json.loads((f / "meta.json").read_text()) for f in folders]
        self.meta = metas[0]
        self.tasks = [m["task"] for m in metas]
        obs, actions = [], []
        for f, m in zip(folders, metas):
            o = np.load(f / "obs.npy", mmap_mode="r")
            n = o.shape[0] if episodes is None else min(episodes, o.shape[0])
            obs.append(np.ascontiguousarray(o[:n]))
            actions.append(np.load(f / "actions.npy")[:n])
        if len({(o.shape[1:], a.shape[2]) for o, a in zip(obs, actions)}) != 1:
            raise ValueError(f"datasets {folders} differ in episode length, image size or action size")
        self.obs = torch.from_numpy(obs[0] if len(obs) == 1 else np.concatenate(obs))  # (N, T+1, H, W, 3) uint8
        self.actions = torch.from_numpy(actions[0] if len(actions) == 1 else np.concatenate(actions))  # (N, T, A)
        self.N, self.T1 = self.obs.shape[:2]

    def sample_steps(self, B: int, g: torch.Generator):
        """B transitions (episode, t) with t in [0, T)."""
        e = torch.randint(0, self.N, (B,), generator=g)
        t = torch.randint(0, self.T1 - 1, (B,), generator=g)
        return e, t


def vicreg_var_cov(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """VICReg's variance hinge (std >= 1 per dim) and off-diagonal covariance penalty."""
    z = z - z.mean(0)
    std = torch.sqrt(z.var(0) + 1e-4)
    var = F.relu(1 - std).mean()
    cov = (z.T @ z) / (z.shape[0] - 1)
    off = cov - torch.diag(torch.diag(cov))
    return var, (off**2).sum() / z.shape[1]


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, tau: float) -> None:
    """teacher <- (1 - tau) teacher + tau student, parameter by parameter."""
    for pt, p in zip(teacher.parameters(), student.parameters()):
        pt.mul_(1 - tau).add_(tau * p)


class SfaLoss(nn.Module):
    """PLDM-style objective on the global embedding."""

    def __init__(self, cfg: EncoderConfig, action_dim: int):
        super().__init__()
        self.idm = nn.Sequential(nn.Linear(2 * cfg.global_dim, 128), nn.GELU(), nn.Linear(128, action_dim))

    def forward(self, enc: Encoder, data: Frames, B: int, g: torch.Generator) -> tuple[torch.Tensor, dict]:
        e, t = data.sample_steps(B, g)
        _, z = enc(torch.cat([data.obs[e, t], data.obs[e, t + 1]]))
        z0, z1 = z[:B], z[B:]
        smooth = ((z1 - z0) ** 2).sum(1).mean()
        var, cov = vicreg_var_cov(torch.cat([z0, z1]))
        idm = F.mse_loss(self.idm(torch.cat([z0, z1], 1)), data.actions[e, t].to(z.device))
        loss = smooth + 25 * var + cov + idm
        return loss, {"smooth": smooth.item(), "var": var.item(), "cov": cov.item(), "idm": idm.item()}


class HilpLoss(nn.Module):
    """Expectile TD on V(s, g) = -||phi(s) - phi(g)||, with an EMA target encoder."""

    def __init__(self, enc: Encoder, gamma: float = 0.98, expectile: float = 0.9, tau: float = 0.01):
        super().__init__()
        self.gamma, self.expectile, self.tau = gamma, expectile, tau
        self.target = Encoder(enc.cfg)
        self.target.load_state_dict(enc.state_dict())
        self.target.requires_grad_(False)

    @staticmethod
    def value(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return -torch.sqrt(((a - b) ** 2).sum(-1) + 1e-6)

    def sample_goals(self, data: Frames, e, t, g):
        """Goals: 10% the next state itself, 60% a geometric-offset future frame, 30% any frame."""
        B = e.shape[0]
        u = torch.rand(B, generator=g)
        off = torch.distributions.Geometric(probs=torch.full((B,), 1 - self.gamma)).sample() + 1
        ge, gt = e.clone(), torch.minimum(t + off.long(), torch.full_like(t, data.T1 - 1))
        ge[u < 0.1], gt[u < 0.1] = e[u < 0.1], t[u < 0.1] + 1
        rnd = u >= 0.7
        ge[rnd] = torch.randint(0, data.N, (int(rnd.sum()),), generator=g)
        gt[rnd] = torch.randint(0, data.T1, (int(rnd.sum()),), generator=g)
        return ge, gt

    def forward(self, enc: Encoder, data: Frames, B: int, g: torch.Generator) -> tuple[torch.Tensor, dict]:
        e, t = data.sample_steps(B, g)
        ge, gt = self.sample_goals(data, e, t, g)
        at_goal = ((ge == e) & (gt == t + 1)).to(self.target.pos.device)  # reaching the goal ends the episode
        with torch.no_grad():
            _, p1 = self.target(torch.cat([data.obs[e, t + 1], data.obs[ge, gt]]))
            v_next = self.value(p1[:B], p1[B:])
            target = -1.0 + self.gamma * (~at_goal).float() * v_next
            target = torch.where(at_goal, torch.full_like(target, -1.0), target)
        _, p = enc(torch.cat([data.obs[e, t], data.obs[ge, gt]]))
        v = self.value(p[:B], p[B:])
        diff = target - v
        weight = torch.where(diff > 0, self.expectile, 1 - self.expectile)
        loss = (weight * diff**2).mean()
        return loss, {"v": v.mean().item()}

    def update_target(self, enc: Encoder) -> None:
        ema_update(self.target, enc, self.tau)


def augment(images: torch.Tensor, g: torch.Generator, scale=(0.4, 1.0)) -> torch.Tensor:
    """DINO's global-crop augmentation for small frames: a random resized crop (area fraction in
    `scale`) back to full size, then per-channel gain and brightness jitter. uint8 (B, H, W, 3) ->
    float (B, 3, H, W) in the encoder's [-0.5, 0.5] range."""
    B = images.shape[0]
    x = images.permute(0, 3, 1, 2).float() / 255.0
    s = torch.sqrt(torch.empty(B).uniform_(*scale, generator=g))  # side fraction of the crop
    shift = (torch.rand(B, 2, generator=g) * 2 - 1) * (1 - s).unsqueeze(1)
    theta = torch.zeros(B, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, :, 2] = s, s, shift
    x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False,
                      padding_mode="border")
    gain = 1 + (torch.rand(B, 3, 1, 1, generator=g) * 2 - 1) * 0.2
    bright = (torch.rand(B, 1, 1, 1, generator=g) * 2 - 1) * 0.1
    return (x * gain + bright).clamp(0, 1) - 0.5


class PrototypeHead(nn.Module):
    """DINO projection head: MLP to an L2-normalised bottleneck, then cosine logits against
    L2-normalised prototypes (DINO's weight-normalised last layer with its gain fixed at 1)."""

    def __init__(self, in_dim: int, prototypes: int = 1024, hidden: int = 256, bottleneck: int = 64):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, bottleneck))
        self.prototypes = nn.Parameter(torch.randn(prototypes, bottleneck) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.mlp(x), dim=-1) @ F.normalize(self.prototypes, dim=-1).T


@torch.no_grad()
def sinkhorn_knopp(logits: torch.Tensor, temp: float, iters: int = 3) -> torch.Tensor:
    """DINOv2's teacher centering: rows of (B, K) teacher logits become assignments whose
    prototype marginals are uniform over the batch. Returns (B, K) rows summing to 1."""
    q = torch.exp((logits - logits.max()) / temp).T  # (K, B)
    q /= q.sum()
    K, B = q.shape
    for _ in range(iters):
        q /= q.sum(1, keepdim=True) * K
        q /= q.sum(0, keepdim=True) * B
    return (q * B).T


def koleo(x: torch.Tensor) -> torch.Tensor:
    """KoLeo spread term: minus the mean log distance of each normalised feature to its nearest
    neighbour in the batch."""
    x = F.normalize(x, dim=-1)
    d = torch.cdist(x, x) + torch.eye(x.shape[0], device=x.device) * 1e6
    return -torch.log(d.min(1).values + 1e-8).mean()


class DinoIbotLoss(nn.Module):
    """DINO + iBOT + KoLeo with an EMA teacher (student temperature 0.1, teacher 0.04 -> 0.07)."""

    def __init__(self, enc: Encoder, momentum: float = 0.99, mask_ratio=(0.1, 0.5), koleo_weight: float = 0.1):
        super().__init__()
        dim, gdim = enc.cfg.dim, enc.cfg.global_dim
        self.dino_head, self.ibot_head = PrototypeHead(gdim), PrototypeHead(dim)
        self.mask_token = nn.Parameter(torch.zeros(dim))
        self.teacher = Encoder(enc.cfg)
        self.teacher.load_state_dict(enc.state_dict())
        self.t_dino, self.t_ibot = PrototypeHead(gdim), PrototypeHead(dim)
        self.t_dino.load_state_dict(self.dino_head.state_dict())
        self.t_ibot.load_state_dict(self.ibot_head.state_dict())
        for m in (self.teacher, self.t_dino, self.t_ibot):
            m.requires_grad_(False)
        self.momentum, self.mask_ratio, self.koleo_weight = momentum, mask_ratio, koleo_weight
        self.register_buffer("step", torch.zeros((), dtype=torch.long))  # drives the teacher temperature

    def forward(self, enc: Encoder, data: Frames, B: int, g: torch.Generator) -> tuple[torch.Tensor, dict]:
        e, t = data.sample_steps(B, g)
        frames = data.obs[e, t]
        dev = self.mask_token.device
        views = torch.cat([augment(frames, g), augment(frames, g)]).to(dev)  # (2B, 3, H, W): view 1, view 2
        N = enc.cfg.tokens
        ratio = torch.empty(2 * B, 1).uniform_(*self.mask_ratio, generator=g)
        mask = (torch.rand(2 * B, N, generator=g) < ratio) & (torch.rand(2 * B, 1, generator=g) < 0.5)
        mask = mask.to(dev)  # half the views are masked, 10-50% of their patches
        temp = 0.04 + 0.03 * min(1.0, self.step.item() / 1000)
        with torch.no_grad():
            t_tok, t_glob = self.teacher(views)
            t_cls = sinkhorn_knopp(self.t_dino(t_glob), temp)  # (2B, K)
            t_patch = sinkhorn_knopp(self.t_ibot(t_tok[mask]), temp) if mask.any() else None
        s_tok, s_glob = enc(views, masked=(mask, self.mask_token))
        s_cls = F.log_softmax(self.dino_head(s_glob) / 0.1, dim=-1)
        swapped = torch.cat([t_cls[B:], t_cls[:B]])  # each view is taught by the other view's teacher output
        dino = -(swapped * s_cls).sum(-1).mean()
        ibot = -(t_patch * F.log_softmax(self.ibot_head(s_tok[mask]) / 0.1, dim=-1)).sum(-1).mean() \
            if t_patch is not None else torch.zeros((), device=dev)
        spread = koleo(s_glob[:B]) + koleo(s_glob[B:])
        self.step += 1
        loss = dino + ibot + self.koleo_weight * spread
        return loss, {"dino": dino.item(), "ibot": ibot.item(), "koleo": spread.item(), "temp": temp}

    def update_target(self, enc: Encoder) -> None:
        for teacher, student in [(self.teacher, enc), (self.t_dino, self.dino_head), (self.t_ibot, self.ibot_head)]:
            ema_update(teacher, student, 1 - self.momentum)


def sigreg(z: torch.Tensor, g: torch.Generator, directions: int = 256, knots: int = 17) -> torch.Tensor:
    """SIGReg (LeJEPA / LeWM): project z (B, D) on random unit directions and measure, for each
    1-D projection, the Epps-Pulley distance between its empirical characteristic function and
    N(0, 1)'s, exp(-t^2/2), under a Gaussian window; averaged over directions, scaled by B."""
    A = torch.randn(z.shape[1], directions, generator=g).to(z.device)
    p = z @ (A / A.norm(dim=0))  # (B, M)
    t = torch.linspace(0, 3, knots, device=z.device)
    tp = p.unsqueeze(-1) * t  # (B, M, K)
    phi = torch.exp(-t**2 / 2)
    err = (tp.cos().mean(0) - phi) ** 2 + tp.sin().mean(0) ** 2  # (M, K)
    return torch.trapezoid(err * phi, t, dim=-1).mean() * z.shape[0]


class SigregLoss(nn.Module):
    """LeWM-style objective on the global embedding: one-step latent prediction + lambda SIGReg,
    trained end to end with no stop-gradient or EMA (SIGReg alone prevents collapse). As in LeWM
    the embedding passes a BatchNorm first: frames of one task differ by a few pixels, so a fresh
    encoder maps them to nearly one point, where SIGReg's gradient moves the batch as a whole and
    never spreads it. The BatchNorm is folded into the encoder's head when it is saved."""

    def __init__(self, cfg: EncoderConfig, action_dim: int, weight: float = 1.0):
        super().__init__()
        d = cfg.global_dim
        self.norm = nn.BatchNorm1d(d, affine=False)
        self.predictor = nn.Sequential(nn.Linear(d + action_dim, 256), nn.GELU(), nn.Linear(256, 256), nn.GELU(),
                                       nn.Linear(256, d))
        self.weight = weight

    def forward(self, enc: Encoder, data: Frames, B: int, g: torch.Generator) -> tuple[torch.Tensor, dict]:
        e, t = data.sample_steps(B, g)
        _, z = enc(torch.cat([data.obs[e, t], data.obs[e, t + 1]]))
        z = self.norm(z)
        z0, z1 = z[:B], z[B:]
        pred = z0 + self.predictor(torch.cat([z0, data.actions[e, t].to(z.device)], 1))
        mse = F.mse_loss(pred, z1)
        reg = sigreg(z, g)
        return mse + self.weight * reg, {"pred": mse.item(), "sigreg": reg.item()}

    @torch.no_grad()
    def folded(self, enc: Encoder) -> Encoder:
        """A copy of `enc` whose global head ends in the BatchNorm (running statistics)."""
        out = Encoder(enc.cfg).to(self.norm.running_mean.device)
        out.load_state_dict(enc.state_dict())
        last = out.head[-1]
        inv = 1 / torch.sqrt(self.norm.running_var + self.norm.eps)
        last.weight.mul_(inv.unsqueeze(1))
        last.bias.sub_(self.norm.running_mean).mul_(inv)
        return out


class KeypointLoss(nn.Module):
    """Redraw each frame at half size from its keypoints alone: Gaussian blobs on a 24 x 24 grid
    (for 96-px frames) plus two coordinate channels, through a few convolutions. The decoder is
    training's only; the encoder keeps the keypoints. Pixels that differ from the dataset's median
    frame (what moves: pusht's agent is ~10 pixels of 2,304) weigh `foreground` times the rest, so
    a small object is not left to the last few thousandths of the loss. `sharp` weighs each heatmap's
    spatial variance: a spread heatmap's expectation is the centre of everything it covers (pusht's block
    points sat near the T's middle, where turning the T by ~120 deg barely moves them), a peaked one is a
    single part of the object (issue 39)."""

    def __init__(self, cfg: EncoderConfig, data: Frames | None = None, sigma: float = 0.06, width: int = 64,
                 foreground: float = 10.0, sharp: float = 0.0):
        super().__init__()
        if not cfg.keypoints:
            raise ValueError("the keypoints objective needs --keypoints K > 0")
        self.side, self.sigma, self.foreground, self.sharp = cfg.image_size // 4, sigma, foreground, sharp
        K, w = cfg.keypoints, width
        self.decoder = nn.Sequential(
            nn.Conv2d(K + 2, w, 3, padding=1), nn.GELU(),
            nn.Conv2d(w, w, 3, padding=2, dilation=2), nn.GELU(),
            nn.Conv2d(w, w, 3, padding=4, dilation=4), nn.GELU(),
            nn.Upsample(scale_factor=2, mode="bilinear"),
            nn.Conv2d(w, w // 2, 3, padding=1), nn.GELU(),
            nn.Conv2d(w // 2, 3, 3, padding=1))
        # the median of 256 frames (fixed draw), at the target's size; restored from the checkpoint on resume
        background = torch.zeros(1, 3, cfg.image_size // 2, cfg.image_size // 2)
        if data is not None:
            g = torch.Generator().manual_seed(0)
            e, t = torch.randint(0, data.N, (256,), generator=g), torch.randint(0, data.T1, (256,), generator=g)
            background = self.half(data.obs[e, t]).median(0, keepdim=True).values
        self.register_buffer("background", background)

    @staticmethod
    def half(frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) -> float (B, 3, H/2, W/2) in [-0.5, 0.5]: the redraw's target."""
        return F.avg_pool2d(frames.permute(0, 3, 1, 2).float() / 255.0 - 0.5, 2)

    def draw(self, kp: torch.Tensor) -> torch.Tensor:
        """(B, 2K) keypoints -> (B, K + 2, side, side) blobs and x, y coordinate planes."""
        B = kp.shape[0]
        c = cell_centres(self.side).to(kp.device, kp.dtype)
        kp = kp.view(B, -1, 2, 1, 1)
        blobs = torch.exp(-((c.view(1, 1, 1, -1) - kp[:, :, 0]) ** 2 + (c.view(1, 1, -1, 1) - kp[:, :, 1]) ** 2)
                          / (2 * self.sigma**2))
        planes = torch.stack(torch.meshgrid(c, c, indexing="xy")).expand(B, 2, self.side, self.side)
        return torch.cat([blobs, planes], 1)

    def forward(self, enc: Encoder, data: Frames, B: int, g: torch.Generator) -> tuple[torch.Tensor, dict]:
        e, t = data.sample_steps(B, g)
        frames = data.obs[e, t]
        tokens, kp = enc(frames)
        target = self.half(frames.to(kp.device))
        moving = ((target - self.background).abs().sum(1, keepdim=True) > 0.1).float()
        weight = 1 + (self.foreground - 1) * moving
        err = (self.decoder(self.draw(kp)) - target) ** 2
        loss = (weight * err).sum() / (weight.sum() * 3)
        spread = kp.view(B, -1, 2).std(0).mean()  # how far the keypoints move across the batch
        moving_err = (err * moving).sum().item() / max(moving.sum().item() * 3, 1)
        parts = {"recon": err.mean().item(), "moving": moving_err, "spread": spread.item()}
        if self.sharp:
            var = heatmap_variance(enc.keypoint_heatmaps(tokens), enc.kp_grid, kp.view(B, -1, 2)).mean()
            loss = loss + self.sharp * var
            parts["variance"] = var.item()
        return loss, parts


def heatmap_variance(heat: torch.Tensor, grid: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """(B, K, M) heatmaps over (M, 2) cell centres with expectations (B, K, 2) -> (B, K) spatial variances."""
    return (heat * ((grid.unsqueeze(0).unsqueeze(0) - mean.unsqueeze(2)) ** 2).sum(-1)).sum(-1)


class TemporalDistanceLoss(nn.Module):
    """Monte-Carlo temporal distance: expectile regression of latent distance onto step offsets."""

    def __init__(self, expectile: float = 0.9, scale: float = 0.1):
        super().__init__()
        self.expectile, self.scale = expectile, scale

    def forward(self, enc: Encoder, data: Frames, B: int, g: torch.Generator) -> tuple[torch.Tensor, dict]:
        e = torch.randint(0, data.N, (B,), generator=g)
        t = torch.randint(0, data.T1 - 1, (B,), generator=g)
        room = data.T1 - 1 - t  # steps left in the episode, >= 1
        near = torch.randint(1, 11, (B,), generator=g)
        anywhere = (torch.rand(B, generator=g) * room).long() + 1
        k = torch.where(torch.rand(B, generator=g) < 0.5, near, anywhere)
        k = torch.minimum(k, room)
        _, z = enc(torch.cat([data.obs[e, t], data.obs[e, t + k]]))
        d = torch.sqrt(((z[:B] - z[B:]) ** 2).sum(1) + 1e-6)
        k = k.to(d.device)
        diff = self.scale * k.float() - d  # < 0: the latent says farther than an observed path
        weight = torch.where(diff < 0, self.expectile, 1 - self.expectile)
        loss = (weight * diff**2).mean()
        return loss, {"d_over_k": (d / (self.scale * k.float())).mean().item()}


def grow_keypoints(enc: Encoder, state: dict, config: dict, name: str) -> None:
    """Load `state` (an encoder of `config`) into `enc`; where `enc` has more keypoints and is otherwise the
    same, the first ones keep their trained heatmap rows and the new ones start untrained (a finer
    bottleneck without training the backbone again)."""
    want = asdict(enc.cfg)
    if config == want:
        enc.load_state_dict(state)
        return
    same = {k: v for k, v in config.items() if k not in ("keypoints", "global_dim")}
    if same != {k: v for k, v in want.items() if k not in ("keypoints", "global_dim")} or \
            not config.get("keypoints") or config["keypoints"] > enc.cfg.keypoints:
        raise SystemExit(f"--init {name} has config {config}, this run {want} (only more keypoints may differ)")
    rows = config["keypoints"] * KP_SUB**2  # kp rows are keypoint-major: keypoint k owns rows k*9 .. k*9+8
    grown = enc.state_dict()
    for k, v in state.items():
        if k.startswith("kp."):
            grown[k][:rows] = v
        else:
            grown[k] = v
    enc.load_state_dict(grown)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="dataset folder(s) written by `deno task dataset`, comma-separated")
    ap.add_argument("--objective", required=True,
                    choices=["random", "sfa", "hilp", "dino", "sigreg", "tdist", "keypoints"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=10.0, help="wall-clock training budget")
    ap.add_argument("--steps", type=int, default=100000, help="maximum optimiser steps")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--episodes", type=int, default=None, help="use only the first N episodes")
    ap.add_argument("--sharp", type=float, default=0.0,
                    help="keypoints: weight of each heatmap's spatial variance (peaked heatmaps, one part each)")
    ap.add_argument("--init", help="start from this encoder checkpoint's weights (same config, or fewer "
                    "--keypoints: those keep their heatmaps, the new ones start untrained)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", help="cpu, or cuda where a GPU is present")
    for f in ("dim", "depth", "heads", "patch", "global_dim", "keypoints"):
        ap.add_argument(f"--{f.replace('_', '-')}", type=int, default=getattr(EncoderConfig(), f))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    data = Frames(args.data, args.episodes)
    if args.objective == "keypoints" and not args.keypoints:
        ap.error("--objective keypoints needs --keypoints K (K > 0)")
    cfg = EncoderConfig(image_size=data.obs.shape[2], patch=args.patch, dim=args.dim, depth=args.depth,
                        heads=args.heads, keypoints=args.keypoints,
                        global_dim=2 * args.keypoints if args.keypoints else args.global_dim)
    enc = Encoder(cfg).to(args.device)
    if args.init and not (out / "encoder.pt").exists():
        init = torch.load(args.init, weights_only=False, map_location=args.device)
        grow_keypoints(enc, init["model"], init["config"], args.init)
    loss_fn = {"sfa": lambda: SfaLoss(cfg, data.actions.shape[-1]), "hilp": lambda: HilpLoss(enc),
               "tdist": lambda: TemporalDistanceLoss(), "dino": lambda: DinoIbotLoss(enc),
               "sigreg": lambda: SigregLoss(cfg, data.actions.shape[-1]), "keypoints": lambda: KeypointLoss(cfg, data, sharp=args.sharp),
               "random": lambda: None}[args.objective]()
    if loss_fn is not None:
        loss_fn.to(args.device)
    # the encoder plus the objective's own trainable heads (EMA teachers do not train)
    heads = [p for p in loss_fn.parameters() if p.requires_grad] if loss_fn is not None else []
    params = list(enc.parameters()) + heads
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.05)
    g = torch.Generator().manual_seed(args.seed)
    step, log = 0, []
    ckpt = out / "encoder.pt"
    if ckpt.exists():  # resume
        state = torch.load(ckpt, weights_only=False, map_location=args.device)
        enc.load_state_dict(state.get("unfolded_model", state["model"]))
        if state.get("optimizer"):
            opt.load_state_dict(state["optimizer"])
        if loss_fn is not None and state.get("objective_state"):
            loss_fn.load_state_dict(state["objective_state"])  # heads, teachers, predictors, counters
        step, log = state["step"], state.get("log", [])
        g.manual_seed(args.seed + step)
        print(f"resumed from {ckpt} at step {step}", flush=True)

    def save():
        extra = {"step": step, "log": log, "objective": args.objective, "optimizer": opt.state_dict(),
                 "data": str(args.data)}
        if loss_fn is not None:
            extra["objective_state"] = loss_fn.state_dict()
        if isinstance(loss_fn, SigregLoss):  # the saved model plans with the BatchNorm folded in
            extra["unfolded_model"] = enc.state_dict()
            save_checkpoint(ckpt, loss_fn.folded(enc), cfg, **extra)
            return
        save_checkpoint(ckpt, enc, cfg, **extra)

    budget = Budget(args.minutes, args.steps)
    n_params = sum(p.numel() for p in enc.parameters())
    print(f"{args.objective}: {n_params / 1e6:.3f} M encoder parameters, {data.N} episodes of {data.tasks}", flush=True)
    while loss_fn is not None and budget.running(step):
        loss, parts = loss_fn(enc, data, args.batch, g)
        optimizer_step(opt, loss, params, warmup_lr(args.lr, step, 200))
        if isinstance(loss_fn, (HilpLoss, DinoIbotLoss)):
            loss_fn.update_target(enc)
        step += 1
        if budget.log_due():
            rate = step / max(budget.elapsed(), 1e-9)
            log.append({"step": step, "loss": loss.item(), **parts})
            print(f"{progress_line(step, loss.item(), parts)} ({rate:.1f} steps/s, {budget.elapsed():.0f}s)", flush=True)
        if budget.save_due():
            save()
    save()
    print(f"saved {ckpt} after {step} steps, {budget.elapsed():.0f}s", flush=True)


if __name__ == "__main__":
    main()
