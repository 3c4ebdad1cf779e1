"""Partial products and the compressor tree of a multiplier, as a per-column compressor matrix.

Representation (RL-MUL, Zuo et al., DAC 2023; also the multiplier half of ArithTreeRL, Lai et al.,
NeurIPS 2024): a tree is two integer vectors over the 2n product columns, ``fa[c]`` 3:2 compressors
(full adders) and ``ha[c]`` 2:2 compressors (half adders) in column ``c``.  Which bits each compressor
consumes is *derived*, not stored, so the state stays small and every edit is a local count change.
The edit set and the LSB-to-MSB legalization follow RL-MUL's ``ct.py`` (public reimplementation
github.com/dszuo/RL-MUL, ``rlmul/ct.py``: add/remove a 2:2, 3:2 -> 2:2, 2:2 -> 3:2, then sweep the
columns above fixing each count against the carries arriving from below).

Differences from RL-MUL, chosen so every width/encoding works: the tree spans 2n columns (the
product's full width); carries out of column 2n-1 have weight 2^(2n) and are dropped (the product is
taken mod 2^(2n), exactly what the 2n-bit port holds), so legalization always settles.  A column may
end with 0 bits only if nothing ever reaches it.

Wiring policy (``reduce_tree``): compressors are placed in stages as RL-MUL's ``assign_stages`` does
(earliest stage first: each stage, every column fires as many of its still-unplaced compressors as
the bits present at the stage start can feed, full adders first), and inside a stage the
earliest-arriving bits are connected first -- the "three-greedy" rule of Oklobdzija, Villeger & Liu
("A method for speed optimized partial product reduction and generation of fast parallel
multipliers using an algorithmic approach", IEEE Trans. Computers 45(3), 1996) -- so late bits are
left for later stages and the final adder.  Ties break on net id: the netlist is deterministic.
With this policy Dadda's counts take Dadda's 4/6/8/10 stages at 8/16/32/64 bits.  A purely
arrival-time-driven wiring (no stages) was measured too: 2 unit delays faster on 32/64-bit Dadda
but slower on Wallace and with no meaningful stage count, so the staged policy was kept.

Constant-one dots (Baugh-Wooley, Booth sign handling) enter the tree as ordinary bits (arrival 0);
they are not folded into the logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from archgym.errors import ConfigError, DesignError
from archgym.simulators.arith.cells import AND2, FULL_ADDER, HALF_ADDER, XOR2, load_delay

ENCODINGS = ("and", "booth")
EDIT_KINDS = ("add_ha", "remove_ha", "fa_to_ha", "ha_to_fa")
ADD_HA, REMOVE_HA, FA_TO_HA, HA_TO_FA = range(4)
MIN_WIDTH, MAX_WIDTH = 2, 128

# Booth radix-4 cells in unit gates (Zimmermann's model, see cells.py; inverters are free there).
# Encoder per digit: one = b[2i] ^ b[2i-1] (an XOR2); two = (b[2i+1] ^ b[2i]) & ~one (XOR2 + AND2).
BOOTH_ENCODER_AREA = 2 * XOR2.area + AND2.area
BOOTH_ENCODER_DELAY = XOR2.delay + AND2.delay
# Selector per partial-product bit: (one & a[j] | two & a[j-1]) ^ neg = AO22 (three 2-input gates,
# two levels) followed by an XOR2.
BOOTH_SELECT_AREA = 3 * AND2.area + XOR2.area
BOOTH_SELECT_DELAY = 2 * AND2.delay + XOR2.delay


@dataclass(frozen=True)
class Dot:
    """One partial-product bit.

    kind: "and" (a[j] & b[i]), "nand" (~(a[j] & b[i]), Baugh-Wooley), "booth" (selector output of
    digit g for multiplicand bit j, optionally inverted), "neg" (the +1 of a negative Booth row),
    "one" (a constant 1 from sign handling).
    """

    kind: str
    args: tuple[int, ...]
    column: int
    row: int
    arrival: float


@dataclass(frozen=True)
class PartialProducts:
    """The dot matrix of one (width, encoding, signed) family; shared by all its designs."""

    width: int
    encoding: str
    signed: bool
    dots: tuple[Dot, ...]
    by_column: tuple[tuple[int, ...], ...]
    heights: tuple[int, ...]
    area: float
    lsb: int  # lowest column that can ever hold two bits: the final adder starts there

    @property
    def columns(self) -> int:
        return 2 * self.width

    @property
    def adder_width(self) -> int:
        return self.columns - self.lsb


def _check_family(width: int, encoding: str, signed: bool) -> None:
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)):
        raise ConfigError("width", f"must be an integer, got {width!r}")
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ConfigError("width", f"must be in [{MIN_WIDTH}, {MAX_WIDTH}], got {width}")
    if encoding not in ENCODINGS:
        raise ConfigError("encoding", f"must be one of {ENCODINGS}, got {encoding!r}")
    if not isinstance(signed, (bool, np.bool_)):
        raise ConfigError("signed", f"must be a bool, got {signed!r}")


@lru_cache(maxsize=64)
def partial_products(width: int, encoding: str = "and", signed: bool = False) -> PartialProducts:
    """Build the dot matrix.

    "and": unsigned AND array; signed AND uses the modified Baugh-Wooley form (Baugh & Wooley,
    IEEE Trans. Computers C-22(12), 1973): the n-1 bits that pair one sign bit with one non-sign bit
    are NANDs, plus constant ones at columns n and 2n-1.
    "booth": radix-4 (modified) Booth recoding of b; each row is (|d|*A xor neg) + neg over n+2 bits,
    A being a extended to n+1 bits (sign- or zero-extended).  Row sign bits are inverted and the
    sum of the corresponding -2^k terms is added as one constant (the usual sign-extension
    elimination), so the matrix needs no sign-extension bits.
    """
    _check_family(width, encoding, signed)
    n, cols = int(width), 2 * int(width)
    dots: list[Dot] = []
    const = 0
    if encoding == "and":
        t = AND2.delay + load_delay(n)  # every a[j] and b[i] drives n gates
        for i in range(n):
            for j in range(n):
                kind = "nand" if signed and ((i == n - 1) != (j == n - 1)) else "and"
                dots.append(Dot(kind, (j, i), i + j, i, t))
        if signed:
            const = (1 << n) + (1 << (2 * n - 1))
        area = n * n * AND2.area
        const_row = n
    else:
        w = n + 2  # bits of one Booth row
        groups = (n + 1) // 2 if signed else n // 2 + 1
        t_sel = BOOTH_ENCODER_DELAY + load_delay(w) + BOOTH_SELECT_DELAY
        area = 0.0
        for g in range(groups):
            area += BOOTH_ENCODER_AREA
            for j in range(w):
                col = 2 * g + j
                if col >= cols:
                    break
                inv = 1 if j == w - 1 else 0
                dots.append(Dot("booth", (g, j, inv), col, g, t_sel))
                area += BOOTH_SELECT_AREA
                if inv:
                    const -= 1 << col
            # neg is b[2g+1] itself: it drives the w selectors' XORs and this dot
            dots.append(Dot("neg", (g,), 2 * g, g + 1, load_delay(w + 1)))
        const %= 1 << cols
        const_row = groups + 1
    for c in range(cols):
        if const >> c & 1:
            dots.append(Dot("one", (), c, const_row, 0.0))
    by_col: list[list[int]] = [[] for _ in range(cols)]
    for k, d in enumerate(dots):
        by_col[d.column].append(k)
    heights = tuple(len(x) for x in by_col)
    lsb = next((c for c in range(cols) if heights[c] >= 2), cols - 1)
    return PartialProducts(n, encoding, bool(signed), tuple(dots), tuple(tuple(x) for x in by_col),
                           heights, float(area), lsb)


# ----------------------------------------------------------------------------- legality / edits

def remaining(pp: PartialProducts, fa: np.ndarray, ha: np.ndarray) -> np.ndarray:
    """Bits left in each column after every compressor fired (carries out of the top are dropped)."""
    h = np.asarray(pp.heights, dtype=np.int64)
    carries = fa + ha
    r = h - 2 * fa - ha
    r[1:] += carries[:-1]
    return r


def check_legal(pp: PartialProducts, fa: np.ndarray, ha: np.ndarray) -> None:
    """Raise DesignError naming the first column that does not end with 1-2 bits (0 if untouched)."""
    if fa.shape != (pp.columns,) or ha.shape != (pp.columns,):
        raise DesignError(f"compressor counts must have {pp.columns} columns, got {fa.shape[0]} / {ha.shape[0]}")
    if (fa < 0).any() or (ha < 0).any():
        c = int(np.flatnonzero((fa < 0) | (ha < 0))[0])
        raise DesignError(f"column {c}: negative compressor count")
    r = remaining(pp, fa, ha)
    used = (fa + ha) > 0
    bad = (r > 2) | (r < 0) | (used & (r < 1))
    if bad.any():
        c = int(np.flatnonzero(bad)[0])
        raise DesignError(
            f"column {c}: {fa[c]} full and {ha[c]} half adders leave {r[c]} bits "
            f"(must leave 1 or 2; 0 only if the column has no compressor)")


def legalize(pp: PartialProducts, fa: np.ndarray, ha: np.ndarray, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """RL-MUL's sweep: from column ``start`` upward, fix each column against its incoming carries.

    Too many bits (> 2): add full adders (each removes two).  Too few (< 1 while the column has
    compressors): remove a half adder, else a full adder.  Columns below ``start`` are untouched.
    Returns new arrays.
    """
    fa = np.array(fa, dtype=np.int64)
    ha = np.array(ha, dtype=np.int64)
    h = pp.heights
    cin = int(fa[start - 1] + ha[start - 1]) if start > 0 else 0
    for c in range(start, pp.columns):
        f, a = int(fa[c]), int(ha[c])
        r = h[c] + cin - 2 * f - a
        while r > 2:
            f += 1
            r -= 2
        while r < 1 and f + a > 0:
            if a > 0:
                a -= 1
                r += 1
            else:
                f -= 1
                r += 2
        fa[c], ha[c] = f, a
        cin = f + a
    return fa, ha


def edit_mask(pp: PartialProducts, fa: np.ndarray, ha: np.ndarray) -> np.ndarray:
    """Applicable edits, flat index ``column * 4 + kind`` (kinds in EDIT_KINDS order).

    An edit is applicable when it leaves its own column with 1-2 bits (RL-MUL's mask): adding a 2:2
    or turning a 2:2 into a 3:2 needs 2 bits left; removing a 2:2 or turning a 3:2 into a 2:2 needs 1.
    The columns above are always repairable by :func:`legalize`.
    """
    r = remaining(pp, fa, ha)
    m = np.zeros((pp.columns, 4), dtype=bool)
    two, one = r == 2, r == 1
    m[:, ADD_HA] = two
    m[:, HA_TO_FA] = two & (ha >= 1)
    m[:, REMOVE_HA] = one & (ha >= 1)
    m[:, FA_TO_HA] = one & (fa >= 1)
    return m.reshape(-1)


def apply_edit(pp: PartialProducts, fa: np.ndarray, ha: np.ndarray, column: int, kind: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Apply one RL-MUL edit and re-legalize the columns above; raises DesignError if not applicable."""
    if not 0 <= column < pp.columns:
        raise DesignError(f"edit column {column} outside [0, {pp.columns})")
    if kind not in range(4):
        raise DesignError(f"edit kind {kind} not in 0..3 {EDIT_KINDS}")
    if not edit_mask(pp, fa, ha)[column * 4 + kind]:
        raise DesignError(f"edit {EDIT_KINDS[kind]} is not applicable to column {column}")
    fa = np.array(fa, dtype=np.int64)
    ha = np.array(ha, dtype=np.int64)
    if kind == ADD_HA:
        ha[column] += 1
    elif kind == REMOVE_HA:
        ha[column] -= 1
    elif kind == FA_TO_HA:
        fa[column] -= 1
        ha[column] += 1
    else:
        fa[column] += 1
        ha[column] -= 1
    if column + 1 < pp.columns:
        return legalize(pp, fa, ha, start=column + 1)
    return fa, ha


# ----------------------------------------------------------------------------- wiring and timing

class Compressor(NamedTuple):
    """One wired 3:2 ("fa") or 2:2 ("ha") cell; nets below len(pp.dots) are partial products.

    A NamedTuple, not a dataclass: a 64-bit tree builds ~4,000 of them per evaluation."""

    kind: str
    column: int
    inputs: tuple[int, ...]
    sum: int
    carry: int
    stage: int


@dataclass(frozen=True)
class ReducedTree:
    """The netlist a compressor matrix describes, with arrival times and stage numbers."""

    cells: tuple[Compressor, ...]
    rows: tuple[tuple[int, ...], ...]  # per column, the 0-2 nets handed to the final adder
    arrival: tuple[float, ...]  # per column, latest arrival among those nets (0 when empty)
    stages: int  # number of reduction stages (the last stage any compressor was placed in)
    net_count: int


def reduce_tree(pp: PartialProducts, fa: np.ndarray, ha: np.ndarray) -> ReducedTree:
    """Wire the compressors stage by stage and propagate arrival times bit by bit.

    Stages as in RL-MUL's ``assign_stages`` (earliest stage first): in stage s every column fires as
    many of its still-unplaced compressors as the bits present at the start of the stage can feed,
    full adders first; outputs (sums here, carries one column up) are available from stage s+1.
    Within a stage the earliest-arriving bits are connected first (Oklobdzija et al. 1996), so the
    latest bits are left for later stages or the final adder.  Ties break on net id.
    """
    fa_d, fa_c = FULL_ADDER.delay, FULL_ADDER.carry_delay
    ha_d, ha_c = HALF_ADDER.delay, HALF_ADDER.carry_delay
    cols = pp.columns
    dots = pp.dots
    nxt = len(dots)
    cells: list[Compressor] = []
    pools: list[list[tuple[float, int]]] = [[(dots[k].arrival, k) for k in pp.by_column[c]]
                                            for c in range(cols)]
    left_f = [int(x) for x in fa]
    left_h = [int(x) for x in ha]
    busy = [c for c in range(cols) if left_f[c] or left_h[c]]
    stage = 0
    while busy:
        stage += 1
        arrivals: list[list[tuple[float, int]]] = [[] for _ in range(cols + 1)]
        progressed = False
        for c in busy:
            pool = pools[c]
            pool.sort()
            nf = min(left_f[c], len(pool) // 3)
            nh = min(left_h[c], (len(pool) - 3 * nf) // 2)
            if nf == 0 and nh == 0:
                continue
            progressed = True
            out, up = arrivals[c], arrivals[c + 1]
            i = 0
            for _ in range(nf):
                x, y, z = pool[i], pool[i + 1], pool[i + 2]
                t = z[0]
                out.append((t + fa_d, nxt))
                up.append((t + fa_c, nxt + 1))
                cells.append(Compressor("fa", c, (x[1], y[1], z[1]), nxt, nxt + 1, stage))
                nxt += 2
                i += 3
            for _ in range(nh):
                x, y = pool[i], pool[i + 1]
                t = y[0]
                out.append((t + ha_d, nxt))
                up.append((t + ha_c, nxt + 1))
                cells.append(Compressor("ha", c, (x[1], y[1]), nxt, nxt + 1, stage))
                nxt += 2
                i += 2
            left_f[c] -= nf
            left_h[c] -= nh
            del pool[:i]
        if not progressed:
            c = busy[0]
            raise DesignError(f"column {c}: {left_f[c]} full and {left_h[c]} half adders never get "
                              f"enough input bits (illegal compressor counts)")
        for c in range(cols):
            if arrivals[c]:
                pools[c].extend(arrivals[c])
        busy = [c for c in busy if left_f[c] or left_h[c]]
    for c in range(cols):
        if len(pools[c]) > 2:
            raise DesignError(f"column {c}: {len(pools[c])} bits left for the two-row final adder")
    rows = tuple(tuple(p[1] for p in sorted(pool)) for pool in pools)
    arrival = tuple(max((p[0] for p in pool), default=0.0) for pool in pools)
    return ReducedTree(tuple(cells), rows, arrival, stage, nxt)


# ----------------------------------------------------------------------------- classical trees

def dadda_counts(pp: PartialProducts) -> tuple[np.ndarray, np.ndarray]:
    """Dadda's reduction (Dadda, "Some schemes for parallel multipliers", Alta Frequenza 1965).

    Stage targets d(j+1) = floor(1.5 d(j)) from d(1) = 2; in each stage every column is reduced
    to the target with as few compressors as possible (a half adder only when one bit too many),
    counting the carries produced in the same stage by the column below.
    """
    h = list(pp.heights)
    cols = pp.columns
    fa = np.zeros(cols, dtype=np.int64)
    ha = np.zeros(cols, dtype=np.int64)
    targets = [2]
    while targets[-1] < max(h):
        targets.append(targets[-1] * 3 // 2)
    for d in reversed(targets[:-1]):
        carry = 0
        for c in range(cols):
            cur = h[c] + carry
            carry = 0
            while cur > d:
                if cur == d + 1:
                    ha[c] += 1
                    cur -= 1
                else:
                    fa[c] += 1
                    cur -= 2
                carry += 1
            h[c] = cur
    return fa, ha


def wallace_counts(pp: PartialProducts, spill: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Greedy column-wise Wallace (Wallace, IEEE Trans. Electronic Computers EC-13, 1964).

    Every stage, every column's bits (as present at the stage start) are grouped into as many
    full adders as fit plus a half adder when two bits remain, until no column holds more than two.
    ``spill=True`` keeps carries out of the top column in extra columns, which is the textbook count
    (36/25 FA/HA at 8 bits, see anchors); a design keeps only the 2n product columns, where the
    spilled half adders would only ever add zero bits, so they are dropped.
    """
    h = list(pp.heights) + ([0] * pp.columns if spill else [])
    cols = len(h)
    fa = np.zeros(cols, dtype=np.int64)
    ha = np.zeros(cols, dtype=np.int64)
    while max(h) > 2:
        new = [0] * (cols + 1)
        for c in range(cols):
            f, rem = divmod(h[c], 3)
            a = 1 if rem == 2 else 0
            fa[c] += f
            ha[c] += a
            new[c] += f + a + (0 if a else rem)
            new[c + 1] += f + a
        h = new[:cols]
    return fa, ha


def array_counts(pp: PartialProducts) -> tuple[np.ndarray, np.ndarray]:
    """Carry-save array counts (e.g. Weste & Harris, CMOS VLSI Design 4e, sec. 11.9.1).

    Partial-product rows are added one at a time into a carry-save (sum, carry) pair: where the
    new row meets two stored bits a full adder, where it meets one a half adder; carries enter the
    next row step.  A final legalization settles any column left with three bits.  For the AND
    array this gives (n-1)(n-2) full and n-1 half adders in n-1 stages.  Note that the tree is
    then *wired* by the timing-driven policy like any other count vector, so only its counts (not
    its linear chain) carry over.
    """
    cols = pp.columns
    fa = np.zeros(cols, dtype=np.int64)
    ha = np.zeros(cols, dtype=np.int64)
    nrows = max(d.row for d in pp.dots) + 1
    row_h = np.zeros((nrows, cols), dtype=np.int64)
    for d in pp.dots:
        row_h[d.row, d.column] += 1
    state = np.zeros(cols + 1, dtype=np.int64)
    for k in range(nrows):
        new = np.zeros(cols + 1, dtype=np.int64)
        for c in range(cols):
            cur = int(state[c] + row_h[k, c])
            if row_h[k, c] == 0:
                new[c] += cur
                continue
            while cur >= 3:
                fa[c] += 1
                cur -= 2
                new[c + 1] += 1
            if cur == 2:
                ha[c] += 1
                cur = 1
                new[c + 1] += 1
            new[c] += cur
        state = new
    return legalize(pp, fa, ha)
