"""The proposal policy: hindsight-goal windows hold the right actions and masks, training on them beats the zero
plan, the export matches torch, and attaching it to a model folder lists it and refuses another encoder's run."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from onnx.reference import ReferenceEvaluator

from train.encoder import Frames
from train.export import export
from train.predictor import Predictor, PredictorConfig
from train.proposal_policy import GoalWindows, ProposalPolicy, attach, card_latents, masked_mse
from train.train_predictor import encode_all
from train.vit import Encoder, EncoderConfig, save_checkpoint

from .conftest import ROOT

TINY = dict(image_size=32, patch=16, dim=32, depth=1, heads=2, global_dim=8)


def test_goal_windows_hold_the_actions_from_the_start_and_mask_past_the_goal_and_the_episode():
    N, T, fs, A, G = 3, 20, 5, 2, 4
    g = torch.arange(N * (T + 1) * G, dtype=torch.float32).reshape(N, T + 1, G)
    p = torch.zeros(N, T + 1, 1)
    a = torch.arange(N * T * A, dtype=torch.float32).reshape(N, T, A)
    win = GoalWindows(g, p, a, fs, horizon=3, max_goal=2)
    glo, _, goal, act, valid = win.sample(4000, torch.Generator().manual_seed(0))
    e, t = (glo[:, 0] // G // (T + 1)).long(), (glo[:, 0] // G % (T + 1)).long()
    k = ((goal[:, 0] - glo[:, 0]) / G / fs).long()
    assert k.min() == 1 and k.max() == 2 and t.max() <= T - fs
    assert (t + k * fs <= T).all(), "the goal is a frame of the episode"
    for b in range(0, 4000, 97):
        for h in range(3):
            first = t[b] + h * fs
            if valid[b, h]:
                assert h < k[b] and first + fs <= T
                want = a[e[b], first:first + fs].reshape(-1)
                assert torch.equal(act[b, h], want), "model action h = the frameskip env actions after step t + h fs"
            else:
                assert h >= k[b] or first + fs > T


def test_the_policy_learns_which_actions_reach_the_goal():
    """Points that move by 0.1 x each env action (one action per episode), seen through global = [x, -x]: the
    action that reaches a goal one model step ahead is learnable from the goal's offset, and the held-out error
    falls far under the zero plan's."""
    gen = torch.Generator().manual_seed(0)
    N, T, fs = 60, 20, 5
    a = (torch.rand(N, 1, 2, generator=gen) * 2 - 1).expand(N, T, 2)
    x = torch.cat([torch.zeros(N, 1, 2), 0.1 * a.cumsum(1)], 1)
    g, p = torch.cat([x, -x], -1), torch.zeros(N, T + 1, 1)
    train, held = GoalWindows(g[:50], p[:50], a[:50], fs, 2, 1), GoalWindows(g[50:], p[50:], a[50:], fs, 2, 1)
    torch.manual_seed(0)
    policy = ProposalPolicy(4, 1, 2 * fs, 2, hidden=64)
    opt = torch.optim.Adam(policy.parameters(), lr=3e-3)
    for _ in range(400):
        glo, pro, goal, act, valid = train.sample(256, gen)
        loss = masked_mse(policy(glo, pro, goal), act, valid)
        opt.zero_grad()
        loss.backward()
        opt.step()
    glo, pro, goal, act, valid = held.sample(2000, torch.Generator().manual_seed(1))
    with torch.no_grad():
        err, zero = masked_mse(policy(glo, pro, goal), act, valid), masked_mse(torch.zeros_like(act), act, valid)
    assert err < 0.1 * zero, (err, zero)


@pytest.fixture(scope="module")
def tiny_model(make_dataset, tmp_path_factory):
    """A tiny pointmaze model folder (random encoder, untrained predictor) and its encoder checkpoint."""
    tmp = tmp_path_factory.mktemp("policy")
    data = Frames(make_dataset("pointmaze", episodes=8, steps=30, seed=2, size=32))
    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(**TINY)).eval()
    scale = float(encode_all(enc, data.obs)[1].std())
    cfg = PredictorConfig(tokens=4, latent_dim=32, global_dim=8, action_dim=10, proprio_dim=4,
                          action_emb=8, proprio_emb=8, num_hist=1, width=16, depth=1, heads=2)
    save_checkpoint(tmp / "enc.pt", enc, enc.cfg, objective="random", step=3)
    save_checkpoint(tmp / "pred.pt", Predictor(cfg), cfg, step=0, log=[{}], global_scale=scale, meta=data.meta)
    export(str(tmp / "enc.pt"), str(tmp / "pred.pt"), tmp / "model", {"patch": 1, "global": 1, "proprio": 0})
    return data, tmp


def test_trains_beats_the_zero_plan_exports_and_attaches(tiny_model, tmp_path):
    data, tmp = tiny_model
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "train.proposal_policy", "--model", str(tmp / "model"), "--encoder", str(tmp / "enc.pt"),
           "--data", str(data.folder), "--holdout", "2", "--steps", "300", "--batch", "128", "--hidden", "32",
           "--max-goal", "3", "--threads", "1", "--out", str(run)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    st = torch.load(run / "policy.pt", weights_only=False)
    last = st["log"][-1]
    assert st["step"] == 300 and np.isfinite(last["held_out"]) and last["zero_plan"] > 0, last
    # The latents were cached under the key dataset_latents uses, equal to the ONNX encoder's.
    card = json.loads((tmp / "model" / "model.json").read_text())
    cache = data.folder / f"latents_{card['files']['encoder.onnx']['sha256'][:12]}.npz"
    assert cache.exists()
    onnx_global = ReferenceEvaluator(str(tmp / "model" / "encoder.onnx")).run(None, {"image": data.obs[0, :3].numpy()})[1]
    np.testing.assert_allclose(np.load(cache)["global"][0, :3], onnx_global, atol=1e-4)

    out = tmp_path / "with_policy"
    new = attach(tmp / "model", run, out)
    assert new["planner"]["proposal"] == "policy" and new["training"]["policy"]["steps"] == 300
    for f, entry in new["files"].items():
        import hashlib
        assert hashlib.sha256((out / f).read_bytes()).hexdigest() == entry["sha256"], f
    ref = json.loads((out / "reference.json").read_text())["policy"]
    feeds = {k: np.asarray(v["data"], np.float32).reshape(v["shape"]) for k, v in ref["inputs"].items()}
    got = ReferenceEvaluator(str(out / "policy.onnx")).run(None, feeds)[0]
    assert list(got.shape) == ref["outputs"]["actions"]["shape"] == [2, 5, 10]
    np.testing.assert_allclose(got.reshape(-1), ref["outputs"]["actions"]["data"], atol=1e-5)

    other = tmp_path / "other"
    other.mkdir()
    (other / "model.json").write_text(json.dumps({**card, "files": {**card["files"], "encoder.onnx": {"sha256": "0" * 64}}}))
    with pytest.raises(SystemExit, match="another encoder"):
        attach(other, run, tmp_path / "bad")


def test_a_checkpoint_that_is_not_the_models_encoder_is_refused(tiny_model, tmp_path):
    data, tmp = tiny_model
    torch.manual_seed(5)
    wrong = Encoder(EncoderConfig(**TINY)).eval()
    save_checkpoint(tmp_path / "wrong.pt", wrong, wrong.cfg, objective="random", step=1)
    folder = tmp_path / "data"
    folder.mkdir()
    for f in data.folder.iterdir():
        if not f.name.startswith("latents_"):
            (folder / f.name).symlink_to(f)
    with pytest.raises(SystemExit, match="is not the encoder of"):
        card_latents([folder], tmp / "model", tmp_path / "wrong.pt", 8)
