"""Verilog of prefix adders and multipliers, their correctness checks, and the Yosys cost models."""

from archgym.rtl.arith.adder import adder_verilog, verify_adder
from archgym.rtl.arith.multiplier import multiplier_verilog, top_module, verify_multiplier

__all__ = ["adder_verilog", "multiplier_verilog", "top_module", "verify_adder", "verify_multiplier"]
