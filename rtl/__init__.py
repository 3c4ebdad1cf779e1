"""Verilog generation, test benches and equivalence checks, one package per family (``arith``,
``approx``), plus the RTL-level cost models that need the Verilog (``arith.cost_models``).

``rtl`` imports ``simulators`` (design types, the EDA toolchain layer), never the other way round."""
