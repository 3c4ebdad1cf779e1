"""Verilog of the approximate multipliers and of per-layer assignments, checked by exhaustive simulation."""

from archgym.rtl.approx.verilog import layers_verilog, module_name, simulate_table, to_verilog, verify_layers

__all__ = ["layers_verilog", "module_name", "simulate_table", "to_verilog", "verify_layers"]
