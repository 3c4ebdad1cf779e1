"""Parallel-prefix adder family: ``env=adder``, Gymnasium id ``archgym/Adder-v0``.

Design: a legal prefix graph (PrefixRL's n x n lower-triangular node map).  JSON form::

    {"width": 8, "nodes": [[msb, lsb], ...]}   # non-trivial prefix nodes; inputs (i, i) implied

Sequential face: action ``2 * c + 0`` adds and ``2 * c + 1`` deletes the c-th candidate node
(i, j), 1 <= j < i < n (outputs (i, 0) are always present), each followed by legalization.
Observation: 3 x n x n planes (node map, node level / depth, node fanout / max fanout).

Cost (minimized), by ``mode``:

* ``weighted``: ``delay_weight * delay / delay_ref + (1 - delay_weight) * area / area_ref`` where
  the references are the Sklansky adder's metrics at the same width under the same cost model,
  so the cost is 1.0 for Sklansky and the two terms are comparable at every width;
* ``theoretical``: size (prefix nodes) subject to ``depth <= depth_bound`` (default
  ceil(log2 n)), the metric of ArithTreeRL's and PrefixRL's theoretical experiments; a design over
  the bound is infeasible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from archgym.envs.prefix_edits import PrefixEdits, prefix_planes
from archgym.errors import ConfigError, DesignError
from archgym.fields import RestartFields, SequentialFields, SynthesisFields, option
from archgym.metrics import weighted_cost
from archgym.problem import (
    BEST_BASELINE,
    BaselineStart,
    DesignProblem,
    EditParameterFace,
    Evaluation,
    SimulatorBacked,
    VerilogExport,
)
from archgym.registry import simulator_for
from archgym.simulators.arith.frontier import MAX_LF_K, frontier_constructions, frontier_nodes
from archgym.simulators.arith.prefix import CLASSICAL, PrefixGraph, classical

MODES = ("weighted", "theoretical")
#: what ``start`` may name: a textbook adder or a construction of the theory (simulators/arith/frontier.py)
STARTS = (BEST_BASELINE, *CLASSICAL, "zero_deficiency", *(f"lf_p{k}" for k in range(MAX_LF_K + 1)))


@dataclass
class AdderConfig(SequentialFields, RestartFields, SynthesisFields):
    """``env=adder`` fields (``env.<field>=...``)."""

    width: int = option(32, "operand bits", integer=True, low=2, high=1024)
    mode: str = option("weighted", "weighted: delay/area vs Sklansky; theoretical: size s.t. depth <= depth_bound",
                       choices=MODES)
    delay_weight: float = option(0.5, "weight of delay (1 - it: of area) in the weighted cost", low=0.0, high=1.0)
    depth_bound: int | None = option(None, "theoretical mode: largest depth (default ceil(log2 width))",
                                     integer=True, low=1, optional=True)
    start: str = option(BEST_BASELINE, "first design of the sequential face: the lowest-cost baseline, a classical "
                                        "adder, zero_deficiency or lf_p<k> (Ladner-Fischer P_k)", choices=STARTS)


class AdderProblem(SimulatorBacked[PrefixGraph], BaselineStart[PrefixGraph], EditParameterFace[PrefixGraph],
                   VerilogExport[PrefixGraph], DesignProblem[PrefixGraph]):
    """Parallel-prefix adders (PrefixRL, ArithTreeRL).

    Action Space: ``Discrete(2 * C)``, C = n(n-1)/2 - (n-1) candidate nodes (i, j), 1 <= j < i < n:
    ``2c`` adds and ``2c + 1`` deletes node c, each followed by legalization; ``action_masks()`` marks legal edits.
    Observation Space: ``Box(0, 1, (3, n, n))``: node map, node level / depth, node fanout / max fanout.
    Parameter face: ``start`` (a baseline) + ``edit0..edit15`` (``EditParameterFace``).
    Baselines: the textbook adders and the theory's constructions (``simulators/arith/frontier.py``).
    Rewards (sequential face, ``DesignEnv``): the decrease of the cost, divided by the episode's starting
    cost; an edit to an infeasible design is rejected with -1, a masked action is a no-op with -0.01.
    Parameter face (``ParameterEnv``): -cost / (first cost seen), one step per episode.
    Episode End: truncated after ``episode_length`` edits; terminated when no edit is legal.
    Arguments: ``width``, ``mode`` (weighted | theoretical), ``delay_weight``, ``depth_bound``, ``start``,
    ``cost_model`` (analytical | yosys) and the synthesis fields; ``python -m archgym.list env=adder``.
    """

    name = "adder"
    description = "parallel-prefix adders: add/delete prefix nodes (PrefixRL / ArithTreeRL)"
    config_class = AdderConfig
    ground_truth: ClassVar[dict[str, Any] | None] = {"cost_model": "yosys"}  # archgym.ground_truth
    test_config: ClassVar[dict[str, Any]] = {"width": 8}  # small instance for archgym.testing
    default_budget = 400
    objective_names = ("delay", "area")

    def __init__(self, config: AdderConfig):
        super().__init__(config)
        n = config.width
        self.depth_bound = config.depth_bound or math.ceil(math.log2(n))
        if self.depth_bound < math.ceil(math.log2(n)):
            raise ConfigError("depth_bound", f"no {n}-bit prefix adder has depth < {math.ceil(math.log2(n))}")
        self.simulator = simulator_for("adder", config.cost_model)(config)
        self.n = n
        self.edits = PrefixEdits(n)
        self.candidates = self.edits.candidates

    def default_ground_truth_budget(self) -> int:
        """About two minutes of synthesis on 2 cores (5 targets per design; 32-bit: ~0.5 s per design)."""
        return max(20, min(400, int(200 * (32 / self.n) ** 2)))

    # ---- design I/O -------------------------------------------------------------------
    def to_json(self, design: PrefixGraph) -> dict[str, Any]:
        return design.to_json()

    def from_json(self, data: dict[str, Any]) -> PrefixGraph:
        g = PrefixGraph.from_json(data)
        if g.n != self.n:
            raise DesignError(f"field 'width': design is {g.n} bits but env.width={self.n}")
        return g

    def baselines(self) -> dict[str, PrefixGraph]:
        return self._baselines

    @cached_property
    def _baselines(self) -> dict[str, PrefixGraph]:
        """The textbook adders, then the theory's constructions (zero-deficiency, Ladner-Fischer P_k); in
        theoretical mode a zero-deficiency circuit at the depth bound too.  Those over the depth bound stay
        listed (infeasible in theoretical mode), not hidden."""
        out = {name: classical(name, self.n) for name in CLASSICAL}
        bound = self.depth_bound if self.config.mode == "theoretical" else None
        for name, nodes in frontier_constructions(self.n, bound).items():
            out[name] = PrefixGraph(self.n, nodes)
        return out

    # ---- cost -------------------------------------------------------------------------
    @cached_property
    def _reference(self) -> dict[str, float]:
        return self.simulator.metrics(self._baselines["sklansky"])


    def score(self, design: PrefixGraph, m: dict[str, float]) -> Evaluation:
        if self.config.mode == "theoretical":
            if m["depth"] > self.depth_bound:
                return Evaluation(m, math.inf, feasible=False, reason=f"depth {m['depth']} > bound {self.depth_bound}")
            return Evaluation(m, float(m["size"]))
        return Evaluation(m, self.cost_at(m, self.config.delay_weight))

    def cost_at(self, metrics: dict[str, float], delay_weight: float) -> float:
        return weighted_cost(metrics, self._reference, delay_weight)

    # ---- sequential face ----------------------------------------------------------------
    def start_design(self, name: str) -> PrefixGraph:
        return self._baselines.get(name) or PrefixGraph(self.n, frontier_nodes(name, self.n))

    def num_actions(self) -> int:
        return self.edits.num_actions

    def action_mask(self, design: PrefixGraph) -> np.ndarray:
        return self.edits.mask(design)

    def search_actions(self, design: PrefixGraph) -> np.ndarray:
        """In theoretical mode an added node can only raise the size: only deletions can help."""
        if self.config.mode != "theoretical":
            return super().search_actions(design)
        return np.array(
            sorted(self.action_for((i, j), True) for i, j in design.nodes if j > 0 and design.can_delete(i, j)),
            dtype=np.int64,
        )

    def apply_action(self, design: PrefixGraph, action: int) -> PrefixGraph:
        return self.edits.apply(design, action)

    def action_for(self, node: tuple[int, int], delete: bool) -> int:
        return self.edits.action_for(node, delete)

    def action_cells(self) -> np.ndarray:
        return self.edits.cells()

    def observation_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(0.0, 1.0, shape=(3, self.n, self.n), dtype=np.float32)

    def observe(self, design: PrefixGraph) -> np.ndarray:
        return prefix_planes(design)

    # ---- Verilog ----------------------------------------------------------------------
    def to_verilog(self, design: PrefixGraph, module_name: str = "prefix_adder") -> str:
        from archgym.rtl.arith.adder import adder_verilog

        return adder_verilog(design, module_name=module_name)

    def verify_verilog(self, design: PrefixGraph, verilog: str) -> str:
        from archgym.rtl.arith.adder import verify_adder

        return verify_adder(design, verilog)
