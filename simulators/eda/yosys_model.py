"""A cost model that synthesizes a design's Verilog: ``env.cost_model=yosys`` for any family with an export.

A family plugs in by subclassing :class:`YosysSimulator` with two methods: ``verilog(design)`` (the
module text and its top name) and ``structural_metrics(design)`` (figures read off the design itself,
e.g. prefix nodes and levels).  ``metrics`` adds the synthesized figures of
:func:`archgym.simulators.eda.synthesis.synthesize` under the names the envs' costs use:

* ``delay``: worst input-to-output arrival time in ns (OpenSTA on the mapped netlist);
* ``area``: library area of the mapped netlist (um^2 for the default osu018 cells);
* ``cells`` (cell count), ``logic_depth`` (cells on the longest path), ``synth_seconds`` (wall time of
  the run that produced the figures) and ``synth_cached`` (1.0 when the disk cache answered).

Settings come from the env's config, read with defaults so any config dataclass works:
``liberty`` (None: :func:`archgym.simulators.eda.liberty.find_liberty`), ``synth_flow`` (default
``structural``), ``synth_timeout`` (seconds per synthesis, default 120), ``synth_jobs`` (parallel
syntheses in ``metrics_batch``, default: the cores available).  A failed or timed-out synthesis raises
:class:`archgym.errors.SimulationError` (``metrics``) or fills its slot (``metrics_batch``); the
evaluator logs it as a failed evaluation and the search goes on.  Results are cached on disk by
design text + flow + library + tool versions (see ``synthesis.cache_key``), so a repeated design costs
a file read.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any, TypeVar

from archgym.errors import ConfigError, SimulationError
from archgym.problem import Simulator
from archgym.simulators.eda.liberty import find_liberty
from archgym.simulators.eda.synthesis import FLOWS, SynthesisResult, synthesize, synthesize_many

D = TypeVar("D")

DEFAULT_FLOW = "structural"
DEFAULT_TIMEOUT = 120.0


class YosysSimulator(Simulator[D]):
    """Design -> Verilog -> Yosys/ABC mapping onto a Liberty library -> OpenSTA timing."""

    name = "yosys"

    def __init__(self, config: Any):
        super().__init__(config)
        self.flow = getattr(config, "synth_flow", None) or DEFAULT_FLOW
        if self.flow not in FLOWS:
            raise ConfigError("synth_flow", f"unknown synthesis flow {self.flow!r}; valid: {', '.join(sorted(FLOWS))}")
        timeout = getattr(config, "synth_timeout", None)
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (
                math.isfinite(timeout) and timeout > 0):
            raise ConfigError("synth_timeout", f"must be a positive number of seconds, got {timeout!r}")
        self.timeout = float(timeout)
        jobs = getattr(config, "synth_jobs", None)
        if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
            raise ConfigError("synth_jobs", f"must be a positive integer, got {jobs!r}")
        self.jobs: int | None = jobs
        # Resolve the library now, so a bad env.liberty fails when the env is built, not mid-search.
        self.liberty = str(find_liberty(getattr(config, "liberty", None)))

    # ---- what a family provides ---------------------------------------------------------
    @abstractmethod
    def verilog(self, design: D) -> tuple[str, str]:
        """(Verilog text, top module name) of a design."""

    @abstractmethod
    def structural_metrics(self, design: D) -> dict[str, float]:
        """Metrics read off the design itself (no synthesis), merged into ``metrics``."""

    # ---- cost model ---------------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        return {"liberty": self.liberty, "flow": self.flow, "timeout": self.timeout}

    @staticmethod
    def synthesis_metrics(result: SynthesisResult) -> dict[str, float]:
        """The figures of one synthesis under the names the envs' costs use."""
        return {
            "delay": float(result.delay_ns),
            "area": float(result.area),
            "cells": float(result.cell_count),
            "logic_depth": float(result.depth),
            "synth_seconds": float(result.seconds),
            "synth_cached": float(result.cached),
        }

    def metrics(self, design: D) -> dict[str, float]:
        text, top = self.verilog(design)
        result = synthesize(text, top, **self._settings())
        return {**self.structural_metrics(design), **self.synthesis_metrics(result)}

    def metrics_batch(self, designs: list[D]) -> list[dict[str, float] | Exception]:
        """Metrics of several designs, synthesized in parallel; a failure fills its own slot."""
        out: list[dict[str, float] | Exception | None] = [None] * len(designs)
        items: list[tuple[str, str]] = []
        where: list[int] = []
        structural: dict[int, dict[str, float]] = {}
        for pos, design in enumerate(designs):
            try:
                item = self.verilog(design)
                structural[pos] = self.structural_metrics(design)
            except Exception as exc:
                out[pos] = exc
                continue
            items.append(item)
            where.append(pos)
        results = synthesize_many(items, jobs=self.jobs, **self._settings()) if items else []
        for pos, result in zip(where, results):
            if isinstance(result, SimulationError):
                out[pos] = result
            else:
                out[pos] = {**structural[pos], **self.synthesis_metrics(result)}
        return out  # type: ignore[return-value]  # every slot is filled above
