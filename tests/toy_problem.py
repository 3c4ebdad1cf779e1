"""A minimal third-party design family used by the tests."""

from __future__ import annotations

from dataclasses import dataclass

from archgym.problem import DesignProblem, Evaluation, ParameterFace


@dataclass
class ToyConfig:
    target: int = 3


class ToyProblem(ParameterFace, DesignProblem):
    """A third-party family: minimize (x - target)^2 over x in 0..9 (parameter face only)."""

    name = "toy"
    gym_id = "archgym/Toy-v0"
    description = "toy quadratic"
    config_class = ToyConfig
    default_budget = 20

    def to_json(self, design):
        return {"x": design}

    def from_json(self, data):
        return int(data["x"])

    def evaluate(self, design):
        target = self.config.target if self.config is not None else 3
        return Evaluation({"x": design}, float((design - target) ** 2))

    def space(self):
        from archgym.space import DesignSpace, Integer

        return DesignSpace([Integer("x", 0, 9)])

    def decode(self, point):
        return int(point["x"])
