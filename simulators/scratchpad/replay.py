"""Decisions -> traffic: the replay cost model of the scratchpad family (``scratchpad.replay``).

A :class:`Schedule` is a (possibly partial) decision sequence: operators run so far, the victim of each
victim decision so far, and address hints.  :class:`Replay` runs those decisions on a
:class:`~archgym.simulators.scratchpad.model.ScratchpadSim` and *completes* a partial schedule with a fixed
default policy, so every schedule has a well-defined cost: the missing operators run in the min-peak order
(a topological order, so the completion is always legal), victim decisions beyond the given ones follow
Belady on the completed order, and open placement decisions take hint 0 (lowest fit) or, under ``pinned``,
the address the packed offline layout of the completed order gives them (``layout.packed_hints``).
The env's two faces build schedules with the same :class:`Replay`, and
:class:`ScratchpadReplay` (the registered Simulator) scores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from archgym.errors import ConfigError, DesignError
from archgym.problem import Simulator
from archgym.simulators.scratchpad import graphs
from archgym.simulators.scratchpad.layout import packed_hints
from archgym.simulators.scratchpad.model import (
    FLOAT_HINT_ALLOCATORS,
    PLACEMENT_LEVELS,
    REPLACING_ALLOCATORS,
    Budgets,
    CompiledGraph,
    Result,
    ScratchpadSim,
    belady,
    budgets,
    compile_graph,
    min_peak_order,
    split_placement_key,
)

BUDGET_NAMES = ("m_r", "m_h", "m_p")


@dataclass(eq=False)
class Schedule:
    """A decision sequence: operators run so far, victims chosen so far, address hints (allocators
    two_sided/hinted: every tensor whose hint has been decided, sorted by name; a tensor not listed has
    its placement decision still open, hint 0 when the default policy completes the schedule, or under
    ``pinned`` the packed layout's; ``pinned`` keys ``name@k`` hold the k-th placement's hint).

    ``state`` caches the simulator after these decisions (a pending victim decision included); it
    is derived data, rebuilt by replay when missing, and not part of the design's identity."""

    order: tuple[str, ...]
    evictions: tuple[str, ...]
    placement: tuple[tuple[str, float], ...] = ()
    #: early drops (env.drops): (s, tensor) evicts a resident tensor after s ops ran, before the next op
    #: starts and before space runs short (what an ILP schedule may do); in the order they happen
    drops: tuple[tuple[int, str], ...] = ()
    state: ScratchpadSim | None = field(default=None, repr=False)


def load_graph(graph: str, ops: int = 40, seed: int = 1, window: int = 8) -> nx.DiGraph:
    """An operator graph by config: ``random_dag`` (with ``ops``, ``seed``, ``window``), a shipped workload
    or a JSON graph file.  Errors name the config field."""
    name = str(graph)
    if name == "random_dag":
        if ops < 1 or ops > 400:
            raise ConfigError("ops", f"must be in [1, 400], got {ops}")
        if window < 1:
            raise ConfigError("window", f"must be >= 1, got {window}")
        return graphs.random_dag(ops, seed=seed, window=window)
    if name in graphs.WORKLOADS:
        return graphs.workload(name)
    if name.endswith(".json") or Path(name).is_file():
        try:
            return graphs.load_graph_json(name)
        except (DesignError, ConfigError) as exc:
            raise ConfigError("graph", f"{name}: {exc}") from None
    raise ConfigError("graph", f"'{name}' is neither a shipped workload ({', '.join(sorted(graphs.WORKLOADS))}) "
                               "nor a JSON graph file")


def graph_name(graph: str, ops: int, seed: int, window: int) -> str:
    """The name a design's JSON records for its graph (random DAGs carry their parameters)."""
    return f"random_dag_{ops}_s{seed}_w{window}" if graph == "random_dag" else str(graph)


def parse_capacity(value: Any, g: CompiledGraph) -> int:
    """A capacity in bytes: one of COSMA's budgets by name (``m_r``, ``m_h``, ``m_p``) or a positive number,
    at least M_R (the largest operator's inputs + weights + output)."""
    text = str(value).strip().lower()
    if text in BUDGET_NAMES:
        cap = int(getattr(budgets(g), text))
    else:
        try:
            cap = int(text)
        except ValueError:
            raise ConfigError("capacity", f"must be one of {', '.join(BUDGET_NAMES)} or a positive number of "
                                          f"bytes, got {value!r}") from None
        if cap <= 0:
            raise ConfigError("capacity", f"must be positive, got {cap}")
    m_r = max(g.op_footprint(i) for i in range(len(g.ops)))
    if cap < m_r:
        raise ConfigError("capacity", f"{cap} B is below M_R = {m_r} B (the largest operator's "
                                      "inputs + weights + output): no schedule exists")
    return cap


class Replay:
    """Runs a schedule's decisions on the scratchpad simulator and completes it by the default policy."""

    def __init__(self, g: CompiledGraph, capacity: int, allocator: str):
        self.g = g
        self.capacity = capacity
        self.allocator = allocator
        self.n_tensors = len(g.tensors)
        self._plans: dict[tuple[str, ...], dict[tuple[int, int], float]] = {}

    @classmethod
    def from_config(cls, config: Any) -> Replay:
        """The replay of an env config (``graph``, ``ops``, ``seed``, ``window``, ``capacity``, ``allocator``)."""
        g = compile_graph(load_graph(config.graph, config.ops, config.seed, config.window))
        return cls(g, parse_capacity(config.capacity, g), config.allocator)

    @cached_property
    def budgets(self) -> Budgets:
        return budgets(self.g)

    @cached_property
    def min_peak_order(self) -> list[str]:
        return min_peak_order(self.g)[0]

    def simulator(self, placement: tuple[tuple[str, float], ...] = (), decisions: bool = False) -> ScratchpadSim:
        """A fresh simulator with a schedule's address hints; ``decisions``: the placement of a tensor
        not in ``placement`` is a decision (status "place"), as in the sequential face."""
        kwargs = self.hints(placement)
        if decisions and self.allocator in PLACEMENT_LEVELS:
            decided = np.zeros(self.n_tensors, dtype=bool)
            decided[[self.g.tensor_index[name] for name, _ in placement
                     if split_placement_key(name)[1] == 1]] = True
            kwargs["decided"] = decided
        return ScratchpadSim(self.g, self.capacity, self.allocator, **kwargs)

    def hints(self, placement: tuple[tuple[str, float], ...]) -> dict[str, Any]:
        """Allocator keyword arguments of ScratchpadSim for a design's placement hints (keys: tensor names,
        and ``name@k`` for the k-th placement under ``pinned``)."""
        first: list[tuple[int, float]] = []
        later: dict[tuple[int, int], float] = {}
        for key, h in placement:
            name, k = split_placement_key(key)
            if name not in self.g.tensor_index or (k > 1 and self.allocator not in REPLACING_ALLOCATORS):
                raise DesignError(f"field 'placement': unknown tensor '{key}'" + (
                    f" (name@k keys are for allocator {REPLACING_ALLOCATORS})" if name in self.g.tensor_index else ""))
            if k == 1:
                first.append((self.g.tensor_index[name], h))
            else:
                later[self.g.tensor_index[name], k] = h
        if self.allocator == "two_sided":
            high = np.zeros(self.n_tensors, dtype=bool)
            for t, h in first:
                high[t] = h >= 0.5
            return {"high": high}
        if self.allocator in FLOAT_HINT_ALLOCATORS:
            hint = np.zeros(self.n_tensors)
            for t, h in first:
                hint[t] = h
            return {"hint": hint, "later_hints": later} if self.allocator in REPLACING_ALLOCATORS else {"hint": hint}
        return {}

    def default_hints(self, full_order: Sequence[str]) -> dict[tuple[int, int], float]:
        """The hints the default policy gives open placement decisions of a schedule whose completed order is
        ``full_order``: under ``pinned`` the greedy-by-size packing of its residencies (``layout``), {} (hint 0,
        lowest fit) under the other allocators, which cannot pin an address.  Cached per order."""
        if self.allocator not in REPLACING_ALLOCATORS:
            return {}
        key = tuple(full_order)
        if key not in self._plans:
            if len(self._plans) >= 256:  # a plan holds one hint per placement: bound the memory
                self._plans.clear()
            self._plans[key] = packed_hints(self.g, self.capacity, key)
        return self._plans[key]

    def completion(self, order: tuple[str, ...] | list[str]) -> list[str]:
        """The default completion of an order prefix: the missing ops in min-peak order."""
        seen = set(order)
        return list(order) + [o for o in self.min_peak_order if o not in seen]

    def replay(self, order: tuple[str, ...], evictions: tuple[str, ...], placement: tuple[tuple[str, float], ...],
               drops: tuple[tuple[int, str], ...] = ()
               ) -> tuple[ScratchpadSim, tuple[str, ...], tuple[tuple[str, float], ...]]:
        """Run the decisions; a victim decision beyond ``evictions`` inside the order takes Belady's victim
        and a placement decision without a hint takes the default's (``default_hints``), except those of the last op,
        which stay pending.  Returns (sim, all victims taken, all hints decided)."""
        for i, (step, _) in enumerate(drops):
            if not 0 <= step <= len(order) or (i and step < drops[i - 1][0]):
                raise DesignError(f"field 'drops[{i}]': step {step} must be in [0, {len(order)}] and not "
                                  "before the previous drop's")
        sim = self.simulator(placement, decisions=True)
        pending_drops = list(drops)

        def drop_until(step: int) -> None:
            while pending_drops and pending_drops[0][0] == step:
                name = pending_drops.pop(0)[1]
                if self.g.tensor_index.get(name, -1) not in sim.offset:
                    raise DesignError(f"field 'drops': '{name}' is not resident after {step} ops")
                sim.drop(name)

        decided = dict(placement)
        full = self.completion(order)
        sim.future = [self.g.op_index.get(o, -1) for o in full]
        for pos, op in enumerate(order):
            if op not in self.g.op_index:
                raise DesignError(f"field 'order': unknown operator '{op}'")
            if op not in sim.ready_ops():
                raise DesignError(f"field 'order': operator '{op}' at position {pos} is not ready "
                                  "(repeated, or a predecessor has not run)")
            drop_until(pos)
            status = sim.schedule(op)
            while status in ("victim", "place"):
                k = len(sim.evictions)
                if pos == len(order) - 1 and (status == "place" or k >= len(evictions)):
                    break
                if status == "place":
                    key = sim.placement_key()
                    decided[key], status = sim.place_default(self.default_hints(full))
                elif k < len(evictions):
                    if evictions[k] not in sim.candidates():
                        raise DesignError(f"field 'evictions': choice {k} '{evictions[k]}' is not an eviction "
                                          f"candidate when '{op}' runs (candidates: {sim.candidates()})")
                    status = sim.evict(evictions[k])
                else:
                    status = sim.evict(self.g.tensors[belady(sim, sim.candidate_indices())].name)
            if status == "infeasible":
                break
        if sim.pending is None and not sim.failed:
            drop_until(len(order))
        if pending_drops:
            raise DesignError(f"field 'drops': {pending_drops[0]} does not happen (no such step, or a decision "
                              "is pending then)")
        if len(sim.evictions) < len(evictions):
            raise DesignError(f"field 'evictions': {len(evictions)} choices given but the order only asks for "
                              f"{len(sim.evictions)} victim decisions")
        return sim, tuple(sim.evictions), tuple(sorted(decided.items()))

    def state(self, design: Schedule) -> ScratchpadSim:
        """The simulator after a schedule's decisions (cached on the schedule)."""
        if design.state is None:
            design.state, _, _ = self.replay(design.order, design.evictions, design.placement, design.drops)
        return design.state

    def make(self, order, evictions, placement=(), drops=()) -> Schedule:
        """The schedule of some decisions, with every victim and hint the default policy took inside the order."""
        drops = tuple((int(s), str(t)) for s, t in drops)
        sim, victims, hints = self.replay(tuple(order), tuple(evictions), tuple(placement), drops)
        return Schedule(tuple(order), victims, hints, drops, sim)

    def run(self, design: Schedule) -> Result:
        """The exact traffic of the design completed by the default policy."""
        sim = self.state(design).copy()
        full = self.completion(design.order)
        sim.future = [self.g.op_index[o] for o in full]

        def default_decisions(status: str) -> None:
            while status in ("victim", "place"):
                status = (sim.place_default(self.default_hints(full))[1] if status == "place"
                          else sim.evict(self.g.tensors[belady(sim, sim.candidate_indices())].name))

        if sim.pending is not None and not sim.failed:
            default_decisions("place" if sim.placing else "victim")
        for op in full[len(design.order):]:
            if sim.failed:
                break
            default_decisions(sim.schedule(op))
        return sim.result()


class ScratchpadReplay(Simulator[Schedule]):
    """The exact off-chip traffic of a (completed) schedule on a contiguous scratchpad address space."""

    family = "scratchpad"
    name = "replay"
    description = "exact replay on a contiguous scratchpad (allocator, eviction, completion by min-peak + Belady)"

    def __init__(self, config: Any):
        super().__init__(config)
        self.replay = Replay.from_config(config)

    def metrics(self, design: Schedule) -> dict[str, float]:
        """Traffic split (non-compulsory = spills + reloads), peak, resets; ``feasible`` is 1.0 or 0.0."""
        r = self.replay.run(design)
        return {"non_compulsory": float(r.non_compulsory), "compulsory": float(r.compulsory),
                "total": float(r.total), "peak": float(r.peak), "spill": float(r.spill_bytes),
                "reload": float(r.reload_bytes), "forced_resets": float(r.forced_resets),
                "fragmentation_evictions": float(r.fragmentation_evictions),
                "decided_ops": float(len(design.order)), "feasible": 1.0 if r.feasible else 0.0}

    def reason(self, design: Schedule) -> str:
        """Why a schedule is infeasible ("" when it is feasible)."""
        return self.replay.run(design).reason
