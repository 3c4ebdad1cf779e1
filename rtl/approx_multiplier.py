"""Verilog export of the approximate integer multipliers, checked by simulation against numpy.

Bit-level families (exact, trunc, bam, kul, c42) are written gate by gate from the same netlist that
`archgym.simulators.approx_multipliers` costs; Mitchell and DRUM are written as synthesizable datapaths
(leading-one detector, shifters, k x k core) independently of the numpy arithmetic.  `simulate_table`
runs Icarus Verilog over all 2^(2n) input pairs so any mismatch with the numpy model is caught, and
`yosys_cost` maps a design to 2-input gates with Yosys for the RTL-level cost comparison.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from archgym.errors import SimulationError
from archgym.simulators.approx_multipliers import CONST0, CONST1, MultiplierConfig, build_netlist

_GATE = {
    "NOT": "~{0}", "AND": "{0} & {1}", "OR": "{0} | {1}", "XOR": "{0} ^ {1}", "HA_S": "{0} ^ {1}",
    "HA_C": "{0} & {1}", "FA_S": "{0} ^ {1} ^ {2}", "FA_C": "({0} & {1}) | ({0} & {2}) | ({1} & {2})",
}


def module_name(cfg: MultiplierConfig) -> str:
    """A Verilog identifier for the configuration."""
    return "axm_" + re.sub(r"[^A-Za-z0-9_]", "_", cfg.name)


def _netlist_verilog(cfg: MultiplierConfig, name: str) -> str:
    net = build_netlist(cfg)
    n = cfg.n

    def sig(s: int) -> str:
        if s == CONST0:
            return "1'b0"
        if s == CONST1:
            return "1'b1"
        if s < 2 + n:
            return f"a[{s - 2}]"
        if s < 2 + 2 * n:
            return f"b[{s - 2 - n}]"
        return f"s{s}"

    lines = [f"module {name}(input [{n - 1}:0] a, input [{n - 1}:0] b, output [{2 * n - 1}:0] p);"]
    for sid, op, ins in net.ops:
        lines.append(f"  wire s{sid} = {_GATE[op].format(*(sig(i) for i in ins))};")
    for j, o in enumerate(net.outputs):
        lines.append(f"  assign p[{j}] = {sig(o)};")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def _lod_function(n: int) -> str:
    return (f"  function [4:0] lod; input [{n - 1}:0] x; integer i; begin\n"
            f"    lod = 0; for (i = 0; i < {n}; i = i + 1) if (x[i]) lod = i;\n  end endfunction\n")


def _mitchell_verilog(cfg: MultiplierConfig, name: str) -> str:
    n, w, f = cfg.n, cfg.k, cfg.n - 1
    wide = 4 * n
    cut = "" if w == f else f", {{{f - w}{{1'b0}}}}"
    return (
        f"module {name}(input [{n - 1}:0] a, input [{n - 1}:0] b, output [{2 * n - 1}:0] p);\n"
        + _lod_function(n)
        + f"  wire [4:0] ka = lod(a), kb = lod(b);\n"
        f"  wire [{2 * n - 1}:0] na = {{{{{n}{{1'b0}}}}, a}} << ({f} - ka);\n"
        f"  wire [{2 * n - 1}:0] nb = {{{{{n}{{1'b0}}}}, b}} << ({f} - kb);\n"
        f"  wire [{f - 1}:0] fa = {{na[{f - 1}:{f - w}]{cut}}};\n"
        f"  wire [{f - 1}:0] fb = {{nb[{f - 1}:{f - w}]{cut}}};\n"
        f"  wire [{f}:0] s = fa + fb;\n"
        f"  wire [5:0] e = ka + kb + s[{f}];\n"
        f"  wire [{f}:0] mant = s[{f}] ? s : {{1'b1, s[{f - 1}:0]}};\n"
        f"  wire [{wide - 1}:0] sh = ({{{{{wide - f - 1}{{1'b0}}}}, mant}} << e) >> {f};\n"
        f"  assign p = (a == 0 || b == 0) ? {2 * n}'d0 : sh[{2 * n - 1}:0];\n"
        "endmodule\n"
    )


def _drum_verilog(cfg: MultiplierConfig, name: str) -> str:
    n, k = cfg.n, cfg.k
    return (
        f"module {name}(input [{n - 1}:0] a, input [{n - 1}:0] b, output [{2 * n - 1}:0] p);\n"
        + _lod_function(n)
        + f"  wire [4:0] ta = lod(a), tb = lod(b);\n"
        f"  wire [4:0] sa = (ta >= {k}) ? ta - {k - 1} : 5'd0;\n"
        f"  wire [4:0] sb = (tb >= {k}) ? tb - {k - 1} : 5'd0;\n"
        f"  wire [{n - 1}:0] xa = (a >> sa) | (sa != 0);\n"
        f"  wire [{n - 1}:0] xb = (b >> sb) | (sb != 0);\n"
        f"  wire [{2 * k - 1}:0] core = xa[{k - 1}:0] * xb[{k - 1}:0];\n"
        f"  assign p = {{{{{2 * (n - k)}{{1'b0}}}}, core}} << (sa + sb);\n"
        "endmodule\n"
    )


def to_verilog(cfg: MultiplierConfig, name: str | None = None) -> str:
    """Synthesizable Verilog-2005 module `name(a, b, p)` for an integer configuration."""
    name = name or module_name(cfg)
    if cfg.family == "mitchell":
        return _mitchell_verilog(cfg, name)
    if cfg.family == "drum":
        return _drum_verilog(cfg, name)
    return _netlist_verilog(cfg, name)


def _run(cmd: list[str], cwd: str, timeout: float) -> str:
    if shutil.which(cmd[0]) is None:
        raise SimulationError(f"'{cmd[0]}' is not installed")
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise SimulationError(f"{cmd[0]} timed out after {timeout} s") from exc
    if r.returncode != 0:
        raise SimulationError(f"{' '.join(cmd)} failed: {r.stderr.strip()[-2000:]}")
    return r.stdout


def simulate_table(cfg: MultiplierConfig, timeout: float = 120.0) -> np.ndarray:
    """Exhaustive Icarus Verilog simulation: the 2^n x 2^n product table of the exported RTL."""
    name = module_name(cfg)
    return simulate_modules(to_verilog(cfg, name), [name], cfg.n, timeout)[0]


def simulate_modules(verilog: str, modules: list[str], n: int, timeout: float = 120.0) -> list[np.ndarray]:
    """Drive every module `m(a, b, p)` of the text with all 2^(2n) pairs in one Icarus run.

    Returns one 2^n x 2^n table per module (so a whole multi-multiplier design file is checked as
    written, not regenerated).
    """
    if not modules:
        return []
    ports = "".join(f"  wire [{2 * n - 1}:0] p{i};\n  {m} dut{i}(.a(a), .b(b), .p(p{i}));\n"
                    for i, m in enumerate(modules))
    fmt = " ".join(["%0d"] * len(modules))
    args = ", ".join(f"p{i}" for i in range(len(modules)))
    tb = (f"module tb; reg [{n - 1}:0] a, b; integer i, f;\n{ports}"
          f"  initial begin f = $fopen(\"out.txt\", \"w\");\n"
          f"    for (i = 0; i < {1 << 2 * n}; i = i + 1) begin {{a, b}} = i; #1; $fwrite(f, \"{fmt}\\n\", {args}); end\n"
          f"    $fclose(f); $finish; end\nendmodule\n")
    with tempfile.TemporaryDirectory() as d:
        Path(d, "dut.v").write_text(verilog + "\n" + tb)
        _run(["iverilog", "-s", "tb", "-o", "sim", "dut.v"], d, timeout)
        _run(["vvp", "-n", "sim"], d, timeout)
        vals = np.loadtxt(Path(d, "out.txt"), dtype=np.int64, ndmin=2)
    if vals.shape != (1 << 2 * n, len(modules)):
        raise SimulationError(f"simulation wrote {vals.shape} values, expected {(1 << 2 * n, len(modules))}")
    return [vals[:, i].reshape(1 << n, 1 << n) for i in range(len(modules))]


# Unit-gate weights of the 2-input gates Yosys/ABC maps to (Zimmermann 1997; inverters free).
_YOSYS_AREA = {"AND": 1, "NAND": 1, "OR": 1, "NOR": 1, "ANDNOT": 1, "ORNOT": 1, "XOR": 2, "XNOR": 2, "NOT": 0,
               "MUX": 3}


def yosys_cost(cfg: MultiplierConfig, timeout: float = 300.0) -> dict[str, float]:
    """Synthesize with Yosys (`synth; abc -g` 2-input gates) and return gate counts + unit-gate area."""
    name = module_name(cfg)
    gates = ",".join(g for g in _YOSYS_AREA if g != "NOT")
    with tempfile.TemporaryDirectory() as d:
        Path(d, "dut.v").write_text(to_verilog(cfg, name))
        out = _run(["yosys", "-q", "-p", f"read_verilog dut.v; synth -flatten -top {name}; abc -g {gates}; "
                    "opt_clean; tee -o stat.txt stat"], d, timeout)
        text = Path(d, "stat.txt").read_text() + out
    counts = {m.group(1): float(m.group(2)) for m in re.finditer(r"\$_(\w+)_\s+(\d+)", text)}
    if not counts:
        raise SimulationError(f"no gates found in the Yosys report of {name}")
    counts["area"] = float(sum(_YOSYS_AREA.get(g, 1) * c for g, c in counts.items()))
    return counts
