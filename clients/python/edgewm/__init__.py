"""A client for edgewm's HTTP API (numpy only): plan with a served world model, draw evaluation episodes,
render and step the built-in simulators, and close a loop. `edgewm.envs` has Gymnasium environments."""
from .client import Client, EdgeWMError, Episode, Frame, Plan, Step
from .loop import closed_loop

__all__ = ["Client", "EdgeWMError", "Episode", "Frame", "Plan", "Step", "closed_loop"]
