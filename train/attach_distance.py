"""Attach a trained distance head (train/distance_head.py) to a model folder: copies the folder,
adds distance.onnx with its sha256, and sets the planning objective's weights.

    python -m train.attach_distance --model models/wall/fp32 --head runs/dist_wall \
        --distance 1 --patch 0 --global 0 --out runs/model_wall_dist

The encoder and predictor are untouched (the head reads their latents), so the model's
reference.json and parity tests still hold.
"""
import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from .distance_head import DistanceGraph, DistanceHead
from .export import copy_model_with


def reference(head: Path, enc_out: dict) -> dict:
    """phi of the encoder's reference outputs, computed by the trained torch head (parity for the ONNX)."""
    st = torch.load(head / "distance.pt", weights_only=False, map_location="cpu")
    a = st["args"]
    tok, glo = enc_out["tokens"], enc_out["global"]
    only_global = a.get("inputs", "all") == "global"
    in_dim = glo["shape"][1] + (0 if only_global else int(np.prod(tok["shape"][1:])))
    net = DistanceHead(in_dim, a["hidden"], a["dim"])
    net.load_state_dict(st["head"])
    t = torch.tensor(tok["data"]).reshape(tok["shape"])
    g = torch.tensor(glo["data"]).reshape(glo["shape"])
    with torch.no_grad():
        graph = DistanceGraph(net.eval(), a.get("inputs", "all"))
        phi = graph(g) if only_global else graph(t, g)
    inputs = {"global": glo} if only_global else {"tokens": tok, "global": glo}
    return {"inputs": inputs, "outputs": {"phi": {"shape": list(phi.shape), "data": phi.flatten().tolist()}}}


def attach(model: Path, head: Path, out: Path, weights: dict, variant: str | None = None) -> dict:
    card = json.loads((model / "model.json").read_text())
    summary = json.loads((head / "summary.json").read_text())
    if summary["args"]["model"].rstrip("/") != str(model).rstrip("/"):
        enc = card["files"]["encoder.onnx"]["sha256"]
        trained_on = json.loads((Path(summary["args"]["model"]) / "model.json").read_text())
        # A quantized variant of that model carries the head too (quant/ copies it as the study does).
        origin = card.get("quantization", {}).get("from", {}).get("files", {}).get("encoder.onnx", {}).get("sha256")
        if trained_on["files"]["encoder.onnx"]["sha256"] not in (enc, origin):
            raise SystemExit(f"{head} was trained on the latents of another encoder than {model}'s")
    copy_model_with(model, card, out, {"distance.onnx": head / "distance.onnx"})
    if "reference.json" in card["files"]:  # the head's own outputs on the encoder's reference latents
        ref = json.loads((out / "reference.json").read_text())
        ref["distance"] = reference(head, ref["encoder"]["outputs"])
        text = json.dumps(ref)
        (out / "reference.json").write_text(text)
        card["files"]["reference.json"] = {"sha256": hashlib.sha256(text.encode()).hexdigest(), "bytes": len(text.encode())}
    card["objective"] = {**card["objective"], **weights}
    card.setdefault("tensors", {})["distance"] = {
        "inputs": {"global": ["batch", card["global_dim"]]} if summary["args"].get("inputs") == "global" else
        {"tokens": ["batch", card["tokens"], card["latent_dim"]], "global": ["batch", card["global_dim"]]},
        "outputs": {"phi": ["batch", summary["args"]["dim"]]},
    }
    card.setdefault("training", {})["distance"] = {
        "objective": "hilp-td", "steps": summary["steps"], "seconds": summary["seconds"],
        "data": summary["args"]["data"], "args": {k: v for k, v in summary["args"].items() if k not in ("out",)},
        "probe": summary.get("probe"),
    }
    if variant:
        card["variant"] = variant
    (out / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--head", required=True, help="folder with distance.onnx and summary.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--distance", type=float, default=1.0)
    ap.add_argument("--patch", type=float)
    ap.add_argument("--global", dest="global_", type=float)
    ap.add_argument("--proprio", type=float)
    ap.add_argument("--variant")
    args = ap.parse_args()
    w = {"distance": args.distance}
    for k, v in (("patch", args.patch), ("global", args.global_), ("proprio", args.proprio)):
        if v is not None:
            w[k] = v
    card = attach(Path(args.model), Path(args.head), Path(args.out), w, args.variant)
    print(json.dumps({"out": args.out, "objective": card["objective"]}))


if __name__ == "__main__":
    main()
