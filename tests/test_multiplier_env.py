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
    out = cli("archgym.run", "env=multiplier", "agent=random", "env.width=6", "budget=30", f"out_dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["best"]["design"]["width"] == 6 and len(summary["baselines"]) == 12
    assert "all 4096 operand pairs simulated" in summary["verilog_verification"]
    assert "module multiplier_best" in (tmp_path / "best.v").read_text()
