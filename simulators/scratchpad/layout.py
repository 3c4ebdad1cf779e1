"""Offline address planning of a schedule: pack its residencies like an arena planner, then pin them.

An online allocator places each tensor knowing only what is resident now, so one early choice can split
the free space for the rest of the schedule (the held-out graph skewed5_n16_f4_w7 at M_P: the min-peak
order fits in M_P under ideal memory, yet every online placement policy evicts 188 KB once).  With the
order known, placement is an offline problem instead: dynamic storage allocation of the residency
intervals, which inference runtimes solve ahead of time.  We use the greedy-by-size heuristic of
TFLite's arena planner (Pisarchyk and Lee, "Efficient Memory Management for Deep Neural Net Inference",
2020; tensorflow/lite/delegates/gpu/common/memory_management/greedy_by_size_assignment.cc): residencies
sorted by size, largest first, each at the lowest address that overlaps no time-overlapping residency
already placed.

Residencies come from the order run under ideal memory with Belady's victims (the parameter face: the
point's own victim policy and picks): one interval of steps per placement of a tensor (a reload is a new
placement).  Under allocator ``pinned`` every placement has a hint of its own that is the address itself,
so :func:`packed_hints` turns the plan into hints; where the ideal run needs no eviction and the packing
fits, the pinned replay realises it exactly, and its traffic equals the ideal-memory traffic of the order
(0 for the case above).  Elsewhere the hints are a heuristic start that the exact replay scores as it is
(on the held-out benchmark it reached the ILP optimum with evictions too, e.g. skewed4_n13_f3_w5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from archgym.simulators.scratchpad.model import CompiledGraph, Policy, ScratchpadSim, belady


@dataclass(frozen=True)
class Residency:
    """Tensor ``tensor``'s ``k``-th placement: resident during steps ``first`` .. ``last`` (0-based, inclusive)."""

    tensor: int
    k: int
    first: int
    last: int
    size: int


def residencies(g: CompiledGraph, capacity: int, order: Sequence[str], victim: Policy = belady) -> list[Residency]:
    """The residency intervals of ``order`` under ideal memory (capacity only) with ``victim``'s victims.

    A tensor is live at step s when it is resident while op s runs: resident before it and not evicted
    for it, or in its working set.  Each maximal run of live steps is one placement."""
    sim = ScratchpadSim(g, capacity, "ideal")
    sim.future = [g.op_index.get(o, -1) for o in order]
    live_steps: list[set[int]] = []
    for o in order:
        i = g.op_index.get(o)
        if i is None or sim.executed[i] or sim.n_pred_left[i] > 0:
            break  # an illegal order: plan its legal prefix (the replay reports the error with its field)
        before = set(sim.offset)
        n_evicted = len(sim.evictions)
        status = sim.schedule(o)
        while status == "victim":
            status = sim.evict(g.tensors[victim(sim, sim.candidate_indices())].name)
        if status != "done":
            break
        evicted = {g.tensor_index[name] for name in sim.evictions[n_evicted:]}
        live_steps.append((before - evicted) | set(g.working_set[sim.order[-1]]))
    out: list[Residency] = []
    open_since: dict[int, int] = {}
    count: dict[int, int] = {}
    for s, live in enumerate([*live_steps, set()]):
        for t in [t for t in open_since if t not in live]:
            count[t] = count.get(t, 0) + 1
            out.append(Residency(t, count[t], open_since.pop(t), s - 1, int(g.size[t])))
        for t in sorted(live - open_since.keys()):
            open_since[t] = s
    return sorted(out, key=lambda r: (r.first, r.tensor))


def greedy_by_size(res: Sequence[Residency]) -> list[int]:
    """An address per residency (same order as ``res``): largest first, each at the lowest address whose
    range overlaps no residency already placed that is live at a common step."""
    n = len(res)
    first = np.array([r.first for r in res], dtype=np.int64)
    last = np.array([r.last for r in res], dtype=np.int64)
    size = np.array([r.size for r in res], dtype=np.int64)
    offset = np.full(n, -1, dtype=np.int64)
    for i in sorted(range(n), key=lambda i: (-res[i].size, res[i].first, res[i].tensor)):
        placed = (offset >= 0) & (first <= last[i]) & (first[i] <= last)
        cur = 0
        for j in np.flatnonzero(placed)[np.argsort(offset[placed], kind="stable")]:
            if offset[j] - cur >= size[i]:
                break
            cur = max(cur, int(offset[j] + size[j]))
        offset[i] = cur
    return offset.tolist()


def packed_hints(g: CompiledGraph, capacity: int, order: Sequence[str],
                 victim: Policy = belady) -> dict[tuple[int, int], float]:
    """``pinned`` hints {(tensor, k): h} of the greedy-by-size packing of ``order``'s residencies (victims by
    ``victim``), for every placement the packing fits inside the scratchpad (h * (capacity - size) is the
    planned address)."""
    res = residencies(g, capacity, order, victim)
    out: dict[tuple[int, int], float] = {}
    for r, off in zip(res, greedy_by_size(res)):
        if off + r.size <= capacity:
            out[r.tensor, r.k] = off / (capacity - r.size) if capacity > r.size else 0.0
    return out
