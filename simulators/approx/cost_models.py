"""The per-layer approximate-multiplier design and its two cost models, registered as
``approx_multiplier.measured`` (ground truth: the int8 network run with the approximate product
tables) and ``approx_multiplier.closed_form`` (fast screen: error moments propagated to the logits).

Both report the same metrics: ``energy`` of one inference's products (sum over layers of products per
inference x unit-gate energy per product at that layer's operand toggle activity, `library.hardware_cost`),
``energy_ratio`` to the all-exact network, ``area`` (one multiplier per layer), ``accuracy`` and
``accuracy_drop`` (percent, percentage points), ``kl`` and ``predicted_distortion``.  The env selects one
with ``env.accuracy_model``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from archgym.problem import Simulator
from archgym.simulators.approx import dnn_error as de
from archgym.simulators.approx import library as am

#: accuracies kept per assignment before the memo is cleared (bounds the memory of very long runs)
ACCURACY_MEMO_ENTRIES = 65536


@dataclass(frozen=True)
class LayerAssignment:
    """One multiplier configuration name (a key of ``library.catalogue(8)``) per DNN layer."""

    layers: tuple[str, ...]


class _ApproxModel(Simulator[LayerAssignment]):
    """Shared mechanism: per-layer energy/area (cached per (layer, configuration)) + an accuracy model."""

    family = "approx_multiplier"
    measured: ClassVar[bool]

    def __init__(self, config: Any):
        super().__init__(config)
        self.fold = int(getattr(config, "fold", 0))
        self._layer_costs: dict[tuple[int, str], tuple[float, float]] = {}
        self._accuracies: dict[tuple[str, ...], tuple[float, float, float, float]] = {}

    def layer_cost(self, layer: int, name: str) -> tuple[float, float]:
        """(energy of one inference's products in this layer, multiplier area) for one configuration."""
        if (layer, name) not in self._layer_costs:
            sens = de.network_sensitivity(self.fold)
            w = de.quantized_mlp(self.fold).weights[layer]
            p_act, p_w = de.operand_histograms(sens.inputs[layer], w)
            cfg = am.get_config(name)
            cost = am.hardware_cost(cfg, am.operand_activity(p_act, de.magnitude_histogram(p_w), cfg.n))
            self._layer_costs[layer, name] = (w.size * cost.energy, cost.area)
        return self._layer_costs[layer, name]

    @cached_property
    def exact_energy(self) -> float:
        return sum(self.layer_cost(i, "exact")[0] for i in range(de.quantized_mlp(self.fold).n_layers))

    def accuracy(self, layers: tuple[str, ...]) -> tuple[float, float, float, float]:
        """(accuracy, drop, kl, predicted relative distortion), fractions, memoized per assignment."""
        if layers not in self._accuracies:
            if len(self._accuracies) >= ACCURACY_MEMO_ENTRIES:
                self._accuracies.clear()
            pred = de.predict_fidelity(layers, self.fold)
            if self.measured:
                m = de.measure_fidelity(layers, self.fold)
                self._accuracies[layers] = (m.accuracy, m.accuracy_drop, m.kl, pred.relative_distortion)
            else:
                base = de.network_sensitivity(self.fold).accuracy
                self._accuracies[layers] = (base - pred.accuracy_drop, pred.accuracy_drop, pred.kl,
                                            pred.relative_distortion)
        return self._accuracies[layers]

    def metrics(self, design: LayerAssignment) -> dict[str, float]:
        costs = [self.layer_cost(i, n) for i, n in enumerate(design.layers)]
        energy = sum(c[0] for c in costs)
        acc, drop, kl, rel = self.accuracy(design.layers)
        return {
            "energy": energy,
            "energy_ratio": energy / self.exact_energy,
            "area": sum(c[1] for c in costs),
            "accuracy": 100.0 * acc,
            "accuracy_drop": 100.0 * drop,
            "kl": kl,
            "predicted_distortion": rel,
        }


class ApproxMeasured(_ApproxModel):
    """Ground truth: the int8 network run with exact emulation of each layer's product table."""

    name = "measured"
    description = "int8 digits MLP run with the approximate product tables (ground truth)"
    measured = True


class ApproxClosedForm(_ApproxModel):
    """Fast screen: per-layer error mean/variance propagated to the logits through the exact Jacobian."""

    name = "closed_form"
    description = "error moments propagated to the logits, Gaussian margin model (fast screen)"
    measured = False
