"""The approx_multiplier env: Gymnasium faces, design I/O, feasibility, agents, Verilog, determinism."""

from __future__ import annotations

import itertools
import json
import math
import shutil

import pytest
from gymnasium.utils.env_checker import check_env

from archgym.config import build_problem
from archgym.envs.base import DesignEnv, ParameterEnv
from archgym.errors import ConfigError, DesignError


def problem(**kw):
    return build_problem("approx_multiplier", kw)


@pytest.mark.parametrize("face", [DesignEnv, ParameterEnv])
def test_check_env(face):
    env = face(problem(accuracy_model="closed_form"))
    check_env(env, skip_render_check=True)


def test_sequential_face_masks_and_observes():
    p = problem(accuracy_model="closed_form")
    env = DesignEnv(p)
    obs, info = env.reset(seed=0)
    assert obs.shape == (3 * len(p.names),) and obs.sum() == 3 and info["cost"] == 1.0
    mask = env.action_masks()
    assert mask.sum() == mask.size - 3 and not mask[p.names.index("exact")]  # current choice is a no-op
    a = len(p.names) + p.names.index("truncc6")  # layer 1 <- truncc6
    obs, reward, *_ = env.step(a)
    assert env.design.layers == ("exact", "truncc6", "exact") and reward > 0 and obs[a] == 1


def test_json_round_trip_and_errors():
    p = problem()
    d = p.from_json({"layers": ["drum5", "exact", "c42_9"]})
    assert p.from_json(json.loads(json.dumps(p.to_json(d)))) == d
    assert p.decode({f"layer{i}": n for i, n in enumerate(d.layers)}) == d
    with pytest.raises(DesignError, match=r"layers\[1\]"):
        p.from_json({"layers": ["exact", "booth", "exact"]})
    with pytest.raises(DesignError, match="'layers'"):
        p.from_json({"layers": ["exact"]})
    with pytest.raises(DesignError, match="'width'"):
        p.from_json({"layers": ["exact"] * 3, "width": 8})
    for field, value in (("accuracy_model", "guess"), ("max_accuracy_drop", -1.0), ("fold", 2), ("start", "x")):
        with pytest.raises(ConfigError, match=field):
            problem(**{field: value})


@pytest.mark.parametrize("model", ["measured", "closed_form"])
def test_exact_baseline_has_zero_drop_and_unit_cost(model):
    p = problem(accuracy_model=model)
    ev = p.evaluate(p.baseline("exact"))
    assert ev.feasible and ev.cost == 1.0 and ev.metrics["accuracy_drop"] == 0.0 and ev.metrics["kl"] == 0.0
    assert ev.metrics["accuracy"] == pytest.approx(97.44, abs=0.01)
    # energy = sum over layers of K*N products x per-product energy; layer costs add up
    assert ev.metrics["energy"] == pytest.approx(sum(p.layer_cost(i, "exact")[0] for i in range(3)))


def test_infeasible_design_is_flagged_with_reason():
    p = problem(max_accuracy_drop=1.0)
    ev = p.evaluate(p.uniform("truncc12"))
    assert not ev.feasible and math.isinf(ev.cost)
    assert ev.reason.startswith("accuracy drop") and "> bound 1 pp" in ev.reason
    assert ev.metrics["accuracy_drop"] > 50  # the whole network collapses
    # a looser bound admits it: feasibility follows the config, not the design alone
    assert problem(max_accuracy_drop=100.0).evaluate(p.uniform("truncc12")).feasible


def test_cheaper_configs_cost_less_energy():
    p = problem(accuracy_model="closed_form")
    e = [p.evaluate(p.uniform(n)).metrics["energy"] for n in ("exact", "trunc4", "trunc8", "trunc12")]
    assert all(b < a for a, b in itertools.pairwise(e))


@pytest.mark.parametrize("agent", ["random", "tpe"])
def test_agents_find_cheaper_feasible_design(agent, tmp_path):
    from archgym.runner import RunSpec, execute

    summary = execute(RunSpec(env="approx_multiplier", agent=agent, budget=30, out_dir=str(tmp_path), progress=False,
                              verify=agent == "tpe" and shutil.which("iverilog") is not None))
    best = summary["best"]
    assert best["cost"] < 1.0 and best["metrics"]["accuracy_drop"] <= 1.0
    assert summary["baselines"]["exact"]["cost"] == 1.0
    if summary.get("verilog_verification"):
        assert "65,536" in summary["verilog_verification"]


def test_determinism():
    a = problem().evaluate(problem().from_json({"layers": ["bam_h2v8", "drum4", "kul7"]}))
    b = problem().evaluate(problem().from_json({"layers": ["bam_h2v8", "drum4", "kul7"]}))
    assert a.metrics == b.metrics and a.cost == b.cost


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed")
def test_verilog_catches_a_wrong_layer():
    from archgym.errors import SimulationError

    p = problem()
    d = p.from_json({"layers": ["trunc8", "exact", "trunc8"]})
    v = p.to_verilog(d, "top")
    assert v.count("module axm_trunc8(") == 1  # one module per distinct multiplier
    wrong = p.from_json({"layers": ["trunc8", "trunc8", "trunc8"]})
    with pytest.raises(SimulationError, match="layer 1"):
        p.verify_verilog(wrong, v)
