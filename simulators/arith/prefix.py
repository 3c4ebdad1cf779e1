"""Parallel-prefix adder graphs, their legalization, classical constructors and analytical cost.

A prefix graph of width ``n`` is the PrefixRL grid (Roy et al., "PrefixRL: Optimization of Parallel
Prefix Circuits using Deep Reinforcement Learning", DAC 2021; also ArithTreeRL, Lai et al., NeurIPS
2024): node ``(i, j)`` (msb ``i`` > lsb ``j``) computes the group generate/propagate of bits
``i..j``; the diagonal ``(i, i)`` holds the inputs and the column ``(i, 0)`` the carries.

Legality.  A node's *upper parent* is ``(i, k)`` with ``k`` the smallest lsb above ``j`` present in
row ``i`` (the input ``(i, i)`` if none), its *lower parent* is ``(k - 1, j)``; the graph is legal when
every lower parent exists.  Legalization adds missing lower parents (recursively; they lie in lower
rows), exactly like ArithTreeRL's ``State.legalize`` (FCHXWH823/ArithTreeRL, adder.py), which walks the
rows from the msb down and sets ``cell_map[last_y - 1, y] = 1``.  ArithTreeRL does not prune nodes that
a deletion leaves unused (its removal step is ``cell_map[x, y] = 0`` followed by ``legalize``), and we
follow it: ``delete`` only removes the node (and may add the lower parent its row neighbour now needs).
Deleting a node that is the lower parent of another node would be undone by legalization, so such nodes
are not deletable: the deletable set is ArithTreeRL's ``min_map`` (the "minlist" of the PrefixRL paper).
Outputs ``(i, 0)`` and inputs are never deletable.

Speed.  Graphs are immutable; ``add``/``delete`` copy the state (a few dict copies) and update only the
affected nodes: per-row sorted lsb tuples find the changed neighbours, lower-parent consumer lists give
the fanout and the successors, and levels/arrival times are re-propagated through a heap in
topological order ``(msb ascending, lsb descending)`` only while they change.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from archgym.errors import ConfigError, DesignError, UnknownNameError
from archgym.simulators.arith.cells import AND2, BLACK, FANOUT_DELAY, GREY, XOR2

CLASSICAL: tuple[str, ...] = (
    "ripple", "sklansky", "kogge_stone", "brent_kung", "han_carlson", "ladner_fischer",
)

MAX_WIDTH = 2048  # the nodemap is n x n; larger widths are not a meaningful adder design space

# Pre-processing delay of bit i: p = a ^ b (XOR2) is later than g = a & b (AND2).
_PRE_DELAY = max(AND2.delay, XOR2.delay)
# Bit 0 with a carry-in: g0 = a0 & b0 | p0 & cin, one AO21 (a GREY cell) after p0.
_PRE_DELAY_CIN = XOR2.delay + GREY.delay


def _check_width(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ConfigError("width", f"must be an integer, got {n!r}")
    if not 2 <= int(n) <= MAX_WIDTH:
        raise ConfigError("width", f"must be in [2, {MAX_WIDTH}], got {n}")
    return int(n)


def _check_node(n: int, node: Any, what: str = "node") -> tuple[int, int]:
    try:
        i, j = node
    except (TypeError, ValueError):
        raise DesignError(f"invalid prefix {what} {node!r}: expected a pair (msb, lsb)") from None
    for v in (i, j):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise DesignError(f"invalid prefix {what} {node!r}: msb and lsb must be integers")
    i, j = int(i), int(j)
    if j < 0:
        raise DesignError(f"invalid prefix {what} ({i}, {j}): lsb must be >= 0")
    if i >= n:
        raise DesignError(f"invalid prefix {what} ({i}, {j}): msb must be < width {n}")
    if i <= j:
        raise DesignError(f"invalid prefix {what} ({i}, {j}): msb must be greater than lsb")
    return i, j


def _legal_rows(n: int, nodes: Iterable[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Row-wise sorted lsbs of the legalized closure of ``nodes`` plus all outputs (i, 0)."""
    rows: list[set[int]] = [set() for _ in range(n)]
    for i in range(1, n):
        rows[i].add(0)
    for node in nodes:
        i, j = _check_node(n, node)
        rows[i].add(j)
    # ArithTreeRL order: msb descending; every missing lower parent lies in a lower row, visited later.
    for i in range(n - 1, 0, -1):
        last = i
        for j in sorted(rows[i], reverse=True):
            if last - 1 > j:
                rows[last - 1].add(j)
            last = j
    return [tuple(sorted(r)) for r in rows]


class PrefixGraph:
    """A legal parallel-prefix graph of width ``n`` with incrementally maintained cost metrics.

    The metrics kept up to date are those of ``analytical_metrics(g)`` with default arguments
    (all arrival times zero, carry-in present).  Internally node (i, j) has the id
    ``i * n + (n - 1 - j)``, so ascending ids are a topological order (msb ascending, lsb descending).
    """

    __slots__ = (
        "_arrays",
        "_cons",
        "_depth",
        "_fo_hist",
        "_lt",
        "_lvl_hist",
        "_max_fo",
        "_nodes",
        "_out",
        "_rows",
        "_size",
        "_split",
        "n",
    )

    def __init__(self, n: int, nodes: Iterable[tuple[int, int]] = ()):
        n = _check_width(n)
        self.n = n
        self._rows = _legal_rows(n, nodes)
        self._build()

    # ----------------------------------------------------------------------------------------
    # node ids
    def _id(self, i: int, j: int) -> int:
        return i * self.n + self.n - 1 - j

    def _ij(self, x: int) -> tuple[int, int]:
        i, r = divmod(x, self.n)
        return i, self.n - 1 - r

    # ----------------------------------------------------------------------------------------
    # construction from scratch
    def _build(self) -> None:
        n, m = self.n, self.n - 1
        split: dict[int, int] = {}
        cons: dict[int, tuple[int, ...]] = {}
        for i in range(1, n):
            row = self._rows[i]
            for p, j in enumerate(row):
                k = row[p + 1] if p + 1 < len(row) else i
                x = i * n + m - j
                split[x] = k
                lo = (k - 1) * n + m - j
                cons[lo] = (*cons.get(lo, ()), x)
        self._split = split
        self._cons = cons
        self._size = len(split)
        level: dict[int, int] = {}
        lvl_hist = [0] * (n + 1)
        for i in range(n):
            level[i * n + m - i] = 0
            for j in reversed(self._rows[i]):
                x = i * n + m - j
                k = split[x]
                lv = 1 + max(level[i * n + m - k], level[(k - 1) * n + m - j])
                level[x] = lv
                lvl_hist[lv] += 1
        self._lvl_hist = lvl_hist
        fo_hist = [0] * (n + 4)
        for x in level:
            fo_hist[self._fanout(x)] += 1
        self._fo_hist = fo_hist
        time, self._out = self._timing(None, True)
        self._lt = {x: (lv, time[x]) for x, lv in level.items()}  # (level, arrival time) per node
        self._depth = self._top(lvl_hist, n)
        self._max_fo = self._top(fo_hist, n + 3)
        self._nodes: frozenset[tuple[int, int]] | None = None
        self._arrays: dict[str, np.ndarray] | None = None

    @staticmethod
    def _top(hist: list[int], start: int) -> int:
        for v in range(min(start, len(hist) - 1), -1, -1):
            if hist[v]:
                return v
        return 0

    def _fanout(self, x: int) -> int:
        """Loads on node ``x``: lower-parent consumers plus one fixed load (two for inputs).

        Fixed loads: a non-trivial node (i, j>0) drives its row neighbour as upper parent; a carry (i, 0)
        drives the sum XOR of bit i+1 (or the ``cout`` port); an input (i, i) drives the upper-parent
        input of row i (i >= 1) and, through p_i, the sum XOR of bit i.
        """
        i, j = self._ij(x)
        base = 2 if (i == j and i >= 1) else 1
        return base + len(self._cons.get(x, ()))

    @staticmethod
    def _input_delay(i: int, cin: bool) -> float:
        """Pre-processing delay of bit i: p = a ^ b; bit 0 with a carry-in adds the AO21 g0 = g | p & cin."""
        return _PRE_DELAY_CIN if (i == 0 and cin) else _PRE_DELAY

    def _timing(self, arrival: Sequence[float] | None, cin: bool) -> tuple[dict[int, float], list[float]]:
        """Arrival times of all nodes (G and P share the later of their times) and of all sum bits.

        The incremental ``_propagate`` evaluates the same formulas for the default arguments.
        """
        n, m = self.n, self.n - 1
        time: dict[int, float] = {}
        for i in range(n):
            t0 = 0.0 if arrival is None else float(arrival[i])
            x = i * n + m - i
            time[x] = t0 + self._input_delay(i, cin) + FANOUT_DELAY * (self._fanout(x) - 1)
            for j in reversed(self._rows[i]):
                x = i * n + m - j
                k = self._split[x]
                tu, tl = time[i * n + m - k], time[(k - 1) * n + m - j]
                cell = GREY.delay if j == 0 else BLACK.delay
                time[x] = max(tu, tl) + cell + FANOUT_DELAY * (self._fanout(x) - 1)
        out = [self._sum_time(i, time, arrival, cin) for i in range(n)]
        return time, out

    def _sum_time(
        self, i: int, time: Mapping[int, float], arrival: Sequence[float] | None, cin: bool
    ) -> float:
        """Arrival time of ``sum[i]`` = p_i ^ carry_i (carry_0 = cin; sum_0 = p_0 without cin)."""
        n, m = self.n, self.n - 1
        if i == 0:
            t0 = 0.0 if arrival is None else float(arrival[0])
            tp = t0 + XOR2.delay + FANOUT_DELAY * (self._fanout(m) - 1)
            return tp + XOR2.delay if cin else tp
        return max(time[i * n + m - i], time[(i - 1) * n + m]) + XOR2.delay

    # ----------------------------------------------------------------------------------------
    # incremental editing
    def _clone(self) -> PrefixGraph:
        g = object.__new__(PrefixGraph)
        g.n = self.n
        g._rows = self._rows.copy()
        g._split = self._split.copy()
        g._cons = self._cons.copy()
        g._lt = self._lt.copy()
        g._out = self._out.copy()
        g._lvl_hist = self._lvl_hist.copy()
        g._fo_hist = self._fo_hist.copy()
        g._size = self._size
        g._depth = self._depth
        g._max_fo = self._max_fo
        g._nodes = None
        g._arrays = None
        return g

    def _link(self, lo: int, x: int) -> None:
        """Record that ``x`` uses ``lo`` as lower parent (fanout histogram included)."""
        c = self._cons.get(lo, ())
        fo = len(c) + (1 if (lo in self._split or lo == self.n - 1) else 2)  # == self._fanout(lo)
        self._fo_hist[fo] -= 1
        self._fo_hist[fo + 1] += 1
        self._cons[lo] = (*c, x)

    def _unlink(self, lo: int, x: int) -> None:
        c = self._cons[lo]
        fo = len(c) + (1 if (lo in self._split or lo == self.n - 1) else 2)  # == self._fanout(lo)
        self._fo_hist[fo] -= 1
        self._fo_hist[fo - 1] += 1
        p = c.index(x)
        self._cons[lo] = c[:p] + c[p + 1:]

    def _ensure(self, i: int, j: int, dirty: set[int]) -> int:
        """Id of node (i, j), inserting it (legalized) if it is missing."""
        x = i * self.n + self.n - 1 - j
        if i > j and x not in self._split:
            self._insert(i, j, dirty)
        return x

    def _insert(self, i: int, j: int, dirty: set[int]) -> None:
        n, m = self.n, self.n - 1
        row = self._rows[i]
        p = bisect_left(row, j)
        k = row[p] if p < len(row) else i
        self._rows[i] = (*row[:p], j, *row[p:])
        x = i * n + m - j
        self._split[x] = k
        self._size += 1
        self._fo_hist[1] += 1
        lo = self._ensure(k - 1, j, dirty)
        self._link(lo, x)
        # The next smaller lsb of the row now has (i, j) as upper parent and needs (j - 1, jm).
        jm = row[p - 1]
        y = i * n + m - jm
        old = (k - 1) * n + m - jm
        self._unlink(old, y)
        new = self._ensure(j - 1, jm, dirty)
        self._link(new, y)
        self._split[y] = j
        dirty.update((x, lo, old, new, y))

    def _remove(self, i: int, j: int, dirty: set[int]) -> None:
        n, m = self.n, self.n - 1
        row = self._rows[i]
        p = bisect_left(row, j)
        k = row[p + 1] if p + 1 < len(row) else i
        jm = row[p - 1]
        self._rows[i] = row[:p] + row[p + 1:]
        x = i * n + m - j
        lo = (k - 1) * n + m - j
        self._unlink(lo, x)
        y = i * n + m - jm
        old = (j - 1) * n + m - jm
        self._unlink(old, y)
        new = self._ensure(k - 1, jm, dirty)
        self._link(new, y)
        self._split[y] = k
        del self._split[x]
        self._cons.pop(x, None)
        self._fo_hist[1] -= 1
        self._lvl_hist[self._lt.pop(x)[0]] -= 1
        self._size -= 1
        dirty.update((lo, old, new, y))

    def _propagate(self, dirty: set[int]) -> None:
        """Recompute (level, time) of ``dirty`` nodes and, while they change, of their successors.

        Hot loop of every edit: it inlines the default-argument formulas of ``_fanout``, ``_timing``
        and ``_sum_time`` (tests compare it with a from-scratch rebuild).  Ids ascend topologically,
        so a heap pops every node after its parents; duplicates pop consecutively and are skipped.
        """
        n, m = self.n, self.n - 1
        lt, split, cons = self._lt, self._split, self._cons
        rows, out = self._rows, self._out
        lvl_hist = self._lvl_hist
        heap = list(dirty)
        heapq.heapify(heap)
        pop, push = heapq.heappop, heapq.heappush
        fd, grey, black, xor = FANOUT_DELAY, GREY.delay, BLACK.delay, XOR2.delay
        t_in0, t_in = _PRE_DELAY_CIN, _PRE_DELAY + FANOUT_DELAY  # inputs i >= 1 carry one more fixed load
        lt_get, cons_get, split_get = lt.get, cons.get, split.get
        max_lv = 0
        last = -1
        while heap:
            x = pop(heap)
            if x == last:
                continue
            last = x
            i = x // n
            r = x - i * n
            j = m - r
            c = cons_get(x, ())
            k = split_get(x)
            if k is None:  # input (i, i)
                t = (t_in if i else t_in0) + fd * len(c)
                if t == lt[x][1]:
                    continue
                lt[x] = (0, t)
                if i:
                    tc = lt[x - n + i][1]  # carry (i - 1, 0)
                    out[i] = (t if t > tc else tc) + xor
                else:
                    out[0] = XOR2.delay + fd * len(c) + xor
                row = rows[i]
                if row:
                    push(heap, x + i - row[-1])  # the row's largest lsb uses the input as upper parent
            else:
                u = x + j - k
                lo = (k - 1) * n + r
                lu, tu = lt[u]
                ll, tl = lt[lo]
                lv = lu + 1 if lu > ll else ll + 1
                t = (tu if tu > tl else tl) + (black if j else grey) + fd * len(c)
                old = lt_get(x)
                if old is None:
                    lvl_hist[lv] += 1
                    if lv > max_lv:
                        max_lv = lv
                elif lv == old[0]:
                    if t == old[1]:
                        continue
                else:
                    lvl_hist[old[0]] -= 1
                    lvl_hist[lv] += 1
                    if lv > max_lv:
                        max_lv = lv
                lt[x] = (lv, t)
                if j:
                    row = rows[i]
                    push(heap, x + j - row[bisect_left(row, j) - 1])  # row neighbour (i, jm)
                elif i < m:
                    tp = lt[x + n - i - 1][1]  # input (i + 1, i + 1)
                    out[i + 1] = (t if t > tp else tp) + xor
            for y in c:
                push(heap, y)
        if max_lv >= self._depth:
            self._depth = max_lv
        elif not lvl_hist[self._depth]:
            self._depth = self._top(lvl_hist, self._depth)
        self._max_fo = self._top(self._fo_hist, n + 3)

    # ----------------------------------------------------------------------------------------
    # public API
    def has(self, i: int, j: int) -> bool:
        """True for present prefix nodes and for the inputs (i, i)."""
        if not (0 <= j <= i < self.n):
            return False
        return i == j or self._id(i, j) in self._split

    def can_add(self, i: int, j: int) -> bool:
        return 0 <= j < i < self.n and self._id(i, j) not in self._split

    def can_delete(self, i: int, j: int) -> bool:
        """Present, not an output (lsb 0), and not the lower parent of another node (minlist)."""
        if not (0 < j < i < self.n):
            return False
        x = self._id(i, j)
        return x in self._split and not self._cons.get(x)

    def add(self, i: int, j: int) -> PrefixGraph:
        """New legal graph with node (i, j) added (and the lower parents legalization requires)."""
        i, j = _check_node(self.n, (i, j))
        if self._id(i, j) in self._split:
            raise DesignError(f"cannot add prefix node ({i}, {j}): it is already present")
        g = self._clone()
        dirty: set[int] = set()
        g._insert(i, j, dirty)
        g._propagate(dirty)
        return g

    def delete(self, i: int, j: int) -> PrefixGraph:
        """New legal graph without node (i, j); redundant nodes are kept (as PrefixRL/ArithTreeRL)."""
        i, j = _check_node(self.n, (i, j))
        x = self._id(i, j)
        if x not in self._split:
            raise DesignError(f"cannot delete prefix node ({i}, {j}): it is not present")
        if j == 0:
            raise DesignError(f"cannot delete prefix node ({i}, 0): it is the carry output of bit {i}")
        if self._cons.get(x):
            users = sorted(self._ij(y) for y in self._cons[x])
            raise DesignError(
                f"cannot delete prefix node ({i}, {j}): it is the lower parent of {users} and "
                "legalization would add it back"
            )
        g = self._clone()
        dirty: set[int] = set()
        g._remove(i, j, dirty)
        g._propagate(dirty)
        return g

    @property
    def nodes(self) -> frozenset[tuple[int, int]]:
        if self._nodes is None:
            self._nodes = frozenset((i, j) for i, row in enumerate(self._rows) for j in row)
        return self._nodes

    @property
    def size(self) -> int:
        return self._size

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def max_fanout(self) -> int:
        return self._max_fo

    def parents(self, i: int, j: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """(upper, lower) parents of the prefix node (i, j)."""
        if not (0 <= j < i < self.n) or self._id(i, j) not in self._split:
            raise DesignError(f"prefix node ({i}, {j}) is not present")
        k = self._split[self._id(i, j)]
        return (i, k), (k - 1, j)

    def cells(self) -> list[tuple[int, int, int]]:
        """(i, j, k): node (i, j) = (i, k) o (k - 1, j), in topological order."""
        return [(i, j, self._split[self._id(i, j)]) for i in range(self.n) for j in reversed(self._rows[i])]

    def levels(self) -> dict[tuple[int, int], int]:
        """Logic level of every node, inputs (i, i) at level 0."""
        return {self._ij(x): v[0] for x, v in self._lt.items()}

    def fanouts(self) -> dict[tuple[int, int], int]:
        """Number of gate inputs (and output ports) each node drives, inputs included."""
        return {self._ij(x): self._fanout(x) for x in self._lt}

    def node_arrays(self) -> dict[str, np.ndarray]:
        """Every node, inputs included, as arrays ``i``, ``j``, ``level``, ``fanout`` (as ``levels`` and
        ``fanouts``), plus the n x n ``nodemap`` and the ``add`` / ``delete`` masks of ``action_masks``.
        Computed once per graph (edits return a new graph, none changes one in place): an RL step asks for
        the masks and grid planes of one graph several times.  Read-only arrays."""
        if self._arrays is None:
            n, lt, cons = self.n, self._lt, self._cons
            xs = np.fromiter(lt, dtype=np.intp, count=len(lt))
            i, r = np.divmod(xs, n)
            j = n - 1 - r
            level = np.fromiter((v[0] for v in lt.values()), dtype=np.intp, count=len(lt))
            loads = np.fromiter((len(cons.get(x, ())) for x in lt), dtype=np.intp, count=len(lt))
            fanout = loads + np.where((i == j) & (i >= 1), 2, 1)  # the fixed loads of ``_fanout``
            nodemap = np.zeros((n, n), dtype=np.uint8)
            nodemap[i, j] = 1
            add = np.tril(nodemap == 0, k=-1)
            delete = np.zeros((n, n), dtype=bool)
            free = (i > j) & (j > 0) & (loads == 0)  # no node uses it as lower parent
            delete[i[free], j[free]] = True
            self._arrays = {"i": i, "j": j, "level": level, "fanout": fanout, "nodemap": nodemap, "add": add,
                            "delete": delete}
            for a in self._arrays.values():
                a.flags.writeable = False
        return self._arrays

    def action_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """Boolean n x n masks of the legal add and delete actions (lower triangle only)."""
        a = self.node_arrays()
        return a["add"].copy(), a["delete"].copy()

    def nodemap(self) -> np.ndarray:
        """n x n uint8 map, 1 at present nodes and on the diagonal (the PrefixRL/ArithTreeRL grid)."""
        return self.node_arrays()["nodemap"].copy()

    def to_json(self) -> dict[str, Any]:
        return {"width": self.n, "nodes": [[i, j] for i, j in sorted(self.nodes)]}

    @classmethod
    def from_json(cls, data: Any) -> PrefixGraph:
        if not isinstance(data, Mapping):
            raise DesignError(f"prefix graph JSON must be an object, got {type(data).__name__}")
        for field in ("width", "nodes"):
            if field not in data:
                raise DesignError(f"prefix graph JSON: missing field '{field}'")
        unknown = sorted(set(data) - {"width", "nodes"})
        if unknown:
            raise DesignError(f"prefix graph JSON field '{unknown[0]}': unknown; a prefix graph has width, nodes")
        width = data["width"]
        if isinstance(width, bool) or not isinstance(width, int) or not 2 <= width <= MAX_WIDTH:
            raise DesignError(
                f"prefix graph JSON field 'width': must be an integer in [2, {MAX_WIDTH}], got {width!r}"
            )
        nodes = data["nodes"]
        if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Sequence):
            raise DesignError("prefix graph JSON field 'nodes': must be a list of [msb, lsb] pairs")
        seen: set[tuple[int, int]] = set()
        for p, node in enumerate(nodes):
            if isinstance(node, (str, bytes)) or not isinstance(node, Sequence) or len(node) != 2:
                raise DesignError(f"prefix graph JSON field 'nodes[{p}]': expected [msb, lsb], got {node!r:.60}")
            try:
                _check_node(width, node)
            except DesignError as e:
                raise DesignError(f"prefix graph JSON field 'nodes[{p}]': {e}") from None
            if tuple(node) in seen:
                raise DesignError(f"prefix graph JSON field 'nodes[{p}]': {list(node)} is listed twice")
            seen.add(tuple(node))
        return cls(width, [tuple(v) for v in nodes])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrefixGraph) and self.n == other.n and self._rows == other._rows

    def __hash__(self) -> int:
        return hash((self.n, tuple(self._rows)))

    def __repr__(self) -> str:
        return f"PrefixGraph(n={self.n}, size={self.size}, depth={self.depth})"


# --------------------------------------------------------------------------------------------
# classical constructors (node lists; all are legal as generated, the constructor checks it)
def _ripple(n: int) -> list[tuple[int, int]]:
    return [(i, 0) for i in range(1, n)]


def _sklansky(n: int, step: int = 1) -> list[tuple[int, int]]:
    """Sklansky (1960) divide and conquer on the complete groups of ``step`` bits (group m: bits m*step..)."""
    nodes = []
    for m in range(1, n // step):
        msb = m * step + step - 1
        for lvl in range(m.bit_length()):
            if (m >> lvl) & 1:
                nodes.append((msb, (m & ~((2 << lvl) - 1)) * step))
    return nodes


def _kogge_stone(n: int, step: int = 1) -> list[tuple[int, int]]:
    """Kogge & Stone (1973): at level l every group combines with the group 2^l to its right."""
    nodes = []
    for m in range(1, n // step):
        msb = m * step + step - 1
        span = 1
        while span <= m:
            nodes.append((msb, max(0, m - 2 * span + 1) * step))
            span *= 2
    return nodes


def _odd_pairs_then_even(n: int, tree) -> list[tuple[int, int]]:
    """Harris (2003) sparse-2 form: pair bits (2m+1, 2m), run ``tree`` on the pairs, finish even bits."""
    nodes = [(i, i - 1) for i in range(1, n, 2)]
    nodes += tree(n, 2)
    nodes += [(i, 0) for i in range(2, n, 2)]
    return nodes


def _brent_kung(n: int) -> list[tuple[int, int]]:
    """Brent & Kung (1982): up-sweep nodes (i, i - t + 1) for i = t - 1 mod t, down-sweep by legalization."""
    nodes = _ripple(n)
    t = 2
    while t < n:
        nodes += [(i, i - t + 1) for i in range(t - 1, n, t)]
        t *= 2
    return nodes


_CONSTRUCTORS = {
    "ripple": _ripple,
    "sklansky": _sklansky,
    "kogge_stone": _kogge_stone,
    "brent_kung": _brent_kung,
    # Han-Carlson = Kogge-Stone on odd bits + one even level; Ladner-Fischer (Harris' taxonomy form)
    # = Sklansky on odd bits + one even level (D. Harris, "A taxonomy of parallel prefix networks", 2003).
    "han_carlson": lambda n: _odd_pairs_then_even(n, _kogge_stone),
    "ladner_fischer": lambda n: _odd_pairs_then_even(n, _sklansky),
}


def classical(name: str, n: int) -> PrefixGraph:
    """One of the textbook adders of width ``n`` (any n >= 2; non-powers of two are truncated)."""
    if name not in _CONSTRUCTORS:
        raise UnknownNameError("baseline", name, list(CLASSICAL))
    n = _check_width(n)
    return PrefixGraph(n, _CONSTRUCTORS[name](n))


# --------------------------------------------------------------------------------------------
def analytical_metrics(
    g: PrefixGraph, arrival: Sequence[float] | None = None, cin: bool = True
) -> dict[str, float]:
    """Unit-gate delay and area of the adder built on ``g`` (model of ``archgym.simulators.arith.cells``).

    Circuit: pre-processing g_i = a_i & b_i (AND2), p_i = a_i ^ b_i (XOR2); with ``cin`` the carry-in is
    folded into bit 0, g_0 = a_0 b_0 | p_0 cin (one AO21 = GREY cell); prefix nodes (i, 0) are GREY cells
    (only G needed), all others BLACK; post-processing sum_i = p_i ^ c_i (XOR2; sum_0 = p_0 ^ cin, or
    p_0 without ``cin``), cout = G(n-1, 0).  Every gate's delay grows by ``load_delay(fanout)``; a node's
    fanout counts the prefix cells and sum XORs it drives (``PrefixGraph.fanouts``).  A node's G and P
    share one arrival time (the later of the two).

    ``arrival[i]`` is the arrival time of a_i and b_i (unit-gate delays; default 0; cin arrives with
    bit 0); ``delay`` is the latest output (sum or cout).  ``area`` counts unit gates; ``size`` and
    ``depth`` are prefix nodes and prefix levels; ``max_fanout`` the largest node fanout.
    """
    n = g.n
    if arrival is None and cin:  # the incrementally maintained default timing
        out, cout = g._out, g._lt[g._id(n - 1, 0)][1]
    elif arrival is None:
        time, out = g._timing(None, False)
        cout = time[g._id(n - 1, 0)]
    else:
        if isinstance(arrival, (str, bytes)) or len(arrival) != n:
            raise ConfigError("arrival", f"must be a sequence of {n} arrival times")
        try:
            arr = [float(a) for a in arrival]
        except (TypeError, ValueError):
            raise ConfigError("arrival", "must contain numbers") from None
        if not all(math.isfinite(a) for a in arr):
            raise ConfigError("arrival", "must contain finite numbers")
        time, out = g._timing(arr, cin)
        cout = time[g._id(n - 1, 0)]
    grey = n - 1
    black = g.size - grey
    area = (
        n * (AND2.area + XOR2.area)
        + (GREY.area if cin else 0.0)
        + black * BLACK.area
        + grey * GREY.area
        + (n if cin else n - 1) * XOR2.area
    )
    delay = max(max(out), cout)
    return {
        "delay": float(delay),
        "area": float(area),
        "size": float(g.size),
        "depth": float(g.depth),
        "max_fanout": float(g.max_fanout),
    }
