"""The step metric: a dimension that moves ten times less per step weighs ten times more, the metric whitens the
step covariance, and the card gets it (in place or in a copy) or a reason why not."""
import json
import subprocess
import sys

import numpy as np

from train.step_metric import step_covariance, whitening

from .conftest import ROOT


def _walks(E=40, T=60, seed=0):
    """Random walks, (E, T+1, 3): dimension 0 steps with std 1, 1 with std 0.1, 2 with 1 plus 0.5 of dimension 0."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(E, T, 3)) * np.array([1.0, 0.1, 1.0])
    steps[..., 2] += 0.5 * steps[..., 0]
    return np.concatenate([np.zeros((E, 1, 3)), steps.cumsum(1)], 1)


def test_the_metric_whitens_one_step_changes():
    glo = _walks()
    C = step_covariance(glo, 1)
    M = whitening(C, 0.0)
    np.testing.assert_allclose(M @ C @ M.T, np.eye(3) / 3, atol=1e-9)  # unit steps, distance ~1 in all
    gain = np.diag(M.T @ M)
    assert 80 < gain[1] / gain[0] < 125, gain  # ten times less motion, a hundred times the squared weight
    # Over 2 steps the changes are twice as varied; a ridge bounds the slow dimension's weight.
    np.testing.assert_allclose(np.diag(step_covariance(glo, 2)), 2 * np.diag(C), rtol=0.1)
    assert np.diag(whitening(C, 1.0).T @ whitening(C, 1.0))[1] < 0.1 * gain[1]


def _folders(tmp_path, task="pusht"):
    data, model = tmp_path / "data", tmp_path / "model"
    data.mkdir(parents=True)
    model.mkdir()
    (data / "meta.json").write_text(json.dumps({"task": task}))
    card = {"task": "pusht", "frameskip": 5, "global_dim": 3, "objective": {"patch": 0, "global": 1, "proprio": 0},
            "files": {"encoder.onnx": {"sha256": "ab" * 32, "bytes": 1}}}
    (model / "model.json").write_text(json.dumps(card))
    # The latents as dataset_latents caches them under the encoder's hash (no encoder runs here).
    np.savez(data / "latents_abababababab.npz", tokens=np.zeros((40, 61, 1, 1), np.float32),
             **{"global": _walks().astype(np.float32)})
    return data, model


def _run(*args):
    return subprocess.run([sys.executable, "-m", "train.step_metric", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True)


def test_the_card_gets_the_metric_in_place_or_in_a_copy(tmp_path):
    data, model = _folders(tmp_path)
    r = _run("--model", model, "--data", data, "--ridge", 0, "--out", tmp_path / "copy")
    assert r.returncode == 0, r.stderr
    assert "global_metric" not in json.loads((model / "model.json").read_text())["objective"]
    card = json.loads((tmp_path / "copy" / "model.json").read_text())
    M = np.array(card["objective"]["global_metric"])
    want = whitening(step_covariance(_walks(), 5), 0.0)
    np.testing.assert_allclose(M, want, atol=1e-6)
    assert card["training"]["step_metric"]["frameskip"] == 5 and card["training"]["step_metric"]["ridge"] == 0
    r = _run("--model", model, "--data", f"{data},{data}")
    assert r.returncode == 0, r.stderr
    assert np.array(json.loads((model / "model.json").read_text())["objective"]["global_metric"]).shape == (3, 3)


def test_bad_input_is_refused_and_the_card_left_alone(tmp_path):
    data, model = _folders(tmp_path)
    before = (model / "model.json").read_text()
    r = _run("--model", model, "--data", data, "--ridge", -1)
    assert r.returncode != 0 and "must be >= 0" in r.stderr, r.stderr
    other, _ = _folders(tmp_path / "w", task="wall")
    r = _run("--model", model, "--data", other)
    assert r.returncode != 0 and "holds task wall" in r.stderr, r.stderr
    still = tmp_path / "still"
    (still / "data").mkdir(parents=True)
    (still / "data" / "meta.json").write_text(json.dumps({"task": "pusht"}))
    np.savez(still / "data" / "latents_abababababab.npz", tokens=np.zeros((2, 4, 1, 1), np.float32),
             **{"global": np.ones((2, 4, 3), np.float32)})
    r = _run("--model", model, "--data", still / "data")
    assert r.returncode != 0 and "hold no step of 5" in r.stderr, r.stderr
    assert (model / "model.json").read_text() == before


def test_the_agents_dimensions_are_found_by_the_proprio_and_scaled(tmp_path):
    data, model = _folders(tmp_path)
    glo = _walks()
    # The proprio: dimension 0's position (the agent's, affinely) and a velocity; dimensions 1-2 move on their own.
    proprio = np.stack([0.5 * glo[..., 0] - 3, np.gradient(glo[..., 0], axis=1)], -1).astype(np.float32)
    np.save(data / "proprio.npy", proprio)
    r = _run("--model", model, "--data", data, "--ridge", 0, "--body-weight", 0.25, "--out", tmp_path / "copy")
    assert r.returncode == 0, r.stderr
    card = json.loads((tmp_path / "copy" / "model.json").read_text())
    rec = card["training"]["step_metric"]
    assert rec["body"] == [0] and rec["body_weight"] == 0.25 and rec["r2"][0] > 0.99, rec
    whole = whitening(step_covariance(glo, 5), 0.0)
    M = np.array(card["objective"]["global_metric"])
    np.testing.assert_allclose(M[:, 0], 0.25 * whole[:, 0], atol=1e-6)  # the agent's column scaled
    np.testing.assert_allclose(M[:, 1:], whole[:, 1:], atol=1e-6)  # the rest as whitened
    # Out of range, or no dimension the proprio explains: refused, the card unchanged.
    before = (model / "model.json").read_text()
    r = _run("--model", model, "--data", data, "--body-weight", 2)
    assert r.returncode != 0 and "within 0-1" in r.stderr, r.stderr
    np.save(data / "proprio.npy", np.random.default_rng(1).normal(size=proprio.shape).astype(np.float32))
    r = _run("--model", model, "--data", data, "--body-weight", 0.25)
    assert r.returncode != 0 and "no agent to weigh" in r.stderr, r.stderr
    assert (model / "model.json").read_text() == before
