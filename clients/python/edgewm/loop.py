"""A closed loop through the server: plan, execute `control.execute` model actions on the simulator, send
the warm start back, repeat, with the evaluation protocol's rules (deno task eval): success is checked after
every model action, the episode stops once reached, and replan r plans with the protocol's seed for it."""
from __future__ import annotations

from .client import Client, Episode


def closed_loop(client: Client, episode: Episode, budget: int = 50, planner: dict | None = None,
                variant: str | None = None, size: int | None = None) -> dict:
    """Run `episode` (Client.episode) for up to `budget` replans. Returns success, the replan at which the goal
    was first reached (or None), the final distance to the goal (in success thresholds) and the replans made.
    Frames are `size` px, by default what the planning model reads (Client.image_size): the episode's must match."""
    task, goal = episode.task, episode.goal
    size = size or client.image_size(task, variant)
    if episode.start.image.shape[0] != size:
        raise ValueError(f"the episode's frames are {episode.start.image.shape[0]} px, the model reads {size}: "
                         f"fetch it with Client.episode(..., size={size})")
    state, proprio, image = episode.start.state, episode.start.proprio, episode.start.image
    warm, executed, success_at, distance, replans = None, None, None, None, 0
    for r in range(budget):
        plan = client.plan(task, image, proprio, goal.image, goal.proprio, variant=variant, planner=planner,
                           warm_start=warm, executed=executed, seed=episode.replan_seeds[r])
        replans += 1
        fs, n = plan.env_steps_per_action, plan.execute
        steps = client.step(task, state, plan.env_actions[: n * fs], goal=goal.state, size=size)
        state, proprio, image, distance = steps[-1].state, steps[-1].proprio, steps[-1].image, steps[-1].distance
        # Success counts after each model action, as the protocol checks it.
        if any(s.success for s in steps[fs - 1::fs]):
            success_at = r + 1
            break
        warm, executed = plan.warm_start, n
    return {"success": success_at is not None, "success_at": success_at, "final_distance": distance,
            "replans": replans}
