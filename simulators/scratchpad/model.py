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
  baseline), ``two_sided`` (per-tensor choice: lowest-address fit or highest-address fit, the
  classic trick of keeping long-lived tensors at the top), ``hinted`` (per-tensor target address
  hint h in [0, 1]: among the fitting gaps, the one whose nearest legal offset is closest to
  h * (capacity - size), the tensor pushed against that gap's edge nearest the target; h = 0 is
  first fit, h = 1 the high side of ``two_sided``, values between reach every gap edge),
  ``pinned`` (the hint is the address itself: offset round(h * (capacity - size)) when that range is
  free, so a tensor can sit in the middle of a hole, else ``hinted``'s nearest gap edge; its 65 levels
  reach every address of a scratchpad up to 64 B larger than the tensor, e.g. the ILP's mid-hole
  addresses on the tiny reachability graphs),
  ``ideal`` (capacity only, no fragmentation), ``explicit`` (the address of each tensor
  at each step where it is placed, given as {(tensor, step): address}: the ILP's allocation).
  Tensors never move while resident; fragmentation may force an eviction although the total free
  space suffices (counted in ``Result.fragmentation_evictions``).

Step API for environments::

    sim = ScratchpadSim(graph, capacity, allocator="first_fit")
    while not sim.done:
        status = sim.schedule(op in sim.ready_ops())      # "done" | "victim" | "place" | "infeasible"
        while status in ("victim", "place"):
            status = (sim.evict(tensor in sim.candidates()) if status == "victim"
                      else sim.place(level in sim.placement_options()))  # only with decided=...
    sim.result()
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from archgym.errors import ConfigError, DesignError
from archgym.simulators.scratchpad.graphs import validate_graph

ALLOCATORS = ("first_fit", "best_fit", "two_sided", "hinted", "pinned", "ideal", "explicit")
#: allocators whose placement takes per-tensor address hints, and the hint resolution of a placement decision
#: (``two_sided``: low/high; ``hinted``: targets 0, 1/8, ..., 1 of the free range; ``pinned``: 0, 1/64, ..., 1)
PLACEMENT_LEVELS = {"two_sided": 2, "hinted": 9, "pinned": 65}
#: allocators whose hints are floats in [0, 1] (``ScratchpadSim(hint=...)``)
FLOAT_HINT_ALLOCATORS = ("hinted", "pinned")
#: allocators where every placement of a tensor (a reload too) has a hint of its own; the others keep a
#: tensor's first hint for all its placements
REPLACING_ALLOCATORS = ("pinned",)


def placement_key(tensor: str, k: int) -> str:
    """The key of a placement hint in a design: the tensor's name for its first placement, ``name@k`` for
    its k-th (k >= 2, allocator ``pinned`` only)."""
    return tensor if k == 1 else f"{tensor}@{k}"


def split_placement_key(key: str) -> tuple[str, int]:
    """(tensor, k) of a placement key (see :func:`placement_key`); k = 1 for a plain tensor name."""
    name, at, k = key.rpartition("@")
    if at and k.isdigit() and int(k) >= 2:
        return name, int(k)
    return key, 1


@dataclass(frozen=True)
class Tensor:
    """One tensor of an operator graph: name, size in bytes, kind (input, activation, weight), producer, consumers."""

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

    def __init__(self, graph: nx.DiGraph | CompiledGraph, capacity: int, allocator: str = "first_fit",
                 placement: dict[tuple[str, int], int] | None = None, high: Sequence[bool] | np.ndarray | None = None,
                 hint: Sequence[float] | None = None, decided: Sequence[bool] | np.ndarray | None = None,
                 later_hints: dict[tuple[int, int], float] | None = None):
        """``decided`` (allocators with hints): which tensors' hints are fixed.  When given, placing an
        undecided tensor where the hint levels lead to more than one address stops with status "place"
        (answer with :meth:`place`), so a sequential agent chooses each tensor's hint at its first placement
        that has a choice; without it every hint is fixed.  ``later_hints`` (``pinned``): {(tensor, k): hint}
        of the tensor's k-th placement (k >= 2); with ``decided`` a later placement without one is a
        decision too, without it the tensor keeps its previous hint."""
        self.g = compile_graph(graph)
        if allocator not in ALLOCATORS:
            raise ConfigError("allocator", f"must be one of {ALLOCATORS}, got {allocator!r}")
        if (allocator == "explicit") != (placement is not None):
            raise ConfigError("placement", "give a (tensor, step) -> address dict exactly when allocator='explicit'")
        if (allocator == "two_sided") != (high is not None):
            raise ConfigError("high", "give one bool per tensor exactly when allocator='two_sided'")
        self.high = np.asarray(high if high is not None else [], dtype=bool)
        if allocator == "two_sided" and len(self.high) != len(self.g.tensors):
            raise ConfigError("high", f"needs {len(self.g.tensors)} entries, got {len(self.high)}")
        if (allocator in FLOAT_HINT_ALLOCATORS) != (hint is not None):
            raise ConfigError("hint", f"give one float in [0, 1] per tensor exactly when allocator is one of "
                                      f"{FLOAT_HINT_ALLOCATORS}")
        self.hint = np.asarray(hint if hint is not None else [], dtype=float)
        if allocator in FLOAT_HINT_ALLOCATORS and (len(self.hint) != len(self.g.tensors)
                                                   or not np.all((self.hint >= 0) & (self.hint <= 1))):
            raise ConfigError("hint", f"needs {len(self.g.tensors)} floats in [0, 1]")
        if decided is not None and allocator not in PLACEMENT_LEVELS:
            raise ConfigError("decided", f"placement decisions need an allocator of {tuple(PLACEMENT_LEVELS)}, "
                                         f"not {allocator!r}")
        self.decided = None if decided is None else np.array(decided, dtype=bool)
        if later_hints and allocator not in REPLACING_ALLOCATORS:
            raise ConfigError("later_hints", f"hints of later placements need an allocator of {REPLACING_ALLOCATORS}")
        self.later_hints = dict(later_hints or {})
        self.placing = False  # a placement decision is pending (for queue[0])
        self.placement = {(self.g.tensor_index[k], int(step)): int(v) for (k, step), v in (placement or {}).items()
                          if k in self.g.tensor_index}
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
        self.n_placed = np.zeros(len(g.tensors), dtype=np.int64)  # placements of each tensor so far
        self.order: list[int] = []
        self.evictions: list[str] = []
        self.compulsory = 0
        self.spill = 0
        self.reload = 0
        self.peak = 0
        self.frag_evictions = 0
        self.forced_resets = 0
        self.resetting = False  # the pending op's working set is being re-placed after a forced reset
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
        return [self.g.tensors[t].name for t in self.candidate_indices()]

    def candidate_indices(self) -> list[int]:
        """Indices of the tensors that may be evicted for the pending allocation."""
        if self.pending is None or self.placing:
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
        """Start op; returns 'done' (it ran), 'victim' (choose an eviction), 'place' (choose a placement
        hint, only with ``decided``) or 'infeasible'."""
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
        if t not in self.candidate_indices():
            raise DesignError(f"'{tensor}' is not an eviction candidate; candidates: {self.candidates()}")
        if self.g.tensors[t].kind == "activation" and not self.in_dram[t]:
            self.spill += int(self.g.size[t])
            self.in_dram[t] = True
        self._release(t)
        self.evictions.append(tensor)
        return self._advance()

    def placement_options(self) -> list[int]:
        """While a placement decision is pending: the hint levels worth choosing, one per distinct address
        (the lowest level leading to it), in increasing level."""
        return list(self.placement_addresses())

    def placement_addresses(self) -> dict[int, int]:
        """While a placement decision is pending: {level: address} of :meth:`placement_options`."""
        return self._level_offsets(self.queue[0]) if self.placing else {}

    def placement_key(self) -> str:
        """While a placement decision is pending: the design key its hint is stored under."""
        return placement_key(self.g.tensors[self.queue[0]].name, self._later_placement())

    def _later_placement(self) -> int:
        """k of the pending tensor's k-th placement where it has a hint of its own (``pinned``), else 1."""
        return int(self.n_placed[self.queue[0]]) + 1 if self.allocator in REPLACING_ALLOCATORS else 1

    def place(self, level: int) -> str:
        """Answer the pending placement decision with a hint level (0 .. PLACEMENT_LEVELS - 1); the hint holds
        for the tensor's later placements (``pinned``: until a later placement is decided).  Continues the
        pending op like ``evict``."""
        if level not in self.placement_options():
            raise DesignError(f"placement level {level} is not an option here; options: {self.placement_options()}")
        return self._answer(level / (PLACEMENT_LEVELS[self.allocator] - 1))

    def place_default(self, plan: dict[tuple[int, int], float] | None = None) -> tuple[float, str]:
        """Answer the pending placement decision as the default policy does: the hint ``plan`` gives this
        placement {(tensor, k): hint} (``pinned``: a packed layout, see ``layout.packed_hints``), else hint 0
        at a tensor's first placement and its previous hint at a later one.  Returns (the hint, the status)."""
        t, k = self.queue[0], self._later_placement()
        h = (plan or {}).get((t, k), float(self.hint[t]) if k > 1 else 0.0)
        return h, self._answer(h)

    def _answer(self, h: float) -> str:
        assert self.decided is not None and self.placing
        t = self.queue[0]
        if self.allocator == "two_sided":
            self.high[t] = h >= 0.5
        else:
            self.hint[t] = h
        k = self._later_placement()
        if k > 1:
            self.later_hints[t, k] = h
        else:
            self.decided[t] = True
        self.placing = False
        return self._advance()

    def _asks_placement(self, t: int) -> bool:
        """Whether placing tensor t now is a decision (and, for a later ``pinned`` placement with a hint of
        its own, take that hint): its hint is open and the levels lead to more than one address."""
        k = int(self.n_placed[t]) + 1
        if k > 1 and self.allocator in REPLACING_ALLOCATORS:
            if (t, k) in self.later_hints:
                self.hint[t] = self.later_hints[t, k]
                return False
            return self.decided is not None and len(self._level_offsets(t)) > 1
        return self.decided is not None and not self.decided[t] and len(self._level_offsets(t)) > 1

    def _level_offsets(self, t: int) -> dict[int, int]:
        """{level: offset} of the levels leading to distinct addresses for tensor t (none if it fits nowhere)."""
        levels = PLACEMENT_LEVELS[self.allocator]
        out: dict[int, int] = {}
        if self.allocator in FLOAT_HINT_ALLOCATORS:  # the free gaps once, then each level's offset from them
            size = int(self.g.size[t])
            gaps = self._fitting_gaps(size)
            for level in range(levels):
                off = self._hinted_offset(gaps, size, level / (levels - 1))
                if off is not None and off not in out.values():
                    out[level] = off
            return out
        saved = self.high[t]
        for level in range(levels):
            self.high[t] = level == 1
            off = self._place(t)
            if off is not None and off not in out.values():
                out[level] = off
        self.high[t] = saved
        return out

    def drop(self, tensor: str) -> None:
        """Evict a resident tensor between two ops, before space runs short (an ILP's early drop); a dirty
        activation still needed is written back, as with ``evict``.  Not an eviction decision of the design."""
        if self.pending is not None:
            raise DesignError("drop() is for between two ops; a victim decision is pending")
        t = self.g.tensor_index.get(tensor, -1)
        if t not in self.offset:
            raise DesignError(f"'{tensor}' is not resident")
        if self.g.tensors[t].kind == "activation" and not self.in_dram[t]:
            self.spill += int(self.g.size[t])
            self.in_dram[t] = True
        self._release(t)

    # ------------------------------------------------------------------ internals
    def _place(self, t: int) -> int | None:
        size = int(self.g.size[t])
        if self.allocator == "ideal":
            return -1 if self.used + size <= self.capacity else None
        if self.allocator == "explicit":
            off = self.placement.get((t, len(self.order) + 1))
            if off is None or off < 0 or off + size > self.capacity:
                raise DesignError(f"placement of '{self.g.tensors[t].name}' missing or out of range")
            return off if self._is_free(off, size) else None
        if self.allocator in FLOAT_HINT_ALLOCATORS:
            return self._hinted_offset(self._fitting_gaps(size), size, float(self.hint[t]))
        best, best_gap, cur = None, None, 0
        for off, sz, _ in [*self.blocks, (self.capacity, 0, -1)]:
            gap = off - cur
            if gap >= size:
                if self.allocator == "first_fit" or (self.allocator == "two_sided" and not self.high[t]):
                    return cur
                if self.allocator == "two_sided":
                    best = off - size  # top of the highest fitting gap (last one wins)
                elif best_gap is None or gap < best_gap:
                    best, best_gap = cur, gap
            cur = max(cur, off + sz)
        return best

    def _is_free(self, off: int, size: int) -> bool:
        """Whether [off, off + size) overlaps no resident tensor."""
        return all(o + sz <= off or off + size <= o for o, sz, _ in self.blocks)

    def _fitting_gaps(self, size: int) -> list[tuple[int, int]]:
        """(lowest, highest) legal offset of every free gap that fits ``size``, in address order."""
        out, cur = [], 0
        for off, sz, _ in [*self.blocks, (self.capacity, 0, -1)]:
            if off - cur >= size:
                out.append((cur, off - size))
            cur = max(cur, off + sz)
        return out

    def _hinted_offset(self, gaps: list[tuple[int, int]], size: int, h: float) -> int | None:
        """Where hint h puts a tensor of ``size`` given the fitting gaps: ``hinted``, the edge nearest the
        target h * (capacity - size) of the gap nearest it (ties: lower address); ``pinned``, the target
        itself, rounded, when that range is free, else the same edge.  After a forced reset ``pinned`` takes
        edges only: an edge placement never splits a hole, so the working set re-placed into the empty
        scratchpad always fits; a mid-hole one might not."""
        if self.allocator == "pinned":
            target: float = round(h * (self.capacity - size))
            if not self.resetting and any(lo <= target <= hi for lo, hi in gaps):
                return int(target)
        else:
            target = h * (self.capacity - size)
        best, best_d = None, None
        for lo, hi in gaps:
            d = abs(min(max(target, lo), hi) - target)
            if best_d is None or d < best_d:
                best, best_d = (lo if abs(lo - target) <= abs(hi - target) else hi), d
        return best

    def copy(self) -> ScratchpadSim:
        """An independent copy of the current state (the compiled graph is shared, read-only)."""
        new = object.__new__(ScratchpadSim)
        new.__dict__.update(self.__dict__)
        for name in ("in_dram", "loaded_once", "remaining", "last_use", "n_pred_left", "executed", "hint", "high",
                     "n_placed"):
            setattr(new, name, getattr(self, name).copy())
        for name in ("offset", "blocks", "order", "evictions", "queue", "protected", "later_hints"):
            setattr(new, name, type(getattr(self, name))(getattr(self, name)))
        new.future = list(self.future) if self.future is not None else None
        new.decided = self.decided.copy() if self.decided is not None else None
        return new

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
        self.resetting = True
        assert self.pending is not None  # a reset happens only while placing the pending op's tensors
        self.queue = [t for t in self.g.working_set[self.pending] if t not in self.offset]

    def _advance(self) -> str:
        g = self.g
        step = len(self.order) + 1
        while self.queue:
            t = self.queue[0]
            size = int(g.size[t])
            if self._asks_placement(t):
                self.placing = True
                return "place"
            off = self._place(t)
            if off is None:
                if self.capacity - self.used >= size:
                    self.frag_evictions += 1
                if self.candidate_indices():
                    return "victim"
                self._reset_working_set()
                continue
            self.queue.pop(0)
            self.offset[t] = off
            self.n_placed[t] += 1
            self.used += size
            if off >= 0:
                bisect.insort(self.blocks, (off, size, t))
            assert self.pending is not None
            if g.out_tensor[self.pending] != t:  # a load from DRAM
                if g.tensors[t].kind != "activation" and not self.loaded_once[t]:
                    self.compulsory += size
                else:
                    self.reload += size
                self.loaded_once[t] = True
        # execute
        i = self.pending
        assert i is not None
        self.resetting = False
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


def belady_fit(sim: ScratchpadSim, cands: list[int]) -> int:
    """Size-aware Belady: if some candidates alone cover the byte deficit of the pending placement,
    evict the one of them reused farthest in the future; otherwise plain Belady."""
    need = int(sim.g.size[sim.queue[0]]) - (sim.capacity - sim.used) if sim.queue else 0
    fits = [t for t in cands if sim.g.size[t] >= need]
    return belady(sim, fits or cands)


def cheapest_fit(sim: ScratchpadSim, cands: list[int]) -> int:
    """The cheapest single eviction that covers the byte deficit: cost = the reload (if the tensor is used
    again) plus the write-back (a dirty activation used again); ties go to Belady.  Where no candidate
    covers it alone, plain Belady.  (Belady evicts the farthest-reused tensor even when it is too small,
    and then a second one: two evictions where one suffices.)"""
    need = int(sim.g.size[sim.queue[0]]) - (sim.capacity - sim.used) if sim.queue else 0
    fits = [t for t in cands if sim.g.size[t] >= need]
    if not fits:
        return belady(sim, cands)

    def cost(t: int) -> int:
        if sim.next_use(t) >= 10**9:
            return 0
        dirty = sim.g.tensors[t].kind == "activation" and not sim.in_dram[t]
        return int(sim.g.size[t]) * (2 if dirty else 1)

    return min(fits, key=lambda t: (cost(t), -sim.next_use(t), not sim.in_dram[t], -int(sim.g.size[t]), t))


def lru(sim: ScratchpadSim, cands: list[int]) -> int:
    """Least recently used (loaded, produced or read)."""
    return min(cands, key=lambda t: (sim.last_use[t], t))


POLICIES: dict[str, Policy] = {"belady": belady, "belady_fit": belady_fit, "cheapest_fit": cheapest_fit, "lru": lru}


def ranked(policy: Policy, sim: ScratchpadSim, cands: list[int]) -> list[int]:
    """The candidates in the order ``policy`` would evict them (its choice first)."""
    rest, out = list(cands), []
    while rest:
        out.append(policy(sim, rest))
        rest.remove(out[-1])
    return out


def run_order(sim: ScratchpadSim, order: Sequence[str], victim: Policy,
              before: Callable[[ScratchpadSim], None] | None = None) -> Result:
    """Drive ``sim`` through ``order`` with a victim policy (called with candidate tensor indices);
    ``before(sim)`` runs ahead of each op (e.g. to ``drop`` what an ILP schedule no longer keeps)."""
    sim.future = [sim.g.op_index.get(o, -1) for o in order]
    for o in order:
        if sim.done:
            break
        if o not in sim.ready_ops():
            sim.failed = f"operator '{o}' is not ready at step {len(sim.order)} (order violates dependences)"
            break
        if before is not None:
            before(sim)
        status = sim.schedule(o)
        while status == "victim":
            status = sim.evict(sim.g.tensors[victim(sim, sim.candidate_indices())].name)
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
                cand = (max(peak, step), new_live, (*order, i))
                m2 = mask | (1 << i)
                if m2 not in nxt or cand[0] < nxt[m2][0]:
                    nxt[m2] = cand
        frontier = nxt
        if len(frontier) > max_states:
            exact = False
            break
    if exact:
        (peak, _, best_order), = frontier.values()
        return [g.ops[i] for i in best_order], int(peak), True
    greedy = _greedy_min_peak(g)
    return greedy, no_eviction_peak(g, greedy), False


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
        best: Any = None
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
    succ: list[list[int]] = [[] for _ in range(n)]
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


def n_priorities(graph: nx.DiGraph | CompiledGraph) -> tuple[int, int, int]:
    """Accepted vector lengths: order only; order + placement side; order + side + keep priority."""
    g = compile_graph(graph)
    n, k = len(g.ops), len(g.tensors)
    return n, n + k, n + 2 * k


def decode_priorities(graph: nx.DiGraph | CompiledGraph, capacity: int, priorities: np.ndarray,
                      allocator: str = "first_fit", eviction: str = "belady") -> tuple[list[str], list[str], Result]:
    """Decode a priority vector into (order, eviction choices, result).

    Entries [0, n_ops): list-scheduling priorities of the ops.  Optional [n_ops, n_ops + n_tensors):
    placement side per tensor (> 0: highest-address fit, else lowest; switches to the ``two_sided``
    allocator).  Optional last n_tensors: keep priorities (the victim is the candidate with the
    lowest one); without them victims follow ``eviction`` (a POLICIES name) on the decoded order."""
    g = compile_graph(graph)
    pr = np.asarray(priorities, dtype=float)
    lengths = n_priorities(g)
    if pr.ndim != 1 or len(pr) not in lengths or not np.all(np.isfinite(pr)):
        raise ConfigError("priorities", f"must be a finite 1-D array of length in {lengths}")
    order = decode_order(g, pr)
    n, k = len(g.ops), len(g.tensors)
    high = pr[n:n + k] > 0 if len(pr) > n else None
    sim = ScratchpadSim(g, capacity, "two_sided" if high is not None else allocator, high=high)
    if len(pr) == lengths[2]:
        keep = pr[n + k:]
        res = run_order(sim, order, lambda s, c: min(c, key=lambda t: (keep[t], t)))
    else:
        if eviction not in POLICIES:
            raise ConfigError("eviction", f"must be one of {sorted(POLICIES)}")
        res = run_order(sim, order, POLICIES[eviction])
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
    assert best[0] is not None  # every complete schedule is a candidate
    return best[0]


def ranked_belady(overrides: dict[int, int], base: Policy = belady) -> Policy:
    """Belady-family policy that, at victim decision k, takes the overrides[k]-th best candidate
    (0 = the base policy's choice) instead: a compact genome for non-Belady eviction sequences."""

    def policy(sim: ScratchpadSim, cands: list[int]) -> int:
        rank = overrides.get(len(sim.evictions), 0)
        if rank == 0 or len(cands) == 1:
            return base(sim, cands)
        ordered = sorted(cands, key=lambda t: (sim.next_use(t), sim.in_dram[t], sim.g.size[t], -t), reverse=True)
        return ordered[min(rank, len(ordered) - 1)]

    return policy


def local_search(graph: nx.DiGraph | CompiledGraph, capacity: int, evaluations: int = 2000, seed: int = 0,
                 allocator: str = "first_fit", init_orders: Sequence[Sequence[str]] = ()) -> Result:
    """Fixed-budget search, the stand-in for a registry agent.  Phase 1 (60% of the evaluations): a
    (1+1) evolution strategy with restarts over priority vectors (op order + placement side; each
    vector decoded with Belady and size-aware Belady victims).  Phase 2: from the best vector,
    mutate individual victim decisions (``ranked_belady`` overrides) and the order."""
    g = compile_graph(graph)
    rng = np.random.default_rng(seed)
    n = len(g.ops)
    dim = n + len(g.tensors)

    def from_order(order: Sequence[str]) -> np.ndarray:
        pr = np.full(dim, -1.0)
        for k, o in enumerate(order):
            pr[g.op_index[o]] = n - k
        return pr

    def cost(r: Result) -> float:
        return r.non_compulsory if r.feasible else float("inf")

    def sim_for(pr: np.ndarray) -> ScratchpadSim:
        if np.all(pr[n:] < 0):
            return ScratchpadSim(g, capacity, allocator)
        return ScratchpadSim(g, capacity, "two_sided", high=pr[n:] > 0)

    def evaluate(pr: np.ndarray, base: Policy, overrides: dict[int, int]) -> Result:
        return run_order(sim_for(pr), decode_order(g, pr), ranked_belady(overrides, base))

    def mutate_order(pr: np.ndarray) -> np.ndarray:
        cand = pr.copy()
        if rng.random() < 0.5:
            idx = rng.choice(n, size=min(int(rng.integers(1, 4)), n), replace=False)
            cand[idx] += rng.normal(0, max(1.0, n / 4), size=len(idx))
        else:
            j = n + int(rng.integers(dim - n))
            cand[j] = -cand[j]
        return cand

    starts = [from_order(o) for o in init_orders] or [from_order(default_order(g))]
    best: Any = (None, belady, None)  # (vector, base policy, result)
    used, restart = 0, 0
    phase1 = int(0.6 * evaluations)
    while used < phase1:
        if restart < len(starts):
            pr = starts[restart].copy()
        else:
            pr = np.concatenate([rng.permutation(n).astype(float), rng.choice([-1.0, 1.0], dim - n)])
        restart += 1
        cur = min(((b, evaluate(pr, b, {})) for b in (belady, belady_fit)), key=lambda x: cost(x[1]))
        used += 2
        stall = 0
        while used < phase1 and stall < max(50, 4 * n) and cost(cur[1]) > 0:
            cand = mutate_order(pr)
            r2 = min(((b, evaluate(cand, b, {})) for b in (belady, belady_fit)), key=lambda x: cost(x[1]))
            used += 2
            stall = 0 if cost(r2[1]) < cost(cur[1]) else stall + 1
            if cost(r2[1]) <= cost(cur[1]):
                pr, cur = cand, r2
        if best[2] is None or cost(cur[1]) < cost(best[2]):
            best = (pr, cur[0], cur[1])
        if cost(best[2]) == 0:
            return best[2]
    pr, base, res = best
    overrides: dict[int, int] = {}
    while used < evaluations and cost(res) > 0:
        cand_pr, cand_ov = pr, dict(overrides)
        n_dec = max(1, len(res.evictions))
        if rng.random() < 0.7:
            k = int(rng.integers(n_dec))
            cand_ov[k] = int(rng.integers(0, 4))
        else:
            cand_pr = mutate_order(pr)
        trial = evaluate(cand_pr, base, cand_ov)
        used += 1
        if cost(trial) <= cost(res):
            pr, overrides, res = cand_pr, cand_ov, trial
    return res
