"""Logs as .npz episodes into the data contract: shapes, pieces of a fixed length, statistics, refusals."""
import json

import numpy as np
import pytest

from train.convert import convert


def write_episode(path, T, size=48, A=3, P=4, states=True, seed=0):
    rng = np.random.default_rng(seed)
    ep = {"obs": rng.integers(0, 256, (T + 1, size, size, 3), dtype=np.uint8),
          "actions": rng.normal(size=(T, A)), "proprio": rng.normal(size=(T + 1, P))}
    if states:
        ep["states"] = rng.normal(size=(T + 1, 6))
    np.savez(path, **ep)
    return ep


def test_episodes_become_pieces_of_the_shortest_length_in_the_contract(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    a = write_episode(logs / "a.npz", 60, seed=1)
    write_episode(logs / "b.npz", 25, seed=2)
    meta = convert(logs, tmp_path / "data", "myarm", 5, 0.05, None, 32, None, None)
    # a: 60 steps -> two pieces of 25 (10 left over dropped); b: one piece
    assert meta["episodes"] == 3 and meta["steps"] == 25 and meta["image_size"] == 32
    obs = np.load(tmp_path / "data" / "obs.npy")
    assert obs.shape == (3, 26, 32, 32, 3) and obs.dtype == np.uint8
    acts = np.load(tmp_path / "data" / "actions.npy")
    np.testing.assert_allclose(acts[1], a["actions"][25:50].astype(np.float32))
    assert np.load(tmp_path / "data" / "states.npy").shape == (3, 26, 6)
    m = json.loads((tmp_path / "data" / "meta.json").read_text())
    assert m["env_step_seconds"] == 0.05 and m["frameskip"] == 5 and len(m["action_std"]) == 3
    np.testing.assert_allclose(m["action_low"], acts.reshape(-1, 3).min(0), rtol=1e-6)


def test_bad_episodes_are_refused_with_the_file_named(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    np.savez(logs / "x.npz", obs=np.zeros((11, 8, 8, 3), np.uint8), actions=np.zeros((9, 2)), proprio=np.zeros((11, 2)))
    with pytest.raises(SystemExit, match=r"x.npz: 9 actions need 10 frames"):
        convert(logs, tmp_path / "d", "t", 1, None, None, None, None, None)
    np.savez(logs / "x.npz", obs=np.zeros((11, 8, 8, 3), np.uint8), proprio=np.zeros((11, 2)))
    with pytest.raises(SystemExit, match=r"x.npz: missing actions"):
        convert(logs, tmp_path / "d", "t", 1, None, None, None, None, None)
    np.savez(logs / "x.npz", obs=np.zeros((11, 8, 8, 3), np.uint8), actions=np.zeros((10, 2)), proprio=np.zeros((11, 2)))
    with pytest.raises(SystemExit, match="shorter than 5 model actions"):
        convert(logs, tmp_path / "d", "t", 5, None, None, None, None, None)
