"""The distance head learns distances no single trajectory shows (TD chaining), and exports."""
import numpy as np
import onnx
import torch
from onnx.reference import ReferenceEvaluator

from train.distance_head import DistanceHead, HilpTD, export_onnx
from train.landscape import spearman


def chain_data(positions: int = 16, length: int = 4, copies: int = 8) -> torch.Tensor:
    """Trajectories of `length` steps along a line of `positions` places, each starting at a
    different place: no trajectory spans more than `length` steps, so distances beyond it exist
    only by chaining. Features: one-hot place. Returns (E, length + 1, positions)."""
    starts = [s for s in range(positions - length) for _ in range(copies)]
    x = torch.zeros(len(starts), length + 1, positions)
    for e, s in enumerate(starts):
        for t in range(length + 1):
            x[e, t, s + t] = 1
    return x


def test_td_chains_distances_across_trajectories():
    torch.manual_seed(0)
    x = chain_data()
    head = DistanceHead(x.shape[-1], hidden=64, out=16)
    td = HilpTD(head, gamma=0.95, expectile=0.9, tau=0.05)
    opt = torch.optim.Adam(head.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(800):
        loss, _ = td.loss(head, x, 256, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        td.update_target(head)
    places = torch.eye(x.shape[-1])
    with torch.no_grad():
        phi = head(places)
    d = torch.sqrt(((phi - phi[0]) ** 2).sum(-1)).numpy()
    # From place 0, distance must keep growing past the 4 steps any one trajectory covers.
    assert spearman(d, np.arange(len(d))) > 0.9, d
    assert d[12] > 1.5 * d[4], d


def test_export_writes_a_graph_that_matches_torch(tmp_path):
    torch.manual_seed(0)
    head = DistanceHead(4 * 8 + 6, hidden=16, out=5).eval()
    head.mean.normal_()
    path = export_onnx(head, 4, 8, 6, tmp_path)
    onnx.checker.check_model(onnx.load(path))
    tok, glo = np.random.default_rng(0).normal(size=(3, 4, 8)).astype(np.float32), np.ones((3, 6), np.float32)
    (got,) = ReferenceEvaluator(str(path)).run(None, {"tokens": tok, "global": glo})
    with torch.no_grad():
        want = head(torch.cat([torch.from_numpy(tok).flatten(1), torch.from_numpy(glo)], 1)).numpy()
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got, want, atol=1e-5)
