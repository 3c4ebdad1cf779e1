"""Every registered family passes ``archgym.testing.check_problem`` at its own ``test_config``.

There is no opt-in list: a family registered without a small test config fails here, loudly."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from toy_problem import ToyProblem

from archgym import registry
from archgym.config import build_problem
from archgym.errors import DesignError
from archgym.problem import DesignProblem, Evaluation, SequentialFace
from archgym.testing import ProblemConformance, check_problem


@pytest.mark.parametrize("env", registry.envs.names())
def test_registered_family_conforms(env: str) -> None:
    cls = registry.envs.get(env)
    assert "test_config" in vars(cls), (
        f"env '{env}' ({cls.__module__}.{cls.__name__}) declares no test_config: give it a small, fast "
        "instance (config overrides) so the conformance checks and the agent matrix can run it")
    ran = check_problem(build_problem(env, dict(cls.test_config)))
    assert "json_round_trip" in ran and "baselines_evaluate" in ran
    assert ("check_env_sequential" in ran) or ("check_env_parameter" in ran)


class TestToyFamilyAsAPluginAuthorWould(ProblemConformance):
    env: ClassVar[str] = "toy"
    config: ClassVar[dict[str, Any] | None] = {"target": 4}

    @pytest.fixture(autouse=True)
    def _registered(self, monkeypatch):
        monkeypatch.setitem(registry.envs._objects, "toy", ToyProblem)


class _MutatingWalk(SequentialFace[list], DesignProblem[list]):
    """A broken family: its edit appends to the design it was given."""

    name = "mutating"
    config_class = dict

    def to_json(self, design):
        return {"x": list(design)}

    def from_json(self, data):
        return list(data["x"])

    def evaluate(self, design):
        return Evaluation({"n": float(len(design))}, float(len(design)))

    def initial_design(self, rng=None):
        return []

    def num_actions(self):
        return 2

    def action_mask(self, design):
        import numpy as np

        return np.array([True, False])

    def apply_action(self, design, action):
        if action != 0:
            raise DesignError("illegal")
        design.append(0)
        return design

    def observation_space(self):
        import gymnasium as gym

        return gym.spaces.Box(0.0, 100.0, shape=(1,))

    def observe(self, design):
        import numpy as np

        return np.array([float(len(design))], dtype=np.float32)


def test_a_mutating_edit_is_caught() -> None:
    with pytest.raises(AssertionError, match="mutated its input"):
        check_problem(_MutatingWalk({}), verilog=False)
