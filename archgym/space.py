"""Design spaces: the parameter face of a design family.

A DesignSpace is an ordered list of knobs (categorical, integer, float).  Black-box agents
(optuna, GA, CMA-ES, ACO, random search) sample points from it; each family decodes a point
into a legal design.  The same space converts to a Gymnasium MultiDiscrete space, to optuna
distributions, and to/from a flat vector in [0, 1)^d for vector-based optimizers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from archgym.errors import DesignError

Point = dict[str, Any]


@dataclass(frozen=True)
class Categorical:
    """A knob over an explicit list of choices."""

    name: str
    choices: tuple[Any, ...]

    @property
    def cardinality(self) -> int:
        return len(self.choices)

    def from_index(self, i: int) -> Any:
        return self.choices[int(i)]

    def to_index(self, value: Any) -> int:
        try:
            return self.choices.index(value)
        except ValueError:
            raise DesignError(f"knob '{self.name}': {value!r} is not one of {list(self.choices)}") from None


@dataclass(frozen=True)
class Integer:
    """An integer knob in [low, high]."""

    name: str
    low: int
    high: int  # inclusive

    @property
    def cardinality(self) -> int:
        return self.high - self.low + 1

    def from_index(self, i: int) -> int:
        return self.low + int(i)

    def to_index(self, value: Any) -> int:
        v = int(value)
        if not self.low <= v <= self.high:
            raise DesignError(f"knob '{self.name}': {v} outside [{self.low}, {self.high}]")
        return v - self.low


@dataclass(frozen=True)
class Float:
    """A real knob in [low, high], discretized into ``levels`` values so every agent sees a finite grid."""

    name: str
    low: float
    high: float
    levels: int = 32  # resolution when a discrete view (MultiDiscrete, GA genes) is needed

    @property
    def cardinality(self) -> int:
        return self.levels

    def from_index(self, i: int) -> float:
        return self.low + (self.high - self.low) * int(i) / max(1, self.levels - 1)

    def to_index(self, value: Any) -> int:
        v = float(value)
        if not self.low <= v <= self.high:
            raise DesignError(f"knob '{self.name}': {v} outside [{self.low}, {self.high}]")
        return int(round((v - self.low) / (self.high - self.low) * (self.levels - 1))) if self.high > self.low else 0


Knob = Categorical | Integer | Float


class DesignSpace:
    """An ordered collection of knobs."""

    def __init__(self, knobs: Sequence[Knob]):
        names = [k.name for k in knobs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate knob names in {names}")
        self.knobs: tuple[Knob, ...] = tuple(knobs)

    def __len__(self) -> int:
        return len(self.knobs)

    def __iter__(self):
        return iter(self.knobs)

    @property
    def names(self) -> list[str]:
        return [k.name for k in self.knobs]

    @property
    def nvec(self) -> np.ndarray:
        """Cardinalities, as a Gymnasium MultiDiscrete space wants them."""
        return np.array([k.cardinality for k in self.knobs], dtype=np.int64)

    def size(self) -> float:
        """Number of points in the discretized space (may be astronomically large)."""
        return math.prod(float(k.cardinality) for k in self.knobs)

    def from_indices(self, indices: Sequence[int] | np.ndarray) -> Point:
        if len(indices) != len(self.knobs):
            raise DesignError(f"expected {len(self.knobs)} knob indices, got {len(indices)}")
        return {k.name: k.from_index(min(max(int(i), 0), k.cardinality - 1)) for k, i in zip(self.knobs, indices)}

    def to_indices(self, point: Point) -> np.ndarray:
        missing = [k.name for k in self.knobs if k.name not in point]
        if missing:
            raise DesignError(f"point lacks knobs {missing}")
        return np.array([k.to_index(point[k.name]) for k in self.knobs], dtype=np.int64)

    def from_unit(self, u: Sequence[float]) -> Point:
        """Decode a vector in [0, 1)^d (CMA-ES, ACO, GA genes) by binning each coordinate."""
        idx = [min(int(float(x) * k.cardinality), k.cardinality - 1) if x >= 0 else 0 for k, x in zip(self.knobs, u)]
        return self.from_indices(idx)

    def sample(self, rng: np.random.Generator) -> Point:
        return self.from_indices([int(rng.integers(k.cardinality)) for k in self.knobs])

    def optuna_distributions(self) -> dict[str, Any]:
        import optuna.distributions as od

        out: dict[str, Any] = {}
        for k in self.knobs:
            if isinstance(k, Categorical):
                out[k.name] = od.CategoricalDistribution(list(k.choices))
            elif isinstance(k, Integer):
                out[k.name] = od.IntDistribution(k.low, k.high)
            else:
                out[k.name] = od.FloatDistribution(k.low, k.high)
        return out
