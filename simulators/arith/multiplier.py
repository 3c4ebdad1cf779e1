"""Multiplier cost model: partial products + compressor tree + final parallel-prefix adder.

A design is the RL-MUL compressor matrix (per-column full/half adder counts, see
``compressor_tree``) plus the PrefixGraph of the final carry-propagate adder, so the tree and the
adder can be searched jointly (as ArithTreeRL does).  The final adder spans the columns from the
first one that can hold two bits (``PartialProducts.lsb``) to 2n-1; it is timed with the
per-column arrival profile the tree produces.  Carry-in is unused (tied to 0) and the adder's
carry-out is dropped (it has weight 2^(2n)).

Costs use the unit-gate model of ``archgym.simulators.arith.cells`` (Zimmermann 1997):
area = partial-product generation + 7 per full adder + 3 per half adder + the adder's
``analytical_metrics`` area; delay = latest product bit (the adder's delay under the tree's
arrival profile, or a pass-through low column if later).  The adder's delay includes its carry-out
(a slight over-estimate, as the multiplier drops it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from archgym.errors import ConfigError, DesignError, UnknownNameError
from archgym.simulators.arith import compressor_tree as ct
from archgym.simulators.arith.cells import FULL_ADDER, HALF_ADDER
from archgym.simulators.arith.prefix import CLASSICAL, PrefixGraph, analytical_metrics, classical

TREES = ("array", "wallace", "dadda")
EDIT_KINDS = ct.EDIT_KINDS  # tree edit kinds, index = kind in edit masks
_TREE_COUNTS = {"array": ct.array_counts, "wallace": ct.wallace_counts, "dadda": ct.dadda_counts}


@dataclass(frozen=True)
class MultiplierDesign:
    """An n x n multiplier: dot-matrix family, compressor matrix, final prefix adder.

    ``full_adders[c]`` / ``half_adders[c]`` count 3:2 / 2:2 compressors in product column c
    (2n columns); ``adder`` has width ``2n - lsb`` (``self.adder_width``).
    """

    width: int
    encoding: str
    signed: bool
    full_adders: tuple[int, ...]
    half_adders: tuple[int, ...]
    adder: PrefixGraph

    def __post_init__(self) -> None:
        pp = ct.partial_products(self.width, self.encoding, self.signed)  # checks the family
        for name in ("full_adders", "half_adders"):
            v = getattr(self, name)
            if isinstance(v, (str, bytes)) or not isinstance(v, (Sequence, np.ndarray)):
                raise ConfigError(name, "must be a sequence of per-column counts")
            if len(v) != pp.columns:
                raise ConfigError(name, f"must have {pp.columns} columns (2 x width), got {len(v)}")
            if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in v):
                raise ConfigError(name, "must contain integers")
            object.__setattr__(self, name, tuple(int(x) for x in v))
        if not isinstance(self.adder, PrefixGraph):
            raise ConfigError("adder", f"must be a PrefixGraph, got {type(self.adder).__name__}")
        if self.adder.n != pp.adder_width:
            raise ConfigError("adder", f"must have width {pp.adder_width} (columns {pp.lsb}..{pp.columns - 1}), "
                                       f"got {self.adder.n}")
        try:
            ct.check_legal(pp, self.fa, self.ha)
        except DesignError as e:
            raise DesignError(f"full_adders/half_adders: {e}") from None

    @property
    def partial_products(self) -> ct.PartialProducts:
        return ct.partial_products(self.width, self.encoding, self.signed)

    @property
    def fa(self) -> np.ndarray:
        return np.asarray(self.full_adders, dtype=np.int64)

    @property
    def ha(self) -> np.ndarray:
        return np.asarray(self.half_adders, dtype=np.int64)

    @property
    def adder_width(self) -> int:
        return self.partial_products.adder_width

    def to_json(self) -> dict[str, Any]:
        return {"width": self.width, "encoding": self.encoding, "signed": self.signed,
                "full_adders": list(self.full_adders), "half_adders": list(self.half_adders),
                "adder": self.adder.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> MultiplierDesign:
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as e:
                raise DesignError(f"multiplier JSON: not valid JSON ({e})") from None
        if not isinstance(data, dict):
            raise DesignError(f"multiplier JSON must be an object, got {type(data).__name__}")
        fields = ("width", "encoding", "signed", "full_adders", "half_adders", "adder")
        missing = [f for f in fields if f not in data]
        if missing:
            raise DesignError(f"multiplier JSON: missing field '{missing[0]}'")
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise DesignError(f"multiplier JSON: unknown field '{unknown[0]}'")
        return cls(data["width"], data["encoding"], data["signed"], data["full_adders"],
                   data["half_adders"], PrefixGraph.from_json(data["adder"]))


# ----------------------------------------------------------------------------- construction / edits

def multiplier_baseline(tree: str, adder: str, width: int, encoding: str = "and",
                        signed: bool = False) -> MultiplierDesign:
    """A classical tree ("array" | "wallace" | "dadda") with a classical final adder (any of CLASSICAL)."""
    if tree not in _TREE_COUNTS:
        raise UnknownNameError("tree", str(tree), list(TREES))
    if adder not in CLASSICAL:
        raise UnknownNameError("adder", str(adder), list(CLASSICAL))
    pp = ct.partial_products(width, encoding, signed)
    fa, ha = _TREE_COUNTS[tree](pp)
    return MultiplierDesign(int(width), encoding, bool(signed), tuple(fa.tolist()), tuple(ha.tolist()),
                            classical(adder, pp.adder_width))


def _edit_kind(kind: int | str) -> int:
    if isinstance(kind, str):
        if kind not in ct.EDIT_KINDS:
            raise UnknownNameError("tree edit", kind, list(ct.EDIT_KINDS))
        return ct.EDIT_KINDS.index(kind)
    return int(kind)


def tree_edit(design: MultiplierDesign, column: int, kind: int | str) -> MultiplierDesign:
    """RL-MUL edit of one column (kind: index or name in ``EDIT_KINDS``), then legalization above it."""
    fa, ha = ct.apply_edit(design.partial_products, design.fa, design.ha, int(column), _edit_kind(kind))
    return MultiplierDesign(design.width, design.encoding, design.signed, tuple(fa.tolist()),
                            tuple(ha.tolist()), design.adder)


def legal_tree_edits(design: MultiplierDesign) -> np.ndarray:
    """Boolean mask over ``2n * 4`` edits, index ``column * 4 + kind`` (kinds: ``EDIT_KINDS``)."""
    return ct.edit_mask(design.partial_products, design.fa, design.ha)


def with_adder(design: MultiplierDesign, adder: PrefixGraph) -> MultiplierDesign:
    """The same tree with another final adder (e.g. after a PrefixGraph add/delete)."""
    return MultiplierDesign(design.width, design.encoding, design.signed, design.full_adders,
                            design.half_adders, adder)



# ----------------------------------------------------------------------------- evaluation

@lru_cache(maxsize=4096)
def _reduced(width: int, encoding: str, signed: bool, fa: tuple[int, ...], ha: tuple[int, ...]) -> ct.ReducedTree:
    pp = ct.partial_products(width, encoding, signed)
    return ct.reduce_tree(pp, np.asarray(fa), np.asarray(ha))


def reduced_tree(design: MultiplierDesign) -> ct.ReducedTree:
    """The wired compressor netlist of a design (cached: adder-only edits reuse it)."""
    return _reduced(design.width, design.encoding, design.signed, design.full_adders, design.half_adders)


def arrival_profile(design: MultiplierDesign) -> list[float]:
    """Arrival time of each final-adder bit: the later of its (up to two) rows, 0 if empty."""
    return list(reduced_tree(design).arrival[design.partial_products.lsb:])


def evaluate(design: MultiplierDesign) -> dict[str, float]:
    """Unit-gate delay/area and structure counts of a design (see module doc for the model)."""
    pp = design.partial_products
    tree = reduced_tree(design)
    am = analytical_metrics(design.adder, arrival=tree.arrival[pp.lsb:], cin=False)
    nfa, nha = sum(design.full_adders), sum(design.half_adders)
    tree_area = nfa * FULL_ADDER.area + nha * HALF_ADDER.area
    through = max(tree.arrival[:pp.lsb], default=0.0)
    return {
        "delay": float(max(am["delay"], through)),
        "area": float(pp.area + tree_area + am["area"]),
        "full_adders": float(nfa),
        "half_adders": float(nha),
        "stages": float(tree.stages),
        "prefix_nodes": am["size"],
        "prefix_depth": am["depth"],
        "tree_delay": float(max(tree.arrival)),
        "pp_area": pp.area,
        "tree_area": float(tree_area),
        "adder_area": am["area"],
        "adder_max_fanout": am["max_fanout"],
    }


# ----------------------------------------------------------------------------- bit-level model

def _operand_bits(x: Any, n: int, name: str) -> np.ndarray:
    """(n, N) bool matrix of operand bits; negative values are taken as n-bit two's complement."""
    arr = np.asarray(x)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.dtype == object or arr.dtype.kind not in "iu":
        try:
            vals = [int(v) % (1 << n) for v in arr.reshape(-1)]
        except (TypeError, ValueError):
            raise ConfigError(name, "must contain integers") from None
        arr = np.array(vals, dtype=np.uint64)
    elif arr.dtype.kind == "i":
        arr = arr.astype(np.int64).view(np.uint64)
    arr = arr.astype(np.uint64).reshape(-1)
    shifts = np.arange(n, dtype=np.uint64)[:, None]
    return ((arr[None, :] >> shifts) & np.uint64(1)).astype(bool)


def dot_values(pp: ct.PartialProducts, a_bits: np.ndarray, b_bits: np.ndarray) -> list[np.ndarray]:
    """Value of every partial-product dot (same logic as the Verilog export)."""
    n, N = pp.width, a_bits.shape[1]
    zero = np.zeros(N, dtype=bool)

    def a_ext(j: int) -> np.ndarray:  # multiplicand extended to any index (sign or zero)
        if j < 0:
            return zero
        if j < n:
            return a_bits[j]
        return a_bits[n - 1] if pp.signed else zero

    def b_ext(j: int) -> np.ndarray:
        if j < 0:
            return zero
        if j < n:
            return b_bits[j]
        return b_bits[n - 1] if pp.signed else zero

    sel: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    out: list[np.ndarray] = []
    for d in pp.dots:
        if d.kind == "and":
            out.append(a_bits[d.args[0]] & b_bits[d.args[1]])
        elif d.kind == "nand":
            out.append(~(a_bits[d.args[0]] & b_bits[d.args[1]]))
        elif d.kind == "one":
            out.append(~zero)
        else:
            g = d.args[0]
            if g not in sel:
                hi, mid, lo = b_ext(2 * g + 1), b_ext(2 * g), b_ext(2 * g - 1)
                one = mid ^ lo
                sel[g] = (one, (hi ^ mid) & ~one, hi)
            one, two, neg = sel[g]
            if d.kind == "neg":
                out.append(neg)
            else:
                _, j, inv = d.args
                v = ((one & a_ext(j)) | (two & a_ext(j - 1))) ^ neg
                out.append(~v if inv else v)
    return out


def simulate_design(design: MultiplierDesign, a: Any, b: Any) -> np.ndarray:
    """Evaluate the exact netlist of ``design`` on many operand pairs (vectorized over pairs).

    Returns the 2n-bit output port value (unsigned; a signed product is its two's complement):
    uint64 when 2n <= 64, else Python ints in an object array.
    """
    pp = design.partial_products
    n = pp.width
    ab, bb = _operand_bits(a, n, "a"), _operand_bits(b, n, "b")
    if ab.shape[1] != bb.shape[1]:
        raise ConfigError("b", f"must have as many values as a ({ab.shape[1]}), got {bb.shape[1]}")
    nets = dot_values(pp, ab, bb)
    tree = reduced_tree(design)
    nets.extend([None] * (tree.net_count - len(nets)))  # type: ignore[list-item]
    for cell in tree.cells:
        x = [nets[i] for i in cell.inputs]
        if cell.kind == "fa":
            nets[cell.sum] = x[0] ^ x[1] ^ x[2]
            nets[cell.carry] = (x[0] & x[1]) | (x[2] & (x[0] ^ x[1]))
        else:
            nets[cell.sum] = x[0] ^ x[1]
            nets[cell.carry] = x[0] & x[1]
    zero = np.zeros(ab.shape[1], dtype=bool)
    out: list[np.ndarray] = []
    for c in range(pp.lsb):  # below the adder: at most one bit, passed through
        out.append(nets[tree.rows[c][0]] if tree.rows[c] else zero)
    ra = [nets[r[0]] if len(r) > 0 else zero for r in tree.rows[pp.lsb:]]
    rb = [nets[r[1]] if len(r) > 1 else zero for r in tree.rows[pp.lsb:]]
    out.extend(prefix_sum(design.adder, ra, rb))
    return _pack(out)


def prefix_sum(g: PrefixGraph, a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
    """Sum bits of the prefix adder built on ``g`` with carry-in 0 (carry-out dropped)."""
    gen = {(i, i): a[i] & b[i] for i in range(g.n)}
    prop = {(i, i): a[i] ^ b[i] for i in range(g.n)}
    for i, j, k in g.cells():
        gh, ph = gen[(i, k)], prop[(i, k)]
        gl, pl = gen[(k - 1, j)], prop[(k - 1, j)]
        gen[(i, j)] = gh | (ph & gl)
        prop[(i, j)] = ph & pl
    return [prop[(0, 0)]] + [prop[(i, i)] ^ gen[(i - 1, 0)] for i in range(1, g.n)]


def _pack(bits: list[np.ndarray]) -> np.ndarray:
    def word(chunk: list[np.ndarray]) -> np.ndarray:
        acc = np.zeros(bits[0].shape[0], dtype=np.uint64)
        for k, v in enumerate(chunk):
            acc |= v.astype(np.uint64) << np.uint64(k)
        return acc

    if len(bits) <= 64:
        return word(bits)
    lo, hi = word(bits[:64]), word(bits[64:])
    return lo.astype(object) + (hi.astype(object) << 64)
