"""A held-out client: Python closes loops on all four tasks through the simulator routes and the planner, and
gets what `deno task eval` gets on the same episodes (same seed, same served planner): the same replan of
first success and the same final distance, episode by episode."""
import json
import subprocess

import pytest

from edgewm import Client, closed_loop

CASES = {"wall": (4, 12), "pointmaze": (4, 12), "reacher": (4, 12), "pusht": (3, 6)}  # episodes, replans


@pytest.mark.parametrize("task", list(CASES))
def test_the_client_matches_deno_task_eval(server, repo, deno_cmd, task):
    episodes, budget = CASES[task]
    defaults = json.loads((repo / "models" / "defaults.json").read_text())
    out = subprocess.run(deno_cmd + ["run", "--allow-read", "--allow-env", "--allow-ffi", "agent/eval.ts", "--task", task,
                                   "--model", f"models/{task}/{defaults[task]}", "--episodes", str(episodes),
                                   "--budget", str(budget), "--seed", "0", "--backend", "web", "--threads", "1"],
                         cwd=repo, capture_output=True, text=True, check=True)
    ref = json.loads(out.stdout.strip().splitlines()[-1])
    c = Client(server)
    mine = [closed_loop(c, c.episode(task, seed=0, index=i), budget=budget) for i in range(episodes)]
    assert [r["success_at"] for r in mine] == ref["success_at_episode"]
    # pusht's physics engine warm-starts its contact solver from the previous step: the client rebuilds the world from
    # the state at every replan (the HTTP routes are stateless), `deno task eval` keeps one world, so once the agent
    # pushes the block the two drift by ~1e-6 tolerances over an episode, and a rendered frame a pixel apart can turn a
    # near tie between two of the search's plans. Until the goal is reached that drift stays small (1e-4 tolerances at
    # these successes); an episode that keeps pushing without reaching it can go another way after such a tie (seen: 1.25
    # vs 6.63 tolerances after 6 replans of the low-bit default). So for pusht the replan of first success must match
    # exactly and the final distance where the goal was reached; the other tasks have no hidden state: every episode.
    tol = 1e-2 if task == "pusht" else 1e-9
    for r, d in zip(mine, ref["final_distance_episode"]):
        if task == "pusht" and r["success_at"] is None:
            continue
        assert abs(r["final_distance"] - d) < tol, (task, [r["final_distance"] for r in mine],
                                                     ref["final_distance_episode"])
    if task == "pusht":
        assert any(r["success_at"] is not None for r in mine), "some pusht episode reaches its goal to compare"
