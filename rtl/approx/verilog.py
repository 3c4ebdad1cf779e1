"""Verilog export of the approximate integer multipliers, checked by simulation against numpy.

Bit-level families (exact, trunc, bam, kul, c42) are written gate by gate from the same netlist that
`archgym.simulators.approx.library` costs; Mitchell and DRUM are written as synthesizable datapaths
(leading-one detector, shifters, k x k core) independently of the numpy arithmetic.  `simulate_table`
runs Icarus Verilog (through the toolchain layer, `archgym.simulators.eda.tools`) over all 2^(2n) input
pairs, so any mismatch with the numpy model is caught.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import numpy as np

from archgym.errors import SimulationError
from archgym.simulators.approx.library import CONST0, CONST1, ApproxMultiplierSpec, build_netlist, product_table
from archgym.simulators.eda import tools

_GATE = {
    "NOT": "~{0}", "AND": "{0} & {1}", "OR": "{0} | {1}", "XOR": "{0} ^ {1}", "HA_S": "{0} ^ {1}",
    "HA_C": "{0} & {1}", "FA_S": "{0} ^ {1} ^ {2}", "FA_C": "({0} & {1}) | ({0} & {2}) | ({1} & {2})",
}


def module_name(cfg: ApproxMultiplierSpec) -> str:
    """A Verilog identifier for the configuration."""
    return "axm_" + re.sub(r"[^A-Za-z0-9_]", "_", cfg.name)


def _netlist_verilog(cfg: ApproxMultiplierSpec, name: str) -> str:
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


def _mitchell_verilog(cfg: ApproxMultiplierSpec, name: str) -> str:
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


def _drum_verilog(cfg: ApproxMultiplierSpec, name: str) -> str:
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


def to_verilog(cfg: ApproxMultiplierSpec, name: str | None = None) -> str:
    """Synthesizable Verilog-2005 module `name(a, b, p)` for an integer configuration."""
    name = name or module_name(cfg)
    if cfg.family == "mitchell":
        return _mitchell_verilog(cfg, name)
    if cfg.family == "drum":
        return _drum_verilog(cfg, name)
    return _netlist_verilog(cfg, name)


def _run(tool: str, args: list[str], cwd: str, deadline: float) -> str:
    proc = tools.run([*tools.find(tool).argv, *args], cwd=cwd, deadline=deadline, what=tool, check=True)
    return proc.stdout


def simulate_table(cfg: ApproxMultiplierSpec, timeout: float = 120.0) -> np.ndarray:
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
        deadline = time.monotonic() + timeout
        _run("iverilog", ["-s", "tb", "-o", "sim", "dut.v"], d, deadline)
        _run("vvp", ["-n", "sim"], d, deadline)
        vals = np.loadtxt(Path(d, "out.txt"), dtype=np.int64, ndmin=2)
    if vals.shape != (1 << 2 * n, len(modules)):
        raise SimulationError(f"simulation wrote {vals.shape} values, expected {(1 << 2 * n, len(modules))}")
    return [vals[:, i].reshape(1 << n, 1 << n) for i in range(len(modules))]


def layers_verilog(configs: list[ApproxMultiplierSpec], top: str, comment: str = "") -> str:
    """One module with an unsigned 8x8 multiplier per DNN layer, ports ``a<i>, b<i> -> p<i>``; each
    distinct configuration's module appears once."""
    distinct = list({c.name: c for c in configs}.values())
    parts = [f"// {comment}: one unsigned 8x8 multiplier per layer: {', '.join(c.name for c in configs)}\n"]
    parts += [to_verilog(c) for c in distinct]
    ports = ", ".join(f"input [7:0] a{i}, input [7:0] b{i}, output [15:0] p{i}" for i in range(len(configs)))
    body = "".join(f"  {module_name(c)} layer{i}(.a(a{i}), .b(b{i}), .p(p{i}));\n" for i, c in enumerate(configs))
    parts.append(f"module {top}({ports});\n{body}endmodule\n")
    return "\n".join(parts)


def verify_layers(configs: list[ApproxMultiplierSpec], verilog: str, timeout: float = 120.0) -> str:
    """Simulate the top module (the last in the file) layer by layer against the numpy product tables;
    return a one-line description of what was shown, or raise SimulationError at the first mismatch."""
    tops = tools.module_names(verilog)
    if not tops:
        raise SimulationError("no module in the Verilog text")
    top, k = tops[-1], len(configs)
    wrappers = []
    for i in range(k):  # expose layer i of the top as m(a, b, p), other inputs tied to 0
        conns = ", ".join(f".a{j}(a), .b{j}(b), .p{j}(p)" if j == i else f".a{j}(8'd0), .b{j}(8'd0), .p{j}()"
                          for j in range(k))
        wrappers.append(f"module chk_layer{i}(input [7:0] a, input [7:0] b, output [15:0] p);\n"
                        f"  {top} top({conns});\nendmodule\n")
    tables = simulate_modules(verilog + "\n" + "".join(wrappers), [f"chk_layer{i}" for i in range(k)], 8, timeout)
    for i, (cfg, table) in enumerate(zip(configs, tables)):
        ref = product_table(cfg)
        if not np.array_equal(table, ref):
            a, b = np.argwhere(table != ref)[0]
            raise SimulationError(f"layer {i} ({cfg.name}) of module {top} differs from the numpy model at "
                                  f"a={a}, b={b}: {table[a, b]} vs {ref[a, b]}")
    distinct = list(dict.fromkeys(c.name for c in configs))
    return (f"simulated all 65,536 input pairs of each of the {k} layer multipliers of {top} "
            f"({', '.join(distinct)}) against the numpy model with iverilog")
