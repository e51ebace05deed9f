"""The client against a started server: the contract, plans of the right shape, errors that name the field,
a closed loop on wall that reaches its goals, and the Gymnasium environments."""
import numpy as np
import pytest

from edgewm import Client, EdgeWMError, closed_loop


def test_the_contract_names_every_number(server):
    c = Client(server)
    tasks = {t["name"]: t for t in c.tasks()}
    assert set(tasks) == {"wall", "pointmaze", "pusht", "reacher"}
    assert [d["name"] for d in tasks["reacher"]["proprio"]["names"]] == ["cos_q1", "sin_q1", "q2", "dq1", "dq2"]
    assert tasks["pusht"]["env_step_seconds"] == 0.1
    models = {m["task"]: m for m in c.models() if m["default"]}
    assert set(models) == set(tasks)
    assert len(models["reacher"]["proprio_names"]) == models["reacher"]["proprio_dim"] == 5


def test_a_plan_has_the_shapes_the_card_says_and_its_warm_start_goes_back(server):
    c = Client(server)
    ep = c.episode("pointmaze", seed=0, index=3)
    p = c.plan("pointmaze", ep.start.image, ep.start.proprio, ep.goal.image, ep.goal.proprio, seed=5)
    assert p.actions.shape == (5, 10) and p.env_actions.shape == (25, 2)
    assert np.all(np.abs(p.env_actions) <= 1 + 1e-6)
    assert p.warm_start["shifted_by"] == p.execute == 1
    again = c.plan("pointmaze", ep.start.image, ep.start.proprio, ep.goal.image, ep.goal.proprio, seed=5)
    np.testing.assert_array_equal(again.actions, p.actions)
    c.plan("pointmaze", ep.start.image, ep.start.proprio, ep.goal.image, ep.goal.proprio,
           warm_start=p.warm_start, executed=p.execute)


def test_bad_input_is_an_error_naming_the_field(server):
    c = Client(server)
    ep = c.episode("wall", seed=0, index=0)
    with pytest.raises(EdgeWMError) as e:
        c.plan("wall", ep.start.image, [1.0, 2.0, 3.0], ep.goal.image)
    assert e.value.status == 400 and e.value.field == "observation.proprio"
    with pytest.raises(EdgeWMError) as e:
        c.step("wall", [32.0, 10.0], [[0.0, 0.0]])
    assert e.value.status == 400 and e.value.field == "state"
    with pytest.raises(ValueError, match="uint8"):
        c.plan("wall", ep.start.image.astype(np.float32), ep.start.proprio, ep.goal.image)


def test_a_closed_loop_on_wall_reaches_its_goals(server):
    c = Client(server)
    results = [closed_loop(c, c.episode("wall", seed=0, index=i), budget=50) for i in range(10)]
    hits = sum(r["success"] for r in results)
    # The served default reaches 0.98-1.00 of 50 episodes on two seeds (README); 8 of 10 is the bar here.
    assert hits >= 8, results


def test_the_gymnasium_environments(server):
    import gymnasium as gym  # the [gymnasium] extra: CI installs it, so a missing one fails rather than skips

    import edgewm.envs  # noqa: F401  (registers the environments)

    env = gym.make("edgewm/Reacher-v0", url=server)
    obs, info = env.reset(seed=0, options={"index": 2})
    assert obs["image"].shape == (64, 64, 3) and obs["image"].dtype == np.uint8
    assert obs["proprio"].shape == (5,) and info["goal"]["image"].shape == (64, 64, 3)
    assert env.observation_space.contains(obs)
    obs2, reward, terminated, truncated, info2 = env.step(env.action_space.sample())
    assert reward == -info2["distance"] and not truncated
    assert not np.array_equal(obs2["proprio"], obs["proprio"])
    env.close()


def test_frames_default_to_the_size_each_task_model_reads(server):
    c = Client(server)
    models = {m["task"]: m for m in c.models() if m["default"]}
    for task, m in models.items():
        assert c.image_size(task) == m["image_size"]
        assert c.episode(task, seed=0, index=0, replans=1).start.image.shape == (m["image_size"], m["image_size"], 3)
    other = 32 if models["wall"]["image_size"] != 32 else 48
    with pytest.raises(ValueError, match=f"frames are {other} px, the model reads {models['wall']['image_size']}"):
        closed_loop(c, c.episode("wall", seed=0, index=0, size=other), budget=1)
    with pytest.raises(EdgeWMError) as e:
        c.image_size("nosuchtask")
    assert e.value.field == "task"
