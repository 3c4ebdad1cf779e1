"""The NPU families' pluggable cost models.

* ``npu.analytical`` / ``npu_hetero.analytical``: the analytical model (``model.evaluate``), validated
  against SCALE-Sim 3.0.0 (compute cycles and SRAM traffic exact; see ``experiments/validate_npu.py``);
* ``npu.scalesim`` / ``npu_hetero.scalesim``: SCALE-Sim 3.0.0 itself, per layer, in its private venv
  (``scalesim.backend``).  Layers already in the shipped result cache cost a dictionary lookup; others are
  simulated (minutes to hours per layer) and remembered for the process.  Energy and area are computed from
  SCALE-Sim's access counts with the same per-access table as the analytical model, so the two differ only
  in what SCALE-Sim simulates (a depthwise layer as one single-channel convolution per channel, counts
  times the channels).  A design SCALE-Sim cannot run (row-stationary, another loop order) is a failed
  evaluation with the reason in the log.

Both report the env's metrics: ``cycles``, ``energy_pj``, ``area_mm2``, ``edp``, ``pe_utilization``,
``dram_gbps`` (peak interface bandwidth: 3 operand interfaces x ``dram_bw`` words/cycle x word bytes x
clock) and ``dram_gbps_avg`` (sustained), then every other numeric figure of the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archgym.errors import ConfigError, SimulationError
from archgym.problem import Simulator
from archgym.simulators.npu import model
from archgym.simulators.npu.model import NPUDesign
from archgym.simulators.npu.system import NPUSystem, evaluate_system
from archgym.simulators.npu.workloads import Layer, select_layers

#: per-layer results kept across evaluations (each entry is a few hundred bytes)
LAYER_CACHE_ENTRIES = 200_000


class _ArrayModel(Simulator[Any]):
    """Shared mechanism: the configured layers, a bounded per-layer memo, and where per-layer figures
    come from (``layer_source``: the analytical model, or SCALE-Sim)."""

    def __init__(self, config: Any):
        super().__init__(config)
        self.layers = select_layers(config.workload, config.layer)
        self.clock_ghz = float(config.clock_ghz)
        self.word_bytes = int(config.word_bytes)
        self.layer_metrics = self.layer_source(config)
        self._cache: dict[tuple, dict[str, float]] = {}

    def layer_source(self, config: Any) -> Callable[[Layer, NPUDesign], dict[str, float]]:
        """Cycles and access counts of one layer on one array (the figures the totals are built from)."""
        return model.evaluate_layer

    def _memo(self) -> dict[tuple, dict[str, float]]:
        if len(self._cache) > LAYER_CACHE_ENTRIES:
            self._cache.clear()
        return self._cache


class NPUAnalytical(_ArrayModel):
    """The analytical SCALE-Sim-style model of one PE array on the configured workload."""

    family = "npu"
    name = "analytical"
    description = "analytical systolic/spatial array model (cycles, accesses, energy, area), SCALE-Sim validated"

    def metrics(self, design: NPUDesign) -> dict[str, float]:
        r = model.evaluate(design, self.layers, cache=self._memo(), layer_evaluator=self.layer_metrics)
        return _env_metrics(r, 3.0 * design.dram_bw * design.word_bytes * self.clock_ghz, self.clock_ghz)


class NPUSystemAnalytical(_ArrayModel):
    """Several arrays working concurrently on consecutive inputs (``system.evaluate_system``)."""

    family = "npu_hetero"
    name = "analytical"
    description = "heterogeneous arrays, each by the analytical array model; steady state = busiest array"

    def metrics(self, design: NPUSystem) -> dict[str, float]:
        r = evaluate_system(design, self.layers, cache=self._memo(), layer_evaluator=self.layer_metrics)
        m = _env_metrics(r, r["dram_bw_words_per_cycle"] * self.word_bytes * self.clock_ghz, self.clock_ghz)
        for i, a in enumerate(r["arrays"]):
            m[f"a{i}_busy_cycles"] = a["busy_cycles"]
        return m


class ScaleSimLayers:
    """Per-layer figures from SCALE-Sim 3.0.0: the shipped cache first, then a live simulation."""

    def __init__(self, config: Any):
        self.timeout = float(getattr(config, "scalesim_timeout", 3600.0))
        self._known: dict[tuple, dict] | None = None

    def _cached(self) -> dict[tuple, dict]:
        if self._known is None:
            from archgym.simulators.npu.scalesim import backend

            self._known = {backend.record_key(r): r for r in backend.load_cache()}
        return self._known

    def __call__(self, layer: Layer, design: NPUDesign) -> dict[str, float]:
        from archgym.simulators.npu.scalesim import backend

        groups = layer.groups
        layer = layer.single_group()  # depthwise: SCALE-Sim runs one single-channel convolution per channel;
        # they are identical, so one is simulated and its counts multiplied (as the analytical model does)
        key = backend.key_of(layer, design)
        rec = self._cached().get(key)
        if rec is None:
            try:
                rec = backend.run_scalesim(design, [layer], timeout_s=self.timeout)[0]
            except ConfigError as exc:
                raise SimulationError(f"SCALE-Sim cannot run this design: {exc}") from None
            self._cached()[key] = rec
        macs = layer.ofmap_px * layer.window * layer.num_filters
        stall = float(rec["stall_cycles"])
        out = {"macs": macs, "cycles": float(rec["total_cycles"]), "stall_cycles": stall,
               "compute_cycles": float(rec["total_cycles"]) - stall,
               **{k: float(rec[k]) for k in ("sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes",
                                             "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes")},
               # each MAC reads two operand registers and updates its psum, and forwards the moving
               # operands to a neighbour: the same structural counts as the analytical model
               "rf_accesses": 3 * macs, "noc_hops": 2 * macs}
        return {k: v * groups for k, v in out.items()}


class NPUScaleSim(NPUAnalytical):
    """SCALE-Sim 3.0.0 per layer (cached), totals/energy/area as the analytical model computes them."""

    name = "scalesim"
    description = "SCALE-Sim 3.0.0 in its own venv (shipped result cache first; live runs take minutes per layer)"

    def layer_source(self, config: Any) -> Callable[[Layer, NPUDesign], dict[str, float]]:
        return ScaleSimLayers(config)


class NPUSystemScaleSim(NPUSystemAnalytical):
    """The heterogeneous system with every array's layers simulated by SCALE-Sim 3.0.0."""

    name = "scalesim"
    description = "heterogeneous arrays, each layer by SCALE-Sim 3.0.0 (cached)"

    def layer_source(self, config: Any) -> Callable[[Layer, NPUDesign], dict[str, float]]:
        return ScaleSimLayers(config)


def _env_metrics(r: dict[str, Any], peak_gbps: float, clock_ghz: float) -> dict[str, float]:
    """The env-facing metrics of a model result: the derived ones (EDP, GB/s) first, all as floats."""
    m = {
        "cycles": r["cycles"],
        "energy_pj": r["energy_pj"],
        "area_mm2": r["area_mm2"],
        "edp": r["cycles"] * r["energy_pj"],
        "pe_utilization": r["pe_utilization"],
        "dram_gbps": peak_gbps,
        "dram_gbps_avg": r["dram_bytes"] / r["cycles"] * clock_ghz,
    }
    m.update({k: float(v) for k, v in r.items() if k not in m and isinstance(v, (int, float))})
    return m
