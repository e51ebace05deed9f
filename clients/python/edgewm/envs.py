"""Gymnasium environments over edgewm's simulator routes: the four built-in tasks, stepped on the server
(the same simulators, renderer and evaluation episodes as the TypeScript), observed as an image and the
robot's proprio. Needs `pip install edgewm-client[gymnasium]`.

    import gymnasium as gym, edgewm.envs  # registers edgewm/Wall-v0, ...
    env = gym.make("edgewm/Wall-v0", url="http://127.0.0.1:8000")
    obs, info = env.reset(seed=0)         # evaluation episode 0 of seed 0; info["goal"] holds the goal frame
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

One env step is one env action (not a model action); reward is minus the distance to the goal in success
thresholds, and an episode terminates on the task's success rule.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .client import Client


class EdgeWMTaskEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, task: str, url: str = "http://127.0.0.1:8000", api_key: str | None = None,
                 size: int | None = None, max_steps: int = 500, render_mode: str | None = "rgb_array"):
        self.client, self.task, self.max_steps = Client(url, api_key), task, max_steps
        self.size = size or self.client.image_size(task)  # by default the size the task's served model reads
        spec = next(t for t in self.client.tasks() if t["name"] == task)
        self.spec, self.render_mode = spec, render_mode
        self.action_space = spaces.Box(np.asarray(spec["action"]["low"], np.float32),
                                       np.asarray(spec["action"]["high"], np.float32), dtype=np.float32)
        self.observation_space = spaces.Dict({
            "image": spaces.Box(0, 255, (self.size, self.size, 3), np.uint8),
            "proprio": spaces.Box(-np.inf, np.inf, (spec["proprio"]["dim"],), np.float64),
        })
        self._episode = None
        self._state = None
        self._image = None
        self._t = 0
        self._next_index = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Evaluation episode `options["index"]` (else the next one) of `seed` (else 0)."""
        super().reset(seed=seed)
        index = (options or {}).get("index", self._next_index)
        self._next_index = index + 1
        ep = self.client.episode(self.task, seed or 0, index, self.size)
        self._episode, self._state, self._image, self._t = ep, ep.start.state, ep.start.image, 0
        return self._obs(ep.start.proprio), self._info(None)

    def step(self, action):
        if self._episode is None:
            raise RuntimeError("call reset() first")
        s = self.client.step(self.task, self._state, [np.asarray(action, np.float64)], goal=self._episode.goal.state,
                             size=self.size)[0]
        self._state, self._image, self._t = s.state, s.image, self._t + 1
        return self._obs(s.proprio), -float(s.distance), bool(s.success), self._t >= self.max_steps, self._info(s)

    def render(self):
        return self._image

    def _obs(self, proprio):
        return {"image": self._image, "proprio": np.asarray(proprio, np.float64)}

    def _info(self, s):
        g = self._episode.goal
        return {"goal": {"image": g.image.copy(), "proprio": g.proprio.copy(), "state": g.state.copy()},
                "state": self._state.copy(),
                "distance": None if s is None else s.distance}


for _task in ("wall", "pointmaze", "pusht", "reacher"):
    gym.register(id=f"edgewm/{_task.capitalize()}-v0", entry_point=EdgeWMTaskEnv, kwargs={"task": _task})
