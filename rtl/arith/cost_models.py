"""RTL-level cost models of the arithmetic families: the design's Verilog synthesized by Yosys/ABC onto
a Liberty library and timed by OpenSTA (``archgym.simulators.eda.yosys_model``), registered as
``adder.yosys`` and ``multiplier.yosys``.  They live in ``rtl`` because they need the Verilog emitters;
``rtl`` depends on ``simulators`` and never the other way round."""

from __future__ import annotations

from archgym.rtl.arith.adder import adder_verilog
from archgym.rtl.arith.multiplier import multiplier_verilog
from archgym.simulators.arith.multiplier import MultiplierDesign, evaluate, multiplier_baseline
from archgym.simulators.arith.prefix import PrefixGraph, analytical_metrics, classical
from archgym.simulators.eda.yosys_model import YosysSimulator


class AdderYosys(YosysSimulator[PrefixGraph]):
    """The adder's Verilog (``archgym.rtl.arith.adder``) synthesized onto a Liberty library and timed."""

    family = "adder"
    name = "yosys"
    description = "ground truth: Yosys + ABC mapping at a sweep of delay targets onto a Liberty library, OpenSTA"

    def verilog(self, design: PrefixGraph) -> tuple[str, str]:
        return adder_verilog(design, module_name="prefix_adder"), "prefix_adder"

    def reference_design(self) -> PrefixGraph:
        """Sklansky, the adder env's cost reference."""
        return classical("sklansky", int(self.config.width))

    def structural_metrics(self, design: PrefixGraph) -> dict[str, float]:
        """Prefix size/depth/fanout (theoretical mode needs them) and the unit-gate estimates."""
        m = analytical_metrics(design)
        return {"size": m["size"], "depth": m["depth"], "max_fanout": m["max_fanout"],
                "analytical_delay": m["delay"], "analytical_area": m["area"]}


class MultiplierYosys(YosysSimulator[MultiplierDesign]):
    """The multiplier's Verilog (``archgym.rtl.arith.multiplier``) synthesized onto a Liberty library and timed."""

    family = "multiplier"
    name = "yosys"
    description = "ground truth: Yosys + ABC mapping at a sweep of delay targets onto a Liberty library, OpenSTA"

    def verilog(self, design: MultiplierDesign) -> tuple[str, str]:
        return multiplier_verilog(design, module_name="multiplier"), "multiplier"

    def reference_design(self) -> MultiplierDesign:
        """Dadda tree + Sklansky adder, the multiplier env's cost reference."""
        c = self.config
        return multiplier_baseline("dadda", "sklansky", int(c.width), c.encoding, bool(c.signed))

    def structural_metrics(self, design: MultiplierDesign) -> dict[str, float]:
        """Compressor counts, stages, prefix figures and the unit-gate estimates of the design."""
        m = evaluate(design)
        m["analytical_delay"] = m.pop("delay")
        m["analytical_area"] = m.pop("area")
        return m
