"""Per-layer approximate multipliers of an int8 DNN: ``env=approx_multiplier``, ``archgym/ApproxMultiplier-v0``.

Design: one multiplier configuration of the 8-bit library (`approx_multipliers.catalogue`, plus your own
gate-level circuits such as EvoApproxLib's, ``env.circuits=[path.v, ...]``, named ``verilog:<path>``) per
layer of the int8 digits MLP (`dnn_error.quantized_mlp`, 64-64-32-10).  JSON form::

    {"layers": ["exact", "drum5", "truncc6"]}

Objective: minimize the multiplier energy of one inference, sum over layers of (products per
inference = K x N) x (energy per product = unit-gate area x operand toggle activity of that layer,
see `approx_multipliers.hardware_cost`), reported relative to the all-exact network (cost 1.0),
subject to ``accuracy_drop <= max_accuracy_drop`` (percentage points vs the exact int8 network).
The accuracy comes from ``accuracy_model``:

* ``measured`` (ground truth): the int8 network is run with the approximate product tables on the
  test half (899 samples) of the digits set;
* ``closed_form`` (fast screen): no approximate forward pass; each layer's per-column error mean and
  variance (weight-conditioned, activations iid from the layer's histogram) are propagated to the
  logits through the exact network's Jacobian, and the expected accuracy drop is the Gaussian
  probability that the perturbation closes each test sample's logit margin
  (`dnn_error.predict_fidelity`; no constant is fitted).  On the library (uniform assignments) it
  ranks like the measurement but underestimates large drops (errors compound non-linearly), e.g.
  truncc8 everywhere: 0.8 pp predicted vs 1.7 pp measured (fold 0 and 1 averaged); screen with it,
  confirm with ``measured``.

The sign-magnitude wrapper around the unsigned core is the same for every configuration and is not
counted.  Sequential face: action ``layer * C + c`` sets layer ``layer`` to the c-th configuration
(masked when it already is); observation: the one-hot choices (layers x C).  Parameter face: one
Categorical knob per layer.  Verilog: one module per distinct multiplier plus a top module with one
multiplier per layer, checked by simulating all 65,536 input pairs of every layer against numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from archgym.errors import ConfigError, DesignError
from archgym.fields import SequentialFields, option
from archgym.problem import DesignProblem, Evaluation, ParameterFace, SequentialFace, SimulatorBacked, VerilogExport
from archgym.registry import simulator_for
from archgym.simulators.approx import dnn_error as de
from archgym.simulators.approx import library as am
from archgym.simulators.approx.cost_models import LayerAssignment
from archgym.space import Categorical, DesignSpace, Point

#: representative uniform assignments offered as baselines (one per family, mid-range error)
UNIFORM_BASELINES = ("truncc6", "bam_h2v6", "kul4", "mitchell7", "drum5", "c42_9")


@dataclass
class ApproxMultiplierConfig(SequentialFields):
    """``env=approx_multiplier`` fields (``env.<field>=...``)."""

    max_accuracy_drop: float = option(1.0, "accuracy-drop bound, percentage points vs the exact int8 network",
                                      low=0.0, high=100.0)
    accuracy_model: str = option("measured", "the cost model: measured (ground truth) or closed_form (fast screen)")
    fold: int = option(0, "which half of the digits set is the test half", choices=de.FOLDS)
    start: str = option("exact", "configuration of every layer in the sequential face's initial design")
    circuits: list[str] = option(help="your own 8x8 circuits, e.g. EvoApproxLib's: paths of gate-level Verilog "
                                      "files in EvoApproxLib's format, offered to every layer as 'verilog:<path>'",
                                 default_factory=list)
    episode_length: int = option(32, "edits per episode of the sequential face", integer=True, low=1)


class ApproxMultiplierProblem(SimulatorBacked[LayerAssignment], ParameterFace[LayerAssignment],
                              SequentialFace[LayerAssignment], VerilogExport[LayerAssignment],
                              DesignProblem[LayerAssignment]):
    """One 8-bit (approximate) multiplier per layer of an int8 DNN: minimize energy s.t. an accuracy-drop bound.

    Action Space: ``Discrete(L * C)``: ``layer * C + c`` sets a layer to the c-th library configuration.
    Observation Space: ``Box(0, 1, (L * C,))``: the one-hot choice of every layer.
    Parameter face: one ``Categorical`` knob per layer.
    Rewards (sequential face, ``DesignEnv``): the decrease of the cost, divided by the episode's starting
    cost; an edit to an infeasible design is rejected with -1, a masked action is a no-op with -0.01.
    Parameter face (``ParameterEnv``): -cost / (first cost seen), one step per episode.
    Episode End: truncated after ``episode_length`` edits.
    Arguments: ``max_accuracy_drop``, ``accuracy_model`` (measured | closed_form: the cost model), ``fold``,
    ``start``; ``python -m archgym.list env=approx_multiplier``.
    """

    name = "approx_multiplier"
    description = "approximate multiplier per DNN layer: min energy s.t. an accuracy-drop bound"
    config_class = ApproxMultiplierConfig
    ground_truth: ClassVar[dict[str, Any] | None] = {"accuracy_model": "measured"}  # archgym.ground_truth
    test_config: ClassVar[dict[str, Any]] = {"accuracy_model": "closed_form"}  # small instance for archgym.testing
    default_budget = 200
    objective_names = ("energy", "accuracy_drop")

    def __init__(self, config: ApproxMultiplierConfig):
        super().__init__(config)
        if isinstance(config.circuits, str) or not isinstance(config.circuits, (list, tuple)):
            raise ConfigError("circuits", f"must be a list of Verilog file paths, got {config.circuits!r}")
        user = tuple(am.verilog_config(path).name for path in config.circuits)
        self.names: tuple[str, ...] = tuple(am.catalogue(8)) + tuple(dict.fromkeys(user))
        if config.start not in self.names:
            raise ConfigError("start", f"unknown configuration {config.start!r}; valid: {', '.join(self.names)}")
        self._index = {n: i for i, n in enumerate(self.names)}
        self.n_layers = de.quantized_mlp(config.fold).n_layers
        self.simulator = simulator_for(self.name, config.accuracy_model, "accuracy_model")(config)

    # ---- design I/O -------------------------------------------------------------------
    def to_json(self, design: LayerAssignment) -> dict[str, Any]:
        return {"layers": list(design.layers)}

    def from_json(self, data: dict[str, Any]) -> LayerAssignment:
        extra = sorted(set(data) - {"layers"})
        if extra:
            raise DesignError(f"field '{extra[0]}': unknown; a design is {{\"layers\": [name, ...]}}")
        layers = data.get("layers")
        if not isinstance(layers, list) or len(layers) != self.n_layers:
            raise DesignError(f"field 'layers': must be a list of {self.n_layers} configuration names, got {layers!r}")
        for i, name in enumerate(layers):
            if name not in self._index:
                raise DesignError(f"field 'layers[{i}]': unknown configuration {name!r}; valid: {', '.join(self.names)}")
        return LayerAssignment(tuple(layers))

    def baselines(self) -> dict[str, LayerAssignment]:
        out = {"exact": self.uniform("exact")}
        out.update({f"uniform_{n}": self.uniform(n) for n in UNIFORM_BASELINES})
        return out

    def uniform(self, name: str) -> LayerAssignment:
        """Every layer with the same configuration."""
        return LayerAssignment((name,) * self.n_layers)

    # ---- cost -------------------------------------------------------------------------
    def layer_cost(self, layer: int, name: str) -> tuple[float, float]:
        """(energy of one inference's products in this layer, multiplier area) for one configuration."""
        simulator: Any = self.simulator  # both registered accuracy models (cost_models._ApproxModel) have it
        return simulator.layer_cost(layer, name)

    def score(self, design: LayerAssignment, m: dict[str, float]) -> Evaluation:
        m = {**m, **{f"layer{i}_choice": float(self._index[n]) for i, n in enumerate(design.layers)}}
        bound = float(self.config.max_accuracy_drop)
        if m["accuracy_drop"] > bound:
            return Evaluation(m, math.inf, feasible=False,
                              reason=f"accuracy drop {m['accuracy_drop']:.3f} pp > bound {bound:g} pp")
        return Evaluation(m, m["energy_ratio"])

    # ---- parameter face ---------------------------------------------------------------
    def space(self) -> DesignSpace:
        return DesignSpace([Categorical(f"layer{i}", self.names) for i in range(self.n_layers)])

    def decode(self, point: Point) -> LayerAssignment:
        return self.from_json({"layers": [point[f"layer{i}"] for i in range(self.n_layers)]})

    # ---- sequential face --------------------------------------------------------------
    def initial_design(self, rng: np.random.Generator | None = None) -> LayerAssignment:
        return self.uniform(self.config.start)

    def num_actions(self) -> int:
        return self.n_layers * len(self.names)

    def action_mask(self, design: LayerAssignment) -> np.ndarray:
        mask = np.ones((self.n_layers, len(self.names)), dtype=bool)
        for i, n in enumerate(design.layers):
            mask[i, self._index[n]] = False
        return mask.ravel()

    def apply_action(self, design: LayerAssignment, action: int) -> LayerAssignment:
        layer, c = divmod(int(action), len(self.names))
        if not 0 <= layer < self.n_layers:
            raise DesignError(f"action {action} outside [0, {self.num_actions()})")
        layers = list(design.layers)
        layers[layer] = self.names[c]
        return LayerAssignment(tuple(layers))

    def observation_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(0.0, 1.0, shape=(self.n_layers * len(self.names),), dtype=np.float32)

    def observe(self, design: LayerAssignment) -> np.ndarray:
        obs = np.zeros((self.n_layers, len(self.names)), dtype=np.float32)
        for i, n in enumerate(design.layers):
            obs[i, self._index[n]] = 1.0
        return obs.ravel()

    # ---- Verilog ----------------------------------------------------------------------
    def to_verilog(self, design: LayerAssignment, module_name: str = "approx_multipliers") -> str:
        from archgym.rtl.approx.verilog import layers_verilog

        return layers_verilog([am.get_config(n) for n in design.layers], module_name, comment=self.name)

    def verify_verilog(self, design: LayerAssignment, verilog: str) -> str:
        from archgym.rtl.approx.verilog import verify_layers

        return verify_layers([am.get_config(n) for n in design.layers], verilog)
