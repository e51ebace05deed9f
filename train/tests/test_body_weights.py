"""Body weights: the global dimensions the proprio explains are found and weighed, static and object dimensions
are not, and the card is rewritten (in place or in a copy) or refused with a reason."""
import json
import subprocess
import sys

import numpy as np

from train.body_weights import body_weights, explained_by

from .conftest import ROOT


def _scene(n: int = 2000, seed: int = 0):
    """proprio = the agent's (x, y, vx, vy); global = [agent point (2), object point (2), a static point (2)]."""
    rng = np.random.default_rng(seed)
    proprio = rng.normal(size=(n, 4))
    agent = proprio[:, :2] @ np.array([[0.3, 0.0], [0.0, -0.3]]) + 0.1 + rng.normal(scale=0.01, size=(n, 2))
    obj = rng.normal(size=(n, 2)) + 0.2 * proprio[:, :2]  # pushed by the agent, mostly its own
    static = np.full((n, 2), 0.7)
    return proprio, np.concatenate([agent, obj, static], axis=1)


def test_the_agent_is_explained_the_object_partly_the_static_scene_not_at_all():
    proprio, glo = _scene()
    r2 = explained_by(proprio, glo)
    assert (r2[:2] > 0.99).all() and (r2[2:4] < 0.1).all() and (r2[4:] == 0).all(), r2
    assert body_weights(r2, 0.25, 0.9) == [0.25, 0.25, 1.0, 1.0, 1.0, 1.0]


def _folders(tmp_path, task="pusht"):
    proprio, glo = _scene(2 * 51)
    data, model = tmp_path / "data", tmp_path / "model"
    data.mkdir(parents=True)
    model.mkdir()
    (data / "meta.json").write_text(json.dumps({"task": task}))
    np.save(data / "proprio.npy", proprio.reshape(2, 51, 4).astype(np.float32))
    card = {"task": "pusht", "global_dim": 6, "objective": {"patch": 0, "global": 1, "proprio": 0},
            "files": {"encoder.onnx": {"sha256": "ab" * 32, "bytes": 1}}}
    (model / "model.json").write_text(json.dumps(card))
    # The latents as dataset_latents caches them under the encoder's hash (no encoder runs here).
    np.savez(data / "latents_abababababab.npz", tokens=np.zeros((2, 51, 1, 1), np.float32),
             **{"global": glo.reshape(2, 51, 6).astype(np.float32)})
    return data, model


def _run(*args):
    return subprocess.run([sys.executable, "-m", "train.body_weights", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True)


def test_the_card_gets_the_weights_in_place_or_in_a_copy(tmp_path):
    data, model = _folders(tmp_path)
    r = _run("--model", model, "--data", data, "--weight", 0.5, "--out", tmp_path / "copy")
    assert r.returncode == 0, r.stderr
    assert "global_weights" not in json.loads((model / "model.json").read_text())["objective"]
    assert json.loads((tmp_path / "copy" / "model.json").read_text())["objective"]["global_weights"] == \
        [0.5, 0.5, 1, 1, 1, 1]
    r = _run("--model", model, "--data", data, "--weight", 0.25)
    assert r.returncode == 0, r.stderr
    card = json.loads((model / "model.json").read_text())
    assert card["objective"]["global_weights"] == [0.25, 0.25, 1, 1, 1, 1]
    assert card["training"]["body_weights"]["body"] == [0, 1] and card["training"]["body_weights"]["weight"] == 0.25


def test_bad_input_is_refused_and_the_card_left_alone(tmp_path):
    data, model = _folders(tmp_path)
    before = (model / "model.json").read_text()
    for args, why in [
        (("--weight", 2), "must be within 0-1"),
        (("--weight", 0.5, "--threshold", 1.01), "nothing to weigh"),
    ]:
        r = _run("--model", model, "--data", data, *args)
        assert r.returncode != 0 and why in r.stderr, r.stderr
    other, _ = _folders(tmp_path / "w", task="wall")
    r = _run("--model", model, "--data", other, "--weight", 0.5)
    assert r.returncode != 0 and "holds task wall" in r.stderr, r.stderr
    assert (model / "model.json").read_text() == before
