"""EvoApproxLib side by side: its published figures, its error metrics, and its gate-level Verilog.

EvoApproxLib (Mrazek, Hrbacek, Vasicek & Sekanina, "EvoApprox8b: Library of approximate adders and
multipliers for circuit design and benchmarking of approximation methods", DATE 2017; LITE version at
github.com/ehw-fit/evoapproxlib, MIT licence) is the reference library of approximate arithmetic.  Three
things let archgym be measured against it:

* ``published()``: the figures EvoApproxLib publishes for its 36 distinct 8x8 unsigned multipliers of the
  LITE version (the Pareto subsets for power against MAE, WCE, MRE, MSE and EP), as printed in each
  circuit's header: MAE, WCE, WCRE, EP, MRE, MSE and the PDK45 power, area and delay of its synthesis
  (``simulators/data/approx/evoapprox8b_mul8u.csv``; revision and source in ``SOURCE.md`` beside it).
  Figures only: no circuit of the library ships with archgym.
* ``evoapprox_metrics(table)``: EvoApproxLib's definitions computed from an exhaustive product table.
  Percentages are of the output range 2^(2n) (MAE% = MAE / 2^16 for 8 bits), MRE averages |e| / exact over
  the pairs whose exact product is non-zero, and so does the worst-case relative error WCRE.  These definitions
  reproduce the published figures of every LITE circuit (``experiments/bench_evoapprox.py --evoapprox``).
* ``import_verilog(text)``: a circuit of the library (or any netlist in its format: ``assign`` statements of
  &, |, ^, ~ and the ``PDKGEN*`` AND2/HA/FA cells, inputs ``A``/``B``, output ``O``) as an archgym
  `Netlist`, simulated bit-exactly and costed with the same unit-gate model as archgym's own circuits.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from archgym.errors import ConfigError
from archgym.simulators.approx.library import CONST0, CONST1, Netlist, metrics_from_tables

#: the columns of the published table, in EvoApproxLib's units (percent, mW, um^2, ns)
FIGURES = ("mae_pct", "mae", "wce_pct", "wce", "wcre_pct", "ep_pct", "mre_pct", "mse",
           "power_mw", "area_um2", "delay_ns")
#: the exact 8x8 multiplier of the library (an array multiplier of AND2, HA and FA cells)
EXACT = "mul8u_1JFF"


@dataclass(frozen=True)
class PublishedCircuit:
    """One circuit of EvoApproxLib as the library describes it."""

    name: str
    pareto_sets: tuple[str, ...]  # the library's Pareto subsets (power vs mae/wce/mre/mse/ep) listing it
    figures: dict[str, float]
    printed: dict[str, str]  # the same figures as the library prints them (their precision)


@cache
def published() -> dict[str, PublishedCircuit]:
    """The 8x8 unsigned multipliers of EvoApproxLib LITE with their published figures, by name."""
    path = resources.files("archgym.simulators") / "data" / "approx" / "evoapprox8b_mul8u.csv"
    out: dict[str, PublishedCircuit] = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            out[row["name"]] = PublishedCircuit(
                row["name"], tuple(row["pareto_sets"].split()), {k: float(row[k]) for k in FIGURES},
                {k: row[k] for k in FIGURES})
    return out


def evoapprox_metrics(table: np.ndarray, n: int = 8) -> dict[str, float]:
    """EvoApproxLib's error figures of an exhaustive unsigned product table (rows a, columns b)."""
    if table.shape != (1 << n, 1 << n):
        raise ConfigError("table", f"needs the {1 << n} x {1 << n} products of every operand pair")
    v = np.arange(1 << n, dtype=np.int64)
    exact = v[:, None] * v[None, :]
    m = metrics_from_tables(table.astype(np.int64), exact)
    err = np.abs(table.astype(np.int64) - exact).astype(np.float64)
    scale = 100.0 / (1 << (2 * n))
    nonzero = exact > 0
    return {
        "mae_pct": m.mae * scale, "mae": m.mae,
        "wce_pct": m.wce * scale, "wce": m.wce,
        "wcre_pct": 100.0 * float((err[nonzero] / exact[nonzero]).max()),
        "ep_pct": 100.0 * m.ep,
        "mre_pct": 100.0 * m.mre,
        "mse": m.var + m.mean ** 2,
    }


def printed_tolerance(printed: str) -> float:
    """Half a unit of the last digit of a figure as printed ('0.89' -> 0.005, '15608.397e3' -> 0.5)."""
    mantissa, _, exponent = printed.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def matches_published(measured: dict[str, float], circuit: PublishedCircuit) -> dict[str, bool]:
    """Whether each measured error figure rounds to the published one (to its printed digits)."""
    return {key: abs(measured[key] - circuit.figures[key]) <= printed_tolerance(circuit.printed[key]) * (1 + 1e-9)
            for key in circuit.printed if key in measured}


# ----------------------------------------------------------------------------------------------
# Import of gate-level Verilog in EvoApproxLib's format
# ----------------------------------------------------------------------------------------------
_MODULE = re.compile(r"\bmodule\b(.*?)\bendmodule\b", re.S)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?"
_ASSIGN = re.compile(r"assign\s+(" + _NAME + r")\s*=\s*([^;]+);")
_CELL = re.compile(r"\b(PDKGEN\w+)\s+\w+\s*\(([^;]*)\)\s*;")
_OPERAND = re.compile(_NAME + r"|1'b[01]")
_PORT = re.compile(r"\.(\w+)\s*\(\s*(" + _OPERAND.pattern + r")\s*\)")
_BINARY = re.compile(r"(" + _OPERAND.pattern + r")\s*([&|^])\s*(" + _OPERAND.pattern + r")")
#: the cells of the library's netlists: inputs, outputs
_CELLS = {"PDKGENAND2X1": (("A", "B"), ("Y",)), "PDKGENHAX1": (("A", "B"), ("YS", "YC")),
          "PDKGENFAX1": (("A", "B", "C"), ("YS", "YC"))}


@dataclass(frozen=True)
class _Statement:
    """One gate of the netlist: an operator ('&', '|', '^', '=' for a wire, or a cell name)."""

    op: str
    ins: tuple[str, ...]
    outs: tuple[str, ...]
    invert: bool = False


def _statements(text: str) -> list[_Statement]:
    out: list[_Statement] = []
    for lhs, rhs in _ASSIGN.findall(text):
        rhs = " ".join(rhs.split())
        inverted = rhs.startswith("~")
        body = rhs[1:].strip() if inverted else rhs
        grouped = body.startswith("(") and body.endswith(")")
        if grouped:
            body = body[1:-1].strip()
        if (m := _BINARY.fullmatch(body)) and (grouped or not inverted):  # '~a & b' is not '~(a & b)'
            out.append(_Statement(m[2], (m[1], m[3]), (lhs,), inverted))
        elif _OPERAND.fullmatch(body):
            out.append(_Statement("=", (body,), (lhs,), inverted))
        else:
            raise ConfigError("verilog", f"unsupported expression in 'assign {lhs} = {rhs};' "
                                         "(supported: a & b, a | b, a ^ b, ~(a op b), ~a, a, 1'b0, 1'b1)")
    for cell, ports in _CELL.findall(text):
        if cell not in _CELLS:
            raise ConfigError("verilog", f"unknown cell {cell}; supported: {', '.join(sorted(_CELLS))}")
        conn = dict(_PORT.findall(ports))
        ins, outs = _CELLS[cell]
        missing = [p for p in ins + outs if p not in conn]
        if missing:
            raise ConfigError("verilog", f"a {cell} instance lacks port(s) {', '.join(missing)}")
        out.append(_Statement(cell, tuple(conn[p] for p in ins), tuple(conn[p] for p in outs)))
    return out


def import_verilog(text: str, n: int = 8) -> Netlist:
    """An archgym netlist of a gate-level n x n multiplier in EvoApproxLib's Verilog format.

    Inputs are ``A[0..n)`` and ``B[0..n)``, the product is ``O[0..2n)``.  Statements are added as their
    inputs become known (the library lists them in topological order); a loop or an undriven signal is
    an error naming the signal.  Constant folding and the unit-gate cost are the netlist's own.
    """
    modules = _MODULE.findall(text)
    if not modules:
        raise ConfigError("verilog", "no 'module ... endmodule' found")
    body = modules[0]  # the multiplier; the cell modules that may follow it are known by name
    sig: dict[str, int] = {"1'b0": CONST0, "1'b1": CONST1}
    net = Netlist(n)
    for i in range(n):
        sig[f"A[{i}]"], sig[f"B[{i}]"] = net.a(i), net.b(i)
    pending = _statements(body)
    while pending:
        ready = [st for st in pending if all(s in sig for s in st.ins)]
        if not ready:
            undriven = sorted({s for st in pending for s in st.ins if s not in sig})
            raise ConfigError("verilog", f"signal(s) never driven or driven in a loop: {', '.join(undriven[:5])}")
        for st in ready:
            _emit(net, sig, st)
        done = {id(st) for st in ready}
        pending = [st for st in pending if id(st) not in done]
    missing_out = [f"O[{j}]" for j in range(2 * n) if f"O[{j}]" not in sig]
    if missing_out:
        raise ConfigError("verilog", f"output bit(s) {', '.join(missing_out)} are not driven")
    net.outputs = [sig[f"O[{j}]"] for j in range(2 * n)]
    return net


def _emit(net: Netlist, sig: dict[str, int], st: _Statement) -> None:
    ins = [sig[s] for s in st.ins]
    if st.op == "PDKGENAND2X1":
        outs: tuple[int, ...] = (net.AND(*ins),)
    elif st.op == "PDKGENHAX1":
        outs = net.HA(*ins)
    elif st.op == "PDKGENFAX1":
        outs = net.FA(*ins)
    else:
        out = {"&": net.AND, "|": net.OR, "^": net.XOR}[st.op](*ins) if st.op != "=" else ins[0]
        outs = (net.NOT(out) if st.invert else out,)
    sig.update(zip(st.outs, outs, strict=True))
