"""Seconds-long smoke training on tiny generated data: losses fall, export writes valid ONNX."""
import json

import numpy as np
import onnx
import pytest
import torch
from onnx.reference import ReferenceEvaluator

from train.encoder import Frames, SfaLoss, TemporalDistanceLoss
from train.export import export
from train.predictor import Predictor, PredictorConfig
from train.train_predictor import Windows, encode_all, loss_fn
from train.vit import Encoder, EncoderConfig, save_checkpoint

TINY = dict(image_size=32, patch=16, dim=32, depth=1, heads=2, global_dim=8)


@pytest.fixture(scope="module")
def tiny_wall(make_dataset, tmp_path_factory):
    return Frames(make_dataset("wall", episodes=6, steps=30, seed=1, size=32))


def run_steps(model_params, step_fn, steps, lr=3e-3):
    torch.manual_seed(0)
    opt = torch.optim.Adam(model_params, lr=lr)
    losses = []
    for _ in range(steps):
        loss = step_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("objective", ["tdist"])
def test_encoder_objectives_reduce_their_loss(tiny_wall, objective):
    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(**TINY))
    loss = TemporalDistanceLoss() if objective == "tdist" else SfaLoss(enc.cfg, 2)
    g = torch.Generator().manual_seed(0)
    params = list(enc.parameters()) + list(loss.parameters())
    losses = run_steps(params, lambda: loss(enc, tiny_wall, 64, g)[0], 60)
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10]), losses


def test_predictor_teacher_forcing_loss_falls_and_export_is_valid_onnx(tiny_wall, tmp_path):
    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(**TINY)).eval()
    tokens, global_ = encode_all(enc, tiny_wall.obs)
    proprio = torch.from_numpy(np.load(tiny_wall_folder(tiny_wall) / "proprio.npy"))
    win = Windows(tiny_wall, tokens, global_, proprio, tiny_wall.meta, num_hist=2, global_scale=float(global_.std()))
    cfg = PredictorConfig(tokens=tokens.shape[2], latent_dim=32, global_dim=8, action_dim=10, proprio_dim=2,
                          action_emb=8, proprio_emb=8, num_hist=2, width=16, depth=1, heads=2)
    pred = Predictor(cfg)
    g = torch.Generator().manual_seed(0)
    losses = run_steps(pred.parameters(), lambda: loss_fn(pred, win.sample(32, g))[0], 80)
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10]), losses

    save_checkpoint(tmp_path / "enc.pt", enc, enc.cfg, objective="random", step=0)
    save_checkpoint(tmp_path / "pred.pt", pred, cfg, step=80, log=[{"loss": losses[-1]}],
                    global_scale=float(global_.std()), meta=tiny_wall.meta)
    out = tmp_path / "model"
    card = export(str(tmp_path / "enc.pt"), str(tmp_path / "pred.pt"), out, {"patch": 1, "global": 1, "proprio": 0, "mode": "last"})
    for name in ("encoder.onnx", "predictor.onnx"):
        onnx.checker.check_model(onnx.load(out / name))
    assert card["num_hist"] == 2 and card["action_dim"] == 10
    # The ONNX predictor computes what the exporter's reference says, at another batch size (dynamic axis).
    ref = json.loads((out / "reference.json").read_text())["predictor"]
    feeds = {k: np.array(v["data"], dtype=np.float32).reshape(v["shape"]) for k, v in ref["inputs"].items()}
    feeds3 = {k: np.concatenate([v, v[:1]]) for k, v in feeds.items()}
    got = ReferenceEvaluator(str(out / "predictor.onnx")).run(None, feeds3)
    want = np.array(ref["outputs"]["next_tokens"]["data"], dtype=np.float32).reshape(ref["outputs"]["next_tokens"]["shape"])
    np.testing.assert_allclose(got[0][:2], want, atol=1e-4)
    np.testing.assert_allclose(got[0][2], want[0], atol=1e-4)


def tiny_wall_folder(frames):
    return frames.folder
