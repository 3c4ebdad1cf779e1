"""SCALE-Sim 3.0.0 (Samajdar et al., ISPASS 2020) run in its own virtual environment (``backend``;
``worker`` is the script that runs inside it), its results cached on disk, and its ``.cfg`` files."""

from archgym.simulators.npu.scalesim.backend import (
    SCALESIM_VERSION,
    ensure_scalesim_venv,
    load_cache,
    load_scalesim_config,
    run_scalesim,
    scalesim_available,
)

__all__ = [
    "SCALESIM_VERSION",
    "ensure_scalesim_venv",
    "load_cache",
    "load_scalesim_config",
    "run_scalesim",
    "scalesim_available",
]
