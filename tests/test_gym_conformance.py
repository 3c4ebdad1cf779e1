"""Gymnasium conformance of every registered id, and searches that survive a failing simulator."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import archgym  # noqa: F401  (registers the archgym/ ids)
from archgym import registry
from archgym.config import build_problem

IDS = sorted(k for k in gym.registry if k.startswith("archgym/"))
# small instances: the API does not depend on the workload (the NPU envs' whole ResNet-18 is tested in their own files)
SMALL = {"archgym/Adder-v0": {"width": 8}, "archgym/Multiplier-v0": {"width": 4},
         "archgym/NPUDataflow-v0": {"layer": "Conv4_s"}, "archgym/NPUHetero-v0": {"layer": "Conv4_s"}}


def test_every_builtin_family_is_registered():
    assert len(IDS) == len(registry.BUILTIN_ENVS) == 6


def _make(gid: str, **kw):
    return gym.make(gid, **SMALL.get(gid, {}), **kw)


@pytest.mark.parametrize("render_mode", [None, "ansi"])
@pytest.mark.parametrize("gid", IDS)
def test_check_env_passes(gid, render_mode):
    env = _make(gid, render_mode=render_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning of the checker is a failure too
        check_env(env.unwrapped, skip_render_check=False)
    env.reset(seed=0)
    text = env.unwrapped.render()
    assert (text is None) == (render_mode is None)
    if render_mode == "ansi":
        assert isinstance(text, str) and env.unwrapped.problem.name in text


@pytest.mark.parametrize("gid", IDS)
def test_invalid_actions_raise_and_observations_stay_in_the_space(gid):
    env = _make(gid)
    space = env.action_space
    env.reset(seed=0)
    if isinstance(space, gym.spaces.Discrete):
        bad = [-1, int(space.n), 10**9, 1.7, "a", [0, 1]]
    else:
        nvec = space.nvec
        bad = [nvec, -np.ones_like(nvec), np.zeros(len(nvec) + 1, dtype=int), (nvec - 1) + 0.5]
    for action in bad:
        with pytest.raises(ValueError, match="action"):
            env.step(action)
    rng = np.random.default_rng(0)
    for _ in range(10):
        if isinstance(space, gym.spaces.Discrete):
            mask = env.unwrapped.action_masks()
            action = int(rng.choice(np.flatnonzero(mask)))
        else:
            action = space.sample()
        obs, _, terminated, truncated, _ = env.step(action)
        assert env.observation_space.contains(obs)
        if terminated or truncated:
            env.reset()


@pytest.mark.parametrize("gid", IDS)
def test_reset_with_a_seed_is_reproducible(gid):
    env = _make(gid)
    first, _ = env.reset(seed=7)
    env.step(env.action_space.sample())
    again, _ = env.reset(seed=7)
    if isinstance(first, dict):
        assert all(np.array_equal(first[k], again[k]) for k in first)
    else:
        assert np.array_equal(first, again)


def test_render_mode_is_checked():
    with pytest.raises(Exception, match="render_mode"):
        _make("archgym/Adder-v0", render_mode="human")


@pytest.mark.parametrize("agent", sorted(registry.agents.names()))
def test_every_agent_keeps_searching_when_every_evaluation_fails(agent, tmp_path, monkeypatch):
    """A simulator that fails on every design (Yosys with a 1 ms deadline) gives failed rows; no agent stops
    early or blames the config, each uses its whole budget."""
    from archgym.runner import RunSpec, execute
    from archgym.simulators.eda.synthesis import CACHE_ENV_VAR

    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "synth-cache"))  # no cached synthesis can answer
    problem = build_problem("adder", {"width": 8})
    agent_cls = registry.agents.get(agent)
    if not any(getattr(problem, f"has_{face}_face") for face in agent_cls.faces):
        pytest.skip(f"{agent} does not search the adder")
    spec = RunSpec("adder", agent, {"width": 8, "cost_model": "yosys", "synth_timeout": 0.001, "synth_targets": [1.0]},
                   agent_config={"n_steps": 4, "batch_size": 4} if agent in ("ppo", "maskable_ppo", "a2c") else {},
                   budget=6, out_dir=str(tmp_path), progress=False, verify=False)
    if agent == "a2c":
        spec.agent_config = {"n_steps": 4}
    summary = execute(spec)
    assert summary["evaluations"] == 6 and summary["failed_evaluations"] == 6
    assert summary["best"] is None
