"""COSMA-style integer linear program for schedule + residency + replacement, solved with HiGHS.

Time-indexed formulation over the ops of a segment (the whole graph, or one piece of the
divide-and-conquer decomposition), one op per step t = 1..T:

* x[v,t] = 1 if op v runs at step t (each op once, one op per step, dependences respected:
  sum_{t'<=t} x[v,t'] <= sum_{t'<t} x[u,t'] for every edge u -> v);
* r[k,t] = 1 if tensor k is resident during step t; the working set of the op at step t must be
  resident (r[k,t] >= x[c,t] for consumers and the producer); a tensor exists only after its
  producer ran and is useful only until its last consumer;
* l[k,t] >= r[k,t] - r[k,t-1] - x[producer,t]: a (re)load;  w[k] >= l[k,t]: a reloaded activation
  was written back once (a tensor needed after the segment and dropped inside it is written too);
* capacity: sum_k size_k r[k,t] + sum_v weight_v x[v,t] <= C (the ``ideal`` allocator's model).

Objective: bytes loaded + bytes written back, minus the compulsory first loads.  The optimum equals
the best ``ideal``-allocator schedule of the simulator (checked by brute force in the tests), and it
is a lower bound for the contiguous allocators (``first_fit``/``best_fit``), whose fragmentation it
does not model.  Each ILP solution is replayed in the simulator to produce the reported Result; the
addressed replay drops what the ILP drops, when it drops it, so it costs at most the ILP's objective,
a time-limited incumbent included.

Divide and conquer (``solve_decomposed``): cut the min-peak order into consecutive segments of at
most ``segment`` ops (a topological order, so every cut is legal), then solve segment by segment,
each starting from the scratchpad state the replay of the previous segments left (resident tensors,
dirty flags).  Tensors still needed after a segment may stay resident; dropping a dirty one costs its
write-back.  This is a heuristic: the sum of segment bounds is not a global bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from archgym.errors import ConfigError
from archgym.simulators.scratchpad.model import (
    CompiledGraph,
    Result,
    ScratchpadSim,
    compile_graph,
    min_peak_order,
    run_order,
)


@dataclass
class ILPResult:
    """Best schedule found, its replayed traffic and the solver's proven bound (non-compulsory B)."""

    result: Result
    objective: float  # non-compulsory bytes of the ILP incumbent
    bound: float | None  # proven lower bound on the non-compulsory bytes (None for decomposed runs)
    gap: float | None  # (replayed - bound) / replayed, 0 when proven optimal
    optimal: bool
    seconds: float
    status: str
    #: (step, tensor) drops of the addressed replay: tensors the ILP evicts before space runs short (with
    #: ``result.order``, ``result.evictions`` and the ILP's addresses they are the whole schedule)
    drops: list[tuple[int, str]] = field(default_factory=list)
    #: ``addresses=True``: the ILP's address of each tensor at each 1-based step, {(tensor, step): address}
    #: (the ``explicit`` allocator's placement; meaningful where the tensor is resident)
    addresses: dict[tuple[str, int], int] = field(default_factory=dict)


class _Model:
    """Column/row builder for a sparse MILP."""

    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.c: list[float] = []
        self.integ: list[int] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def var(self, cost: float = 0.0, lb: float = 0.0, ub: float = 1.0, integer: bool = True) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        self.c.append(cost)
        self.integ.append(1 if integer else 0)
        return len(self.c) - 1

    def row(self, coefs: dict[int, float], lo: float, hi: float) -> None:
        self.rows.append((coefs, lo, hi))

    def solve(self, time_limit: float, gap: float = 1e-9) -> tuple:
        ri, ci, vals, lo, hi = [], [], [], [], []
        for k, (coefs, a, b) in enumerate(self.rows):
            for j, v in coefs.items():
                ri.append(k)
                ci.append(j)
                vals.append(v)
            lo.append(a)
            hi.append(b)
        a_mat = coo_matrix((vals, (ri, ci)), shape=(len(self.rows), len(self.c))).tocsr()
        return milp(np.array(self.c), integrality=np.array(self.integ),
                    bounds=Bounds(np.array(self.lb), np.array(self.ub)),
                    constraints=[LinearConstraint(a_mat, np.array(lo), np.array(hi))],
                    options={"time_limit": float(time_limit), "disp": False, "mip_rel_gap": float(gap)})


def _segment_ilp(g: CompiledGraph, capacity: int, seg: list[int], sim: ScratchpadSim, time_limit: float,
                 addresses: bool = False, gap: float = 1e-9):
    """Build and solve the ILP of ops ``seg`` starting from ``sim``'s state (stopping at relative ``gap``).  Returns
    (order of op indices, residency dict (k, t) -> bool, scipy result, compulsory constant)."""
    T = len(seg)
    in_seg = set(seg)
    # step windows from ancestors / descendants inside the segment
    sub = nx.DiGraph()
    sub.add_nodes_from(seg)
    sub.add_edges_from((p, v) for v in seg for p in g.preds[v] if p in in_seg)
    win = {v: (len(nx.ancestors(sub, v)) + 1, T - len(nx.descendants(sub, v))) for v in seg}
    m = _Model()
    x = {(v, t): m.var() for v in seg for t in range(win[v][0], win[v][1] + 1)}

    def xs(v: int, lo: int, hi: int) -> dict[int, float]:
        return {x[v, t]: 1.0 for t in range(max(lo, win[v][0]), min(hi, win[v][1]) + 1)}

    for v in seg:
        m.row(xs(v, 1, T), 1, 1)
    for t in range(1, T + 1):
        m.row({x[v, t]: 1.0 for v in seg if (v, t) in x}, 1, 1)
    for v in seg:
        for u in g.preds[v]:
            if u in in_seg:
                for t in range(1, T + 1):
                    coefs = xs(v, 1, t)
                    for j, val in xs(u, 1, t - 1).items():
                        coefs[j] = coefs.get(j, 0.0) - val
                    if coefs:
                        m.row(coefs, -np.inf, 0)
    # tensors that matter: activations produced in the segment, and live tensors from before
    cons_in = {}
    tensors = []
    for k, tens in enumerate(g.tensors):
        if tens.kind == "weight":
            continue
        prod = g.op_index.get(tens.producer) if tens.producer is not None else None
        produced_here = prod in in_seg
        live_before = k in sim.offset or (sim.remaining[k] > 0 and (prod is None or sim.executed[prod]))
        if not produced_here and not live_before:
            continue
        cons = [c for c in g.consumers[k] if c in in_seg]
        after = any(not sim.executed[c] and c not in in_seg for c in g.consumers[k])
        if not cons and not after and not produced_here:
            continue
        tensors.append(k)
        cons_in[k] = (prod if produced_here else None, cons, after)
    r, lvar = {}, {}
    compulsory = 0.0
    for k in tensors:
        prod, cons, after = cons_in[k]
        size = float(g.size[k])
        dirty_now = g.tensors[k].kind == "activation" and not sim.in_dram[k]
        can_be_dirty = prod is not None or dirty_now
        first_load = g.tensors[k].kind == "input" and not sim.loaded_once[k]
        if first_load:
            compulsory += size
        w = m.var(cost=size, integer=False) if can_be_dirty else None
        prev = 1.0 if k in sim.offset else 0.0
        prev_var = None
        for t in range(1, T + 1):
            rv = r[k, t] = m.var()
            if prod is not None:  # exists only once produced
                m.row({rv: 1.0, **{j: -1.0 for j in xs(prod, 1, t)}}, -np.inf, 0)
                if (prod, t) in x:
                    m.row({rv: 1.0, x[prod, t]: -1.0}, 0, np.inf)
            for c in cons:
                if (c, t) in x:
                    m.row({rv: 1.0, x[c, t]: -1.0}, 0, np.inf)
            if not after:  # useful only until the last consumer (or production, for a sink)
                coefs = {rv: 1.0}
                for c in cons:
                    for j in xs(c, t, T):
                        coefs[j] = coefs.get(j, 0.0) - 1.0
                if prod is not None and (prod, t) in x:
                    coefs[x[prod, t]] = coefs.get(x[prod, t], 0.0) - 1.0
                m.row(coefs, -np.inf, 0)
            lv = lvar[k, t] = m.var(cost=size, integer=addresses)  # binary: it gates a big-M move
            coefs = {lv: 1.0, rv: -1.0}
            if prev_var is not None:
                coefs[prev_var] = 1.0
            if prod is not None and (prod, t) in x:
                coefs[x[prod, t]] = coefs.get(x[prod, t], 0.0) + 1.0
            m.row(coefs, -(prev if prev_var is None else 0.0), np.inf)
            if w is not None:
                m.row({w: 1.0, lv: -1.0}, 0, np.inf)
                if after:  # a drop of a tensor needed later costs its write-back
                    coefs = {w: 1.0, rv: 1.0}
                    if prev_var is not None:
                        coefs[prev_var] = -1.0
                    m.row(coefs, (prev if prev_var is None else 0.0), np.inf)
            prev_var = rv
        if w is not None and after and prod is not None:
            m.row({w: 1.0, r[k, T]: 1.0}, 1, np.inf)  # produced, needed later: resident or written
    for t in range(1, T + 1):
        coefs = {r[k, t]: float(g.size[k]) for k in tensors}
        for v in seg:
            if (v, t) in x and g.weight_tensor[v] >= 0:
                coefs[x[v, t]] = float(g.size[g.weight_tensor[v]])
        m.row(coefs, -np.inf, capacity)
    offsets = _add_addresses(m, g, capacity, seg, x, r, lvar, tensors, sim, T) if addresses else {}
    res: Any = m.solve(time_limit, gap)
    if res.x is None:
        return None, None, res, compulsory
    order = sorted(seg, key=lambda v: next(t for t in range(1, T + 1) if (v, t) in x and res.x[x[v, t]] > 0.5))
    resident: dict[Any, Any] = {(k, t): res.x[r[k, t]] > 0.5 for k in tensors for t in range(1, T + 1)}
    if addresses:
        # floor, not round: o_a + s_a <= o_b (integer sizes) gives floor(o_a) + s_a <= floor(o_b), so a
        # fractional incumbent (HiGHS stopped early) keeps its tensors apart; 1e-6 absorbs solver noise
        resident["offsets"] = {(g.tensors[k].name, t): int(np.floor(res.x[j] + 1e-6)) for (k, t), j in offsets.items()}
    return order, resident, res, compulsory


def _add_addresses(m: _Model, g: CompiledGraph, capacity: int, seg: list[int], x: dict, r: dict, lvar: dict,
                   tensors: list[int], sim: ScratchpadSim, T: int) -> dict[tuple[int, int], int]:
    """Contiguity: an address o[k,t] per tensor and step, unchanged while the tensor stays resident
    (|o[k,t] - o[k,t-1]| <= C (2 - r[k,t-1] - r[k,t])), and no overlap between tensors resident at
    the same step (big-M disjunction with an order variable z per pair and step)."""
    occ: dict[int, dict[int, int]] = {k: {t: r[k, t] for t in range(1, T + 1)} for k in tensors}
    for v in seg:
        wt = g.weight_tensor[v]
        if wt >= 0:
            occ[wt] = {t: x[v, t] for t in range(1, T + 1) if (v, t) in x}
    big = float(capacity)
    off: dict[tuple[int, int], int] = {}
    for k, steps in occ.items():
        hi = capacity - int(g.size[k])
        prev = None
        for t in sorted(steps):
            off[k, t] = m.var(ub=hi, integer=False)
            if prev is not None and prev == t - 1:
                for sign in (1.0, -1.0):
                    m.row({off[k, t]: sign, off[k, prev]: -sign, steps[t]: big, steps[prev]: big},
                          -np.inf, 2 * big)
            elif prev is None and k in sim.offset and t == 1:  # resident at the start: stays put
                fixed = float(sim.offset[k])  # unless reloaded (l[k,1] = 1) elsewhere
                m.row({off[k, t]: 1.0, steps[t]: big, lvar[k, t]: -big}, -np.inf, fixed + big)
                m.row({off[k, t]: -1.0, steps[t]: big, lvar[k, t]: -big}, -np.inf, -fixed + big)
            prev = t
    keys = sorted(occ)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            for t in occ[a]:
                if t not in occ[b]:
                    continue
                z = m.var()
                ra, rb = occ[a][t], occ[b][t]
                # o_a + s_a <= o_b + C(1 - z) + C(2 - rho_a - rho_b), and the mirror with z
                m.row({off[a, t]: 1.0, off[b, t]: -1.0, z: big, ra: big, rb: big},
                      -np.inf, 3 * big - float(g.size[a]))
                m.row({off[b, t]: 1.0, off[a, t]: -1.0, z: -big, ra: big, rb: big},
                      -np.inf, 2 * big - float(g.size[b]))
    return off


def _guided(resident: dict, step0: int):
    """Victim policy replaying the ILP: evict tensors the ILP does not keep at this step first
    (and, with explicit addresses, those overlapping the range being placed)."""

    def overlaps(sim: ScratchpadSim, k: int) -> bool:
        if sim.allocator != "explicit" or not sim.queue:
            return False
        t, o, sz = sim.queue[0], sim.offset[k], int(sim.g.size[k])
        lo = sim.placement[t, len(sim.order) + 1]
        return not (o + sz <= lo or lo + int(sim.g.size[t]) <= o)

    def policy(sim: ScratchpadSim, cands: list[int]) -> int:
        t = len(sim.order) + 2 - step0  # 1-based step of the pending op within the segment
        return max(cands, key=lambda k: (overlaps(sim, k), not resident.get((k, t), False), sim.next_use(k),
                                         sim.in_dram[k], sim.g.size[k], -k))

    return policy


def _honour_drops(resident: dict, step0: int, drops: list[tuple[int, str]]):
    """With the ILP's addresses: before the op at each step, drop the tensors the ILP does not keep
    resident at that step (recorded in ``drops`` as (step, tensor)), so the replay's resident set stays
    within the ILP's and no tensor the ILP dropped sits on an address the ILP gives to another.  The replay
    then costs at most the ILP's objective, an early (time- or gap-limited) incumbent included.  (With the
    capacity model no drop is needed: the guided victim policy evicts what the ILP dropped first, and that
    never costs more than the ILP paid.)"""

    def before(sim: ScratchpadSim) -> None:
        t = len(sim.order) + 2 - step0  # 1-based step of the next op within the segment
        for k in list(sim.offset):
            if not resident.get((k, t), True):
                sim.drop(sim.g.tensors[k].name)
                drops.append((len(sim.order) + 1, sim.g.tensors[k].name))

    return before


def solve_ilp(graph: nx.DiGraph | CompiledGraph, capacity: int, time_limit: float = 60.0,
              addresses: bool = False, gap: float = 1e-9) -> ILPResult:
    """Whole-graph ILP.  ``addresses=False``: capacity model, replayed with the ``ideal`` allocator
    (exact).  ``addresses=True``: adds one contiguous address per tensor lifetime (COSMA's
    allocation; a tensor keeps its address while resident and may get a new one when reloaded),
    replayed with the ``explicit`` allocator at the ILP's addresses.  ``gap``: stop once the incumbent
    is within this relative gap of the bound (default: prove optimality), like ``time_limit`` a way to
    trade quality for time; the replay of an early incumbent still costs at most its objective."""
    g = compile_graph(graph)
    if not 0 <= gap < 1:
        raise ConfigError("gap", f"must be in [0, 1), got {gap}")
    if time_limit <= 0:
        raise ConfigError("time_limit", "must be > 0 seconds")
    t0 = time.perf_counter()
    sim = ScratchpadSim(g, capacity, "ideal")
    if any(g.op_footprint(i) > capacity for i in range(len(g.ops))):
        r = sim.result()
        r.feasible, r.reason = False, "capacity below the largest operator footprint (M_R)"
        return ILPResult(r, np.inf, np.inf, None, False, 0.0, "infeasible")
    order, resident, res, compulsory = _segment_ilp(g, capacity, list(range(len(g.ops))), sim, time_limit,
                                                    addresses, gap)
    secs = time.perf_counter() - t0
    if order is None:
        r = sim.result()
        r.feasible, r.reason = False, f"HiGHS: {res.message}"
        return ILPResult(r, np.inf, np.inf, None, False, secs, res.message)
    if addresses:
        sim = ScratchpadSim(g, capacity, "explicit", placement=resident["offsets"])
    drops: list[tuple[int, str]] = []
    replay = run_order(sim, [g.ops[v] for v in order], _guided(resident, 1),
                       _honour_drops(resident, 1, drops) if addresses else None)
    obj = float(res.fun) - compulsory
    bound = float(getattr(res, "mip_dual_bound", res.fun)) - compulsory
    bound = max(0.0, bound)
    nc = replay.non_compulsory
    gap = 0.0 if nc <= bound + 0.5 else (nc - bound) / nc
    return ILPResult(replay, obj, bound, gap, gap == 0.0, secs, res.message, drops,
                     resident["offsets"] if addresses else {})


def solve_decomposed(graph: nx.DiGraph | CompiledGraph, capacity: int, segment: int = 12,
                     time_limit: float = 60.0, addresses: bool = True) -> ILPResult:
    """Divide and conquer: ILPs over consecutive ``segment``-op pieces of the min-peak order, each
    from the state the previous pieces left (a heuristic: no global bound, ``gap`` is None)."""
    g = compile_graph(graph)
    if segment < 1:
        raise ConfigError("segment", "must be >= 1")
    if time_limit <= 0:
        raise ConfigError("time_limit", "must be > 0 seconds")
    t0 = time.perf_counter()
    ref = [g.op_index[o] for o in min_peak_order(g)[0]]
    sim = ScratchpadSim(g, capacity, "explicit", placement={}) if addresses else ScratchpadSim(g, capacity, "ideal")
    pieces = [ref[i:i + segment] for i in range(0, len(ref), segment)]
    obj = 0.0
    drops: list[tuple[int, str]] = []
    for piece in pieces:
        if sim.done:
            break
        step0 = len(sim.order) + 1
        order, resident, res, compulsory = _segment_ilp(g, capacity, piece, sim,
                                                        max(1.0, time_limit / len(pieces)), addresses)
        if order is None:
            r = sim.result()
            r.feasible, r.reason = False, f"segment at step {step0}: HiGHS: {res.message}"
            return ILPResult(r, np.inf, None, None, False, time.perf_counter() - t0, res.message)
        obj += float(res.fun) - compulsory
        if addresses:
            sim.placement.update({(g.tensor_index[k], step0 - 1 + t): o for (k, t), o in resident["offsets"].items()})
        sim.future = list(sim.order) + order
        policy = _guided(resident, step0)
        before = _honour_drops(resident, step0, drops) if addresses else None
        for v in order:
            if before is not None:
                before(sim)
            status = sim.schedule(g.ops[v])
            while status == "victim":
                status = sim.evict(g.tensors[policy(sim, sim.candidate_indices())].name)
    return ILPResult(sim.result(), obj, None, None, False, time.perf_counter() - t0, "decomposed", drops)
