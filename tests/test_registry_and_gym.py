"""Registry, Gymnasium registration and the env API conventions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from toy_problem import ToyProblem

from archgym import registry
from archgym.config import build_problem
from archgym.envs.base import DesignEnv, ParameterEnv
from archgym.errors import ConfigError, UnknownNameError


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UnknownNameError, match=r"valid envs: .*adder"):
        registry.envs.get("addr")
    with pytest.raises(UnknownNameError, match=r"valid agents: .*random"):
        registry.agents.get("nope")
    with pytest.raises(ConfigError, match=r"'env.cost_model'.*valid: analytical, proxy, yosys"):
        build_problem("adder", {"cost_model": "spice"})


def test_invalid_config_names_the_field():
    with pytest.raises(ConfigError, match="width"):
        build_problem("adder", {"width": 1})
    with pytest.raises(ConfigError, match=r"env.widht"):
        build_problem("adder", {"widht": 8})
    with pytest.raises(ConfigError, match="delay_weight"):
        build_problem("adder", {"delay_weight": 2.0})


def test_gymnasium_make_with_module_prefix():
    import subprocess
    import sys

    code = "import gymnasium as gym; e = gym.make('archgym:archgym/Adder-v0', width=64); print(e.action_space)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Discrete(3906)" in out.stdout  # 2 * (63 * 62 / 2) add/delete actions


@pytest.mark.parametrize("width", [4, 9, 16])
def test_adder_env_passes_check_env(width):
    env = gym.make("archgym/Adder-v0", width=width)
    check_env(env.unwrapped, skip_render_check=True)


def test_adder_env_step_masks_and_reward():
    env = gym.make("archgym/Adder-v0", width=16, mode="theoretical", start="sklansky").unwrapped
    obs, info = env.reset(seed=0)
    assert obs.shape == (3, 16, 16) and info["cost"] == 32  # Sklansky 16: (n/2) log2 n
    mask = env.action_masks()
    assert mask.dtype == bool and mask.shape == (env.action_space.n,)
    rng = np.random.default_rng(0)
    total = 0.0
    for _ in range(30):
        a = int(rng.choice(np.flatnonzero(env.action_masks())))
        before = env.cost
        obs, reward, _terminated, _truncated, info = env.step(a)
        assert isinstance(reward, float)
        if reward != -1.0:  # accepted edits: reward is the relative cost decrease
            assert reward == pytest.approx((before - env.cost) / 32)
        total += reward
    # an action outside the mask is a penalized no-op
    bad = int(np.flatnonzero(~env.action_masks())[0])
    cost = env.cost
    _, r, *_ = env.step(bad)
    assert r < 0 and env.cost == cost


def test_parameter_env_and_third_party_problem():
    problem = ToyProblem(None)
    assert problem.has_parameter_face and not problem.has_sequential_face
    env = ParameterEnv(problem)
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    _, _r, terminated, _, info = env.step(np.array([3]))
    assert terminated and info["cost"] == 0.0
    with pytest.raises(Exception, match="no sequential face"):
        DesignEnv(problem)


def test_default_parameter_face_decodes_to_legal_designs():
    problem = build_problem("adder", {"width": 16})
    space = problem.space()
    assert space.names[0] == "start"
    rng = np.random.default_rng(0)
    for _ in range(20):
        design = problem.decode(space.sample(rng))
        assert problem.from_json(problem.to_json(design)) == design
    # the baselines are points of the space
    point = {"start": "brent_kung", **{f"edit{i}": 0 for i in range(problem.param_edits)}}
    assert problem.decode(point) == problem.baseline("brent_kung")
