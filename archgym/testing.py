"""Conformance checks for a design family, for plug-in authors and for archgym's own families.

Modelled on Gymnasium's ``check_env`` and optuna's ``BasicSamplerTestCase``: :func:`check_problem` runs
every contract a family must keep on one configured instance and raises ``AssertionError`` naming the
first broken one; :class:`ProblemConformance` packages the same checks as pytest tests::

    from archgym.testing import ProblemConformance

    class TestMyFamily(ProblemConformance):
        env = "cache"                       # a registered env name
        config = {"ways": 2, "sets": 16}    # a small, fast instance (default: the class's test_config)

The checks: the JSON round trip (baselines, sampled and edited designs), that every baseline evaluates,
that every point of the parameter face decodes to a legal design, that the action mask agrees with
``apply_action`` and edits never mutate their input, that observations lie in the observation space,
Gymnasium's ``check_env`` on both faces, and export-then-verify of a baseline's Verilog.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import numpy as np

from archgym.errors import ArchGymError, DesignError
from archgym.problem import DesignProblem, Evaluation, ParameterFace, SequentialFace, VerilogExport


def check_problem(problem: DesignProblem, *, seed: int = 0, samples: int = 4, steps: int = 6,
                  verilog: bool = True) -> list[str]:
    """Run every conformance check on ``problem``; return the names of the checks that ran.

    ``samples`` parameter-face points and a random walk of ``steps`` edits are drawn with ``seed``;
    ``verilog=False`` skips the (slower) export-then-verify check."""
    rng = np.random.default_rng(seed)
    ran = ["json_round_trip", "baselines_evaluate"]
    designs = list(problem.baselines().values())
    for name, design in problem.baselines().items():
        _check_evaluation(problem, design, f"baseline '{name}'")
    if isinstance(problem, ParameterFace) and problem.has_parameter_face:
        ran.append("parameter_face")
        space = problem.space()
        for _ in range(samples):
            point = space.sample(rng)
            design = problem.decode(point)
            _check_evaluation(problem, design, f"decode({point})"[:200])
            designs.append(design)
    if isinstance(problem, SequentialFace):
        ran.append("sequential_face")
        designs += _check_sequential(problem, rng, steps)
    for design in designs:
        _check_round_trip(problem, design)
    ran += _check_gym_faces(problem, seed)
    if verilog and isinstance(problem, VerilogExport) and problem.baselines():
        ran.append("verilog_export")
        name, design = next(iter(problem.baselines().items()))
        text = problem.to_verilog(design, module_name=f"{problem.name}_check")
        assert isinstance(text, str) and f"module {problem.name}_check" in text, \
            f"to_verilog of baseline '{name}' has no module named {problem.name}_check"
        proof = problem.verify_verilog(design, text)
        assert isinstance(proof, str) and proof, "verify_verilog must say what it showed"
    return ran


def _check_evaluation(problem: DesignProblem, design: Any, what: str) -> Evaluation:
    ev = problem.evaluate(design)
    assert isinstance(ev, Evaluation), f"evaluate({what}) returned {type(ev).__name__}, not an Evaluation"
    assert not ev.failed, f"evaluate({what}) failed: {ev.reason}"
    if ev.feasible:
        assert math.isfinite(ev.cost), f"feasible {what} has cost {ev.cost}"
    else:
        assert ev.cost == math.inf and ev.reason, f"infeasible {what} needs cost inf and a reason"
    for key, value in ev.metrics.items():
        assert isinstance(key, str) and isinstance(value, (int, float)), \
            f"metric {key!r} of {what} is {type(value).__name__}, not a number (the log stores numbers)"
    return ev


def _check_round_trip(problem: DesignProblem, design: Any) -> None:
    text = problem.canonical(design)
    again = problem.load_design(json.loads(json.dumps(problem.to_json(design))))
    assert problem.canonical(again) == text, f"JSON round trip changes the design: {text[:200]}"
    assert problem.evaluate(again).cost == problem.evaluate(design).cost, f"round trip changes the cost of {text[:200]}"


def _check_sequential(problem: Any, rng: np.random.Generator, steps: int) -> list[Any]:
    n = problem.num_actions()
    assert isinstance(n, int) and n > 0, f"num_actions() must be a positive int, got {n!r}"
    space = problem.observation_space()
    design = problem.initial_design(rng)
    visited = [design]
    for _ in range(steps):
        obs = problem.observe(design)
        assert space.contains(obs), "observe() returned a value outside observation_space()"
        mask = np.asarray(problem.action_mask(design))
        assert mask.shape == (n,) and mask.dtype == bool, \
            f"action_mask must be bool of shape ({n},), got {mask.dtype} {mask.shape}"
        before = problem.canonical(design)
        illegal = np.flatnonzero(~mask)
        for a in rng.choice(illegal, size=min(3, len(illegal)), replace=False) if len(illegal) else []:
            try:
                problem.apply_action(design, int(a))
            except (DesignError, ArchGymError):
                pass  # an illegal edit may be refused
            assert problem.canonical(design) == before, f"apply_action({int(a)}) mutated its input"
        legal = np.flatnonzero(mask)
        if not len(legal):
            assert problem.is_terminal(design), "no legal action but is_terminal() is False"
            break
        action = int(rng.choice(legal))
        nxt = problem.apply_action(design, action)
        assert problem.canonical(design) == before, f"apply_action({action}) mutated its input"
        _check_evaluation(problem, nxt, f"apply_action({action})")
        design = nxt
        visited.append(design)
    return visited


def _check_gym_faces(problem: DesignProblem, seed: int) -> list[str]:
    from gymnasium.utils.env_checker import check_env

    from archgym.envs.base import DesignEnv, ParameterEnv

    ran = []
    if problem.has_sequential_face:
        env = DesignEnv(problem)
        check_env(env, skip_render_check=True)
        obs, _ = env.reset(seed=seed)
        assert env.observation_space.contains(obs)
        assert np.array_equal(env.action_masks(), problem.action_mask(env.design))  # type: ignore[attr-defined]
        ran.append("check_env_sequential")
    if problem.has_parameter_face:
        check_env(ParameterEnv(problem), skip_render_check=True)
        ran.append("check_env_parameter")
    return ran


class ProblemConformance:
    """Pytest mix-in: subclass with ``env`` (and optionally ``config``) to run the checks as tests."""

    env: ClassVar[str] = ""
    config: ClassVar[dict[str, Any] | None] = None
    verilog: ClassVar[bool] = True

    def make_problem(self) -> DesignProblem:
        from archgym import registry
        from archgym.config import build_problem

        config = self.config if self.config is not None else dict(registry.envs.get(self.env).test_config)
        return build_problem(self.env, config)

    def test_conformance(self) -> None:
        ran = check_problem(self.make_problem(), verilog=self.verilog)
        assert "json_round_trip" in ran
