"""The DINO-WM-Edge encoder: a small ViT over task frames.

Read top-down: attention block, then the encoder. The encoder returns patch
tokens (the predictor's latent space, as DINOv2's are in DINO-WM) and a pooled
global embedding from the CLS token, whose distance is the planning cost that
patch-token MSE cannot give on its own (see models/README.md, encoder study).
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class EncoderConfig:
    image_size: int = 64  # frames are square RGB, as rendered by tasks/
    patch: int = 8  # 8x8 patches -> 64 tokens per frame; fewer tokens = cheaper planning
    dim: int = 96  # token width
    depth: int = 4  # transformer blocks
    heads: int = 4  # attention heads (dim must divide by it)
    mlp_ratio: int = 4  # hidden width of each block's MLP, in units of dim
    global_dim: int = 32  # width of the global planning embedding
    keypoints: int = 0  # > 0: the global embedding is that many (x, y) keypoints (spatial softmax), 2K wide

    @property
    def tokens(self) -> int:
        return (self.image_size // self.patch) ** 2


KP_SUB = 3  # each patch token scores a KP_SUB x KP_SUB block of the keypoint heatmap: a finer grid than the tokens'


def cell_centres(side: int) -> torch.Tensor:
    """(side,) centres of `side` equal cells across [-1, 1]: the coordinates keypoints are read and drawn in."""
    return (torch.arange(side, dtype=torch.float32) + 0.5) / side * 2 - 1


def keypoint_grid(side: int) -> torch.Tensor:
    """(side^2, 2) centres of a side x side heatmap's cells, x then y, in [-1, 1], row-major."""
    c = cell_centres(side)
    y, x = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([x.flatten(), y.flatten()], -1)


class Block(nn.Module):
    """Pre-norm transformer block; `mask` is an additive attention mask or None."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.fc1 = nn.Linear(dim, mlp_ratio * dim)
        self.fc2 = nn.Linear(mlp_ratio * dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))  # (B, h, T, c)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, h, T, c)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Encoder(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = nn.Conv2d(3, cfg.dim, cfg.patch, stride=cfg.patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.pos = nn.Parameter(torch.randn(1, 1 + cfg.tokens, cfg.dim) * 0.02)
        self.blocks = nn.ModuleList(Block(cfg.dim, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.ln = nn.LayerNorm(cfg.dim)
        if cfg.keypoints:
            if cfg.global_dim != 2 * cfg.keypoints:
                raise ValueError(f"{cfg.keypoints} keypoints need global_dim {2 * cfg.keypoints}, not {cfg.global_dim}")
            self.kp = nn.Linear(cfg.dim, cfg.keypoints * KP_SUB**2)
            self.register_buffer("kp_grid", keypoint_grid(math.isqrt(cfg.tokens) * KP_SUB), persistent=False)
        else:
            self.head = nn.Sequential(nn.Linear(cfg.dim, cfg.dim), nn.GELU(), nn.Linear(cfg.dim, cfg.global_dim))

    def forward(self, images: torch.Tensor, masked: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """images uint8 (B, H, W, 3), or float in [-0.5, 0.5] as (B, 3, H, W) -> patch tokens (B, N, dim),
        global embedding (B, global_dim). `masked` = (bool (B, N), token (dim,)) replaces those patch
        embeddings by the token (iBOT's masked-patch input; training only)."""
        if images.dtype == torch.uint8:
            x = images.to(self.pos.device).permute(0, 3, 1, 2).float() / 255.0 - 0.5  # (B, 3, H, W)
        else:
            x = images
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, N, dim)
        if masked is not None:
            m, token = masked
            x = torch.where(m.unsqueeze(-1), token.to(x.dtype), x)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos  # (B, 1+N, dim)
        for blk in self.blocks:
            x = blk(x)
        x = self.ln(x)
        if self.cfg.keypoints:
            # the expectation as a product and a sum, not a MatMul: the PTQ toolkit quantizes MatMuls with a
            # constant operand, and a 4-bit grid would snap every keypoint to a few cells
            heat = self.keypoint_heatmaps(x[:, 1:])  # (B, K, M)
            return x[:, 1:], (heat.unsqueeze(-1) * self.kp_grid).sum(2).flatten(1)
        return x[:, 1:], self.head(x[:, 0])

    def keypoint_heatmaps(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, N, dim) patch tokens -> (B, K, M) heatmaps, each a softmax over the M = (grid side x KP_SUB)^2
        cells; a keypoint is its heatmap's expected cell centre (a spatial softmax, after Finn et al. 2016)."""
        B, N, _ = tokens.shape
        s, K, r = math.isqrt(int(N)), self.cfg.keypoints, KP_SUB
        logits = self.kp(tokens).view(B, s, s, K, r, r).permute(0, 3, 1, 4, 2, 5)  # (B, K, row, sub-row, col, sub-col)
        return logits.reshape(B, K, s * r * s * r).softmax(-1)


def pool_tokens(tokens: torch.Tensor, k: int) -> torch.Tensor:
    """Average k x k neighbourhoods of the patch grid: (B, N, D) -> (B, N / k^2, D). Fewer tokens per
    frame is what makes CPU planning affordable (DESIGN, measured facts)."""
    if k == 1:
        return tokens
    B, N, D = tokens.shape
    s = math.isqrt(int(N))  # grid side; int() keeps ONNX tracing happy (N is fixed)
    x = tokens.transpose(1, 2).reshape(B, D, s, s)  # (B, D, s, s)
    return F.avg_pool2d(x, k).flatten(2).transpose(1, 2)  # (B, N/k^2, D)


def save_checkpoint(path, model: nn.Module, cfg, **extra) -> None:
    """Checkpoints carry their config, so a resume rebuilds the exact model."""
    torch.save({"config": asdict(cfg), "model": model.state_dict(), **extra}, path)
