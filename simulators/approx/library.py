"""Approximate integer multipliers: bit-exact vectorized models, exhaustive error metrics, hardware cost.

Families (unsigned n x n -> 2n bits; ``ApproxMultiplierSpec.name`` is the catalogue key):

* ``exact``            Dadda tree + ripple CPA (the reference; anchors: 8-bit tree 35 FA / 7 HA).
* ``trunc{k}``         the k least significant partial-product columns dropped.
* ``truncc{k}``        same, plus the constant correction of Schulte & Swartzlander ("Truncated
                       multiplication with correction constant", VLSI Signal Processing VI, 1993): the
                       expected value of the dropped bits under uniform operands, rounded to column k.
* ``bam_h{h}v{v}``     broken-array multiplier (Mahdiani et al., IEEE TCAS-I 57(4), 2010): carry-save
                       cells of the rows i < h (multiplier bit b_i) and of the columns < v are omitted.
* ``kul{t}``           Kulkarni, Gupta & Ercegovac (VLSI Design 2011) 2x2 blocks (3*3 -> 7); the block of
                       digits (i, j) is approximate when i + j < t (t = 2n/2 - 1 makes all blocks approximate).
* ``mitchell{w}``      Mitchell's logarithmic multiplier (IRE Trans. EC-11, 1962) with the fractions cut to
                       w bits (w = n - 1 is the classic one; max relative error 1/9 = 11.1 %).
* ``drum{k}``          DRUM(k) (Hashemi, Bahar & Reda, ICCAD 2015): k bits from the leading one, LSB forced
                       to 1 (unbiasing), exact k x k product, shifted back.
* ``c42_{c}``          Dadda tree whose columns < c use the approximate 4:2 compressor of Yang, Han &
                       Lombardi (DFTS 2015, design 1): carry = x1x2 | x3x4,
                       sum = (x1^x2) | (x3^x4) | x1x2x3x4 (error -1 on 5 of 16 input patterns).
* ``verilog:<path>``   your own 8x8 gate-level circuit, e.g. one of EvoApproxLib's, read from a Verilog file
                       in EvoApproxLib's format (`archgym.simulators.approx.evoapprox.import_verilog`); not in
                       the catalogue, an env adds it with ``env.circuits=[<path>, ...]``.

Bit-level families (exact, trunc, bam, kul, c42) are built as a gate netlist (`build_netlist`), which is
simulated vectorized with numpy, costed cell by cell and exported to Verilog (archgym.rtl.approx.verilog);
independent arithmetic references (`reference_multiply`) check the netlists.  Mitchell and DRUM are modelled
arithmetically (integer-exact) and costed from their datapath components (LOD, encoders, shifters, adders).

Cost model: Zimmermann's unit-gate model (`archgym.simulators.arith.cells`; inverters free, as in his thesis).
Energy ~ switched capacitance ~ area x activity: ``energy = area * alpha`` where alpha is the mean toggle
probability 2p(1-p) of the operand bits under the operand distribution (consecutive operands independent).
This first-order model (as used for relative comparisons in e.g. EvoApproxLib, Mrazek et al., DATE 2017,
whose figures are synthesized power) makes energy relative to the exact multiplier equal to the area ratio
for a fixed distribution, and lower for sparse (ReLU) activations than for uniform operands.

Signed DNN operands: int8 x uint8 products use sign-magnitude wrapping of the unsigned core
(p = sign(w) * M(a, |w|)), the usual choice for unsigned approximate cores in the DNN literature
(e.g. Mrazek et al., "ALWANN", ICCAD 2019 discuss it); `signed_product_table` implements it and
`sign_magnitude_wrapper_cost` prices the |w| and conditional negation logic.

L-Mul (Luo & Sun, "Addition is All You Need for Energy-efficient Language Models", 2024) is modelled
at the end of the module for floating point, with fp8 e4m3 / e5m2 rounding as the baseline.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from archgym.errors import ConfigError
from archgym.simulators.arith.cells import AND2, FULL_ADDER, HALF_ADDER, XOR2, Cell

FAMILIES = ("exact", "trunc", "bam", "kul", "mitchell", "drum", "c42", "verilog")
VERILOG_PREFIX = "verilog:"  # the name of a user circuit is this prefix + the path of its Verilog file

# Family-specific cells, same unit-gate model.  MUX2 = (a & ~s) | (b & s): two AND2 + one OR2
# (Zimmermann 1997, sec. 2.5, complex gates count their equivalent 2-input gates), two levels deep.
OR2 = Cell("OR2", area=1.0, delay=1.0)
NOT = Cell("NOT", area=0.0, delay=0.0)  # inverters are neglected by the unit-gate model
MUX2 = Cell("MUX2", area=3.0, delay=2.0)


# ----------------------------------------------------------------------------------------------
# Configurations
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApproxMultiplierSpec:
    """One approximate multiplier: family + its parameter(s); n = operand width."""

    family: str
    n: int = 8
    k: int = 0  # trunc/bam: dropped columns; kul: t; mitchell: w; drum: k; c42: approximate columns
    h: int = 0  # bam: omitted rows
    compensated: bool = False  # trunc only
    source: str = ""  # verilog only: the path of the circuit's Verilog file

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ConfigError("family", f"'{self.family}' is not one of {', '.join(FAMILIES)}")
        if not isinstance(self.n, int) or not 2 <= self.n <= 16:
            raise ConfigError("n", f"operand width must be an int in [2, 16], got {self.n!r}")
        if (self.family == "verilog") != bool(self.source):
            raise ConfigError("source", "a Verilog file is given for, and only for, family 'verilog'")
        limits = {
            "exact": (0, 0), "trunc": (0, 2 * self.n - 1), "bam": (0, 2 * self.n - 1),
            "kul": (0, self.n - 1), "mitchell": (1, self.n - 1), "drum": (2, self.n),
            "c42": (0, 2 * self.n), "verilog": (0, 0),
        }
        lo, hi = limits[self.family]
        if not isinstance(self.k, int) or not lo <= self.k <= hi:
            raise ConfigError("k", f"{self.family} needs k in [{lo}, {hi}] for n={self.n}, got {self.k!r}")
        if self.family == "kul" and self.n % 2:
            raise ConfigError("n", "Kulkarni 2x2 blocks need an even operand width")
        if not isinstance(self.h, int) or not 0 <= self.h <= (self.n if self.family == "bam" else 0):
            raise ConfigError("h", f"h (omitted rows) is only valid for bam, in [0, n]; got {self.h!r}")
        if self.compensated and self.family != "trunc":
            raise ConfigError("compensated", "constant compensation is defined for the trunc family only")

    @property
    def name(self) -> str:
        """Catalogue key, e.g. 'truncc6' or 'drum4' (suffix '@n' when n != 8)."""
        base = {
            "exact": "exact",
            "trunc": f"trunc{'c' if self.compensated else ''}{self.k}",
            "bam": f"bam_h{self.h}v{self.k}",
            "kul": f"kul{self.k}",
            "mitchell": f"mitchell{self.k}",
            "drum": f"drum{self.k}",
            "c42": f"c42_{self.k}",
            "verilog": VERILOG_PREFIX + self.source,
        }[self.family]
        return base if self.n == 8 or self.family == "verilog" else f"{base}@{self.n}"


def catalogue(n: int = 8) -> dict[str, ApproxMultiplierSpec]:
    """The library of configurations an environment chooses from (name -> config)."""
    cfgs = [ApproxMultiplierSpec("exact", n)]
    for k in range(2, 2 * n - 3, 2):  # 2, 4, ..., 12 for n = 8
        cfgs.append(ApproxMultiplierSpec("trunc", n, k=k))
        cfgs.append(ApproxMultiplierSpec("trunc", n, k=k, compensated=True))
    for h, v in ((1, 4), (2, 6), (2, 8), (3, 8), (4, 10)):
        if h <= n and v < 2 * n:
            cfgs.append(ApproxMultiplierSpec("bam", n, k=v, h=h))
    if n % 2 == 0:
        for t in range(1, n):
            cfgs.append(ApproxMultiplierSpec("kul", n, k=t))
    for w in sorted({n - 1, max(1, n - 3), max(1, n - 5)}, reverse=True):
        cfgs.append(ApproxMultiplierSpec("mitchell", n, k=w))
    for k in range(3, n):
        cfgs.append(ApproxMultiplierSpec("drum", n, k=k))
    for c in range(6, 2 * n - 4):  # 6..11 for n = 8: lower columns never compress, higher ones add nothing
        cfgs.append(ApproxMultiplierSpec("c42", n, k=c))
    return {c.name: c for c in cfgs}


@cache
def _catalogue_cached(n: int) -> dict[str, ApproxMultiplierSpec]:
    return catalogue(n)


def get_config(name: str, n: int = 8) -> ApproxMultiplierSpec:
    """Look a configuration up by catalogue name, or read a user circuit named ``verilog:<path>``."""
    if isinstance(name, str) and name.startswith(VERILOG_PREFIX):
        return verilog_config(name[len(VERILOG_PREFIX):], n)
    cat = _catalogue_cached(n)
    if name not in cat:
        raise ConfigError("multiplier", f"unknown configuration '{name}'; valid: {', '.join(cat)}")
    return cat[name]


def verilog_config(path: str, n: int = 8) -> ApproxMultiplierSpec:
    """The configuration of a user circuit: an n x n gate-level multiplier in a Verilog file."""
    if not isinstance(path, str) or not os.path.isfile(path):
        raise ConfigError("circuits", f"{path!r} is not a readable Verilog file")
    cfg = ApproxMultiplierSpec("verilog", n, source=path)
    try:
        build_netlist(cfg)  # a malformed file fails here, with the importer's message
    except ConfigError as exc:
        raise ConfigError("circuits", f"{path}: {exc.reason}") from None
    return cfg


# ----------------------------------------------------------------------------------------------
# Gate netlist (bit-level families)
# ----------------------------------------------------------------------------------------------
CONST0, CONST1 = 0, 1
DADDA_HEIGHTS = (2, 3, 4, 6, 9, 13, 19, 28, 42, 63)


@dataclass
class Netlist:
    """Gates in topological order; signals 0/1 are constants, then a[0..n), b[0..n)."""

    n: int
    ops: list[tuple[int, str, tuple[int, ...]]] = field(default_factory=list)
    arrival: list[float] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    area: float = 0.0
    outputs: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.arrival = [0.0] * (2 + 2 * self.n)

    def a(self, i: int) -> int:
        return 2 + i

    def b(self, i: int) -> int:
        return 2 + self.n + i

    def _new(self, op: str, ins: tuple[int, ...], delay: float) -> int:
        sid = len(self.arrival)
        self.arrival.append(max(self.arrival[i] for i in ins) + delay)
        self.ops.append((sid, op, ins))
        return sid

    def _cell(self, cell: Cell) -> None:
        self.counts[cell.name] += 1
        self.area += cell.area

    # primitive gates with constant folding (a synthesis tool removes constant logic too)
    def NOT(self, x: int) -> int:
        if x in (CONST0, CONST1):
            return 1 - x
        return self._new("NOT", (x,), NOT.delay)

    def AND(self, x: int, y: int) -> int:
        if CONST0 in (x, y):
            return CONST0
        if x == CONST1 or x == y:
            return y
        if y == CONST1:
            return x
        self._cell(AND2)
        return self._new("AND", (x, y), AND2.delay)

    def OR(self, x: int, y: int) -> int:
        if CONST1 in (x, y):
            return CONST1
        if x == CONST0 or x == y:
            return y
        if y == CONST0:
            return x
        self._cell(OR2)
        return self._new("OR", (x, y), OR2.delay)

    def XOR(self, x: int, y: int) -> int:
        if x == CONST0:
            return y
        if y == CONST0:
            return x
        if x == CONST1:
            return self.NOT(y)
        if y == CONST1:
            return self.NOT(x)
        if x == y:
            return CONST0
        self._cell(XOR2)
        return self._new("XOR", (x, y), XOR2.delay)

    def HA(self, x: int, y: int) -> tuple[int, int]:
        """Half adder (sum, carry); folds to wires when an input is constant."""
        if CONST0 in (x, y) or CONST1 in (x, y):
            return self.XOR(x, y), self.AND(x, y)
        self._cell(HALF_ADDER)
        s = self._new("HA_S", (x, y), HALF_ADDER.delay)
        c = self._new("HA_C", (x, y), HALF_ADDER.carry_delay)
        return s, c

    def FA(self, x: int, y: int, z: int) -> tuple[int, int]:
        """Full adder (sum, carry); with a constant input it degenerates to HA or XNOR/OR."""
        ins = sorted((x, y, z), key=lambda s: s > CONST1)  # constants first
        c0 = ins[0]
        if c0 == CONST0:
            return self.HA(ins[1], ins[2])
        if c0 == CONST1:  # x + y + 1: sum = XNOR, carry = OR
            return self.NOT(self.XOR(ins[1], ins[2])), self.OR(ins[1], ins[2])
        self._cell(FULL_ADDER)
        s = self._new("FA_S", (x, y, z), FULL_ADDER.delay)
        c = self._new("FA_C", (x, y, z), FULL_ADDER.carry_delay)
        return s, c

    def approx42(self, x1: int, x2: int, x3: int, x4: int) -> tuple[int, int]:
        """Yang-Han-Lombardi (DFTS 2015) design-1 approximate 4:2 compressor, no cin/cout."""
        w1, w2 = self.AND(x1, x2), self.AND(x3, x4)
        carry = self.OR(w1, w2)
        s = self.OR(self.OR(self.XOR(x1, x2), self.XOR(x3, x4)), self.AND(w1, w2))
        self.counts["AC42"] += 1
        return s, carry

    @property
    def delay(self) -> float:
        return max((self.arrival[o] for o in self.outputs), default=0.0)

    def evaluate(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Vectorized simulation: integer operand arrays -> integer product array."""
        vals: list[Any] = [None] * len(self.arrival)  # every slot is set before it is read
        vals[0] = np.zeros(a.shape, dtype=bool)
        vals[1] = np.ones(a.shape, dtype=bool)
        for i in range(self.n):
            vals[self.a(i)] = ((a >> i) & 1).astype(bool)
            vals[self.b(i)] = ((b >> i) & 1).astype(bool)
        for sid, op, ins in self.ops:
            v = [vals[i] for i in ins]
            if op == "NOT":
                r = ~v[0]
            elif op in ("AND", "HA_C"):
                r = v[0] & v[1]
            elif op == "OR":
                r = v[0] | v[1]
            elif op in ("XOR", "HA_S"):
                r = v[0] ^ v[1]
            elif op == "FA_S":
                r = v[0] ^ v[1] ^ v[2]
            elif op == "FA_C":
                r = (v[0] & v[1]) | (v[0] & v[2]) | (v[1] & v[2])
            else:  # pragma: no cover - builder only emits the ops above
                raise AssertionError(op)
            vals[sid] = r
        out = np.zeros(a.shape, dtype=np.int64)
        for j, o in enumerate(self.outputs):
            out |= vals[o].astype(np.int64) << j
        return out


def _pp_bits(cfg: ApproxMultiplierSpec, net: Netlist) -> list[list[int]]:
    """Partial-product bit matrix (columns of signals) of a bit-level family."""
    n = cfg.n
    cols: list[list[int]] = [[] for _ in range(2 * n + 1)]
    if cfg.family == "kul":
        for i in range(n // 2):  # digit of b
            for j in range(n // 2):  # digit of a
                a0, a1, b0, b1 = net.a(2 * j), net.a(2 * j + 1), net.b(2 * i), net.b(2 * i + 1)
                base = 2 * (i + j)
                cols[base].append(net.AND(a0, b0))
                if i + j < cfg.k:  # Kulkarni block: the two middle bits ORed (3 x 3 -> 7)
                    cols[base + 1].append(net.OR(net.AND(a1, b0), net.AND(a0, b1)))
                else:
                    cols[base + 1] += [net.AND(a1, b0), net.AND(a0, b1)]
                cols[base + 2].append(net.AND(a1, b1))
        return cols
    drop_cols = cfg.k if cfg.family in ("trunc", "bam") else 0
    drop_rows = cfg.h if cfg.family == "bam" else 0
    for i in range(drop_rows, n):
        for j in range(n):
            if i + j >= drop_cols:
                cols[i + j].append(net.AND(net.a(j), net.b(i)))
    if cfg.family == "trunc" and cfg.compensated:
        const = truncation_constant(n, cfg.k)
        for j in range(2 * n):
            if (const >> j) & 1:
                cols[j].append(CONST1)
    return cols


def truncation_constant(n: int, k: int) -> int:
    """Correction constant: E[dropped partial products] for uniform operands, rounded to a multiple of 2^k."""
    expected = sum((min(j, 2 * n - 2 - j, n - 1) + 1) * 2**j for j in range(min(k, 2 * n - 1))) / 4.0
    return int(round(expected / 2**k)) * 2**k


def _reduce(net: Netlist, cols: list[list[int]], approx_cols: int) -> None:
    """Dadda reduction (approximate 4:2 compressors in columns < approx_cols) + ripple CPA."""
    ncols = len(cols)
    height = max(len(c) for c in cols)
    targets = [d for d in DADDA_HEIGHTS if d < height][::-1]
    for d in targets:
        nxt: list[list[int]] = [[] for _ in range(ncols + 1)]
        for j in range(ncols):
            bits = sorted(cols[j], key=lambda s: net.arrival[s])  # earliest first (timing-driven)
            h = len(bits) + len(nxt[j])
            while h > d:
                if j < approx_cols and h - d >= 3 and len(bits) >= 4:
                    s, c = net.approx42(*bits[:4])
                    bits = bits[4:]
                    h -= 3
                elif h - d >= 2 and len(bits) >= 3:
                    s, c = net.FA(*bits[:3])
                    bits = bits[3:]
                    h -= 2
                else:
                    s, c = net.HA(*bits[:2])
                    bits = bits[2:]
                    h -= 1
                nxt[j].append(s)
                nxt[j + 1].append(c)
            nxt[j] += bits
        cols = nxt[:ncols]
    carry = CONST0
    outputs = []
    for j in range(ncols - 1):  # ripple carry-propagate adder over the last two rows
        bits = [s for s in cols[j] if s != CONST0] + ([carry] if carry != CONST0 else [])
        if len(bits) == 3:
            s, carry = net.FA(*bits)
        elif len(bits) == 2:
            s, carry = net.HA(*bits)
        else:
            s, carry = (bits[0] if bits else CONST0), CONST0
        outputs.append(s)
    net.outputs = outputs


@cache
def build_netlist(cfg: ApproxMultiplierSpec) -> Netlist:
    """Gate netlist of a bit-level configuration (exact, trunc, bam, kul, c42, verilog)."""
    if cfg.family in ("mitchell", "drum"):
        raise ConfigError("family", f"{cfg.family} is modelled at datapath level, not as a gate netlist")
    if cfg.family == "verilog":
        from archgym.simulators.approx.evoapprox import import_verilog  # it builds on this module's Netlist

        with open(cfg.source) as f:
            return import_verilog(f.read(), cfg.n)
    net = Netlist(cfg.n)
    cols = _pp_bits(cfg, net)
    _reduce(net, cols, cfg.k if cfg.family == "c42" else 0)
    return net


# ----------------------------------------------------------------------------------------------
# Arithmetic models
# ----------------------------------------------------------------------------------------------
def _floor_log2(x: np.ndarray) -> np.ndarray:
    """Position of the leading one (x > 0)."""
    out = np.zeros(x.shape, dtype=np.int64)
    y = x.copy()
    for s in (8, 4, 2, 1):
        m = y >= (1 << s)
        out += np.where(m, s, 0)
        y = np.where(m, y >> s, y)
    return out


def _mitchell(a: np.ndarray, b: np.ndarray, n: int, w: int) -> np.ndarray:
    f = n - 1  # fraction bits before cutting to w
    za, zb = a == 0, b == 0
    a1, b1 = np.maximum(a, 1), np.maximum(b, 1)
    ka, kb = _floor_log2(a1), _floor_log2(b1)
    fa = ((a1 - (1 << ka)) << (f - ka)) >> (f - w) << (f - w)
    fb = ((b1 - (1 << kb)) << (f - kb)) >> (f - w) << (f - w)
    s, kk = fa + fb, ka + kb
    mant = np.where(s < (1 << f), (1 << f) + s, s)  # fraction carry -> characteristic + 1
    e = np.where(s < (1 << f), kk, kk + 1) - f
    p = np.where(e >= 0, mant << np.maximum(e, 0), mant >> np.maximum(-e, 0))
    return np.where(za | zb, 0, p)


def _drum_operand(x: np.ndarray, k: int) -> np.ndarray:
    t = _floor_log2(np.maximum(x, 1))
    sh = np.maximum(t - k + 1, 0)
    return np.where(sh > 0, ((x >> sh) | 1) << sh, x)


def reference_multiply(cfg: ApproxMultiplierSpec, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Arithmetic (not gate-level) model: the independent reference for every family."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    n = cfg.n
    if cfg.family == "mitchell":
        return _mitchell(a, b, n, cfg.k)
    if cfg.family == "drum":
        return _drum_operand(a, cfg.k) * _drum_operand(b, cfg.k)
    if cfg.family == "kul":
        out = np.zeros(np.broadcast(a, b).shape, dtype=np.int64)
        for i in range(n // 2):
            for j in range(n // 2):
                x, y = (a >> 2 * j) & 3, (b >> 2 * i) & 3
                m = x * y - (2 * ((x == 3) & (y == 3)) if i + j < cfg.k else 0)
                out += m << 2 * (i + j)
        return out
    if cfg.family == "verilog":
        raise ConfigError("family", "a user circuit has no arithmetic model; use multiply() (its netlist)")
    if cfg.family in ("exact", "c42"):
        if cfg.family == "c42" and cfg.k > 0:
            raise ConfigError("family", "c42 has no arithmetic closed form; use multiply() (netlist)")
        return a * b
    out = np.zeros(np.broadcast(a, b).shape, dtype=np.int64)
    drop_rows = cfg.h if cfg.family == "bam" else 0
    for i in range(drop_rows, n):
        for j in range(n):
            if i + j >= cfg.k:
                out += (((a >> j) & (b >> i)) & 1) << (i + j)
    if cfg.compensated:
        out += truncation_constant(n, cfg.k)
    return out


def _check_operands(cfg: ApproxMultiplierSpec, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    for nm, v in (("a", a), ("b", b)):
        if v.size and (v.min() < 0 or v.max() >= 1 << cfg.n):
            raise ConfigError(nm, f"operands must be unsigned {cfg.n}-bit integers in [0, {(1 << cfg.n) - 1}]")
    a2, b2 = np.broadcast_arrays(a, b)
    return a2, b2


def multiply(cfg: ApproxMultiplierSpec, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit-exact approximate product of unsigned operands (vectorized)."""
    a, b = _check_operands(cfg, a, b)
    if cfg.family in ("mitchell", "drum"):
        return reference_multiply(cfg, a, b)
    return build_netlist(cfg).evaluate(a, b)


@cache
def product_table(cfg: ApproxMultiplierSpec) -> np.ndarray:
    """All 2^n x 2^n products, table[a, b] (read-only)."""
    v = np.arange(1 << cfg.n, dtype=np.int64)
    t = multiply(cfg, v[:, None], v[None, :])
    t.setflags(write=False)
    return t


@cache
def signed_product_table(cfg: ApproxMultiplierSpec) -> np.ndarray:
    """uint8 activation x int8 weight via sign-magnitude wrapping: table[a, w + 2^(n-1)] = sgn(w) M(a, |w|)."""
    n = cfg.n
    w = np.arange(-(1 << (n - 1)), 1 << (n - 1), dtype=np.int64)
    t = product_table(cfg)[:, np.abs(w)] * np.sign(w)[None, :]
    t.setflags(write=False)
    return t


# ----------------------------------------------------------------------------------------------
# Error metrics
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorMetrics:
    """Error statistics of approx - exact, weighted by an operand distribution."""

    mean: float  # mean error (bias) mu
    var: float  # error variance sigma^2
    mae: float  # mean absolute error (mean error distance)
    mre: float  # mean relative error |e| / |exact| over pairs with exact != 0
    wce: float  # worst-case |error| over pairs with non-zero probability
    ep: float  # error probability
    nmed: float  # MAE / max |exact| (normalized mean error distance)


def metrics_from_tables(approx: np.ndarray, exact: np.ndarray, prob: np.ndarray | None = None) -> ErrorMetrics:
    """Weighted error metrics; prob (same shape, sums to 1) defaults to uniform."""
    e = (approx - exact).astype(np.float64)
    p = np.full(e.shape, 1.0 / e.size) if prob is None else np.asarray(prob, dtype=np.float64)
    if p.shape != e.shape or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ConfigError("prob", "must be a non-negative distribution over the operand pairs")
    mu = float((p * e).sum())
    nz = exact != 0
    pn = p * nz
    rel = np.abs(e) / np.where(nz, np.abs(exact), 1)
    mre = float((pn * rel).sum() / pn.sum()) if pn.sum() > 0 else 0.0
    support = p > 0
    return ErrorMetrics(
        mean=mu,
        var=float((p * (e - mu) ** 2).sum()),
        mae=float((p * np.abs(e)).sum()),
        mre=mre,
        wce=float(np.abs(e[support]).max()),
        ep=float(p[e != 0].sum()),
        nmed=float((p * np.abs(e)).sum() / np.abs(exact).max()),
    )


def error_metrics(cfg: ApproxMultiplierSpec) -> ErrorMetrics:
    """Exhaustive metrics over all 2^(2n) unsigned input pairs (uniform)."""
    v = np.arange(1 << cfg.n, dtype=np.int64)
    return metrics_from_tables(product_table(cfg), v[:, None] * v[None, :])


def signed_error_metrics(cfg: ApproxMultiplierSpec, p_act: np.ndarray, p_w: np.ndarray) -> ErrorMetrics:
    """Metrics of the sign-magnitude product for independent activation (uint) / weight (int) histograms.

    p_act has 2^n entries (value a), p_w has 2^n entries (value w + 2^(n-1)).
    """
    n = cfg.n
    a = np.arange(1 << n, dtype=np.int64)
    w = np.arange(-(1 << (n - 1)), 1 << (n - 1), dtype=np.int64)
    for nm, p in (("p_act", p_act), ("p_w", p_w)):
        if np.shape(p) != (1 << n,):
            raise ConfigError(nm, f"histogram must have {1 << n} bins")
    return metrics_from_tables(signed_product_table(cfg), a[:, None] * w[None, :], np.outer(p_act, p_w))


# ----------------------------------------------------------------------------------------------
# Hardware cost
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HardwareCost:
    """Unit-gate area and delay, switched-capacitance energy, and the cell inventory."""

    area: float
    delay: float
    energy: float  # area x activity (alpha of the operand bits, see module docstring)
    activity: float
    cells: dict[str, float]


def _clog2(x: int) -> int:
    return max(1, math.ceil(math.log2(x))) if x > 1 else 0


def _lod_encoder(n: int) -> tuple[float, float, Counter]:
    """Leading-one detector (log-depth prefix OR + n AND2 one-hot) and one-hot -> binary encoder."""
    lg = _clog2(n)
    cnt = Counter({"OR2": (n // 2) * lg + lg * (n // 2 - 1), "AND2": n})
    area = cnt["OR2"] * OR2.area + n * AND2.area
    delay = lg * OR2.delay + AND2.delay + _clog2(n // 2) * OR2.delay
    return area, delay, cnt


def _shifter(width: int, amount_values: int, out_width: int | None = None) -> tuple[float, float, Counter]:
    """Logarithmic barrel shifter, ceil(log2(#amounts)) MUX2 stages.

    Without out_width, every stage is `width` wide (a field selector); with out_width, a left shifter
    whose stage s output grows to min(out_width, width + 2^(s+1) - 1) bits.
    """
    stages = _clog2(amount_values)
    if out_width is None:
        muxes = width * stages
    else:
        muxes = sum(min(out_width, width + 2 ** (s + 1) - 1) for s in range(stages))
    return muxes * MUX2.area, stages * MUX2.delay, Counter({"MUX2": muxes})


def _ripple(width: int) -> tuple[float, float, Counter]:
    """Ripple adder: one HA + (width - 1) FA; delay = carry chain + last sum."""
    if width <= 0:
        return 0.0, 0.0, Counter()
    area = HALF_ADDER.area + (width - 1) * FULL_ADDER.area
    delay = HALF_ADDER.carry_delay + (width - 2) * FULL_ADDER.carry_delay + FULL_ADDER.delay if width > 1 \
        else HALF_ADDER.delay
    return area, delay, Counter({"HA": 1, "FA": width - 1})


def _datapath_cost(cfg: ApproxMultiplierSpec) -> tuple[float, float, Counter]:
    """Component-level area/delay of the logarithmic (Mitchell) and dynamic-range (DRUM) multipliers."""
    n = cfg.n
    lod_a, lod_d, lod_c = _lod_encoder(n)
    cnt: Counter = Counter()
    for c in (lod_c, lod_c):
        cnt.update(c)
    area, delay = 2 * lod_a, lod_d
    if cfg.family == "mitchell":
        w = cfg.k
        za = 2 * (n - 1) * OR2.area  # zero detection, OR trees
        cnt["OR2"] += 2 * (n - 1)
        sh_a, sh_d, sh_c = _shifter(w, n)  # normalize: fraction = bits below the leading one
        add_a, add_d, add_c = _ripple(w + _clog2(n))  # (characteristic, fraction) words added at once
        anti_a, anti_d, anti_c = _shifter(w + 2, 2 * n, 2 * n)  # antilog: 1.f shifted by the characteristic
        gate = 2 * n * AND2.area  # zero-operand output gating
        cnt.update(sh_c), cnt.update(sh_c), cnt.update(add_c), cnt.update(anti_c)
        cnt["AND2"] += 2 * n
        area += za + 2 * sh_a + add_a + anti_a + gate
        delay += sh_d + add_d + anti_d + AND2.delay
    else:
        k = cfg.k
        sel_a, sel_d, sel_c = _shifter(k, n - k + 1)  # pick k bits below and including the leading one
        core = build_netlist(ApproxMultiplierSpec("exact", k))
        amt_a, _amt_d, amt_c = _ripple(_clog2(n) + 1)  # shift amount sa + sb
        out_a, out_d, out_c = _shifter(2 * k, 2 * (n - k) + 1, 2 * n)
        sat = 2 * 2 * _clog2(n) * AND2.area  # shift = max(0, t - k + 1): compare/saturate per operand
        cnt.update(sel_c), cnt.update(sel_c), cnt.update(amt_c), cnt.update(out_c)
        cnt.update(core.counts)
        cnt["AND2"] += 4 * _clog2(n)
        area += 2 * sel_a + core.area + amt_a + out_a + sat
        delay += sel_d + core.delay + out_d
    return area, delay, cnt


def operand_activity(p_a: np.ndarray | None = None, p_b: np.ndarray | None = None, n: int = 8) -> float:
    """Mean toggle probability 2p(1-p) of the operand bits (p = P(bit = 1)), consecutive operands iid."""
    vals = np.arange(1 << n)
    togg = []
    for p in (p_a, p_b):
        p = np.full(1 << n, 1.0 / (1 << n)) if p is None else np.asarray(p, dtype=np.float64)
        for i in range(n):
            q = float(p[((vals >> i) & 1) == 1].sum())
            togg.append(2 * q * (1 - q))
    return float(np.mean(togg))


def hardware_cost(cfg: ApproxMultiplierSpec, activity: float = 0.5) -> HardwareCost:
    """Analytical cost computed from the structure (netlist cells or datapath components)."""
    if not 0.0 <= activity <= 1.0:
        raise ConfigError("activity", f"toggle probability must be in [0, 1], got {activity}")
    if cfg.family in ("mitchell", "drum"):
        area, delay, cnt = _datapath_cost(cfg)
    else:
        net = build_netlist(cfg)
        area, delay, cnt = net.area, net.delay, net.counts
    return HardwareCost(area=area, delay=delay, energy=area * activity, activity=activity,
                        cells={k: float(v) for k, v in sorted(cnt.items())})


def sign_magnitude_wrapper_cost(n: int = 8) -> HardwareCost:
    """|w| (n XOR + (n-1)-HA incrementer) and conditional negation of the 2n-bit product (same idea)."""
    area = n * XOR2.area + (n - 1) * HALF_ADDER.area + 2 * n * XOR2.area + (2 * n - 1) * HALF_ADDER.area
    delay = 2 * (XOR2.delay + (n - 1) * HALF_ADDER.carry_delay)
    return HardwareCost(area, delay, area * 0.5, 0.5, {"XOR2": 3.0 * n, "HA": 3.0 * n - 2})


# ----------------------------------------------------------------------------------------------
# L-Mul (floating point) vs fp8 rounding
# ----------------------------------------------------------------------------------------------
def lmul_offset_bits(m: int) -> int:
    """l(m) of Luo & Sun 2024: m if m <= 3, 3 if m == 4, 4 if m > 4."""
    if m < 1:
        raise ConfigError("m", "mantissa width must be >= 1")
    return m if m <= 3 else (3 if m == 4 else 4)


def lmul_mantissa_product(x: np.ndarray, y: np.ndarray, m: int, carry: bool = True) -> np.ndarray:
    """L-Mul of significands 1+x, 1+y (x, y in [0,1) on an m-bit grid), exponents factored out.

    carry=True: hardware form, the (exponent, mantissa) bit patterns are added as integers, so a
    mantissa sum >= 1 carries into the exponent (value 2 * (x + y + 2^-l)); carry=False: the paper's
    formula (1 + x + y + 2^-l) taken literally.
    """
    s = x + y + 2.0 ** -lmul_offset_bits(m)
    return np.where(s >= 1.0, 2.0 * s, 1.0 + s) if carry else 1.0 + s


def round_significand(v: np.ndarray, m: int) -> np.ndarray:
    """Round positive values to m mantissa bits, round-to-nearest-even (normal range, no overflow)."""
    e = np.floor(np.log2(v))
    scaled = v / 2.0**e * 2.0**m
    return np.round(scaled) / 2.0**m * 2.0**e  # np.round is round-half-even


def lmul_vs_fp8(m_values: tuple[int, ...] = (2, 3, 4, 5, 6, 7)) -> dict[str, float]:
    """Exhaustive mean relative error over all significand pairs of each format.

    'lmul_m{m}' / 'lmul_formula_m{m}': L-Mul on m-bit significands vs their exact product;
    'fp8_e4m3' / 'fp8_e5m2': exact product of 3- / 2-bit significands rounded back to 3 / 2 bits
    (an fp8 multiply with exact-then-round semantics).  Exponent range effects are excluded.
    """
    out: dict[str, float] = {}
    for m in m_values:
        g = np.arange(1 << m) / float(1 << m)
        x, y = g[:, None], g[None, :]
        exact = (1 + x) * (1 + y)
        out[f"lmul_m{m}"] = float(np.mean(np.abs(lmul_mantissa_product(x, y, m) - exact) / exact))
        out[f"lmul_formula_m{m}"] = float(
            np.mean(np.abs(lmul_mantissa_product(x, y, m, carry=False) - exact) / exact))
    for fmt, m in (("fp8_e4m3", 3), ("fp8_e5m2", 2)):
        g = np.arange(1 << m) / float(1 << m)
        exact = (1 + g[:, None]) * (1 + g[None, :])
        out[fmt] = float(np.mean(np.abs(round_significand(exact, m) - exact) / exact))
        # rounding of a real-valued product (operands on a fine 2^-10 grid) to the fp8 significand
        fine = (np.arange(1 << 10) + 0.5) / float(1 << 10)
        real = (1 + fine[:, None]) * (1 + fine[None, :])
        out[f"{fmt}_real"] = float(np.mean(np.abs(round_significand(real, m) - real) / real))
    return out
