"""Multiplier family: ``env=multiplier``, Gymnasium id ``archgym/Multiplier-v0``.

A design is a compressor tree (RL-MUL's per-column counts of 3:2 full adders and 2:2 half adders
over AND-array or radix-4 Booth partial products) plus the final carry-propagate prefix adder,
searched jointly as in ArithTreeRL.  JSON form::

    {"width": 16, "encoding": "and", "signed": false,
     "full_adders": [...2n counts...], "half_adders": [...2n counts...],
     "adder": {"width": m, "nodes": [[msb, lsb], ...]}}

Sequential face: actions ``0 .. 8n-1`` edit the tree (``4 * column + kind``, kinds add a half
adder, remove one, replace a full adder by a half adder or back: RL-MUL's actions, each followed by
legalization of the columns above); the remaining actions add/delete nodes of the final adder (the
adder family's encoding, ``archgym.envs.prefix_edits``).  Observation (``observation=vector``): per column
the full and half adder counts and the arrival time at the final adder, then which of the adder's editable
nodes (``PrefixEdits.candidates``, the nodes its actions add or delete) are present, as one vector.  With
``observation=grid`` it is a stack of planes over the 2n x 2n grid of product columns, laid out for a fully
convolutional policy (``agent.policy=grid``, ``archgym.agents.policies``; RL-MUL and ArithTreeRL use CNNs
over the compressor matrix): the final adder's node planes (PrefixRL's: present, level, fanout) at the
columns it spans, and each column's full adders, half adders and arrival time broadcast along its row and
along its column, so cell (i, j) sees both columns a prefix node (i, j) joins.  Every action has a cell
(``action_cells``): the tree edits of column c on the diagonal cell (c, c), one output plane per edit kind,
the adder's add/delete edits at their node.  No weight depends on the width.

Episodes (``archgym.problem.BaselineStart``): with ``restart="incumbent"`` (default) an episode starts
from the best design of the run so far, at first the ``start`` baseline.  From a fixed start, a policy
must find a chain of tens of specific edits before it beats the baselines, and PPO with a few thousand
steps does not (measured: 16-bit PPO stalled at cost 0.997 from Dadda + Sklansky with 64-step episodes,
0.979 from Dadda + Kogge-Stone at 32 bits).

Cost: ``delay_weight * delay / delay_ref + (1 - delay_weight) * area / area_ref`` with Dadda +
Sklansky of the same width and encoding as the reference (cost 1.0), under the configured cost model.
"""

from __future__ import annotations

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
from archgym.simulators.arith import multiplier as mul
from archgym.simulators.arith.prefix import PrefixGraph

ENCODINGS = ("and", "booth")
OBSERVATIONS = ("vector", "grid")
GRID_PLANES = 9  # the adder's 3 node planes, then full adders, half adders, arrival: by row and by column
VERIFY_ENGINES = ("auto", "verilator", "icarus")
EXHAUSTIVE_UP_TO = 8  # widths the Verilog check simulates exhaustively (verify_multiplier's default)
#: the final adders of the 12 classical baselines (x array, Wallace, Dadda trees)
BASELINE_FINAL_ADDERS = ("ripple", "sklansky", "kogge_stone", "brent_kung")


@dataclass
class MultiplierConfig(SequentialFields, RestartFields, SynthesisFields):
    """``env=multiplier`` fields (``env.<field>=...``)."""

    width: int = option(16, "operand bits", integer=True, low=4, high=64)
    encoding: str = option("and", "partial products: and (AND array) or booth (radix-4 Booth)", choices=ENCODINGS)
    signed: bool = option(False, "signed operands (Booth only)", choices=(False, True))
    delay_weight: float = option(0.5, "weight of delay (1 - it: of area) in the weighted cost", low=0.0, high=1.0)
    start: str = option(BEST_BASELINE, "first design of the sequential face: a <tree>_<adder> baseline, or the "
                                       "lowest-cost baseline under the configured cost")
    episode_length: int = option(4, "edits per episode; short episodes = local search around the incumbent",
                                 integer=True, low=1)
    observation: str = option("vector", "vector (one vector, for MLP policies) or grid (planes over the 2n x 2n "
                                        "column grid, every action at a cell: agent.policy=grid)",
                              choices=OBSERVATIONS)
    verify_random_vectors: int = option(100_000, "simulation vectors of the Verilog check above 8 bits",
                                        integer=True, low=0)
    verify_engine: str = option("auto", "Verilog check: verilator, icarus, or auto (Verilator if installed)",
                                choices=VERIFY_ENGINES)


class MultiplierProblem(SimulatorBacked[mul.MultiplierDesign], BaselineStart[mul.MultiplierDesign],
                        EditParameterFace[mul.MultiplierDesign],
                        VerilogExport[mul.MultiplierDesign], DesignProblem[mul.MultiplierDesign]):
    """Multipliers: compressor tree (RL-MUL) and final prefix adder, searched jointly (ArithTreeRL).

    Action Space: ``Discrete(4 * 2n + 2 * C)``: RL-MUL's four tree edits per column (add/remove a half
    adder, full adder to half adder and back), then the final adder's add/delete-node edits;
    ``action_masks()`` marks legal edits.
    Observation Space: ``Box(0, 1)``: per column the full and half adders / n and the arrival time at the final
    adder (normalized), then which of the final adder's editable nodes are present; with ``observation=grid``
    ``Box(0, 1, (9, 2n, 2n))`` (see the module docstring).
    Parameter face: ``start`` (one of the 12 classical baselines) + ``edit0..edit15``.
    Rewards (sequential face, ``DesignEnv``): the decrease of the cost, divided by the episode's starting
    cost; an edit to an infeasible design is rejected with -1, a masked action is a no-op with -0.01.
    Parameter face (``ParameterEnv``): -cost / (first cost seen), one step per episode.
    Episode End: truncated after ``episode_length`` edits (default 4: local search around the incumbent);
    terminated when no edit is legal.
    Arguments: ``width``, ``encoding`` (and | booth), ``signed``, ``delay_weight``, ``start``, ``restart``, ``observation``,
    ``cost_model`` (analytical | yosys), synthesis and Verilog-check fields; ``python -m archgym.list env=multiplier``.
    """

    name = "multiplier"
    description = "multipliers: compressor tree (RL-MUL edits) + final prefix adder, searched jointly"
    config_class = MultiplierConfig
    ground_truth: ClassVar[dict[str, Any] | None] = {"cost_model": "yosys"}  # archgym.ground_truth
    test_config: ClassVar[dict[str, Any]] = {"width": 4}  # small instance for archgym.testing
    default_budget = 30_000
    objective_names = ("delay", "area")

    def __init__(self, config: MultiplierConfig):
        super().__init__(config)
        n = config.width
        if config.signed and config.encoding != "booth":
            raise ConfigError("signed", "signed multipliers use encoding=booth")
        if config.start != BEST_BASELINE and config.start not in self._baselines:
            raise ConfigError("start", f"must be {BEST_BASELINE} or one of {', '.join(self._baselines)}, "
                                       f"got {config.start!r}")
        self.simulator = simulator_for("multiplier", config.cost_model)(config)
        first = self._baselines["dadda_sklansky"]  # every baseline has the same adder width
        self.columns = 2 * n
        self.tree_actions = 4 * self.columns
        self.adder_edits = PrefixEdits(first.adder_width)
        self.lsb = first.partial_products.lsb  # the column of the adder's bit 0
        self._cand_index = {c: k for k, c in enumerate(self.adder_edits.candidates)}
        self._masks: dict[int, tuple[mul.MultiplierDesign, np.ndarray]] = {}

    # ---- design I/O -------------------------------------------------------------------
    def to_json(self, design: mul.MultiplierDesign) -> dict[str, Any]:
        return design.to_json()

    def from_json(self, data: dict[str, Any]) -> mul.MultiplierDesign:
        design = mul.MultiplierDesign.from_json(data)
        c = self.config
        for field, want in (("width", c.width), ("encoding", c.encoding), ("signed", c.signed)):
            if getattr(design, field) != want:
                raise DesignError(f"field '{field}': design has {getattr(design, field)!r} but env.{field}={want!r}")
        return design

    def default_ground_truth_budget(self) -> int:
        """About six minutes of synthesis on 2 cores (5 targets per design; 16-bit: ~4.5 s per design)."""
        return max(10, min(400, int(80 * (16 / self.config.width) ** 2)))

    @cached_property
    def _baselines(self) -> dict[str, mul.MultiplierDesign]:
        c = self.config
        return {
            f"{tree}_{adder}": mul.multiplier_baseline(tree, adder, c.width, c.encoding, c.signed)
            for tree in mul.TREES
            for adder in BASELINE_FINAL_ADDERS
        }

    def baselines(self) -> dict[str, mul.MultiplierDesign]:
        return self._baselines

    # ---- cost -------------------------------------------------------------------------
    @cached_property
    def _reference(self) -> dict[str, float]:
        return self.simulator.metrics(self._baselines["dadda_sklansky"])


    def score(self, design: mul.MultiplierDesign, m: dict[str, float]) -> Evaluation:
        return Evaluation(m, self.cost_at(m, self.config.delay_weight))

    def cost_at(self, metrics: dict[str, float], delay_weight: float) -> float:
        return weighted_cost(metrics, self._reference, delay_weight)

    # ---- sequential face ----------------------------------------------------------------
    def num_actions(self) -> int:
        return self.tree_actions + self.adder_edits.num_actions

    def action_mask(self, design: mul.MultiplierDesign) -> np.ndarray:
        # a step asks for the mask of the same design object up to three times (the env's legality
        # check, the policy's mask, is_terminal): remember the last few, by identity
        hit = self._masks.get(id(design))
        if hit is None or hit[0] is not design:
            if len(self._masks) >= 16:
                self._masks.clear()
            hit = (design, np.concatenate([mul.legal_tree_edits(design), self.adder_edits.mask(design.adder)]))
            self._masks[id(design)] = hit
        return hit[1].copy()

    def apply_action(self, design: mul.MultiplierDesign, action: int) -> mul.MultiplierDesign:
        if action < self.tree_actions:
            return mul.tree_edit(design, action // 4, action % 4)
        return mul.with_adder(design, self.adder_edits.apply(design.adder, action - self.tree_actions))

    def observation_space(self) -> gym.spaces.Box:
        if self.config.observation == "grid":
            return gym.spaces.Box(0.0, 1.0, shape=(GRID_PLANES, self.columns, self.columns), dtype=np.float32)
        return gym.spaces.Box(0.0, 1.0, shape=(3 * self.columns + len(self._cand_index),), dtype=np.float32)

    def observe(self, design: mul.MultiplierDesign) -> np.ndarray:
        n = self.config.width
        arrival = np.asarray(mul.reduced_tree(design).arrival, dtype=np.float32)
        columns = [
            np.minimum(design.fa / n, 1.0).astype(np.float32),
            np.minimum(design.ha / n, 1.0).astype(np.float32),
            arrival / max(1.0, float(arrival.max())),
        ]
        if self.config.observation == "grid":
            obs = np.zeros((GRID_PLANES, self.columns, self.columns), dtype=np.float32)
            obs[:3, self.lsb:, self.lsb:] = prefix_planes(design.adder)
            for k, v in enumerate(columns):
                obs[3 + 2 * k] = v[:, None]  # row i: column i
                obs[4 + 2 * k] = v[None, :]  # column j: column j
            return obs
        return np.concatenate([*columns, self._present(design.adder)]).astype(np.float32)

    def action_cells(self) -> np.ndarray | None:
        """With ``observation=grid``: tree edit (column c, kind k) at (2 + k, c, c); adder edits at their node
        (plane 0 adds, 1 deletes), shifted to the columns the adder spans."""
        if self.config.observation != "grid":
            return None
        c = np.arange(self.tree_actions)
        tree = np.stack([2 + c % 4, c // 4, c // 4], axis=1)
        adder = self.adder_edits.cells().copy()
        adder[:, 1:] += self.lsb
        return np.concatenate([tree, adder]).astype(np.int64)

    def _present(self, adder: PrefixGraph) -> np.ndarray:
        """1.0 for each editable node (``PrefixEdits.candidates``) the adder has."""
        out = np.zeros(len(self._cand_index), dtype=np.float32)
        index = self._cand_index
        out[[index[x] for x in adder.nodes if x in index]] = 1.0
        return out

    # ---- Verilog ----------------------------------------------------------------------
    def to_verilog(self, design: mul.MultiplierDesign, module_name: str = "multiplier") -> str:
        from archgym.rtl.arith.multiplier import multiplier_verilog

        return multiplier_verilog(design, module_name=module_name)

    def verify_verilog(self, design: mul.MultiplierDesign, verilog: str) -> str:
        from archgym.rtl.arith.multiplier import top_module, verify_multiplier

        return verify_multiplier(design, verilog, top_module(verilog), random_vectors=self.config.verify_random_vectors,
                                 exhaustive_up_to=EXHAUSTIVE_UP_TO, engine=self.verify_engine())

    def verify_engine(self) -> str:
        """The simulator of the Verilog check: ``verify_engine``; "auto" picks Verilator when it is installed
        and the check simulates random vectors (widths > 8: 17-32 s for 100k 16-bit vectors on a loaded 2-core
        machine, Icarus ~51 s), else Icarus (no compile step, faster for the few vectors of small widths)."""
        from archgym.simulators.eda import tools

        engine = self.config.verify_engine
        if engine == "auto":
            wide = self.config.width > EXHAUSTIVE_UP_TO
            return "verilator" if wide and tools.available("verilator") else "icarus"
        return engine
