"""Export a trained encoder + predictor to ONNX with model.json (DESIGN's model contract)
and reference outputs the Deno parity tests compare against.

  python -m train.export --encoder runs/enc_hilp/encoder.pt --predictor runs/pred_wall/predictor.pt \
      --out models/wall/fp32

Graphs: encoder  image uint8 [B, H, W, 3] -> tokens [B, N, D], global [B, G]
        predictor tokens [B, h, N, D], global [B, h, G], action [B, h, A], proprio [B, h, P]
                  -> next_tokens [B, h, N, D], next_global [B, h, G], next_proprio [B, h, P]
The batch axis is dynamic; `global` is already divided by the predictor's global_scale.
"""
import argparse
import hashlib
import json
import shutil
from pathlib import Path

import torch
import torch.nn as nn

from .landscape import load_encoder
from .predictor import Predictor, PredictorConfig
from .vit import pool_tokens

OPSET = 17


class EncoderGraph(nn.Module):
    """The frozen encoder as the planner sees it: pooled patch tokens, scaled global embedding."""

    def __init__(self, enc, global_scale: float, pool: int):
        super().__init__()
        self.enc, self.scale, self.pool = enc, global_scale, pool

    def forward(self, image):
        tokens, g = self.enc(image)
        return pool_tokens(tokens, self.pool), g / self.scale


def export_encoder_graph(graph: nn.Module, image_size: int, out: Path) -> Path:
    """Write an image -> (tokens, global) graph as out/encoder.onnx with a dynamic batch."""
    out.mkdir(parents=True, exist_ok=True)
    image = torch.zeros(2, image_size, image_size, 3, dtype=torch.uint8)
    path = out / "encoder.onnx"
    torch.onnx.export(graph.eval(), (image,), path, input_names=["image"], output_names=["tokens", "global"],
                      dynamic_axes={"image": {0: "batch"}, "tokens": {0: "batch"}, "global": {0: "batch"}},
                      opset_version=OPSET, dynamo=False)
    return path


def export_encoder_only(encoder_ckpt: str, out: Path) -> Path:
    """Just the encoder graph (global embedding unscaled), for encoder studies without a predictor."""
    enc = load_encoder(encoder_ckpt)
    return export_encoder_graph(EncoderGraph(enc, 1.0, 1), enc.cfg.image_size, out)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_model_with(model: Path, card: dict, out: Path, extra: dict[str, Path]) -> None:
    """Copy the files `card` lists from `model` to `out` (skipped where they are the same file: in place), add
    `extra` (name -> source file) and list each in `card` with its sha256 and size."""
    out.mkdir(parents=True, exist_ok=True)
    for f in card["files"]:
        if (model / f).resolve() != (out / f).resolve():
            shutil.copyfile(model / f, out / f)
    for name, src in extra.items():
        shutil.copyfile(src, out / name)
        card["files"][name] = {"sha256": sha256(out / name), "bytes": (out / name).stat().st_size}


class CheckpointEncoder:
    """The encoder from a torch checkpoint: exported here with the predictor's global_scale and pooling."""

    def __init__(self, ckpt: str, scale: float, pool: int):
        self.enc, self.ckpt = load_encoder(ckpt), ckpt
        self.graph = EncoderGraph(self.enc, scale, pool).eval()
        self.image_size, self.patch = self.enc.cfg.image_size, self.enc.cfg.patch

    def write(self, out: Path) -> None:
        export_encoder_graph(self.graph, self.image_size, out)

    def run(self, image: torch.Tensor):
        with torch.no_grad():
            return self.graph(image)

    def record(self) -> dict:
        state = torch.load(self.ckpt, weights_only=False)
        return {"checkpoint": str(self.ckpt), "config": state["config"], "objective": state.get("objective"),
                "steps": state.get("step")}


class FolderEncoder:
    """A model folder's encoder.onnx, copied as it is (a new predictor over a shipped frozen encoder)."""

    def __init__(self, folder: Path, scale: float, pool: int):
        self.folder, self.card = folder, json.loads((folder / "model.json").read_text())
        if self.card["token_pool"] != pool or abs(self.card["training"]["global_scale"] - scale) > 1e-6 * scale:
            raise SystemExit(f"the predictor was not trained on {folder}'s encoder (token pool or global scale differ)")
        self.image_size, self.patch = self.card["image_size"], self.card["patch"]

    def write(self, out: Path) -> None:
        if (self.folder / "encoder.onnx").resolve() != (out / "encoder.onnx").resolve():
            shutil.copyfile(self.folder / "encoder.onnx", out / "encoder.onnx")

    def run(self, image: torch.Tensor):
        from .distance_head import encode_frames

        t, g = encode_frames(self.folder / "encoder.onnx", image.numpy())
        return torch.from_numpy(t), torch.from_numpy(g)

    def record(self) -> dict:
        return {**self.card["training"]["encoder"], "from": str(self.folder)}


def export(encoder_ckpt: str, predictor_ckpt: str, out: Path, objective: dict, seed: int = 0,
           planner: dict | None = None) -> dict:
    """encoder_ckpt: a torch checkpoint, or a model folder whose encoder.onnx the predictor was trained on."""
    out.mkdir(parents=True, exist_ok=True)
    pstate = torch.load(predictor_ckpt, weights_only=False, map_location="cpu")
    pcfg = PredictorConfig(**pstate["config"])
    pred = Predictor(pcfg)
    pred.load_state_dict(pstate["model"])
    pred.eval()
    meta, scale = pstate["meta"], pstate["global_scale"]
    pool = pstate.get("token_pool", 1)
    source = Path(encoder_ckpt)
    enc = FolderEncoder(source, scale, pool) if source.is_dir() else CheckpointEncoder(encoder_ckpt, scale, pool)
    g = torch.Generator().manual_seed(seed)

    image = torch.randint(0, 256, (2, enc.image_size, enc.image_size, 3), generator=g, dtype=torch.uint8)
    h = pcfg.num_hist
    pred_in = (torch.randn(2, h, pcfg.tokens, pcfg.latent_dim, generator=g), torch.randn(2, h, pcfg.global_dim, generator=g),
               torch.randn(2, h, pcfg.action_dim, generator=g), torch.randn(2, h, pcfg.proprio_dim, generator=g))
    batch = {0: "batch"}
    enc.write(out)
    p_names = ["tokens", "global", "action", "proprio"]
    p_out = ["next_tokens", "next_global", "next_proprio"]
    torch.onnx.export(pred, pred_in, out / "predictor.onnx", input_names=p_names, output_names=p_out,
                      dynamic_axes={n: batch for n in p_names + p_out}, opset_version=OPSET, dynamo=False)

    e_ref = enc.run(image)
    with torch.no_grad():
        # Reference predictor inputs from real encoder outputs, so parity covers realistic ranges.
        p_ref_in = (e_ref[0][:, None].repeat(1, h, 1, 1), e_ref[1][:, None].repeat(1, h, 1)) + pred_in[2:]
        p_ref = pred(*p_ref_in)
    flat = lambda t: t.detach().reshape(-1).tolist()  # noqa: E731
    reference = {
        "encoder": {"inputs": {"image": {"shape": list(image.shape), "data": flat(image)}},
                    "outputs": {n: {"shape": list(t.shape), "data": flat(t)} for n, t in zip(["tokens", "global"], e_ref)}},
        "predictor": {"inputs": {n: {"shape": list(t.shape), "data": flat(t)} for n, t in zip(p_names, p_ref_in)},
                      "outputs": {n: {"shape": list(t.shape), "data": flat(t)} for n, t in zip(p_out, p_ref)}},
    }
    (out / "reference.json").write_text(json.dumps(reference))

    fs, A = meta["frameskip"], meta["action_dim"]
    log = pstate.get("log") or [{}]
    model = {
        "format": "edgewm-model/1",
        "task": meta["task"],
        "variant": out.name,
        "image_size": enc.image_size,
        "patch": enc.patch,
        "patch_grid": [enc.image_size // enc.patch] * 2,
        "token_pool": pool,
        "tokens": pcfg.tokens,
        "latent_dim": pcfg.latent_dim,
        "global_dim": pcfg.global_dim,
        "num_hist": h,
        "frameskip": fs,
        "env_action_dim": A,
        "action_dim": pcfg.action_dim,
        "proprio_dim": pcfg.proprio_dim,
        # Model actions are frameskip env actions, each z-scored with the dataset's per-dimension stats.
        "action_mean": meta["action_mean"] * fs,
        "action_std": meta["action_std"] * fs,
        "action_low": meta["action_low"] * fs,
        "action_high": meta["action_high"] * fs,
        "proprio_mean": meta["proprio_mean"],
        "proprio_std": meta["proprio_std"],
        "objective": objective,
        # The planner it is served with (model/planner_options.ts presets); `deno task eval` measures it.
        "planner": planner or {"preset": "icem"},
        **({"env_step_seconds": meta["env_step_seconds"]} if meta.get("env_step_seconds") is not None else {}),
        "tensors": {
            "encoder": {"inputs": {"image": ["batch", enc.image_size, enc.image_size, 3]},
                        "outputs": {"tokens": ["batch", pcfg.tokens, pcfg.latent_dim], "global": ["batch", pcfg.global_dim]}},
            "predictor": {"inputs": {"tokens": ["batch", h, pcfg.tokens, pcfg.latent_dim], "global": ["batch", h, pcfg.global_dim],
                                     "action": ["batch", h, pcfg.action_dim], "proprio": ["batch", h, pcfg.proprio_dim]},
                          "outputs": {"next_tokens": ["batch", h, pcfg.tokens, pcfg.latent_dim],
                                      "next_global": ["batch", h, pcfg.global_dim],
                                      "next_proprio": ["batch", h, pcfg.proprio_dim]}},
        },
        "training": {
            # The first dataset's settings; `folders` names every dataset the predictor read (--data A,B).
            "data": {**{k: meta[k] for k in ("task", "episodes", "steps", "seed", "version")},
                     **({"folders": pstate["data"]} if pstate.get("data") else {})},
            "encoder": enc.record(),
            "predictor": {"config": pstate["config"], "steps": pstate["step"], "final": log[-1]},
            "global_scale": scale,
        },
        "files": {f: {"sha256": sha256(out / f), "bytes": (out / f).stat().st_size}
                  for f in ("encoder.onnx", "predictor.onnx", "reference.json")},
    }
    (out / "model.json").write_text(json.dumps(model, indent=2) + "\n")
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", required=True, help="encoder checkpoint (.pt), or the model folder the predictor was trained on")
    ap.add_argument("--predictor", help="predictor checkpoint (omit with --encoder-only)")
    ap.add_argument("--encoder-only", action="store_true", help="write just encoder.onnx, for encoder studies")
    ap.add_argument("--out", required=True)
    ap.add_argument("--patch-weight", type=float, default=1.0, help="weight of patch-token MSE in the planning cost")
    ap.add_argument("--global-weight", type=float, default=1.0, help="weight of the global-embedding distance")
    ap.add_argument("--proprio-weight", type=float, default=0.0, help="DINO-WM's alpha on the proprio MSE")
    ap.add_argument("--preset", default="icem", help="the planner preset the card names (model/planner_options.ts)")
    args = ap.parse_args()
    if args.encoder_only:
        print(export_encoder_only(args.encoder, Path(args.out)))
        return
    if not args.predictor:
        ap.error("--predictor is required unless --encoder-only")
    objective = {"patch": args.patch_weight, "global": args.global_weight, "proprio": args.proprio_weight,
                 "mode": "last"}
    m = export(args.encoder, args.predictor, Path(args.out), objective, planner={"preset": args.preset})
    print(json.dumps({k: v["bytes"] for k, v in m["files"].items()}))


if __name__ == "__main__":
    main()
