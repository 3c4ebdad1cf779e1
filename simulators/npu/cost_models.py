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

import concurrent.futures
import multiprocessing
import weakref
from collections.abc import Callable
from typing import Any

from archgym.errors import ConfigError, SimulationError
from archgym.problem import Simulator, _catching
from archgym.simulators.npu import model
from archgym.simulators.npu.model import NPUDesign
from archgym.simulators.npu.system import NPUSystem, evaluate_system
from archgym.simulators.npu.workloads import Layer, select_layers

#: per-layer results kept across evaluations (each entry is a few hundred bytes)
LAYER_CACHE_ENTRIES = 200_000


class _ArrayModel(Simulator[Any]):
    """Shared mechanism: the configured layers, a bounded per-layer memo, where per-layer figures come from
    (``layer_source``: the analytical model, or SCALE-Sim), and batches of designs in worker processes."""

    def __init__(self, config: Any):
        super().__init__(config)
        self.layers = select_layers(config.workload, config.layer)
        self.clock_ghz = float(config.clock_ghz)
        self.word_bytes = int(config.word_bytes)
        self.layer_metrics = self.layer_source(config)
        self._cache: dict[tuple, dict[str, float]] = {}
        self.jobs = int(getattr(config, "jobs", 1))
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def layer_source(self, config: Any) -> Callable[[Layer, NPUDesign], dict[str, float]]:
        """Cycles and access counts of one layer on one array (the figures the totals are built from)."""
        return model.evaluate_layer

    def layer_pairs(self, design: Any) -> list[tuple[Layer, NPUDesign]]:
        """Every (layer, array) evaluation the design's totals are built from."""
        raise NotImplementedError

    def _memo(self) -> dict[tuple, dict[str, float]]:
        if len(self._cache) > LAYER_CACHE_ENTRIES:
            self._cache.clear()
        return self._cache

    def metrics_batch(self, designs: list[Any]) -> list[dict[str, float] | Exception]:
        """With ``jobs`` > 1 (analytical layers only), the layers no design of the batch has seen are evaluated
        in that many worker processes first; the totals then come from the memo, so the results are those
        of one process."""
        if self.jobs > 1 and self.layer_metrics is model.evaluate_layer:
            self._evaluate_new_layers(designs)
        return super().metrics_batch(designs)

    def _evaluate_new_layers(self, designs: list[Any]) -> None:
        """The batch's unseen (layer, array) pairs, evaluated in the worker processes into the memo.  A pair
        that fails is left out: ``metrics`` meets the same error in this process and reports it."""
        memo = self._memo()
        todo: dict[tuple, tuple[Layer, NPUDesign]] = {}
        for design in designs:
            try:
                keyed = [(model.layer_key(layer, d), (layer, d)) for layer, d in self.layer_pairs(design)]
            except Exception:  # an invalid design: metrics() reports it
                continue
            todo.update((key, pair) for key, pair in keyed if key not in memo and key not in todo)
        if len(todo) < 2:
            return
        if self._pool is None:  # spawn: the parent may hold torch's threads, which fork would copy mid-state
            self._pool = concurrent.futures.ProcessPoolExecutor(self.jobs,
                                                                mp_context=multiprocessing.get_context("spawn"))
            weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
        keys, pairs = list(todo), list(todo.values())
        step = min(len(pairs), 4 * self.jobs)  # interleaved chunks: neighbouring designs cost alike
        for i, results in enumerate(self._pool.map(_evaluate_layers, [pairs[i::step] for i in range(step)])):
            memo.update((k, r) for k, r in zip(keys[i::step], results) if not isinstance(r, Exception))


class NPUAnalytical(_ArrayModel):
    """The analytical SCALE-Sim-style model of one PE array on the configured workload."""

    family = "npu"
    name = "analytical"
    description = "analytical systolic/spatial array model (cycles, accesses, energy, area), SCALE-Sim validated"

    def metrics(self, design: NPUDesign) -> dict[str, float]:
        r = model.evaluate(design, self.layers, cache=self._memo(), layer_evaluator=self.layer_metrics)
        return _env_metrics(r, 3.0 * design.dram_bw * design.word_bytes * self.clock_ghz, self.clock_ghz)

    def layer_pairs(self, design: NPUDesign) -> list[tuple[Layer, NPUDesign]]:
        return [(layer, design) for layer in self.layers]


class NPUSystemAnalytical(_ArrayModel):
    """Several arrays working concurrently on consecutive inputs (``system.evaluate_system``)."""

    family = "npu_hetero"
    name = "analytical"
    description = "heterogeneous arrays, each by the analytical array model; steady state = busiest array"

    def layer_pairs(self, design: NPUSystem) -> list[tuple[Layer, NPUDesign]]:
        return [(layer, design.arrays[a]) for layer, a in zip(self.layers, design.assignment)]

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


def _evaluate_layers(pairs: list[tuple[Layer, NPUDesign]]) -> list[dict[str, float] | Exception]:
    """A worker's share of a batch: each (layer, design) pair's figures, or the exception it raised."""
    return [_catching(model.evaluate_layer, layer, design) for layer, design in pairs]


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
