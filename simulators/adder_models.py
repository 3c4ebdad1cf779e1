"""Cost models of the prefix-adder family, registered as simulators ``adder.<name>``."""

from __future__ import annotations

from archgym.problem import Simulator
from archgym.simulators.prefix import PrefixGraph, analytical_metrics


class AdderAnalytical(Simulator[PrefixGraph]):
    family = "adder"
    name = "analytical"
    description = "structural metrics + unit-gate/fanout delay and area (simulators/cells.py)"

    def metrics(self, design: PrefixGraph) -> dict[str, float]:
        return analytical_metrics(design)
