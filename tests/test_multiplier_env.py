"""The multiplier env: Gymnasium conventions, edits, JSON round trip, baselines, end to end."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from archgym.config import build_problem
from archgym.errors import ConfigError, DesignError


@pytest.mark.parametrize("config", [{"width": 4}, {"width": 8, "encoding": "booth", "signed": True}])
def test_check_env(config):
    env = gym.make("archgym/Multiplier-v0", **config)
    check_env(env.unwrapped, skip_render_check=True)


def test_actions_edit_tree_and_adder_and_round_trip():
    problem = build_problem("multiplier", {"width": 8})
    design = problem.initial_design()
    mask = problem.action_mask(design)
    assert mask.shape == (problem.num_actions(),)
    tree = np.flatnonzero(mask[: problem.tree_actions])
    adder = np.flatnonzero(mask[problem.tree_actions:]) + problem.tree_actions
    assert len(tree) and len(adder)
    rng = np.random.default_rng(0)
    for _ in range(40):
        a = int(rng.choice(np.flatnonzero(problem.action_mask(design))))
        new = problem.apply_action(design, a)
        if a < problem.tree_actions:
            assert new.adder == design.adder
        else:
            assert new.full_adders == design.full_adders and new.adder != design.adder
        design = new
        assert problem.from_json(json.loads(json.dumps(problem.to_json(design)))) == design
        assert np.isfinite(problem.evaluate(design).cost)


def test_reference_cost_and_dadda_counts():
    problem = build_problem("multiplier", {"width": 16})
    ev = problem.evaluate(problem.baseline("dadda_sklansky"))
    assert ev.cost == pytest.approx(1.0)
    assert ev.metrics["full_adders"] == 16 * 16 - 4 * 16 + 3 and ev.metrics["half_adders"] == 15


def test_bad_config_and_design_errors():
    with pytest.raises(ConfigError, match="width"):
        build_problem("multiplier", {"width": 3})
    with pytest.raises(ConfigError, match="signed"):
        build_problem("multiplier", {"width": 8, "signed": True})
    with pytest.raises(ConfigError, match="start"):
        build_problem("multiplier", {"start": "dadda"})
    problem = build_problem("multiplier", {"width": 8})
    data = problem.to_json(problem.baseline("wallace_ripple"))
    with pytest.raises(DesignError, match="width"):
        build_problem("multiplier", {"width": 9}).from_json(data)


def test_run_cli_end_to_end(cli, tmp_path):
    out = cli("archgym.run", "env=multiplier", "agent=random", "env.width=6", "budget=30", "ground_truth=false",
              f"out_dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["best"]["design"]["width"] == 6 and len(summary["baselines"]) == 12
    assert "all 4096 operand pairs simulated" in summary["verilog_verification"]
    assert "module multiplier_best" in (tmp_path / "best.v").read_text()


def test_observation_marks_exactly_the_present_editable_nodes():
    problem = build_problem("multiplier", {"width": 8})
    design = problem.initial_design()
    rng = np.random.default_rng(1)
    k = 3 * problem.columns
    for _ in range(30):
        obs = problem.observe(design)
        assert obs.shape == problem.observation_space().shape and obs.dtype == np.float32
        nodemap = design.adder.nodemap()
        want = [nodemap[i, j] for i, j in problem.adder_edits.candidates]
        np.testing.assert_array_equal(obs[k:], want)
        design = problem.apply_action(design, int(rng.choice(np.flatnonzero(problem.action_mask(design)))))


def test_action_mask_cache_matches_a_fresh_problem_and_is_not_shared():
    problem = build_problem("multiplier", {"width": 8})
    fresh = build_problem("multiplier", {"width": 8})
    design = problem.initial_design()
    rng = np.random.default_rng(2)
    for _ in range(40):
        mask = problem.action_mask(design)
        mask[:] = False  # the caller's copy: must not poison the cache
        again = problem.action_mask(design)
        np.testing.assert_array_equal(again, fresh.action_mask(design))
        design = problem.apply_action(design, int(rng.choice(np.flatnonzero(again))))


def test_episodes_restart_from_the_incumbent_or_the_start():
    from archgym.envs.base import DesignEnv

    scout = build_problem("multiplier", {"width": 8})  # scores designs without touching the env's incumbent
    start = scout.baseline("dadda_sklansky")
    neighbours = [scout.apply_action(start, int(a)) for a in np.flatnonzero(scout.action_mask(start))]
    better = min(neighbours, key=lambda d: scout.evaluate(d).cost)  # the best single edit
    worse = scout.baseline("array_ripple")
    assert scout.evaluate(better).cost < 1.0 < scout.evaluate(worse).cost
    for restart in ("incumbent", "start"):
        problem = build_problem("multiplier", {"width": 8, "restart": restart, "episode_length": 3})
        env = DesignEnv(problem)
        env.reset(seed=0)
        assert env.design == start
        env.evaluator.evaluate(worse)  # a worse design never becomes the incumbent
        env.reset()
        assert env.design == start
        env.evaluator.evaluate(better)
        env.reset()
        assert env.design == (better if restart == "incumbent" else start)
        obs, _ = env.reset(seed=5)
        assert np.array_equal(obs, problem.observe(env.design))


def test_ppo_same_seed_same_result_and_finds_a_better_design():
    from archgym.runner import RunSpec, execute

    def run(tmp: str) -> dict:
        return execute(RunSpec(env="multiplier", agent="ppo", env_config={"width": 8}, budget=600, seed=3,
                               out_dir=tmp, progress=False, verify=False))

    import tempfile

    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        first, second = run(a), run(b)
    assert first["best"] == second["best"]
    assert first["best"]["cost"] < 1.0  # better than Dadda + Sklansky (the reference, cost 1)


def test_config_errors_and_verify_engine(monkeypatch):
    import shutil

    for field, value in (("restart", "best"), ("episode_length", 0), ("verify_engine", "vcs")):
        with pytest.raises(ConfigError, match=field):
            build_problem("multiplier", {field: value})
    wide, small = build_problem("multiplier", {"width": 16}), build_problem("multiplier", {"width": 8})
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/" + name)
    assert wide.verify_engine() == "verilator" and small.verify_engine() == "icarus"
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert wide.verify_engine() == "icarus"
    assert build_problem("multiplier", {"width": 16, "verify_engine": "icarus"}).verify_engine() == "icarus"


@pytest.mark.parametrize("width", [8, 32])
def test_default_start_is_the_lowest_cost_baseline(width):
    problem = build_problem("multiplier", {"width": width})
    costs = {name: problem.evaluate(d).cost for name, d in problem.baselines().items()}
    start = problem.initial_design()
    assert problem.evaluate(start).cost == min(costs.values())
    pinned = build_problem("multiplier", {"width": width, "start": "wallace_ripple", "restart": "start"})
    assert pinned.initial_design() == problem.baseline("wallace_ripple")


def test_resumed_run_restarts_from_the_same_incumbent(tmp_path):
    """Episodes restart from the run's best design; a resumed run must rebuild it from the replayed
    log, or the agent diverges from the original run at its second episode."""
    import warnings

    from archgym import logs
    from archgym.runner import RunSpec, execute

    kw = dict(env="multiplier", agent="random_walk", env_config={"width": 8}, agent_config={"episode_length": 4},
              seed=0, progress=False, verify=False)
    execute(RunSpec(**kw, budget=600, out_dir=str(tmp_path / "ref")))
    execute(RunSpec(**kw, budget=300, out_dir=str(tmp_path / "part")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a divergence from the log warns
        summary = execute(RunSpec(**kw, budget=600, out_dir=str(tmp_path / "part"), resume=True))
    assert summary["replayed_from_log"] == 300
    ref, part = logs.load(str(tmp_path / "ref")), logs.load(str(tmp_path / "part"))
    assert ref["cost"].min() < ref["cost"].iloc[0]  # the incumbent moved during the replayed part
    assert ref["design_hash"].tolist() == part["design_hash"].tolist()
