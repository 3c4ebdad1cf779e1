"""Fast analytical cost models of the arithmetic families, registered as ``adder.analytical`` and
``multiplier.analytical`` (the RTL-level ones, which need the Verilog, live in ``archgym.rtl.arith``)."""

from __future__ import annotations

from archgym.problem import Simulator
from archgym.simulators.arith.multiplier import MultiplierDesign, evaluate
from archgym.simulators.arith.prefix import PrefixGraph, analytical_metrics


class AdderAnalytical(Simulator[PrefixGraph]):
    """Prefix size/depth/fanout plus unit-gate delay and area with a fanout term (``cells.py``)."""

    family = "adder"
    name = "analytical"
    description = "structural metrics + unit-gate/fanout delay and area (simulators/arith/cells.py)"

    def metrics(self, design: PrefixGraph) -> dict[str, float]:
        return analytical_metrics(design)


class MultiplierAnalytical(Simulator[MultiplierDesign]):
    """Bit-level arrival-time propagation through the compressor tree and the final prefix adder."""

    family = "multiplier"
    name = "analytical"
    description = "bit-level arrival-time propagation through the compressor tree + prefix adder (unit-gate cells)"

    def metrics(self, design: MultiplierDesign) -> dict[str, float]:
        return evaluate(design)
