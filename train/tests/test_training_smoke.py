"""Seconds-long smoke training on tiny generated data: losses fall, export writes valid ONNX."""
import json

import numpy as np
import onnx
import pytest
import torch
from onnx.reference import ReferenceEvaluator

from train.encoder import DinoIbotLoss, Frames, SfaLoss, SigregLoss, TemporalDistanceLoss, sigreg, sinkhorn_knopp
from train.export import export
from train.predictor import Predictor, PredictorConfig, rollout
from train.train_predictor import Windows, encode_all, loss_fn, model_latents
from train.vit import Encoder, EncoderConfig, save_checkpoint

TINY = dict(image_size=32, patch=16, dim=32, depth=1, heads=2, global_dim=8)


@pytest.fixture(scope="module")
def tiny_wall(make_dataset, tmp_path_factory):
    return Frames(make_dataset("wall", episodes=6, steps=30, seed=1, size=32))


def run_steps(model_params, step_fn, steps, lr=3e-3, after_step=None):
    torch.manual_seed(0)
    opt = torch.optim.Adam(model_params, lr=lr)
    losses = []
    for _ in range(steps):
        loss = step_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if after_step:
            after_step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("objective", ["tdist", "sigreg", "dino"])
def test_encoder_objectives_reduce_their_loss(tiny_wall, objective):
    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(**TINY))
    loss = {"tdist": lambda: TemporalDistanceLoss(), "sfa": lambda: SfaLoss(enc.cfg, 2),
            "sigreg": lambda: SigregLoss(enc.cfg, 2), "dino": lambda: DinoIbotLoss(enc)}[objective]()
    g = torch.Generator().manual_seed(0)
    params = list(enc.parameters()) + [p for p in loss.parameters() if p.requires_grad]
    after = (lambda: loss.update_target(enc)) if objective == "dino" else None
    losses = run_steps(params, lambda: loss(enc, tiny_wall, 64, g)[0], 60, after_step=after)
    # DINO's cross-entropy keeps the teacher's entropy (~ln K at the start), so it falls by less
    assert np.mean(losses[-10:]) < (0.95 if objective == "dino" else 0.8) * np.mean(losses[:10]), losses


def test_sinkhorn_knopp_spreads_the_batch_evenly_over_prototypes():
    torch.manual_seed(0)
    logits = torch.randn(64, 16) * 0.3 + torch.linspace(0, 1, 16)  # a softmax gives the last 3 prototypes 2/3 of the mass
    assert torch.softmax(logits / 0.1, 1).sum(0)[-3:].sum() > 0.6 * 64
    q = sinkhorn_knopp(logits, temp=0.1, iters=50)
    np.testing.assert_allclose(q.sum(1).numpy(), np.ones(64), atol=1e-4)  # each row a distribution
    np.testing.assert_allclose(q.sum(0).numpy(), np.full(16, 4.0), rtol=1e-2)  # each prototype B/K


def test_sigreg_is_small_for_gaussian_embeddings_and_large_for_collapsed_ones():
    g = torch.Generator().manual_seed(0)
    gaussian = sigreg(torch.randn(512, 16, generator=g), g)
    shifted = sigreg(torch.randn(512, 16, generator=g) * 0.2 + 1.0, g)
    collapsed = sigreg(torch.zeros(512, 16), g)
    assert gaussian < 0.1 * shifted < collapsed, (gaussian, shifted, collapsed)


def test_sigreg_checkpoint_folds_its_batchnorm_into_the_encoder_head(tiny_wall):
    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(**TINY))
    loss = SigregLoss(enc.cfg, 2)
    g = torch.Generator().manual_seed(0)
    run_steps(list(enc.parameters()) + list(loss.parameters()), lambda: loss(enc, tiny_wall, 64, g)[0], 5)
    loss.eval()
    folded = loss.folded(enc).eval()
    x = tiny_wall.obs[0, :8]
    with torch.no_grad():
        np.testing.assert_allclose(folded(x)[1].numpy(), loss.norm(enc(x)[1]).numpy(), atol=1e-4)
        np.testing.assert_allclose(folded(x)[0].numpy(), enc(x)[0].numpy(), atol=1e-6)  # patch tokens untouched


def test_masked_patches_reach_the_encoder_only_through_the_mask_token():
    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(**TINY)).eval()
    x = torch.randint(0, 256, (2, 32, 32, 3), dtype=torch.uint8)
    y = x.clone()
    y[:, :16, :16] = 0  # patch 0 of each frame changes
    mask = torch.zeros(2, 4, dtype=torch.bool)
    mask[:, 0] = True
    token = torch.randn(32)
    with torch.no_grad():
        a, b = enc(x, masked=(mask, token)), enc(y, masked=(mask, token))
        np.testing.assert_allclose(a[0].numpy(), b[0].numpy(), atol=1e-6)
        assert not torch.allclose(enc(x)[0], enc(y)[0])


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


def test_rollout_loss_feeds_predictions_back_and_training_on_it_lowers_open_loop_error(tiny_wall):
    """--rollout K: its first step is the teacher-forced prediction, later steps read the model's own output,
    and training on it lowers the open-loop error the planner sees (K steps fed back)."""
    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(**TINY)).eval()
    tokens, global_ = encode_all(enc, tiny_wall.obs)
    proprio = torch.from_numpy(np.load(tiny_wall_folder(tiny_wall) / "proprio.npy"))
    K = 4
    win = Windows(tiny_wall, tokens, global_, proprio, tiny_wall.meta, num_hist=K, global_scale=float(global_.std()))
    cfg = PredictorConfig(tokens=tokens.shape[2], latent_dim=32, global_dim=8, action_dim=10, proprio_dim=2,
                          action_emb=8, proprio_emb=8, num_hist=1, width=16, depth=1, heads=2, residual=True)
    pred = Predictor(cfg)
    batch = win.sample(16, torch.Generator().manual_seed(3))
    with torch.no_grad():
        _, one = loss_fn(pred, batch, steps=1, fs=win.fs)
        _, parts = loss_fn(pred, batch, steps=K, fs=win.fs)
        tok, glo, act, pro = batch
        env_act = act.reshape(16, K * win.fs, -1)
        first = next(rollout(pred, tok[:, :1], glo[:, :1], pro[:, :1], env_act, 0, win.fs, 1))
    assert {k: parts[k] for k in one} == pytest.approx(one)  # teacher forcing unchanged
    assert one["visual"] + one["global"] + one["proprio"] == pytest.approx(
        sum(float(torch.nn.functional.mse_loss(p, t[:, 1])) for p, t in zip(first, (tok, glo, pro))), rel=1e-5)
    assert parts["rollout"] > 0 and parts["rollout"] != pytest.approx(sum(one.values()))  # later steps differ

    g = torch.Generator().manual_seed(0)
    held = win.sample(64, torch.Generator().manual_seed(9))
    before = loss_fn(pred, held, steps=K, fs=win.fs)[1]["rollout"]
    run_steps(pred.parameters(), lambda: loss_fn(pred, win.sample(32, g), steps=K, fs=win.fs)[0], 60)
    after = loss_fn(pred, held, steps=K, fs=win.fs)[1]["rollout"]
    assert after < 0.7 * before, (before, after)


def test_train_predictor_cli_reads_several_datasets_and_starts_from_another_run(tiny_wall, make_dataset, tmp_path,
                                                                              monkeypatch):
    """Two datasets are one training set; --init starts from another run's weights at that run's latent scale,
    and refuses a checkpoint of another shape."""
    from train.train_predictor import main as train_predictor

    enc = Encoder(EncoderConfig(**TINY)).eval()
    save_checkpoint(tmp_path / "enc.pt", enc, enc.cfg, objective="random", step=0)
    other = make_dataset("wall", episodes=4, steps=30, seed=2, size=32)

    def run(out, *extra):
        monkeypatch.setattr("sys.argv", ["train_predictor", "--encoder", str(tmp_path / "enc.pt"), "--pool", "1",
                                         "--width", "16", "--depth", "1", "--steps", "4", "--holdout", "2",
                                         "--threads", "1", "--out", str(tmp_path / out), *extra])
        train_predictor()
        return torch.load(tmp_path / out / "predictor.pt", weights_only=False)

    both = run("both", "--data", f"{other},{tiny_wall.folder}", "--rollout", "2")
    assert both["step"] == 4 and "rollout" in both["log"][-1]
    tokens, global_ = encode_all(enc, tiny_wall.obs)
    assert both["global_scale"] != pytest.approx(float(global_.std()))  # both datasets' latents, not one's

    start = run("start", "--data", str(tiny_wall.folder), "--init", str(tmp_path / "both" / "predictor.pt"),
                "--steps", "0")
    assert start["global_scale"] == both["global_scale"]
    for k, v in both["model"].items():
        torch.testing.assert_close(start["model"][k], v)
    with pytest.raises(SystemExit, match="--init"):
        run("wider", "--data", str(tiny_wall.folder), "--init", str(tmp_path / "both" / "predictor.pt"),
            "--width", "32")


def tiny_wall_folder(frames):
    return frames.folder


def test_a_new_predictor_trains_and_exports_over_a_shipped_encoder_onnx(tiny_wall, tmp_path):
    """No torch checkpoint of the encoder is needed: a model folder's encoder.onnx makes the latents, and the
    export copies that graph unchanged with the model's own global scale."""
    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(**TINY)).eval()
    tokens, global_ = encode_all(enc, tiny_wall.obs)
    scale = float(global_.std())
    cfg = PredictorConfig(tokens=tokens.shape[2], latent_dim=32, global_dim=8, action_dim=10, proprio_dim=2,
                          action_emb=8, proprio_emb=8, num_hist=1, width=16, depth=1, heads=2)
    save_checkpoint(tmp_path / "enc.pt", enc, enc.cfg, objective="random", step=7)
    save_checkpoint(tmp_path / "pred.pt", Predictor(cfg), cfg, step=0, log=[{}], global_scale=scale, meta=tiny_wall.meta)
    shipped = tmp_path / "shipped"
    export(str(tmp_path / "enc.pt"), str(tmp_path / "pred.pt"), shipped, {"patch": 1, "global": 1, "proprio": 0, "mode": "last"})

    tok2, glo2, scale2 = model_latents(tiny_wall.folders, shipped, tiny_wall.N, pool=1)
    assert scale2 == pytest.approx(scale)
    np.testing.assert_allclose(tok2.numpy(), tokens.numpy(), atol=1e-4)
    np.testing.assert_allclose(glo2.numpy(), global_.numpy(), atol=1e-4)  # the graph's scaling undone
    with pytest.raises(SystemExit, match="--pool 2"):
        model_latents(tiny_wall.folders, shipped, tiny_wall.N, pool=2)

    out = tmp_path / "new"
    card = export(str(shipped), str(tmp_path / "pred.pt"), out, {"patch": 1, "global": 1, "proprio": 0, "mode": "last"})
    assert (out / "encoder.onnx").read_bytes() == (shipped / "encoder.onnx").read_bytes()
    assert card["training"]["encoder"]["from"] == str(shipped) and card["training"]["encoder"]["steps"] == 7
    assert card["training"]["global_scale"] == pytest.approx(scale)
    save_checkpoint(tmp_path / "other.pt", Predictor(cfg), cfg, step=0, log=[{}], global_scale=2 * scale,
                    meta=tiny_wall.meta)
    with pytest.raises(SystemExit, match="not trained on"):
        export(str(shipped), str(tmp_path / "other.pt"), tmp_path / "bad", {"patch": 1, "global": 1, "proprio": 0})


def test_held_out_latents_are_the_same_from_the_encoder_checkpoint_and_from_the_model_folder(tiny_wall, tmp_path):
    """rollout_error / state_probe read a predictor trained over a model folder through its encoder.onnx:
    the latents must be those the torch encoder gives (pooled tokens, global over the model's scale)."""
    from train.rollout_error import HeldOut

    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(**TINY)).eval()
    scale = float(encode_all(enc, tiny_wall.obs)[1].std())
    cfg = PredictorConfig(tokens=4, latent_dim=32, global_dim=8, action_dim=10, proprio_dim=2,
                          action_emb=8, proprio_emb=8, num_hist=1, width=16, depth=1, heads=2)
    save_checkpoint(tmp_path / "enc.pt", enc, enc.cfg, objective="random", step=7)
    common = dict(step=0, log=[{}], global_scale=scale, meta=tiny_wall.meta, token_pool=1)
    save_checkpoint(tmp_path / "pred.pt", Predictor(cfg), cfg, encoder=str(tmp_path / "enc.pt"), **common)
    shipped = tmp_path / "shipped"
    export(str(tmp_path / "enc.pt"), str(tmp_path / "pred.pt"), shipped, {"patch": 1, "global": 1, "proprio": 0, "mode": "last"})
    save_checkpoint(tmp_path / "pred_dir.pt", Predictor(cfg), cfg, encoder=str(shipped), **common)

    obs = tiny_wall.obs[:2]
    from_ckpt = HeldOut(str(tiny_wall.folder), str(tmp_path / "pred.pt"), 2).encode(obs)
    from_dir = HeldOut(str(tiny_wall.folder), str(tmp_path / "pred_dir.pt"), 2).encode(obs)
    for a, b in zip(from_ckpt, from_dir):
        assert a.shape == b.shape
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-4)
