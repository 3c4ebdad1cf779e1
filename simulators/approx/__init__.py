"""Approximate multipliers: a library of bit-exact 8-bit multiplier models with exhaustive error
metrics and a unit-gate cost (``library``), and the propagation of their errors into an int8 DNN
(``dnn_error``); ``cost_models`` are the env's pluggable accuracy models (measured, closed form);
``evoapprox`` puts the library beside EvoApproxLib (published figures, metrics, Verilog import)."""

from archgym.simulators.approx.dnn_error import (
    FOLDS,
    magnitude_histogram,
    measure_fidelity,
    network_sensitivity,
    predict_fidelity,
    quantized_mlp,
)
from archgym.simulators.approx.library import (
    ApproxMultiplierSpec,
    catalogue,
    get_config,
    hardware_cost,
    product_table,
    signed_product_table,
)

__all__ = [
    "FOLDS",
    "ApproxMultiplierSpec",
    "catalogue",
    "get_config",
    "hardware_cost",
    "magnitude_histogram",
    "measure_fidelity",
    "network_sensitivity",
    "predict_fidelity",
    "product_table",
    "quantized_mlp",
    "signed_product_table",
]
