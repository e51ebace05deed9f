"""The DINO-WM-Edge predictor: a ViT over `num_hist` frames of frozen encoder latents
with a frame-level causal mask, trained by teacher forcing to predict each next frame.

Each frame is N patch tokens plus one global token (the encoder's global embedding,
lifted to token width). As in DINO-WM, an action embedding (frameskip env actions,
concatenated) and a proprio embedding are concatenated to every token of the frame.
Outputs are read back in the same layout: next patch tokens, next global embedding,
next proprio.
"""
from dataclasses import dataclass

import torch
import torch.nn as nn

from .vit import Block


@dataclass
class PredictorConfig:
    tokens: int = 16  # patch tokens per frame (encoder's)
    latent_dim: int = 96  # encoder token width
    global_dim: int = 32  # encoder global embedding width
    action_dim: int = 10  # frameskip x env action dim
    proprio_dim: int = 2
    action_emb: int = 16  # DINO-WM concatenates small action/proprio embeddings to each token
    proprio_emb: int = 16
    num_hist: int = 1  # frames of history the predictor sees
    width: int = 64  # internal width: the concatenated tokens are projected to it (planning cost ~ width^2)
    depth: int = 3
    heads: int = 4
    mlp_ratio: int = 4
    residual: bool = False  # predict the change from the current frame: copying the frame is the zero output

    @property
    def concat_width(self) -> int:
        return self.latent_dim + self.action_emb + self.proprio_emb


def frame_causal_mask(frames: int, tokens: int) -> torch.Tensor:
    """Additive mask (T, T), T = frames * tokens: a token of frame f sees every token of frames <= f."""
    f = torch.arange(frames).repeat_interleave(tokens)  # frame index of each token
    allowed = f[None, :] <= f[:, None]
    return torch.zeros(allowed.shape).masked_fill(~allowed, float("-inf"))


class Predictor(nn.Module):
    def __init__(self, cfg: PredictorConfig):
        super().__init__()
        self.cfg = cfg
        n = cfg.tokens + 1
        self.global_in = nn.Linear(cfg.global_dim, cfg.latent_dim)
        self.action_enc = nn.Linear(cfg.action_dim, cfg.action_emb)
        self.proprio_enc = nn.Linear(cfg.proprio_dim, cfg.proprio_emb)
        self.inp = nn.Linear(cfg.concat_width, cfg.width)
        self.pos = nn.Parameter(torch.randn(1, cfg.num_hist * n, cfg.width) * 0.02)
        self.blocks = nn.ModuleList(Block(cfg.width, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.ln = nn.LayerNorm(cfg.width)
        self.out_latent = nn.Linear(cfg.width, cfg.latent_dim)  # read back in the encoder's latent space
        self.out_global = nn.Linear(cfg.latent_dim, cfg.global_dim)
        self.out_proprio = nn.Linear(cfg.width, cfg.proprio_dim)
        self.register_buffer("mask", frame_causal_mask(cfg.num_hist, n), persistent=False)

    def forward(self, tokens, global_, action, proprio):
        """tokens (B, h, N, D), global_ (B, h, G), action (B, h, A), proprio (B, h, P), h <= num_hist
        -> next tokens (B, h, N, D), next global (B, h, G), next proprio (B, h, P) for every frame."""
        B, h, N, D = tokens.shape
        x = torch.cat([tokens, self.global_in(global_)[:, :, None]], dim=2)  # (B, h, N+1, D)
        a = self.action_enc(action)[:, :, None].expand(B, h, N + 1, -1)  # (B, h, N+1, Ea)
        p = self.proprio_enc(proprio)[:, :, None].expand(B, h, N + 1, -1)  # (B, h, N+1, Ep)
        x = torch.cat([x, a, p], dim=3).reshape(B, h * (N + 1), -1)  # (B, h(N+1), D+Ea+Ep)
        x = self.inp(x) + self.pos[:, : h * (N + 1)]  # (B, h(N+1), W)
        mask = self.mask[: h * (N + 1), : h * (N + 1)]
        for blk in self.blocks:
            x = blk(x, mask)
        x = self.ln(x).reshape(B, h, N + 1, -1)  # (B, h, N+1, W)
        lat = self.out_latent(x)  # (B, h, N+1, D)
        nxt = lat[:, :, :N], self.out_global(lat[:, :, N]), self.out_proprio(x.mean(2))
        if self.cfg.residual:
            # a small predictor then spends its capacity on what moves, not on redrawing what stays
            return tokens + nxt[0], global_ + nxt[1], proprio + nxt[2]
        return nxt


def rollout(pred: Predictor, tok, glo, pro, actions, t0: int, fs: int, steps: int):
    """Open loop from a history window (B, h, ...) whose first frame is t0, fed the episodes' own
    z-scored env actions (B, T, A); yields the predicted (tokens, global, proprio) of each of `steps`
    steps, each fed back as the newest frame. Differentiable: callers that only measure wrap it in no_grad."""
    for s in range(steps):
        act = torch.stack([actions[:, t0 + (s + i) * fs:t0 + (s + i + 1) * fs].flatten(1)
                           for i in range(tok.shape[1])], 1)  # (B, h, fs*A)
        nt, ng, np_ = pred(tok, glo, act, pro)
        yield nt[:, -1], ng[:, -1], np_[:, -1]
        h = tok.shape[1]
        tok = torch.cat([tok, nt[:, -1:]], 1)[:, -h:]
        glo = torch.cat([glo, ng[:, -1:]], 1)[:, -h:]
        pro = torch.cat([pro, np_[:, -1:]], 1)[:, -h:]
