import math

import torch

from train.state_probe import PARTS, fit_probe, part_errors, targets


def test_targets_decode_back_to_the_states_they_came_from():
    g = torch.Generator().manual_seed(0)
    states = torch.rand(50, 7, generator=g, dtype=torch.float64) * 500
    states[:, 4] = (torch.rand(50, generator=g, dtype=torch.float64) * 2 - 1) * math.pi
    errs = part_errors(targets(states, PARTS["pusht"]).double(), states, PARTS["pusht"], decoded=True)
    assert set(errs) == {"agent", "block", "angle"}
    assert max(errs.values()) < 1e-4


def test_angle_errors_wrap_and_are_in_tolerance_units():
    parts = PARTS["reacher"]
    truth = torch.tensor([[math.pi - 0.01, 0.0]], dtype=torch.float64)
    est = torch.tensor([[-math.pi + 0.01, 0.1]], dtype=torch.float64)
    errs = part_errors(est, truth, parts, decoded=False)
    assert abs(errs["q1"] - 0.02 / 0.2) < 1e-9  # across the wrap, not 2 pi - 0.02
    assert abs(errs["q2"] - 0.1 / 0.2) < 1e-9


def test_probe_learns_a_state_the_latent_encodes_and_not_one_it_does_not():
    torch.manual_seed(0)
    M = 4000
    pos = torch.rand(M, 2) * 40  # wall-like dot positions
    tokens = torch.randn(M, 4, 8) * 0.1
    tokens[:, 0, :2] = pos / 40  # the latent holds the position ...
    glo = torch.randn(M, 3)
    states = pos.double()
    probe = fit_probe(tokens, glo, targets(states, PARTS["wall"]), steps=600, log=lambda m: None)
    with torch.no_grad():
        held = part_errors(probe(tokens, glo), states, PARTS["wall"], decoded=True)["dot"]
        shuffled = states[torch.randperm(M)]  # ... and nothing about a shuffled one
        wrong = part_errors(probe(tokens, glo), shuffled, PARTS["wall"], decoded=True)["dot"]
    assert held < 0.5, held  # within half the 4.5 px success tolerance
    assert wrong > 3 * held


def test_exported_cost_graph_reads_the_state_weighted_as_the_oracle(tmp_path):
    import onnx

    from train.state_probe import ProbeCostGraph, export_cost
    from train.vit import Encoder, EncoderConfig, pool_tokens

    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(image_size=32, patch=8, dim=16, depth=1, heads=2, global_dim=8)).eval()
    image = torch.randint(0, 256, (3, 32, 32, 3), dtype=torch.uint8)
    with torch.no_grad():
        tokens, g = enc(image)
        tokens = pool_tokens(tokens, 2)
    probe = fit_probe(tokens, g, torch.randn(3, 6), steps=2, log=lambda m: None)
    with torch.no_grad():
        weights = torch.tensor([0.25, 0.25, 1, 1, 1, 1.0])  # pusht: agent x, y at a quarter
        out_tokens, cost = ProbeCostGraph(enc, probe, 2, weights)(image)
        assert torch.equal(out_tokens, tokens)
        assert torch.allclose(cost, probe(tokens, g) * weights)
    model = onnx.load(export_cost(enc, probe, 2, "pusht", tmp_path))
    onnx.checker.check_model(model)
    assert [o.name for o in model.graph.output] == ["tokens", "global"]
    assert model.graph.output[1].type.tensor_type.shape.dim[1].dim_value == 6
