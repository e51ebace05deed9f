import torch

from train.predictor import Predictor, PredictorConfig, frame_causal_mask


def test_mask_lets_a_frame_see_only_itself_and_the_past():
    m = frame_causal_mask(3, 2)
    assert m.shape == (6, 6)
    assert torch.isinf(m[0, 2]) and torch.isinf(m[3, 4]) and m[4, 1] == 0 and m[5, 5] == 0


def test_predictor_outputs_for_frame_t_ignore_frames_after_t():
    torch.manual_seed(0)
    cfg = PredictorConfig(tokens=4, latent_dim=16, global_dim=8, action_dim=4, proprio_dim=2,
                          action_emb=8, proprio_emb=8, num_hist=3, width=16, depth=2, heads=2)
    pred = Predictor(cfg).eval()
    args = [torch.randn(2, 3, 4, 16), torch.randn(2, 3, 8), torch.randn(2, 3, 4), torch.randn(2, 3, 2)]
    out = pred(*args)
    changed = [a.clone() for a in args]
    for a in changed:
        a[:, 2] += torch.randn_like(a[:, 2])  # change only frame 2
    out2 = pred(*changed)
    for o, o2 in zip(out, out2):
        torch.testing.assert_close(o[:, :2], o2[:, :2])  # frames 0, 1 unchanged
        assert not torch.allclose(o[:, 2], o2[:, 2])  # frame 2 does change


def test_pool_tokens_averages_grid_neighbourhoods():
    from train.vit import pool_tokens
    t = torch.arange(16.0).reshape(1, 16, 1)  # a 4x4 grid holding its own index
    p = pool_tokens(t, 2)
    assert p.shape == (1, 4, 1)
    assert p[0, :, 0].tolist() == [(0 + 1 + 4 + 5) / 4, (2 + 3 + 6 + 7) / 4, (8 + 9 + 12 + 13) / 4, (10 + 11 + 14 + 15) / 4]


def test_residual_predictor_copies_the_frame_when_its_heads_output_zero():
    torch.manual_seed(0)
    cfg = PredictorConfig(tokens=4, latent_dim=16, global_dim=8, action_dim=4, proprio_dim=2,
                          action_emb=8, proprio_emb=8, num_hist=2, width=16, depth=2, heads=2, residual=True)
    pred = Predictor(cfg).eval()
    args = [torch.randn(2, 2, 4, 16), torch.randn(2, 2, 8), torch.randn(2, 2, 4), torch.randn(2, 2, 2)]
    moved = pred(*args)
    assert not torch.allclose(moved[0], args[0])  # trained-from-random heads do change the frame
    with torch.no_grad():
        for head in (pred.out_latent, pred.out_global, pred.out_proprio):
            head.weight.zero_()
            head.bias.zero_()
    tok, glo, pro = pred(*args)
    torch.testing.assert_close(tok, args[0])
    torch.testing.assert_close(glo, args[1])
    torch.testing.assert_close(pro, args[3])
