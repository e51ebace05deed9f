"""A task the project does not ship, from data to a served plan: a toy defined only here (a dot pushed
around an L-shaped room), written in the data contract, trained for seconds by `python -m train.pipeline`,
exported, served by `main.ts` and asked for a plan over HTTP."""
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from train.pipeline import main as pipeline
from train.tests.conftest import ROOT, deno_command

SIZE, FRAMESKIP, STEP_SECONDS = 32, 2, 0.1


def room_solid(x: float, y: float) -> bool:
    """An L-shaped room in a 32 x 32 world: the outer border, and the top-right quarter walled off."""
    return x < 2 or y < 2 or x > 29 or y > 29 or (x > 16 and y < 14)


def render(x: float, y: float) -> np.ndarray:
    img = np.full((SIZE, SIZE, 3), 255, np.uint8)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    img[(xx < 2) | (yy < 2) | (xx > 30) | (yy > 30) | ((xx > 17) & (yy < 13))] = (40, 40, 40)
    dot = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.5**2))
    img[..., 0] = np.clip(img[..., 0] * (1 - dot) + 30 * dot, 0, 255)
    img[..., 1] = np.clip(img[..., 1] * (1 - dot) + 120 * dot, 0, 255)
    return img


def write_dotroom(folder: Path, episodes: int = 24, steps: int = 24, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    obs = np.zeros((episodes, steps + 1, SIZE, SIZE, 3), np.uint8)
    actions = np.zeros((episodes, steps, 2), np.float32)
    states = np.zeros((episodes, steps + 1, 2), np.float32)
    for e in range(episodes):
        x, y = 8.0, 22.0
        a = rng.uniform(-1, 1, 2)
        for t in range(steps + 1):
            states[e, t] = (x, y)
            obs[e, t] = render(x, y)
            if t == steps:
                break
            a = np.clip(0.8 * a + 0.5 * rng.normal(size=2), -1, 1)
            actions[e, t] = a
            nx, ny = x + 1.5 * a[0], y + 1.5 * a[1]
            if not room_solid(nx, ny):
                x, y = nx, ny
    folder.mkdir(parents=True, exist_ok=True)
    for name, arr in (("obs", obs), ("actions", actions), ("proprio", states), ("states", states)):
        np.save(folder / f"{name}.npy", arr)
    flat_a, flat_p = actions.reshape(-1, 2), states.reshape(-1, 2)
    meta = {"task": "dotroom", "version": 1, "episodes": episodes, "steps": steps, "seed": seed,
            "image_size": SIZE, "frameskip": FRAMESKIP, "action_dim": 2, "proprio_dim": 2, "state_dim": 2,
            "action_low": [-1.0, -1.0], "action_high": [1.0, 1.0],
            "action_mean": flat_a.mean(0).tolist(), "action_std": flat_a.std(0).tolist(),
            "proprio_mean": flat_p.mean(0).tolist(), "proprio_std": flat_p.std(0).tolist(),
            "env_step_seconds": STEP_SECONDS, "success_rule": "none (a toy)",
            "generator": {"policy": "AR(1) random", "episode_seed": "numpy default_rng(seed)"}}
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url: str, body: dict | None = None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    data = write_dotroom(root / "data")
    out = root / "models" / "dotroom" / "fp32"
    args = ["--data", str(data), "--out", str(out), "--work", str(root / "work"), "--minutes", "2",
            "--max-steps", "25", "--patch", "16", "--dim", "32", "--depth", "1", "--width", "32",
            "--pred-depth", "1", "--pool", "1", "--threads", "2"]
    pipeline(args)
    return data, out, args


def test_the_pipeline_writes_a_model_card_for_the_new_task(trained):
    data, out, args = trained
    card = json.loads((out / "model.json").read_text())
    assert card["task"] == "dotroom"
    assert card["frameskip"] == FRAMESKIP and card["action_dim"] == FRAMESKIP * 2
    assert card["env_step_seconds"] == STEP_SECONDS
    assert card["objective"]["proprio"] == 1.0
    assert set(card["files"]) >= {"encoder.onnx", "predictor.onnx"}
    record = json.loads((Path(args[args.index("--work") + 1]) / "pipeline.json").read_text())
    assert list(record["done"]) == ["encoder", "predictor", "export"]


def test_a_rerun_skips_the_finished_stages_and_other_settings_are_refused(trained, capsys):
    data, out, args = trained
    pipeline(args)
    said = capsys.readouterr().out
    assert "encoder: done earlier, skipped" in said and "predictor: done earlier, skipped" in said
    with pytest.raises(SystemExit, match="other settings"):
        pipeline([*args, "--width", "48"])


def test_the_server_plans_for_the_new_task_from_its_card_alone(trained):
    data, out, _ = trained
    port = free_port()
    env = {**os.environ, "PORT": str(port), "EDGEWM_MODELS": str(out), "EDGEWM_WORKERS": "0"}
    server = subprocess.Popen(deno_command() + ["run", "--allow-read", "--allow-net", "--allow-env", "main.ts"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            try:
                if http(f"http://127.0.0.1:{port}/ready")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None:
                raise AssertionError(server.stderr.read().decode())
            time.sleep(0.1)
        status, models = http(f"http://127.0.0.1:{port}/v1/models")
        assert status == 200
        assert [(m["task"], m["variant"], m["default"]) for m in models["models"]] == [("dotroom", "fp32", True)]
        obs = np.load(data / "obs.npy")
        proprio = np.load(data / "proprio.npy")
        req = {"task": "dotroom",
               "observation": {"image": {"rgb": obs[0, 0].reshape(-1).tolist()}, "proprio": proprio[0, 0].tolist()},
               "goal": {"image": {"rgb": obs[0, -1].reshape(-1).tolist()}, "proprio": proprio[0, -1].tolist()},
               "planner": {"samples": 16, "topk": 4, "iterations": 2}}
        status, plan = http(f"http://127.0.0.1:{port}/v1/plan", req)
        assert status == 200, plan
        assert np.array(plan["actions"]).shape == (5, FRAMESKIP * 2)
        assert np.array(plan["env_actions"]).shape == (5 * FRAMESKIP, 2)
        assert plan["control"] == {"env_steps_per_action": FRAMESKIP, "env_step_seconds": STEP_SECONDS, "execute": 1}
        assert np.all(np.abs(plan["env_actions"]) <= 1.0 + 1e-6)
        status, err = http(f"http://127.0.0.1:{port}/v1/plan", {**req, "task": "wall"})
        assert status == 404 and err["field"] == "task"
    finally:
        server.terminate()
        server.wait(10)
