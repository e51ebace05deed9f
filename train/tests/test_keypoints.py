"""The spatial-softmax keypoint encoder: where a keypoint lands, what its decoder draws, and its ONNX graph."""
import numpy as np
import onnx
import pytest
import torch
from onnx.reference import ReferenceEvaluator

from train.encoder import Frames, KeypointLoss
from train.export import EncoderGraph, export_encoder_graph
from train.vit import KP_SUB, Encoder, EncoderConfig, keypoint_grid

KP = dict(image_size=32, patch=8, dim=32, depth=1, heads=2, keypoints=3, global_dim=6)  # a 4 x 4 token grid


def test_keypoint_grid_is_cell_centres_row_major():
    g = keypoint_grid(4)
    np.testing.assert_allclose(g[0].numpy(), [-0.75, -0.75])
    np.testing.assert_allclose(g[1].numpy(), [-0.25, -0.75])  # x moves first
    np.testing.assert_allclose(g[4].numpy(), [-0.75, -0.25])
    np.testing.assert_allclose(g[15].numpy(), [0.75, 0.75])


@pytest.mark.parametrize("token,sub", [(0, (0, 0)), (6, (2, 1)), (15, (1, 2))])
def test_a_keypoint_lands_on_the_sub_cell_its_token_scores_highest(token, sub):
    enc = Encoder(EncoderConfig(**KP))
    N, K, r = enc.cfg.tokens, enc.cfg.keypoints, KP_SUB
    with torch.no_grad():  # token j is the j-th unit vector; keypoint 1 scores (token, sub) at 60, all else 0
        enc.kp.weight.zero_()
        enc.kp.bias.zero_()
        enc.kp.weight[1 * r * r + sub[0] * r + sub[1], token] = 60.0
        tokens = torch.eye(N, enc.cfg.dim).unsqueeze(0)
        heat = enc.keypoint_heatmaps(tokens)
        kp = heat.matmul(enc.kp_grid).view(K, 2)
    side = 4 * r  # 12 x 12 heatmap cells over [-1, 1]
    row, col = (token // 4) * r + sub[0], (token % 4) * r + sub[1]
    centre = [(col + 0.5) / side * 2 - 1, (row + 0.5) / side * 2 - 1]
    np.testing.assert_allclose(heat[0, 1].sum().item(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(kp[1].numpy(), centre, atol=1e-4)
    np.testing.assert_allclose(kp[0].numpy(), [0, 0], atol=1e-5)  # a flat heatmap's mean is the centre


def test_keypoints_are_the_global_embedding_and_need_its_width():
    enc = Encoder(EncoderConfig(**KP))
    tokens, g = enc(torch.zeros(2, 32, 32, 3, dtype=torch.uint8))
    assert tokens.shape == (2, 16, 32) and g.shape == (2, 6)
    assert g.abs().max() <= 1
    with pytest.raises(ValueError, match="3 keypoints need global_dim 6"):
        Encoder(EncoderConfig(**{**KP, "global_dim": 8}))


def test_decoder_draws_a_blob_where_the_keypoint_is():
    loss = KeypointLoss(EncoderConfig(**KP))
    maps = loss.draw(torch.tensor([[0.5, -0.5, 0, 0, -1, 1]]))  # 3 keypoints -> 3 blobs + x, y planes
    assert maps.shape == (1, 5, 8, 8)
    peak = divmod(int(maps[0, 0].argmax()), 8)  # (row, col)
    assert peak == (2, 6) or peak == (1, 5) or peak == (1, 6) or peak == (2, 5), peak  # around x=0.5, y=-0.5
    np.testing.assert_allclose(maps[0, 3, 0].numpy(), maps[0, 3, 5].numpy())  # the x plane is constant along y


def test_keypoint_objective_moves_keypoints_apart_and_redraws_frames(make_dataset):
    data = Frames(make_dataset("wall", episodes=6, steps=30, seed=1, size=32))
    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(**KP))
    loss = KeypointLoss(enc.cfg, data)
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(list(enc.parameters()) + list(loss.parameters()), lr=3e-3)
    first, last = [], []
    for step in range(80):
        value, parts = loss(enc, data, 32, g)
        opt.zero_grad()
        value.backward()
        opt.step()
        (first if step < 10 else last).append(parts["recon"])
    assert np.mean(last[-10:]) < 0.5 * np.mean(first), (first, last[-10:])


def test_the_background_is_what_stays_and_weighs_less(make_dataset):
    data = Frames(make_dataset("wall", episodes=6, steps=30, seed=1, size=32))
    loss = KeypointLoss(EncoderConfig(**KP), data)
    half = KeypointLoss.half(data.obs[:, 0])
    assert loss.background.shape == (1, 3, 16, 16)
    moving = ((half - loss.background).abs().sum(1) > 0.1).float().mean().item()
    assert 0 < moving < 0.1, moving  # wall's dot is a few pixels; walls and floor are background


def test_keypoint_encoder_exports_to_onnx_with_the_same_keypoints(tmp_path):
    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(**KP)).eval()
    path = export_encoder_graph(EncoderGraph(enc, 1.0, 1), 32, tmp_path)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    image = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)  # not the batch it was traced at
    tokens, g = ReferenceEvaluator(model).run(None, {"image": image})
    with torch.no_grad():
        want = enc(torch.from_numpy(image))[1].numpy()
    np.testing.assert_allclose(g, want, atol=1e-4)
    # The PTQ toolkit quantizes MatMuls with a constant operand: the keypoint grid must not be one.
    consts = {t.name: tuple(t.dims) for t in model.graph.initializer}
    consts.update({n.output[0]: tuple(a.t.dims) for n in model.graph.node if n.op_type == "Constant"
                   for a in n.attribute if a.name == "value"})
    grid_shape = (enc.kp_grid.shape[0], 2)
    assert not [n for n in model.graph.node if n.op_type == "MatMul" and any(consts.get(i) == grid_shape for i in n.input)]


def test_growing_keypoints_keeps_the_trained_ones_and_refuses_other_changes():
    from dataclasses import asdict

    from train.encoder import grow_keypoints

    torch.manual_seed(0)
    old = Encoder(EncoderConfig(**KP)).eval()
    torch.manual_seed(1)
    new = Encoder(EncoderConfig(**{**KP, "keypoints": 5, "global_dim": 10})).eval()
    grow_keypoints(new, old.state_dict(), asdict(old.cfg), "old.pt")
    img = torch.randint(0, 256, (4, 32, 32, 3), dtype=torch.uint8)
    with torch.no_grad():
        (t_old, g_old), (t_new, g_new) = old(img), new(img)
    torch.testing.assert_close(t_new, t_old)  # the backbone is the trained one
    torch.testing.assert_close(g_new[:, :6], g_old)  # its 3 keypoints land where they did
    assert not torch.allclose(g_new[:, 6:], g_old[:, :4]), "the 2 new keypoints are their own"
    for change in ({"dim": 64}, {"keypoints": 2, "global_dim": 4}):
        other = Encoder(EncoderConfig(**{**KP, **change}))
        with pytest.raises(SystemExit, match="only more keypoints may differ"):
            grow_keypoints(other, old.state_dict(), asdict(old.cfg), "old.pt")
    same = Encoder(EncoderConfig(**KP))
    grow_keypoints(same, old.state_dict(), asdict(old.cfg), "old.pt")  # an equal config loads as before
    torch.testing.assert_close(same(img)[1], g_old)


def test_the_sharp_term_is_each_heatmaps_spatial_variance():
    from train.encoder import heatmap_variance

    grid = keypoint_grid(4)  # 16 cells
    peaked = torch.zeros(1, 2, 16)
    peaked[0, 0, 5] = 1.0
    peaked[0, 1, [0, 15]] = 0.5  # two opposite corners: its expectation is the centre, far from either
    mean = (peaked.unsqueeze(-1) * grid).sum(2)
    var = heatmap_variance(peaked, grid, mean)
    assert var[0, 0].item() == 0.0
    np.testing.assert_allclose(var[0, 1].item(), 2 * 0.75**2, rtol=1e-6)  # (0.75^2 + 0.75^2) from each corner
    enc = Encoder(EncoderConfig(**KP))
    frames = type("F", (), {})()
    frames.obs = torch.randint(0, 256, (2, 4, 32, 32, 3), dtype=torch.uint8)
    frames.N, frames.T1 = 2, 4
    frames.sample_steps = lambda B, g: (torch.randint(0, 2, (B,), generator=g), torch.randint(0, 4, (B,), generator=g))
    plain, sharp = KeypointLoss(enc.cfg), KeypointLoss(enc.cfg, sharp=0.5)
    sharp.decoder.load_state_dict(plain.decoder.state_dict())
    l0, p0 = plain(enc, frames, 4, torch.Generator().manual_seed(0))
    l1, p1 = sharp(enc, frames, 4, torch.Generator().manual_seed(0))
    assert "variance" not in p0 and p1["variance"] > 0
    np.testing.assert_allclose(l1.item(), l0.item() + 0.5 * p1["variance"], rtol=1e-5)
