"""Scratchpad scheduling cost model: operator order + allocation + eviction -> exact off-chip traffic.

Model (COSMA's setting: Li et al., "COSMA: An Efficient Concurrency-Oriented Space Management Scheme
for DNN Accelerators", 2023):

* Tensors: every graph input, every operator output (an *activation*) and every operator's weights.
  An input/weight tensor starts *clean* in DRAM.  An activation is produced on chip and is *dirty*
  (its only copy is in the scratchpad) until written back.
* To run op v, its working set W(v) = its input tensors + its weights + its output must all be
  resident at once.  Missing inputs are loaded just in time (prefetching never lowers traffic).
* Freeing: a tensor is freed, at no cost, right after its last consumer runs (weights after their
  op).  Outputs of sink ops are the graph outputs: written to DRAM once, then freed.
* Eviction (spill): when space is short, a resident tensor not in W(v) is evicted.  A dirty one is
  written back (cost = size) and becomes clean; a clean one is dropped for free.  Reloading a tensor
  later costs its size again.  If only W(v)'s own tensors are resident and fragmentation still leaves
  no fitting hole, the whole working set is evicted and re-placed into the empty scratchpad (spills
  and reloads counted; ``Result.forced_resets``, no decision asked).
* Traffic: *compulsory* = first load of each input and weight + one write of each graph output
  (the same for every schedule); *non-compulsory* = spill write-backs + every other load.
* Address space: each tensor needs one contiguous range of [0, capacity).  Allocators:
  ``first_fit`` (lowest address that fits), ``best_fit`` (smallest gap that fits, as TFLite's
  SimpleMemoryArena::Allocate, tensorflow/lite/simple_memory_arena.cc; COSMA's "linear" allocator
  baseline), ``ideal`` (capacity only, no fragmentation: the model the ILP optimises exactly).
  Tensors never move while resident; fragmentation may force an eviction although the total free
  space suffices (counted in ``Result.fragmentation_evictions``).

Step API for environments::

    sim = ScratchpadSim(graph, capacity, allocator="first_fit")
    while not sim.done:
        status = sim.schedule(op in sim.ready_ops())      # "done" | "victim" | "infeasible"
        while status == "victim":
            status = sim.evict(tensor in sim.candidates())
    sim.result()
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Callable, Sequence

import networkx as nx
import numpy as np

from archgym.errors import ConfigError, DesignError
from archgym.simulators.scratchpad_graphs import validate_graph

ALLOCATORS = ("first_fit", "best_fit", "ideal")


@dataclass(frozen=True)
class Tensor:
    name: str
    size: int
    kind: str  # "input" | "activation" | "weight"
    producer: str | None
    consumers: tuple[str, ...]


class CompiledGraph:
    """Index tables of a validated graph: ops, tensors, working sets (built once, shared)."""

    def __init__(self, graph: nx.DiGraph):
        validate_graph(graph)
        self.graph = graph
        topo = list(nx.lexicographical_topological_sort(graph, key=str))
        self.inputs = [n for n in topo if graph.nodes[n]["kind"] == "input"]
        self.ops = [n for n in topo if graph.nodes[n]["kind"] == "op"]
        self.op_index = {o: i for i, o in enumerate(self.ops)}
        tensors: list[Tensor] = []
        for n in self.inputs + self.ops:
            kind = "input" if n in self.inputs else "activation"
            cons = tuple(sorted(graph.successors(n), key=lambda s: self.op_index[s]))
            tensors.append(Tensor(str(n), int(graph.nodes[n]["out_bytes"]), kind,
                                  None if kind == "input" else n, cons))
        for o in self.ops:
            wb = int(graph.nodes[o].get("weight_bytes", 0))
            if wb:
                tensors.append(Tensor(f"{o}/w", wb, "weight", None, (o,)))
        self.tensors = tensors
        self.tensor_index = {t.name: i for i, t in enumerate(tensors)}
        self.size = np.array([t.size for t in tensors], dtype=np.int64)
        self.out_tensor = [self.tensor_index[str(o)] for o in self.ops]
        self.weight_tensor = [self.tensor_index.get(f"{o}/w", -1) for o in self.ops]
        self.in_tensors = [tuple(self.tensor_index[str(p)] for p in sorted(graph.predecessors(o), key=str))
                           for o in self.ops]
        self.preds = [tuple(self.op_index[p] for p in graph.predecessors(o) if p in self.op_index)
                      for o in self.ops]
        self.consumers = [tuple(self.op_index[c] for c in t.consumers) for t in tensors]
        self.is_sink = [graph.out_degree(o) == 0 for o in self.ops]
        self.working_set = [self.in_tensors[i] + ((self.weight_tensor[i],) if self.weight_tensor[i] >= 0 else ())
                            + (self.out_tensor[i],) for i in range(len(self.ops))]
        self.compulsory = int(sum(t.size for t in tensors if t.kind in ("input", "weight"))
                              + sum(self.size[self.out_tensor[i]] for i in range(len(self.ops)) if self.is_sink[i]))

    def op_footprint(self, i: int) -> int:
        """Bytes op i needs resident at once (inputs + weights + output)."""
        return int(self.size[list(self.working_set[i])].sum())


def compile_graph(graph: nx.DiGraph | CompiledGraph) -> CompiledGraph:
    return graph if isinstance(graph, CompiledGraph) else CompiledGraph(graph)


@dataclass
class Result:
    """Traffic of one complete schedule (bytes).  ``feasible`` False means it could not finish."""

    compulsory: int
    non_compulsory: int
    peak: int
    feasible: bool
    reason: str = ""
    spill_bytes: int = 0
    reload_bytes: int = 0
    fragmentation_evictions: int = 0  # victim decisions needed although total free space sufficed
    forced_resets: int = 0  # working-set re-placements forced by fragmentation
    order: list[str] = field(default_factory=list)
    evictions: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.compulsory + self.non_compulsory


class ScratchpadSim:
    """Step-by-step execution of an operator graph on a scratchpad of ``capacity`` bytes."""

    def __init__(self, graph: nx.DiGraph | CompiledGraph, capacity: int, allocator: str = "first_fit"):
        self.g = compile_graph(graph)
        if allocator not in ALLOCATORS:
            raise ConfigError("allocator", f"must be one of {ALLOCATORS}, got {allocator!r}")
        if not isinstance(capacity, (int, np.integer)) or capacity <= 0:
            raise ConfigError("capacity", f"must be a positive int (bytes), got {capacity!r}")
        self.capacity = int(capacity)
        self.allocator = allocator
        g = self.g
        self.offset: dict[int, int] = {}  # resident tensor -> address (-1 under 'ideal')
        self.blocks: list[tuple[int, int, int]] = []  # sorted (offset, size, tensor)
        self.used = 0
        self.in_dram = np.array([t.kind != "activation" for t in g.tensors])
        self.loaded_once = np.zeros(len(g.tensors), dtype=bool)
        self.remaining = np.array([len(c) for c in g.consumers], dtype=np.int64)
        self.last_use = np.zeros(len(g.tensors), dtype=np.int64)
        self.n_pred_left = np.array([len(p) for p in g.preds], dtype=np.int64)
        self.executed = np.zeros(len(g.ops), dtype=bool)
        self.order: list[int] = []
        self.evictions: list[str] = []
        self.compulsory = 0
        self.spill = 0
        self.reload = 0
        self.peak = 0
        self.frag_evictions = 0
        self.forced_resets = 0
        self.failed = ""
        self.pending: int | None = None
        self.queue: list[int] = []
        self.protected: set[int] = set()
        self.future: list[int] | None = None  # full order, if known (Belady)

    # ------------------------------------------------------------------ queries
    @property
    def done(self) -> bool:
        return bool(self.failed) or len(self.order) == len(self.g.ops)

    def ready_ops(self) -> list[str]:
        """Ops whose predecessors have all run (empty while a victim decision is pending)."""
        if self.pending is not None or self.failed:
            return []
        return [self.g.ops[i] for i in np.flatnonzero((self.n_pred_left == 0) & ~self.executed)]

    def resident(self) -> list[str]:
        return [self.g.tensors[t].name for t in self.offset]

    def candidates(self) -> list[str]:
        """Tensors that may be evicted for the pending allocation."""
        return [self.g.tensors[t].name for t in self._candidates()]

    def _candidates(self) -> list[int]:
        if self.pending is None:
            return []
        return [t for t in self.offset if t not in self.protected]

    def next_use(self, t: int) -> int:
        """Position in the known future order of the next consumer of tensor t (inf if unknown)."""
        if self.future is None:
            return 10**9
        pos = len(self.order)
        for i in range(pos, len(self.future)):
            if t in self.g.working_set[self.future[i]]:
                return i
        return 10**9

    # ------------------------------------------------------------------ actions
    def schedule(self, op: str) -> str:
        """Start op; returns 'done' (it ran), 'victim' (choose an eviction) or 'infeasible'."""
        if self.failed:
            raise DesignError(f"simulation already failed: {self.failed}")
        if self.pending is not None:
            raise DesignError(f"a victim decision is pending for '{self.g.ops[self.pending]}'")
        i = self.g.op_index.get(op)
        if i is None:
            raise DesignError(f"unknown operator '{op}'")
        if self.executed[i] or self.n_pred_left[i] > 0:
            raise DesignError(f"operator '{op}' is not ready")
        ws = self.g.working_set[i]
        if int(self.g.size[list(ws)].sum()) > self.capacity:
            self.failed = f"op '{op}' needs {int(self.g.size[list(ws)].sum())} B > capacity {self.capacity} B"
            return "infeasible"
        self.pending = i
        self.protected = set(ws)
        self.queue = [t for t in ws if t not in self.offset]
        return self._advance()

    def evict(self, tensor: str) -> str:
        """Evict a candidate tensor and continue the pending op."""
        t = self.g.tensor_index.get(tensor, -1)
        if t not in self._candidates():
            raise DesignError(f"'{tensor}' is not an eviction candidate; candidates: {self.candidates()}")
        if self.g.tensors[t].kind == "activation" and not self.in_dram[t]:
            self.spill += int(self.g.size[t])
            self.in_dram[t] = True
        self._release(t)
        self.evictions.append(tensor)
        return self._advance()

    # ------------------------------------------------------------------ internals
    def _place(self, size: int) -> int | None:
        if self.allocator == "ideal":
            return -1 if self.used + size <= self.capacity else None
        best, best_gap, cur = None, None, 0
        for off, sz, _ in self.blocks + [(self.capacity, 0, -1)]:
            gap = off - cur
            if gap >= size:
                if self.allocator == "first_fit":
                    return cur
                if best_gap is None or gap < best_gap:
                    best, best_gap = cur, gap
            cur = max(cur, off + sz)
        return best

    def _release(self, t: int) -> None:
        off = self.offset.pop(t)
        self.used -= int(self.g.size[t])
        if off >= 0:
            self.blocks.remove((off, int(self.g.size[t]), t))

    def _reset_working_set(self) -> None:
        """Only the op's own (fragmented) working set is resident: evict all of it and re-place it
        into the empty scratchpad (always fits, since schedule() checked its total size)."""
        for t in list(self.offset):
            if self.g.tensors[t].kind == "activation" and not self.in_dram[t]:
                self.spill += int(self.g.size[t])
                self.in_dram[t] = True
            self._release(t)
        self.forced_resets += 1
        self.queue = [t for t in self.g.working_set[self.pending] if t not in self.offset]

    def _advance(self) -> str:
        g = self.g
        step = len(self.order) + 1
        while self.queue:
            t = self.queue[0]
            size = int(g.size[t])
            off = self._place(size)
            if off is None:
                if self.capacity - self.used >= size:
                    self.frag_evictions += 1
                if self._candidates():
                    return "victim"
                self._reset_working_set()
                continue
            self.queue.pop(0)
            self.offset[t] = off
            self.used += size
            if off >= 0:
                bisect.insort(self.blocks, (off, size, t))
            if g.out_tensor[self.pending] != t:  # a load from DRAM
                if g.tensors[t].kind != "activation" and not self.loaded_once[t]:
                    self.compulsory += size
                else:
                    self.reload += size
                self.loaded_once[t] = True
        # execute
        i = self.pending
        self.peak = max(self.peak, self.used)
        self.executed[i] = True
        self.order.append(i)
        for t in g.working_set[i]:
            self.last_use[t] = step
        for c in g.consumers[g.out_tensor[i]]:
            self.n_pred_left[c] -= 1
        for t in g.in_tensors[i] + ((g.weight_tensor[i],) if g.weight_tensor[i] >= 0 else ()):
            self.remaining[t] -= 1
            if self.remaining[t] == 0:
                self._release(t)
        if g.is_sink[i]:
            out = g.out_tensor[i]
            self.compulsory += int(g.size[out])
            self.in_dram[out] = True
            self._release(out)
        self.pending = None
        self.protected = set()
        return "done"

    def result(self) -> Result:
        names = [self.g.ops[i] for i in self.order]
        feasible = not self.failed and len(self.order) == len(self.g.ops)
        reason = self.failed or ("" if feasible else "schedule incomplete")
        return Result(self.compulsory, self.spill + self.reload, self.peak, feasible, reason, self.spill,
                      self.reload, self.frag_evictions, self.forced_resets, names, list(self.evictions))


# ---------------------------------------------------------------------------------------------- policies
Policy = Callable[[ScratchpadSim, list[int]], int]


def belady(sim: ScratchpadSim, cands: list[int]) -> int:
    """Belady's MIN: evict the tensor reused farthest in the future; ties: clean first, then larger."""
    return max(cands, key=lambda t: (sim.next_use(t), sim.in_dram[t], sim.g.size[t], -t))


def lru(sim: ScratchpadSim, cands: list[int]) -> int:
    """Least recently used (loaded, produced or read)."""
    return min(cands, key=lambda t: (sim.last_use[t], t))


POLICIES: dict[str, Policy] = {"belady": belady, "lru": lru}


def run_order(sim: ScratchpadSim, order: Sequence[str], victim: Policy) -> Result:
    """Drive ``sim`` through ``order`` with a victim policy (called with candidate tensor indices)."""
    sim.future = [sim.g.op_index[o] if o in sim.g.op_index else -1 for o in order]
    for o in order:
        if sim.done:
            break
        if o not in sim.ready_ops():
            sim.failed = f"operator '{o}' is not ready at step {len(sim.order)} (order violates dependences)"
            break
        status = sim.schedule(o)
        while status == "victim":
            status = sim.evict(sim.g.tensors[victim(sim, sim._candidates())].name)
    return sim.result()


def simulate(graph: nx.DiGraph | CompiledGraph, capacity: int, order: Sequence[str],
             eviction: str | Sequence[str] | Policy = "belady", allocator: str = "first_fit") -> Result:
    """Exact traffic of ``order`` with an eviction policy name, callable, or explicit victim list."""
    sim = ScratchpadSim(graph, capacity, allocator)
    if len(order) != len(sim.g.ops) or set(order) != set(sim.g.ops):
        raise ConfigError("order", f"must list each of the {len(sim.g.ops)} operators exactly once")
    if isinstance(eviction, str):
        if eviction not in POLICIES:
            raise ConfigError("eviction", f"must be one of {sorted(POLICIES)}, a list or a callable")
        return run_order(sim, order, POLICIES[eviction])
    if callable(eviction):
        return run_order(sim, order, eviction)
    choices = list(eviction)

    def scripted(s: ScratchpadSim, cands: list[int]) -> int:
        k = len(s.evictions)
        if k >= len(choices):
            raise _ChoiceError(f"victim decision {k} has no choice (only {len(choices)} given)")
        t = s.g.tensor_index.get(choices[k], -1)
        if t not in cands:
            raise _ChoiceError(f"choice {k} '{choices[k]}' is not a candidate")
        return t

    try:
        return run_order(sim, order, scripted)
    except _ChoiceError as exc:
        sim.failed = str(exc)
        return sim.result()


class _ChoiceError(Exception):
    pass


# ---------------------------------------------------------------------------------------------- schedules
def default_order(graph: nx.DiGraph | CompiledGraph) -> list[str]:
    """The default (TFLite-style) schedule: the graph's deterministic topological order."""
    return list(compile_graph(graph).ops)


def _step_bytes(g: CompiledGraph, live: int, i: int, started: np.ndarray) -> int:
    """No-eviction footprint of running op i when ``live`` bytes are live (ideal allocation)."""
    fresh = sum(int(g.size[t]) for t in g.in_tensors[i] if not started[t])
    w = int(g.size[g.weight_tensor[i]]) if g.weight_tensor[i] >= 0 else 0
    return live + fresh + w + int(g.size[g.out_tensor[i]])


def min_peak_order(graph: nx.DiGraph | CompiledGraph, max_states: int = 200_000) -> tuple[list[str], int, bool]:
    """Schedule minimising the no-eviction peak footprint: exact DP over executed-op sets (downsets)
    while there are at most ``max_states`` of them, else a greedy fallback.  Returns
    (order, peak bytes, exact?)."""
    g = compile_graph(graph)
    n = len(g.ops)
    # live bytes after executing set S, as a function of S: tensors produced/started, not finished
    frontier: dict[int, tuple[int, int, tuple[int, ...]]] = {0: (0, 0, ())}  # mask -> (peak, live, order)
    exact = True
    for _ in range(n):
        nxt: dict[int, tuple[int, int, tuple[int, ...]]] = {}
        for mask, (peak, live, order) in frontier.items():
            done = np.array([(mask >> j) & 1 for j in range(n)], dtype=bool)
            started, remaining = _tensor_state(g, done)
            for i in range(n):
                if done[i] or any(not done[p] for p in g.preds[i]):
                    continue
                step = _step_bytes(g, live, i, started)
                freed = sum(int(g.size[t]) for t in g.in_tensors[i] if remaining[t] == 1)
                new_live = step - freed - (int(g.size[g.weight_tensor[i]]) if g.weight_tensor[i] >= 0 else 0)
                if g.is_sink[i]:
                    new_live -= int(g.size[g.out_tensor[i]])
                cand = (max(peak, step), new_live, order + (i,))
                m2 = mask | (1 << i)
                if m2 not in nxt or cand[0] < nxt[m2][0]:
                    nxt[m2] = cand
        frontier = nxt
        if len(frontier) > max_states:
            exact = False
            break
    if exact:
        (peak, _, order), = frontier.values()
        return [g.ops[i] for i in order], int(peak), True
    order = _greedy_min_peak(g)
    return order, no_eviction_peak(g, order), False


def _tensor_state(g: CompiledGraph, done: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    started = np.zeros(len(g.tensors), dtype=bool)
    remaining = np.array([len(c) for c in g.consumers], dtype=np.int64)
    for i in np.flatnonzero(done):
        for t in g.in_tensors[i]:
            started[t] = True
            remaining[t] -= 1
        started[g.out_tensor[i]] = True
    return started, remaining


def _greedy_min_peak(g: CompiledGraph) -> list[str]:
    done = np.zeros(len(g.ops), dtype=bool)
    live, order = 0, []
    for _ in range(len(g.ops)):
        started, remaining = _tensor_state(g, done)
        best = None
        for i in range(len(g.ops)):
            if done[i] or any(not done[p] for p in g.preds[i]):
                continue
            step = _step_bytes(g, live, i, started)
            freed = sum(int(g.size[t]) for t in g.in_tensors[i] if remaining[t] == 1)
            key = (step, -freed, i)
            if best is None or key < best[0]:
                best = (key, i, step - freed - (int(g.size[g.weight_tensor[i]]) if g.weight_tensor[i] >= 0 else 0)
                        - (int(g.size[g.out_tensor[i]]) if g.is_sink[i] else 0))
        _, i, live = best
        done[i] = True
        order.append(g.ops[i])
    return order


def no_eviction_peak(graph: nx.DiGraph | CompiledGraph, order: Sequence[str]) -> int:
    """Peak footprint of ``order`` with unlimited, fragmentation-free memory (no eviction)."""
    g = compile_graph(graph)
    total = int(g.size.sum()) + 1
    return simulate(g, total, order, "belady", allocator="ideal").peak


@dataclass(frozen=True)
class Budgets:
    """COSMA's three scratchpad sizes: M_R (largest op's inputs + weights + output), M_P (minimum
    no-eviction peak over schedules) and M_H = (M_R + M_P) / 2."""

    m_r: int
    m_p: int
    m_h: int
    m_p_exact: bool


def budgets(graph: nx.DiGraph | CompiledGraph) -> Budgets:
    g = compile_graph(graph)
    m_r = max(g.op_footprint(i) for i in range(len(g.ops)))
    _, m_p, exact = min_peak_order(g)
    return Budgets(m_r, m_p, (m_r + m_p) // 2, exact)


# ---------------------------------------------------------------------------------------------- parameter face
def decode_order(graph: nx.DiGraph | CompiledGraph, priorities: np.ndarray) -> list[str]:
    """List scheduling: repeatedly run the ready op with the highest priority (ties: lower index)."""
    g = compile_graph(graph)
    pr = np.asarray(priorities, dtype=float)
    n = len(g.ops)
    if pr.ndim != 1 or len(pr) < n or not np.all(np.isfinite(pr)):
        raise ConfigError("priorities", f"must be a finite 1-D array of length >= {n}")
    left = np.array([len(p) for p in g.preds])
    ready = {i for i in range(n) if left[i] == 0}
    order = []
    succ = [[] for _ in range(n)]
    for i in range(n):
        for p in g.preds[i]:
            succ[p].append(i)
    while ready:
        i = max(ready, key=lambda j: (pr[j], -j))
        ready.remove(i)
        order.append(g.ops[i])
        for s in succ[i]:
            left[s] -= 1
            if left[s] == 0:
                ready.add(s)
    return order


def n_priorities(graph: nx.DiGraph | CompiledGraph) -> tuple[int, int]:
    """(length of an order-only vector, length of an order + keep-priority vector)."""
    g = compile_graph(graph)
    return len(g.ops), len(g.ops) + len(g.tensors)


def decode_priorities(graph: nx.DiGraph | CompiledGraph, capacity: int, priorities: np.ndarray,
                      allocator: str = "first_fit") -> tuple[list[str], list[str], Result]:
    """Decode a priority vector into (order, eviction choices, result).

    The first n_ops entries order the ready ops (list scheduling).  If the vector also has one
    *keep* priority per tensor (length n_ops + n_tensors), the victim is the candidate with the lowest
    keep priority; otherwise victims follow Belady's MIN on the decoded order."""
    g = compile_graph(graph)
    pr = np.asarray(priorities, dtype=float)
    n_order, n_full = n_priorities(g)
    if pr.ndim != 1 or len(pr) not in (n_order, n_full):
        raise ConfigError("priorities", f"length must be {n_order} (order) or {n_full} (order + keep)")
    order = decode_order(g, pr)
    if len(pr) == n_full:
        keep = pr[n_order:]
        res = simulate(g, capacity, order, lambda s, c: min(c, key=lambda t: (keep[t], t)), allocator)
    else:
        res = simulate(g, capacity, order, "belady", allocator)
    return order, res.evictions, res


# ---------------------------------------------------------------------------------------------- search
def brute_force(graph: nx.DiGraph | CompiledGraph, capacity: int, allocator: str = "first_fit",
                max_ops: int = 9) -> Result:
    """Exhaustive search over every topological order and every victim choice (tiny graphs only)."""
    import copy

    g = compile_graph(graph)
    if len(g.ops) > max_ops:
        raise ConfigError("graph", f"brute force is limited to {max_ops} operators, got {len(g.ops)}")
    best: list[Result | None] = [None]

    def better(r: Result) -> bool:
        b = best[0]
        return b is None or (r.feasible, -r.non_compulsory) > (b.feasible, -b.non_compulsory)

    def rec(sim: ScratchpadSim) -> None:
        if sim.done:
            r = sim.result()
            if better(r):
                best[0] = r
            return
        if sim.pending is not None:
            for c in sim.candidates():
                s2 = copy.deepcopy(sim)
                s2.evict(c)
                rec(s2)
            return
        for o in sim.ready_ops():
            s2 = copy.deepcopy(sim)
            s2.schedule(o)
            rec(s2)

    sim = ScratchpadSim(g, capacity, allocator)
    rec(sim)
    return best[0]


def local_search(graph: nx.DiGraph | CompiledGraph, capacity: int, evaluations: int = 2000, seed: int = 0,
                 allocator: str = "first_fit", init_orders: Sequence[Sequence[str]] = ()) -> Result:
    """A (1+1) evolution strategy with restarts over priority vectors (order priorities, Belady
    victims), seeded with the given orders; the stand-in for a registry agent at a fixed budget."""
    g = compile_graph(graph)
    rng = np.random.default_rng(seed)
    n = len(g.ops)

    def from_order(order: Sequence[str]) -> np.ndarray:
        pr = np.zeros(n)
        for k, o in enumerate(order):
            pr[g.op_index[o]] = n - k
        return pr

    def cost(r: Result) -> float:
        return r.non_compulsory if r.feasible else float("inf")

    starts = [from_order(o) for o in init_orders] or [from_order(default_order(g))]
    best_pr, best_res = None, None
    used = 0
    restart = 0
    while used < evaluations:
        pr = starts[restart % len(starts)].copy() if restart < len(starts) else rng.permutation(n).astype(float)
        restart += 1
        _, _, res = decode_priorities(g, capacity, pr, allocator)
        used += 1
        stall = 0
        while used < evaluations and stall < max(50, 4 * n):
            cand = pr.copy()
            k = rng.integers(1, 4)
            idx = rng.choice(n, size=min(k, n), replace=False)
            cand[idx] += rng.normal(0, max(1.0, n / 4), size=len(idx))
            _, _, r2 = decode_priorities(g, capacity, cand, allocator)
            used += 1
            if cost(r2) <= cost(res):
                stall = 0 if cost(r2) < cost(res) else stall + 1
                pr, res = cand, r2
            else:
                stall += 1
            if cost(res) == 0:
                break
        if best_res is None or cost(res) < cost(best_res):
            best_pr, best_res = pr, res
        if cost(best_res) == 0:
            break
    return best_res
