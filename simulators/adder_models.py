"""Cost models of the prefix-adder family, registered as simulators ``adder.<name>``."""

from __future__ import annotations

from archgym.simulators.prefix import PrefixGraph, analytical_metrics
from archgym.simulators.yosys_model import YosysSimulator

from archgym.problem import Simulator


class AdderAnalytical(Simulator[PrefixGraph]):
    family = "adder"
    name = "analytical"
    description = "structural metrics + unit-gate/fanout delay and area (simulators/cells.py)"

    def metrics(self, design: PrefixGraph) -> dict[str, float]:
        return analytical_metrics(design)


class AdderYosys(YosysSimulator[PrefixGraph]):
    """The adder's Verilog (``archgym.rtl.adder``) synthesized onto a Liberty library and timed."""

    family = "adder"
    name = "yosys"
    description = "Yosys + ABC structural mapping onto a Liberty library, OpenSTA delay (simulators/synthesis.py)"

    def verilog(self, design: PrefixGraph) -> tuple[str, str]:
        from archgym.rtl.adder import adder_verilog

        return adder_verilog(design, module_name="prefix_adder"), "prefix_adder"

    def structural_metrics(self, design: PrefixGraph) -> dict[str, float]:
        """Prefix size/depth/fanout (theoretical mode needs them) and the unit-gate estimates."""
        m = analytical_metrics(design)
        return {"size": m["size"], "depth": m["depth"], "max_fanout": m["max_fanout"],
                "analytical_delay": m["delay"], "analytical_area": m["area"]}
