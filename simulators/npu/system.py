"""Heterogeneous NPU: several sub-accelerators (PE arrays with their own dataflow and buffers)
sharing one workload, each layer mapped to one of them.

Why: no single dataflow suits every layer (output-stationary wins on early, large-ofmap layers,
weight-/input-stationary on late, filter-heavy ones), so NASAIC (Yang et al., "Co-exploration of
neural architectures and heterogeneous ASIC accelerator designs targeting multiple tasks", DAC 2020)
splits the silicon into sub-accelerators with different dataflows and assigns layers to them.

Timing model.  Sub-accelerators run concurrently on consecutive inputs (a layer pipeline over a
stream of inputs, as NASAIC runs its tasks concurrently): in steady state one inference completes
every ``cycles = max_i busy_i`` cycles, where busy_i sums the cycles (stalls included) of the layers
mapped to sub-accelerator i, each evaluated by the single-array model (`npu.evaluate`).  The latency
of one inference alone, layer after layer, is reported as ``latency_cycles = sum_i busy_i``.
Energy and DRAM traffic add up over sub-accelerators; area adds up (idle sub-accelerators included:
the silicon is there).  Each sub-accelerator has its own DRAM interfaces, so the peak DRAM bandwidth
demand is the sum of theirs.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from archgym.errors import ConfigError, DesignError
from archgym.simulators.npu import model as npu
from archgym.simulators.npu.model import NPUDesign
from archgym.simulators.npu.workloads import Layer

#: metrics that add up over sub-accelerators
_ADDITIVE = ("macs", "energy_pj", "energy_mac_pj", "energy_rf_pj", "energy_noc_pj", "energy_sram_pj",
             "energy_dram_pj", "area_mm2", "area_pe_mm2", "area_sram_mm2", "dram_bytes",
             "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "sram_ifmap_reads",
             "sram_filter_reads", "sram_ofmap_writes", "compute_cycles", "stall_cycles")


@dataclass(frozen=True)
class NPUSystem:
    """Sub-accelerators and the sub-accelerator each layer of the workload runs on."""

    arrays: tuple[NPUDesign, ...]
    assignment: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.arrays:
            raise ConfigError("arrays", "a system needs at least one sub-accelerator")
        for i, a in enumerate(self.assignment):
            if not isinstance(a, int) or isinstance(a, bool) or not 0 <= a < len(self.arrays):
                raise ConfigError(f"assignment[{i}]", f"must be a sub-accelerator index in [0, {len(self.arrays)}), "
                                                      f"got {a!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"arrays": [a.to_dict() for a in self.arrays], "assignment": list(self.assignment)}


def evaluate_system(system: NPUSystem, layers: Sequence[Layer],
                    cache: MutableMapping[tuple, dict[str, float]] | None = None,
                    layer_evaluator: Callable[[Layer, NPUDesign], dict[str, float]] | None = None) -> dict[str, Any]:
    """Metrics of a heterogeneous system on `layers` (see the module docstring for the model).

    Per sub-accelerator results are in ``arrays`` (busy cycles, energy, area, layer names)."""
    if len(system.assignment) != len(layers):
        raise DesignError(f"assignment has {len(system.assignment)} entries for a workload of {len(layers)} layers")
    per_array = []
    for i, design in enumerate(system.arrays):
        mine = [lay for lay, a in zip(layers, system.assignment) if a == i]
        if mine:
            r = npu.evaluate(design, mine, cache=cache, layer_evaluator=layer_evaluator)
        else:  # idle: no cycles, no dynamic energy, but its area
            r = {k: 0.0 for k in _ADDITIVE}
            r.update(npu.area(design), cycles=0.0)
        r["layer_names"] = [lay.name for lay in mine]
        per_array.append(r)
    out: dict[str, Any] = {k: float(sum(r[k] for r in per_array)) for k in _ADDITIVE}
    busy = [float(r["cycles"]) for r in per_array]
    out["cycles"] = max(busy)
    out["latency_cycles"] = sum(busy)
    pes = sum(d.rows * d.cols for d in system.arrays)
    out["pe_utilization"] = out["macs"] / (out["cycles"] * pes)
    out["load_balance"] = sum(busy) / (len(busy) * max(busy))
    out["dram_bw_words_per_cycle"] = float(sum(3 * d.dram_bw for d in system.arrays))
    out["arrays"] = [{"busy_cycles": b, "energy_pj": r["energy_pj"], "area_mm2": r["area_mm2"],
                      "layers": r["layer_names"]} for b, r in zip(busy, per_array)]
    return out
