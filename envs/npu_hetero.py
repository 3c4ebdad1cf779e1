"""Heterogeneous NPU: ``env=npu_hetero``, Gymnasium id ``archgym/NPUHetero-v0``.

Design: ``sub_accelerators`` PE arrays, each with the knobs of ``env=npu``, and the array each layer
of the workload runs on (`archgym.simulators.npu.system`, after NASAIC, DAC 2020).  JSON form::

    {"arrays": [{"rows": 64, "cols": 16, "dataflow": "os", ...}, {"rows": 32, ...}],
     "assignment": [0, 0, 1, ...]}          # one sub-accelerator index per layer

Cost: as ``env=npu`` (same objectives, constraints and normalization by SCALE-Sim's ``scale.cfg``),
with ``cycles`` the steady-state cycles per inference of the layer pipeline (the busiest array),
area the sum over arrays and the DRAM bandwidth the sum of the arrays' interfaces.  The baselines are
SCALE-Sim's shipped configurations as one-array systems.

Parameter face: every array's knobs (``a0.rows``, ...) and every layer's array (``map.0``, ...).
Sequential face: the ``env=npu`` knob moves for every array, plus one action per layer that moves it
to the next array; it starts from ``sub_accelerators`` copies of the ``start`` baseline that share its
DRAM bandwidth, with every layer on array 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from archgym.envs.npu import KNOBS, NPUConfig, NPUProblem
from archgym.errors import ConfigError, DesignError
from archgym.fields import option
from archgym.simulators.npu.system import NPUSystem
from archgym.space import Categorical, DesignSpace, Point

MAX_SUB_ACCELERATORS = 8
#: default per-array DRAM interface choices (words/cycle): the arrays share one memory system, so
#: their interfaces split what one array of ``env=npu`` would have (overridable by ``choices``)
SHARED_DRAM_BW_CHOICES = (2, 3, 5, 10)


@dataclass
class HeteroNPUConfig(NPUConfig):
    """``env=npu_hetero`` fields: those of ``env=npu`` plus the number of arrays."""

    sub_accelerators: int = option(2, "PE arrays sharing the workload (1 = a homogeneous single array)",
                                   integer=True, low=1, high=MAX_SUB_ACCELERATORS)


class HeteroNPUProblem(NPUProblem):
    """Several PE arrays (each with the ``npu`` knobs) and the array each layer runs on (after NASAIC, DAC 2020).

    Action Space: ``Discrete``: every array's knob moves, then per layer a move to the next array.
    Observation Space: ``Box(0, 1)``: every array's knob positions and each layer's array index.
    Rewards (sequential face, ``DesignEnv``): the decrease of the cost, divided by the episode's starting
    cost; an edit to an infeasible design is rejected with -1, a masked action is a no-op with -0.01.
    Parameter face (``ParameterEnv``): -cost / (first cost seen), one step per episode.
    Episode End: truncated after ``episode_length`` edits.
    Arguments: those of ``npu`` plus ``sub_accelerators``; ``python -m archgym.list env=npu_hetero``.
    """

    name = "npu_hetero"
    description = "heterogeneous NPU: several PE arrays (dataflow, shape, SRAMs each) and a layer-to-array mapping"
    config_class = HeteroNPUConfig
    test_config: ClassVar[dict[str, Any]] = {"layer": "Conv4_s"}  # small instance for archgym.testing
    default_budget = 300

    def __init__(self, config: HeteroNPUConfig):
        k = config.sub_accelerators
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_SUB_ACCELERATORS:
            raise ConfigError("sub_accelerators", f"must be an integer in [1, {MAX_SUB_ACCELERATORS}], got {k!r}")
        super().__init__(config)

    def _load_choices(self) -> dict[str, tuple[Any, ...]]:
        out = super()._load_choices()
        if "dram_bw" not in (self.config.choices or {}):
            out["dram_bw"] = SHARED_DRAM_BW_CHOICES
        return out

    @property
    def n_arrays(self) -> int:
        return self.config.sub_accelerators

    # ---- design I/O -------------------------------------------------------------------
    def to_json(self, design: NPUSystem) -> dict[str, Any]:
        return design.to_dict()

    def from_json(self, data: dict[str, Any]) -> NPUSystem:
        if not isinstance(data, dict) or set(data) != {"arrays", "assignment"}:
            raise DesignError("an npu_hetero design is a JSON object {'arrays': [...], 'assignment': [...]}")
        arrays = data["arrays"]
        if not isinstance(arrays, list) or not 1 <= len(arrays) <= self.n_arrays:
            raise DesignError(f"field 'arrays': must be a list of 1 to {self.n_arrays} array designs "
                              f"(env.sub_accelerators), got {arrays!r}"[:300])
        parsed = []
        for i, a in enumerate(arrays):
            try:
                parsed.append(super().from_json(a))
            except DesignError as exc:
                raise DesignError(f"arrays[{i}]: {exc}") from None
        assignment = data["assignment"]
        if not isinstance(assignment, list) or len(assignment) != len(self.layers):
            raise DesignError(f"field 'assignment': must list one array index per layer ({len(self.layers)} layers)")
        try:
            return NPUSystem(tuple(parsed), tuple(assignment))
        except ConfigError as exc:
            raise DesignError(f"field '{exc.field}': {exc.reason}") from None

    @cached_property
    def _system_baselines(self) -> dict[str, NPUSystem]:
        zeros = (0,) * len(self.layers)
        return {name: NPUSystem((d,), zeros) for name, d in self._baselines.items()}

    def baselines(self) -> dict[str, NPUSystem]:
        return self._system_baselines

    # ---- parameter face ---------------------------------------------------------------
    def space(self) -> DesignSpace:
        knobs = [Categorical(f"a{i}.{k}", self.choices[k]) for i in range(self.n_arrays) for k in KNOBS]
        maps = [Categorical(f"map.{j}", tuple(range(self.n_arrays))) for j in range(len(self.layers))]
        return DesignSpace(knobs + maps)

    def decode(self, point: Point) -> NPUSystem:
        arrays = [NPUProblem.from_json(self, {**{k: point[f"a{i}.{k}"] for k in KNOBS},
                                              "word_bytes": self.config.word_bytes})
                  for i in range(self.n_arrays)]
        return NPUSystem(tuple(arrays), tuple(int(point[f"map.{j}"]) for j in range(len(self.layers))))

    # ---- sequential face --------------------------------------------------------------
    def initial_design(self, rng: np.random.Generator | None = None) -> NPUSystem:
        """Copies of the start baseline that split its DRAM interfaces (so the start stays within
        the same bandwidth), every layer on array 0."""
        start = self._baselines[self.config.start]
        bw = self.choices["dram_bw"]
        share = max((b for b in bw if b <= start.dram_bw / self.n_arrays), default=bw[0])
        return NPUSystem((replace(start, dram_bw=share),) * self.n_arrays, (0,) * len(self.layers))

    @property
    def _knob_actions(self) -> int:
        return 2 * len(KNOBS)

    def num_actions(self) -> int:
        return self._knob_actions * self.n_arrays + len(self.layers)

    def action_mask(self, design: NPUSystem) -> np.ndarray:
        knob = [super(HeteroNPUProblem, self).action_mask(a) for a in self._padded(design)]
        moves = np.full(len(self.layers), self.n_arrays > 1)
        return np.concatenate([*knob, moves])

    def _padded(self, design: NPUSystem) -> tuple:
        """The design's arrays, padded to sub_accelerators with copies of the last (a baseline has one)."""
        return design.arrays + (design.arrays[-1],) * (self.n_arrays - len(design.arrays))

    def apply_action(self, design: NPUSystem, action: int) -> NPUSystem:
        a = int(action)
        if not 0 <= a < self.num_actions():
            raise DesignError(f"action {action} outside [0, {self.num_actions()})")
        arrays = self._padded(design)
        i, k = divmod(a, self._knob_actions)
        if i < self.n_arrays:
            new = super().apply_action(arrays[i], k)
            return NPUSystem((*arrays[:i], new, *arrays[i + 1:]), design.assignment)
        if self.n_arrays == 1:
            raise DesignError(f"action {action}: a single array has no layer moves")
        j = a - self._knob_actions * self.n_arrays
        assignment = list(design.assignment)
        assignment[j] = (assignment[j] + 1) % self.n_arrays
        return replace(design, arrays=arrays, assignment=tuple(assignment))

    def observation_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(0.0, 1.0, shape=(len(KNOBS) * self.n_arrays + len(self.layers),), dtype=np.float32)

    def observe(self, design: NPUSystem) -> np.ndarray:
        parts = [super(HeteroNPUProblem, self).observe(a) for a in self._padded(design)]
        parts.append(np.asarray(design.assignment, dtype=np.float32) / max(1, self.n_arrays - 1))
        return np.concatenate(parts).astype(np.float32)

