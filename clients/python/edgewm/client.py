"""The HTTP API as Python calls, with numpy arrays in and out: images are uint8 [H, W, 3], actions and
states float arrays. Images go over the wire as base64 of their raw bytes (the API's `raw` form), which
needs no image codec and is a third of the size of JSON numbers."""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import numpy as np


class EdgeWMError(Exception):
    """An answer other than 200: `status`, the server's `message`, and the request `field` at fault."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(f"{status} {message}" + (f" (field {field})" if field else ""))
        self.status, self.message, self.field = status, message, field


def encode_image(img: np.ndarray) -> dict:
    """uint8 [H, W, 3] as the API's raw form."""
    a = np.asarray(img)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"images are uint8 [H, W, 3], got {a.dtype} {list(a.shape)}")
    return {"raw": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()}


def decode_image(img: dict, size: int) -> np.ndarray:
    """The API's image (raw or rgb form) as uint8 [size, size, 3]."""
    if "raw" in img:
        return np.frombuffer(base64.b64decode(img["raw"]), np.uint8).reshape(size, size, 3)
    if "rgb" in img:
        return np.asarray(img["rgb"], np.uint8).reshape(size, size, 3)
    raise ValueError("ask for images in the raw or rgb form (PNG needs a decoder)")


@dataclass
class Frame:
    state: np.ndarray
    proprio: np.ndarray
    image: np.ndarray | None


@dataclass
class Episode:
    task: str
    seed: int
    index: int
    start: Frame
    goal: Frame
    #: the `seed` of each replan under the evaluation protocol (deno task eval uses these)
    replan_seeds: list[int]


@dataclass
class Step:
    state: np.ndarray
    proprio: np.ndarray
    image: np.ndarray | None
    success: bool | None
    distance: float | None


@dataclass
class Plan:
    #: [H, frameskip x env action dim] model actions, env units
    actions: np.ndarray
    #: [H x frameskip, env action dim]: the same plan as env actions, to execute in order
    env_actions: np.ndarray
    #: model actions to execute before the next call
    execute: int
    env_steps_per_action: int
    env_step_seconds: float | None
    cost: float
    #: send it back with the next call of the episode (it is the plan shifted by `execute`)
    warm_start: dict
    timings: dict


class Client:
    """`Client("http://127.0.0.1:8000")`, with `api_key` where the server sets EDGEWM_API_KEY."""

    def __init__(self, url: str = "http://127.0.0.1:8000", api_key: str | None = None, timeout: float = 120.0):
        self.url, self.api_key, self.timeout = url.rstrip("/"), api_key, timeout
        self._sizes: dict[tuple[str, str | None], int] = {}

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        headers = {"content-type": "application/json"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                err = json.loads(e.read())
            except ValueError:
                err = {"error": e.reason}
            raise EdgeWMError(e.code, err.get("error", ""), err.get("field")) from None

    # ---- planning

    def models(self) -> list[dict]:
        """The loaded models: layouts (each number named), objective, planner, which is each task's default."""
        return self._call("GET", "/v1/models")["models"]

    def plan(self, task: str, observation_image: np.ndarray, observation_proprio, goal_image: np.ndarray,
             goal_proprio=None, *, variant: str | None = None, planner: dict | None = None,
             warm_start: dict | None = None, executed: int | None = None, seed: int = 0,
             deadline_ms: int | None = None) -> Plan:
        body: dict = {
            "task": task,
            "observation": {"image": encode_image(observation_image),
                            "proprio": [float(v) for v in np.asarray(observation_proprio).ravel()]},
            "goal": {"image": encode_image(goal_image)},
            "seed": int(seed),
        }
        if goal_proprio is not None:
            body["goal"]["proprio"] = [float(v) for v in np.asarray(goal_proprio).ravel()]
        for k, v in (("variant", variant), ("planner", planner), ("warm_start", warm_start),
                     ("executed", executed), ("deadline_ms", deadline_ms)):
            if v is not None:
                body[k] = v
        r = self._call("POST", "/v1/plan", body)
        c = r["control"]
        return Plan(np.asarray(r["actions"], np.float32), np.asarray(r["env_actions"], np.float32), c["execute"],
                    c["env_steps_per_action"], c["env_step_seconds"], r["cost"], r["warm_start"], r["timings"])

    # ---- the simulators

    def image_size(self, task: str, variant: str | None = None) -> int:
        """The frame size `variant` of `task` (its served default where None) reads: the size the simulator calls
        below render at when given none (pusht's model reads 96 px, the others 64). Asked once per model."""
        key = (task, variant)
        if key not in self._sizes:
            found = [m for m in self.models() if m["task"] == task and (m["variant"] == variant or
                                                                       (variant is None and m["default"]))]
            if found:
                self._sizes[key] = int(found[0]["image_size"])
            else:  # no model of that task loaded: the simulator's own default
                spec = next((t for t in self.tasks() if t["name"] == task), None)
                if spec is None:
                    raise EdgeWMError(404, f"unknown task {task}", "task")
                self._sizes[key] = int(spec["image"]["default_size"])
        return self._sizes[key]

    def tasks(self) -> list[dict]:
        """The built-in tasks' contracts: action, proprio and state layouts, bounds, image window and colours."""
        return self._call("GET", "/v1/tasks")["tasks"]

    def episode(self, task: str, seed: int, index: int, size: int | None = None, replans: int = 50) -> Episode:
        size = size or self.image_size(task)
        r = self._call("POST", f"/v1/tasks/{task}/episode",
                       {"seed": seed, "index": index, "size": size, "image_format": "raw", "replans": replans})
        frame = lambda f: Frame(np.asarray(f["state"]), np.asarray(f["proprio"]), decode_image(f["image"], size))  # noqa: E731
        return Episode(task, seed, index, frame(r["start"]), frame(r["goal"]), r["replan_seeds"])

    def render(self, task: str, state, size: int | None = None) -> np.ndarray:
        size = size or self.image_size(task)
        r = self._call("POST", f"/v1/tasks/{task}/render",
                       {"state": [float(v) for v in np.asarray(state).ravel()], "size": size, "image_format": "raw"})
        return decode_image(r["image"], size)

    def step(self, task: str, state, actions, goal=None, size: int | None = None, images: str = "last") -> list[Step]:
        """Run env actions [n, A] from `state`; with a goal state each step says whether it is reached. Images
        are `size` px (default: what the task's served model reads, `image_size`)."""
        size = size or self.image_size(task)
        body = {"state": [float(v) for v in np.asarray(state).ravel()],
                "actions": np.asarray(actions, np.float64).reshape(len(actions), -1).tolist(),
                "size": size, "image_format": "raw", "images": images}
        if goal is not None:
            body["goal"] = [float(v) for v in np.asarray(goal).ravel()]
        r = self._call("POST", f"/v1/tasks/{task}/step", body)
        return [Step(np.asarray(s["state"]), np.asarray(s["proprio"]),
                     decode_image(s["image"], size) if "image" in s else None, s.get("success"), s.get("distance"))
                for s in r["steps"]]
