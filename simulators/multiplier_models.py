"""Cost models of the multiplier family, registered as simulators ``multiplier.<name>``."""

from __future__ import annotations

from archgym.simulators.multiplier import MultiplierDesign, evaluate
from archgym.simulators.yosys_model import YosysSimulator

from archgym.problem import Simulator


class MultiplierAnalytical(Simulator[MultiplierDesign]):
    family = "multiplier"
    name = "analytical"
    description = "bit-level arrival-time propagation through the compressor tree + prefix adder (unit-gate cells)"

    def metrics(self, design: MultiplierDesign) -> dict[str, float]:
        return evaluate(design)


class MultiplierYosys(YosysSimulator[MultiplierDesign]):
    """The multiplier's Verilog (``archgym.rtl.multiplier``) synthesized onto a Liberty library and timed."""

    family = "multiplier"
    name = "yosys"
    description = "Yosys + ABC structural mapping onto a Liberty library, OpenSTA delay (simulators/synthesis.py)"

    def verilog(self, design: MultiplierDesign) -> tuple[str, str]:
        from archgym.rtl.multiplier import multiplier_verilog

        return multiplier_verilog(design, module_name="multiplier"), "multiplier"

    def structural_metrics(self, design: MultiplierDesign) -> dict[str, float]:
        """Compressor counts, stages, prefix figures and the unit-gate estimates of the design."""
        m = evaluate(design)
        m["analytical_delay"] = m.pop("delay")
        m["analytical_area"] = m.pop("area")
        return m
