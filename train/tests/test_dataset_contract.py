"""The data contract between tasks/ (TypeScript) and train/ (Python), checked with numpy."""
import json

import numpy as np
import pytest

TASKS = {"wall": (2, 2, 2), "pointmaze": (2, 4, 4), "pusht": (2, 4, 7), "reacher": (2, 5, 4)}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_dataset_loads_with_numpy_in_the_contract_shapes(make_dataset, task):
    d = make_dataset(task, episodes=3, steps=10)
    meta = json.loads((d / "meta.json").read_text())
    A, P, S = TASKS[task]
    obs = np.load(d / "obs.npy")
    actions = np.load(d / "actions.npy")
    proprio = np.load(d / "proprio.npy")
    states = np.load(d / "states.npy")
    assert obs.dtype == np.uint8 and obs.shape == (3, 11, 64, 64, 3)
    assert actions.dtype == np.float32 and actions.shape == (3, 10, A)
    assert proprio.dtype == np.float32 and proprio.shape == (3, 11, P)
    assert states.dtype == np.float32 and states.shape == (3, 11, S)
    assert meta["task"] == task and meta["frameskip"] == 5
    assert (meta["action_dim"], meta["proprio_dim"], meta["state_dim"]) == (A, P, S)
    for name, arr in [("obs", obs), ("actions", actions), ("proprio", proprio), ("states", states)]:
        assert meta["files"][name]["shape"] == list(arr.shape)
    assert np.all(actions >= np.array(meta["action_low"])) and np.all(actions <= np.array(meta["action_high"]))
    np.testing.assert_allclose(meta["action_mean"], actions.reshape(-1, A).mean(0), atol=1e-5)
    np.testing.assert_allclose(meta["proprio_std"], proprio.reshape(-1, P).std(0), rtol=1e-4, atol=1e-5)
    # Frames change when the state changes.
    moved = np.abs(np.diff(states, axis=1)).sum(-1) > 1e-3
    changed = np.abs(np.diff(obs.astype(np.int16), axis=1)).sum((-1, -2, -3)) > 0
    assert np.all(changed[moved])


def test_wall_frames_show_the_dot_where_the_state_says(make_dataset):
    d = make_dataset("wall", episodes=2, steps=10)
    obs, states = np.load(d / "obs.npy"), np.load(d / "states.npy")
    for e in range(2):
        for t in range(11):
            img = obs[e, t].astype(np.float32)
            redness = img[..., 0] - img[..., 1]  # the dot is red on white
            y, x = np.unravel_index(np.argmax(redness), redness.shape)
            assert abs(x + 0.5 - states[e, t, 0]) <= 1.0 and abs(y + 0.5 - states[e, t, 1]) <= 1.0


def test_same_seed_gives_identical_files(make_dataset, tmp_path):
    a = make_dataset("reacher", episodes=2, steps=5, seed=3)
    b = make_dataset("reacher", episodes=2, steps=5, seed=4)
    assert (a / "obs.npy").read_bytes() != (b / "obs.npy").read_bytes()
    import subprocess
    from .conftest import ROOT, deno_command
    c = tmp_path / "again"
    subprocess.run(deno_command() + ["run", "--allow-read", "--allow-write", "--allow-env", "tasks/dataset.ts",
                    "--task", "reacher", "--episodes", "2", "--steps", "5", "--seed", "3", "--out", str(c)],
                   cwd=ROOT, check=True, capture_output=True)
    for f in ["obs.npy", "actions.npy", "proprio.npy", "states.npy", "meta.json"]:
        assert (a / f).read_bytes() == (c / f).read_bytes()


def test_reacher_proprio_reads_the_shoulder_on_the_circle_and_the_wrist_as_its_angle(make_dataset):
    d = make_dataset("reacher", episodes=2, steps=10)
    proprio, states = np.load(d / "proprio.npy"), np.load(d / "states.npy")
    q1, q2 = states[..., 0], states[..., 1]
    np.testing.assert_allclose(proprio[..., 0], np.cos(q1), atol=1e-5)
    np.testing.assert_allclose(proprio[..., 1], np.sin(q1), atol=1e-5)
    np.testing.assert_allclose(proprio[..., 2], q2, atol=1e-6)  # the wrist stops at +-160 deg: no wrap-around
    np.testing.assert_allclose(proprio[..., 3:], states[..., 2:], atol=1e-6)
