"""NPU dataflow family: ``env=npu``, Gymnasium id ``archgym/NPUDataflow-v0``.

Design: one spatial PE array (`archgym.simulators.npu.model.NPUDesign`).  JSON form::

    {"rows": 32, "cols": 32, "dataflow": "ws", "ifmap_kb": 64, "filter_kb": 64, "ofmap_kb": 64,
     "loop_order": "col_outer", "dram_bw": 10, "word_bytes": 1}

Any value the model accepts is a legal design (SCALE-Sim's TPU-like config has 6 MB buffers); the
agents search the discrete grid ``choices`` (default `npu.DESIGN_SPACE`, overridable per knob).
Workload: a shipped network or a SCALE-Sim topology CSV (``workload``), whole or one layer
(``layer``: a name or a 0-based index).  Metrics come from the analytical SCALE-Sim model
(`npu.evaluate`, validated against SCALE-Sim 3.0.0 in `experiments/validate_npu.py`).

Caveat when comparing dataflows: os/ws/is inherit SCALE-Sim's double-buffered scratchpad, whose
refill policy can stall far beyond the bandwidth bound (a ring turn per backward step), while the
row-stationary model (no SCALE-Sim counterpart) assumes ideal double buffering (stall = DRAM time
beyond compute).  Searches therefore tend to favour ``rs``; ``+env.choices.dataflow=[os,ws,is]``
keeps them to SCALE-Sim's memory model.

Objective (minimized), by ``objective``:

* ``latency``, ``energy``, ``edp``: cycles, energy (pJ) or cycles x energy, each divided by the
  same metric of SCALE-Sim's ``scale.cfg`` baseline (32x32 ws, 64 KB buffers) under the same
  config, so the cost is 1.0 for that baseline on every workload;
* ``target``: ArchGym's distance to a target spec (Krishnan et al., ISCA 2023; oss-arch-gym
  ``TimeloopEnv.calculate_reward``, "joint" formulation): ``sum_i max((m_i - t_i) / t_i, 0)`` over the
  targets given (``target_cycles``, ``target_energy_pj``, ``target_area_mm2``), i.e. the summed
  relative overshoot; 0 when every target is met.

Constraints (an infeasible design has cost inf and a reason in the log):

* ``area_budget_mm2``: PE array plus the three SRAMs (`npu_costs`, 45 nm);
* ``dram_gbps``: the design's peak DRAM interface bandwidth, 3 operand interfaces x ``dram_bw``
  words/cycle x ``word_bytes`` x ``clock_ghz`` (the model assumes each interface gets ``dram_bw``
  words every cycle, so a design whose interfaces exceed the memory system's bandwidth would be
  scored on stall counts it cannot have).  The sustained average is reported as ``dram_gbps_avg``.

Sequential face: action ``2 * k`` moves knob k to its next larger choice, ``2 * k + 1`` to its
next smaller one (masked at the ends); observation: each knob's position in its choices, in [0, 1].
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace
from functools import cached_property
from importlib import resources
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from archgym.errors import ConfigError, DesignError
from archgym.fields import SequentialFields, option
from archgym.problem import DesignProblem, Evaluation, ParameterFace, SequentialFace, SimulatorBacked
from archgym.registry import simulator_for
from archgym.simulators.npu import model as npu
from archgym.simulators.npu.model import NPUDesign
from archgym.simulators.npu.scalesim.backend import load_scalesim_config
from archgym.simulators.npu.workloads import select_layers
from archgym.space import Categorical, DesignSpace, Point

OBJECTIVES = ("latency", "energy", "edp", "target")
#: the searched knobs, in order (word_bytes is a property of the workload's quantization: config)
KNOBS = ("rows", "cols", "dataflow", "ifmap_kb", "filter_kb", "ofmap_kb", "loop_order", "dram_bw")
NUMERIC_KNOBS = ("rows", "cols", "ifmap_kb", "filter_kb", "ofmap_kb", "dram_bw")
#: SCALE-Sim's shipped configurations (simulators/data/npu/configs, MIT), the baselines
SCALESIM_CONFIGS = {"scalesim_scale": "scale.cfg", "scalesim_eyeriss": "eyeriss.cfg", "scalesim_google_tpu": "google.cfg"}
REFERENCE_BASELINE = "scalesim_scale"
#: Jouppi et al., "In-datacenter performance analysis of a tensor processing unit", ISCA 2017,
#: Sec. 2: the TPU v1's off-chip weight memory delivers 34 GB/s (two DDR3-2133 channels).
TPU_V1_DRAM_GBPS = 34.0


@dataclass
class NPUConfig(SequentialFields):
    """``env=npu`` fields (``env.<field>=...``)."""

    workload: str = option("resnet18", "shipped name (resnet18, resnet50, mobilenetv2, bert_base_encoder) "
                                       "or a SCALE-Sim topology .csv path")
    layer: str | None = option(None, "one layer of the workload, by name or 0-based index; None = whole network",
                               optional=True)
    objective: str = option("edp", "latency | energy | edp (each relative to scale.cfg) | target (ArchGym distance)",
                            choices=OBJECTIVES)
    target_cycles: float | None = option(None, "objective=target: cycles target", optional=True)
    target_energy_pj: float | None = option(None, "objective=target: energy target (pJ)", optional=True)
    target_area_mm2: float | None = option(None, "objective=target: area target (mm2)", optional=True)
    area_budget_mm2: float | None = option(60.0, "PE array + SRAMs area budget, 45 nm; None = unconstrained",
                                           optional=True)
    dram_gbps: float | None = option(TPU_V1_DRAM_GBPS, "available DRAM bandwidth (GB/s); None = unconstrained",
                                     optional=True)
    clock_ghz: float = option(1.0, "converts words/cycle to GB/s (SCALE-Sim is cycle-based)")
    word_bytes: int = option(1, "bytes per operand word (int8 operands: 1, SCALE-Sim's default)", integer=True, low=1)
    cost_model: str = option("analytical", "analytical (the SCALE-Sim-validated model) | scalesim (SCALE-Sim 3.0.0)")
    scalesim_timeout: float = option(3600.0, "cost_model=scalesim: seconds per layer simulation, then a failed "
                                             "evaluation", low=1e-3)
    choices: dict[str, list[Any]] = option(help="per-knob choice overrides, e.g. +env.choices.rows=[8,16,32]",
                                           default_factory=dict)
    start: str = option(REFERENCE_BASELINE, "initial design of the sequential face (a baseline name)",
                        choices=tuple(SCALESIM_CONFIGS))
    episode_length: int = option(32, "edits per episode of the sequential face", integer=True, low=1)
    jobs: int = option(1, "analytical model: processes that evaluate the new layers of a batch of designs (the "
                          "population agents ga, aco, random); 1 = in this process", integer=True, low=1)


def _positive(field: str, value: Any, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ConfigError(field, f"must be a positive number, got {value!r}")


class NPUProblem(SimulatorBacked[NPUDesign], ParameterFace[NPUDesign], SequentialFace[NPUDesign],
                 DesignProblem[NPUDesign]):
    """One spatial PE array (rows, cols, dataflow, three SRAMs, loop order, DRAM bandwidth) on a DNN workload.

    Action Space: ``Discrete(2 * K)``: ``2k`` moves knob k to its next larger choice, ``2k + 1`` to the next
    smaller one (masked at the ends).  ``gymnasium.make`` returns the parameter face (``MultiDiscrete`` knobs).
    Observation Space: ``Box(0, 1, (K,))``: each knob's position in its choices (log scale for sizes).
    Rewards (sequential face, ``DesignEnv``): the decrease of the cost, divided by the episode's starting
    cost; an edit to an infeasible design is rejected with -1, a masked action is a no-op with -0.01.
    Parameter face (``ParameterEnv``): -cost / (first cost seen), one step per episode.
    Episode End: truncated after ``episode_length`` edits.
    Arguments: ``workload``, ``layer``, ``objective``, targets, ``area_budget_mm2``, ``dram_gbps``, ``choices``,
    ``cost_model`` (analytical | scalesim); ``python -m archgym.list env=npu``.
    """

    name = "npu"
    description = "NPU dataflow: PE array shape, dataflow, SRAM sizes, loop order, DRAM bandwidth (SCALE-Sim model)"
    config_class = NPUConfig
    test_config: ClassVar[dict[str, Any]] = {"layer": "Conv4_s"}  # small instance for archgym.testing
    default_budget = 200
    objective_names = ("cycles", "energy_pj")
    #: the face `gymnasium.make` should return: the knobs as MultiDiscrete (ArchGym's convention)
    default_gym_face: ClassVar[str] = "parameter"

    def __init__(self, config: NPUConfig):
        super().__init__(config)
        c = config
        for f in ("target_cycles", "target_energy_pj", "target_area_mm2", "area_budget_mm2", "dram_gbps"):
            _positive(f, getattr(c, f))
        _positive("clock_ghz", c.clock_ghz, optional=False)
        if c.objective == "target" and not self.targets:
            raise ConfigError("objective", "target needs at least one of target_cycles, target_energy_pj, "
                                           "target_area_mm2")
        self.choices = self._load_choices()
        self.simulator = simulator_for(self.name, c.cost_model)(c)
        self.layers = select_layers(c.workload, c.layer)

    # ---- config -----------------------------------------------------------------------
    @property
    def targets(self) -> dict[str, float]:
        c = self.config
        pairs = (("cycles", c.target_cycles), ("energy_pj", c.target_energy_pj), ("area_mm2", c.target_area_mm2))
        return {m: float(t) for m, t in pairs if t is not None}

    def _load_choices(self) -> dict[str, tuple[Any, ...]]:
        out = {k: tuple(npu.DESIGN_SPACE[k]) for k in KNOBS}
        for knob, values in (self.config.choices or {}).items():
            where = f"choices.{knob}"
            if knob not in out:
                raise ConfigError(where, f"unknown knob; valid: {', '.join(KNOBS)}")
            if not isinstance(values, (list, tuple)) or not values:
                raise ConfigError(where, f"must be a non-empty list, got {values!r}")
            if len(set(values)) != len(values):
                raise ConfigError(where, f"duplicate values in {list(values)}")
            try:  # each value must make a legal design on its own
                for v in values:
                    NPUDesign(word_bytes=self.config.word_bytes, **{knob: v})
            except ConfigError as exc:
                raise ConfigError(where, exc.reason) from None
            out[knob] = tuple(sorted(values)) if knob in NUMERIC_KNOBS else tuple(values)
        return out

    # ---- design I/O -------------------------------------------------------------------
    def to_json(self, design: NPUDesign) -> dict[str, Any]:
        return design.to_dict()

    def from_json(self, data: dict[str, Any]) -> NPUDesign:
        if not isinstance(data, dict):
            raise DesignError(f"an npu design must be a JSON object, got {type(data).__name__}")
        try:
            d = NPUDesign.from_dict(data)
        except ConfigError as exc:
            raise DesignError(f"field '{exc.field}': {exc.reason}") from None
        if d.word_bytes != self.config.word_bytes:
            raise DesignError(f"field 'word_bytes': design has {d.word_bytes} but env.word_bytes="
                              f"{self.config.word_bytes}")
        return d

    def baselines(self) -> dict[str, NPUDesign]:
        return self._baselines

    @cached_property
    def _baselines(self) -> dict[str, NPUDesign]:
        out = {}
        for name, fname in SCALESIM_CONFIGS.items():
            ref = resources.files("archgym.simulators").joinpath("data", "npu", "configs", fname)
            out[name] = load_scalesim_config(ref.read_text(), fname, self.config.word_bytes)
        return out

    # ---- cost -------------------------------------------------------------------------
    def metrics(self, design: NPUDesign) -> dict[str, float]:
        """The cost model's metrics of a design (see ``archgym.simulators.npu.cost_models``)."""
        return self.simulator.metrics(design)

    @cached_property
    def _reference(self) -> dict[str, float]:
        return self.metrics(self.baselines()[REFERENCE_BASELINE])

    def score(self, design: NPUDesign, m: dict[str, float]) -> Evaluation:
        c = self.config
        if c.area_budget_mm2 is not None and m["area_mm2"] > c.area_budget_mm2:
            return Evaluation(m, math.inf, feasible=False,
                              reason=f"area {m['area_mm2']:.4g} mm2 > budget {c.area_budget_mm2:g} mm2")
        if c.dram_gbps is not None and m["dram_gbps"] > c.dram_gbps:
            return Evaluation(m, math.inf, feasible=False,
                              reason=f"DRAM bandwidth {m['dram_gbps']:.4g} GB/s (3 interfaces x dram_bw words/cycle "
                                     f"per array) > {c.dram_gbps:g} GB/s available")
        if c.objective == "target":
            return Evaluation(m, sum(max((m[k] - t) / t, 0.0) for k, t in self.targets.items()))
        key = {"latency": "cycles", "energy": "energy_pj", "edp": "edp"}[c.objective]
        return Evaluation(m, m[key] / self._reference[key])

    # ---- parameter face ---------------------------------------------------------------
    def space(self) -> DesignSpace:
        return DesignSpace([Categorical(k, self.choices[k]) for k in KNOBS])

    def decode(self, point: Point) -> NPUDesign:
        return self.from_json({**{k: point[k] for k in KNOBS}, "word_bytes": self.config.word_bytes})

    # ---- sequential face --------------------------------------------------------------
    def initial_design(self, rng: np.random.Generator | None = None) -> NPUDesign:
        return self._baselines[self.config.start]

    def num_actions(self) -> int:
        return 2 * len(KNOBS)

    def _neighbour(self, design: NPUDesign, knob: str, up: bool) -> Any | None:
        """The next larger (up) or smaller choice of a knob; None at the end.  Numeric knobs step by
        value, so an off-grid value (a baseline's 6 MB buffer) has neighbours too."""
        ch, v = self.choices[knob], getattr(design, knob)
        if knob in NUMERIC_KNOBS:
            i = bisect.bisect_right(ch, v) if up else bisect.bisect_left(ch, v) - 1
        else:
            i = ch.index(v) + (1 if up else -1) if v in ch else (0 if up else -1)
        return ch[i] if 0 <= i < len(ch) else None

    def action_mask(self, design: NPUDesign) -> np.ndarray:
        return np.array([self._neighbour(design, k, up) is not None for k in KNOBS for up in (True, False)])

    def apply_action(self, design: NPUDesign, action: int) -> NPUDesign:
        if not 0 <= int(action) < self.num_actions():
            raise DesignError(f"action {action} outside [0, {self.num_actions()})")
        k, down = divmod(int(action), 2)
        v = self._neighbour(design, KNOBS[k], not down)
        if v is None:
            raise DesignError(f"action {action}: knob '{KNOBS[k]}' is already at its "
                              f"{'smallest' if down else 'largest'} choice")
        return replace(design, **{KNOBS[k]: v})

    def observation_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(0.0, 1.0, shape=(len(KNOBS),), dtype=np.float32)

    def observe(self, design: NPUDesign) -> np.ndarray:
        obs = np.zeros(len(KNOBS), dtype=np.float32)
        for i, k in enumerate(KNOBS):
            ch, v = self.choices[k], getattr(design, k)
            if k in NUMERIC_KNOBS:  # position on a log scale (the choices are powers of two)
                x = float(np.interp(math.log(v), [math.log(c) for c in ch], np.linspace(0, 1, len(ch)))) \
                    if len(ch) > 1 else 0.0
            else:
                x = ch.index(v) / max(1, len(ch) - 1) if v in ch else 0.0
            obs[i] = float(np.clip(x, 0.0, 1.0))
        return obs
