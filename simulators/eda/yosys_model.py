"""A cost model that synthesizes a design's Verilog: ``env.cost_model=yosys`` for any family with an export.

What "better in silicon" means here.  Designers do not synthesize an architecture once: they constrain it
to a delay target, and what the mapper achieves depends on the target.  With an unreachable target (ABC's
``map -D 1``) the mapper upsizes every near-critical path, so area measures how many paths are critical,
not the architecture (measured: a GA-found 32-bit adder looks 34% larger than Sklansky at ``-D 1`` but is
smaller *and* faster at 2000 and 3000 ps); and the mapper is not monotone in the target, so one target is
a noisy sample.  The ground truth is therefore a sweep, as PrefixRL (Roy et al., DAC 2021) and ArithTreeRL
synthesize: every design is mapped at the same absolute delay targets, ``synth_targets`` x the delay the
family's reference design (Sklansky adder; Dadda tree + Sklansky adder) reaches unconstrained, by default
1.0, 1.1, 1.25, 1.5 and 2.0 x (from as fast as the reference can be to relaxed).  The reported ``delay``
and ``area`` are the geometric means over the targets of the achieved delay and area, so the envs'
weighted cost ``w delay/delay_ref + (1-w) area/area_ref`` is ``w GM(d/d_ref) + (1-w) GM(a/a_ref)``: the
design's average standing against the reference *at the same constraints*, exactly 1.0 for the reference,
and robust to one target's mapper noise.  ``synth_targets=[]`` keeps the single unconstrained mapping.

A family plugs in by subclassing :class:`YosysSimulator` with ``verilog(design)`` (the module text and its
top name), ``structural_metrics(design)`` (figures read off the design itself, e.g. prefix nodes and
levels) and ``reference_design()``.  ``metrics`` adds, under the names the envs' costs use:

* ``delay``, ``area``: geometric means over the targets (ns, library area units: um^2 for osu018);
* ``delay_fastest`` (the smallest delay reached at any target), ``area_smallest``, and per target
  ``delay_t<k>``/``area_t<k>``/``target_t<k>_ps``; ``cells`` and ``logic_depth`` at the tightest target;
* ``synth_seconds`` (wall time of the runs that produced the figures), ``synth_cached`` (1.0 when the disk
  cache answered every target), ``synth_runs`` (syntheses per design).

Settings come from the env's config, read with defaults so any config dataclass works:
``liberty`` (None: :func:`archgym.simulators.eda.liberty.find_liberty`), ``synth_flow`` (default
``structural``), ``synth_targets``, ``synth_timeout`` (seconds per synthesis, default 120), ``synth_jobs``
(parallel syntheses in ``metrics_batch``, default: the cores available).  A failed or timed-out synthesis
at any target raises :class:`archgym.errors.SimulationError` (``metrics``) or fills its design's slot
(``metrics_batch``); the evaluator logs it as a failed evaluation and the search goes on.  Results are
cached on disk by design text + flow + target + library + tool versions (``synthesis.cache_key``).
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
#: delay targets, as multiples of the reference design's unconstrained delay (see the module docstring)
DEFAULT_TARGETS = (1.0, 1.1, 1.25, 1.5, 2.0)


class YosysSimulator(Simulator[D]):
    """Design -> Verilog -> Yosys/ABC mapping onto a Liberty library at a sweep of delay targets -> OpenSTA."""

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
        factors = getattr(config, "synth_targets", DEFAULT_TARGETS)
        factors = DEFAULT_TARGETS if factors is None else factors
        if not isinstance(factors, (list, tuple)) or not all(
                isinstance(f, (int, float)) and not isinstance(f, bool) and math.isfinite(f) and f > 0 for f in factors):
            raise ConfigError("synth_targets", f"must be a list of positive multiples of the reference delay, "
                                               f"got {factors!r}")
        self.factors = tuple(float(f) for f in factors)
        self._targets_ps: tuple[float | None, ...] | None = None
        # Resolve the library now, so a bad env.liberty fails when the env is built, not mid-search.
        self.liberty = str(find_liberty(getattr(config, "liberty", None)))

    # ---- what a family provides ---------------------------------------------------------
    @abstractmethod
    def verilog(self, design: D) -> tuple[str, str]:
        """(Verilog text, top module name) of a design."""

    @abstractmethod
    def structural_metrics(self, design: D) -> dict[str, float]:
        """Metrics read off the design itself (no synthesis), merged into ``metrics``."""

    @abstractmethod
    def reference_design(self) -> D:
        """The design whose unconstrained delay sets the absolute delay targets."""

    # ---- cost model ---------------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        return {"liberty": self.liberty, "flow": self.flow, "timeout": self.timeout}

    def targets_ps(self) -> tuple[float | None, ...]:
        """The absolute delay targets (ps) every design is mapped at; (None,) without a sweep."""
        if not self.factors:
            return (None,)
        if self._targets_ps is None:
            text, top = self.verilog(self.reference_design())
            fastest = synthesize(text, top, **self._settings()).delay_ns
            self._targets_ps = tuple(f * fastest * 1000.0 for f in self.factors)
        return self._targets_ps

    @staticmethod
    def synthesis_metrics(results: list[SynthesisResult], targets: tuple[float | None, ...]) -> dict[str, float]:
        """The figures of one design's syntheses (one per target) under the names the envs' costs use."""
        delays = [float(r.delay_ns) for r in results]
        areas = [float(r.area) for r in results]
        out = {
            "delay": math.exp(sum(map(math.log, delays)) / len(delays)),
            "area": math.exp(sum(map(math.log, areas)) / len(areas)),
            "delay_fastest": min(delays),
            "area_smallest": min(areas),
            "cells": float(results[0].cell_count),
            "logic_depth": float(results[0].depth),
            "synth_seconds": float(sum(r.seconds for r in results)),
            "synth_cached": float(all(r.cached for r in results)),
            "synth_runs": float(len(results)),
        }
        if len(results) > 1:
            for k, (r, t) in enumerate(zip(results, targets), start=1):
                out[f"delay_t{k}"], out[f"area_t{k}"] = float(r.delay_ns), float(r.area)
                out[f"target_t{k}_ps"] = float(t or 0.0)
        return out

    def metrics(self, design: D) -> dict[str, float]:
        result = self.metrics_batch([design])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def metrics_batch(self, designs: list[D]) -> list[dict[str, float] | Exception]:
        """Metrics of several designs, every (design, target) synthesized in parallel; a failure fills its
        design's slot."""
        targets = self.targets_ps()
        out: list[dict[str, float] | Exception | None] = [None] * len(designs)
        items: list[dict[str, Any]] = []
        where: list[int] = []
        structural: dict[int, dict[str, float]] = {}
        for pos, design in enumerate(designs):
            try:
                text, top = self.verilog(design)
                structural[pos] = self.structural_metrics(design)
            except Exception as exc:
                out[pos] = exc
                continue
            items += [{"verilog": text, "top": top, "delay_target_ps": t} for t in targets]
            where.append(pos)
        results = synthesize_many(items, jobs=self.jobs, **self._settings()) if items else []
        k = len(targets)
        for i, pos in enumerate(where):
            mine = results[i * k:(i + 1) * k]
            failure = next((r for r in mine if isinstance(r, SimulationError)), None)
            if failure is not None:
                out[pos] = failure
            else:
                out[pos] = {**structural[pos], **self.synthesis_metrics(mine, targets)}
        return out  # type: ignore[return-value]  # every slot is filled above
