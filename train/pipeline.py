"""From a dataset in the data contract to a model folder the server loads, in one command: encoder
pre-training (or a given frozen encoder), predictor training, the distance head where asked, export and
hashing. `deno task train` runs this; each stage prints progress and checkpoints as its own module does.

  python -m train.pipeline --data data/myrobot --out models/myrobot/fp32 --minutes 60
  python -m train.pipeline --data data/myrobot --out models/myrobot/fp32 --encoder models/wall/fp32  # reuse

Stages run in order; a stage that finished is skipped on a rerun with the same --work and settings, and
one that was interrupted resumes from its last checkpoint (a rerun with other settings starts over in a
new --work). --minutes is the wall-clock budget of the whole run, split between the stages that train.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Shares of the --minutes budget per training stage (the encoder's share goes to the predictor when an
# encoder is given).
SHARES = {"encoder": 0.45, "predictor": 0.45, "distance": 0.10}


def stages(args) -> list[str]:
    out = [] if args.encoder else ["encoder"]
    out.append("predictor")
    if args.distance:
        out.append("distance")
    return out + ["export"]


def minutes_for(stage: str, args) -> float:
    training = [s for s in stages(args) if s in SHARES]
    return args.minutes * SHARES[stage] / sum(SHARES[s] for s in training)


def run_module(module: str, argv: list[str], log) -> None:
    """python -m train.<module> argv, its output passed through; a failure stops the pipeline."""
    cmd = [sys.executable, "-m", f"train.{module}", *argv]
    log(f"$ {' '.join(cmd)}")
    r = subprocess.run(cmd, cwd=Path(__file__).resolve().parents[1])
    if r.returncode != 0:
        raise SystemExit(f"train.{module} failed (exit {r.returncode}); rerun the same command to resume")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="dataset folder in the data contract (meta.json + .npy files)")
    ap.add_argument("--out", required=True, help="the model folder to write (model.json, encoder.onnx, ...)")
    ap.add_argument("--work", help="checkpoints and stage records (default: runs/train-<out's parent name>)")
    ap.add_argument("--encoder", help="a frozen encoder to reuse: a checkpoint (.pt) or a model folder")
    ap.add_argument("--objective", default="tdist", help="the encoder's self-supervised objective (train/encoder.py)")
    ap.add_argument("--patch", type=int, default=16, help="encoder patch size")
    ap.add_argument("--dim", type=int, default=96, help="encoder width")
    ap.add_argument("--depth", type=int, default=4, help="encoder depth")
    ap.add_argument("--width", type=int, default=64, help="predictor width")
    ap.add_argument("--pred-depth", type=int, default=3, help="predictor depth")
    ap.add_argument("--pool", type=int, default=2, help="k x k patch tokens averaged into one latent token")
    ap.add_argument("--num-hist", type=int, default=1)
    ap.add_argument("--distance", action="store_true", help="train a distance head and plan with it (train/distance_head.py)")
    ap.add_argument("--proprio-weight", type=float, help="DINO-WM's alpha (default: 1 where the data has proprio)")
    ap.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget of the whole run")
    ap.add_argument("--max-steps", type=int, help="cap every training stage's steps (smoke runs)")
    ap.add_argument("--holdout", type=int, help="last episodes kept out of training (default: a tenth, at most 50)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", help="cpu, or cuda where a GPU is present")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    data, out = Path(args.data), Path(args.out)
    meta_path = data / "meta.json"
    if not meta_path.is_file():
        raise SystemExit(f"--data {data}: no meta.json (the data contract: docs/own-task.md)")
    meta = json.loads(meta_path.read_text())
    work = Path(args.work or f"runs/train-{out.parent.name or 'model'}")
    work.mkdir(parents=True, exist_ok=True)
    holdout = args.holdout if args.holdout is not None else max(1, min(50, meta["episodes"] // 10))
    settings = {k: v for k, v in vars(args).items() if k not in ("minutes", "threads", "device", "work")}
    record_path = work / "pipeline.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    if record.get("settings", settings) != settings:
        raise SystemExit(f"{work} holds a run with other settings ({record['settings']}); choose another --work")
    record["settings"] = settings
    done = record.setdefault("done", {})
    log = lambda s: print(f"pipeline: {s}", flush=True)  # noqa: E731
    caps = lambda flag: [flag, str(args.max_steps)] if args.max_steps else []  # noqa: E731
    common = ["--threads", str(args.threads), "--seed", str(args.seed)]
    plan = stages(args)
    log(f"{meta['task']}: {meta['episodes']} episodes of {meta['steps']} steps, {meta['image_size']} px; "
        f"stages {', '.join(plan)}; {args.minutes:g} min")
    t0 = time.time()
    encoder = args.encoder or str(work / "encoder" / "encoder.pt")
    for stage in plan:
        if done.get(stage):
            log(f"{stage}: done earlier, skipped")
            continue
        started = time.time()
        if stage == "encoder":
            run_module("encoder", ["--data", str(data), "--objective", args.objective, "--patch", str(args.patch),
                                   "--dim", str(args.dim), "--depth", str(args.depth), "--minutes",
                                   f"{minutes_for(stage, args):.3f}", "--out", str(work / "encoder"),
                                   "--device", args.device, *caps("--steps"), *common], log)
        elif stage == "predictor":
            run_module("train_predictor", ["--data", str(data), "--encoder", encoder, "--pool", str(args.pool),
                                           "--width", str(args.width), "--depth", str(args.pred_depth),
                                           "--num-hist", str(args.num_hist), "--holdout", str(holdout),
                                           "--minutes", f"{minutes_for(stage, args):.3f}",
                                           "--out", str(work / "predictor"), "--device", args.device,
                                           *caps("--steps"), *common], log)
        elif stage == "distance":
            # The head reads the latents of the exported encoder: export once without it first.
            export_to(out, encoder, work, meta, args)
            run_module("distance_head", ["--data", str(data), "--model", str(out), "--holdout", str(holdout),
                                         "--minutes", f"{minutes_for(stage, args):.3f}",
                                         "--out", str(work / "distance"), *caps("--max-steps"), *common], log)
        else:
            export_to(out, encoder, work, meta, args)
            if args.distance:
                run_module("attach_distance", ["--model", str(out), "--head", str(work / "distance"),
                                               "--distance", "1", "--patch", "0", "--global", "0",
                                               "--out", str(out)], log)
        done[stage] = {"seconds": round(time.time() - started, 1)}
        record_path.write_text(json.dumps(record, indent=2) + "\n")
        log(f"{stage}: done in {time.time() - started:.0f}s")
    card = json.loads((out / "model.json").read_text())
    log(f"wrote {out} ({sum(f['bytes'] for f in card['files'].values())} bytes) in {time.time() - t0:.0f}s; "
        f"serve it: EDGEWM_MODELS={out} deno task serve")


def export_to(out: Path, encoder: str, work: Path, meta: dict, args) -> dict:
    from .export import export

    alpha = args.proprio_weight if args.proprio_weight is not None else (1.0 if meta.get("proprio_dim") else 0.0)
    objective = {"patch": 1.0, "global": 1.0, "proprio": alpha, "mode": "last"}
    return export(encoder, str(work / "predictor" / "predictor.pt"), out, objective)


if __name__ == "__main__":
    main()
