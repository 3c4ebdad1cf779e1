"""Structural Verilog of a MultiplierDesign, and its verification.

The netlist is exactly the one the cost model times and ``simulate_design`` evaluates: the same
partial-product dots (``compressor_tree.partial_products``), the same wiring of every full/half
adder (``multiplier.reduced_tree``) as named ``fa``/``ha`` instances, and the final prefix adder
instantiated from ``archgym.rtl.adder.adder_verilog`` (carry-in tied to 0, carry-out unused).
"""

from __future__ import annotations

import re

import numpy as np

from archgym.errors import ConfigError
from archgym.simulators import compressor_tree as ct
from archgym.simulators.multiplier import MultiplierDesign, reduced_tree

_CELLS = """module fa (input a, input b, input c, output s, output co);
  assign s = a ^ b ^ c;
  assign co = (a & b) | (c & (a ^ b));
endmodule

module ha (input a, input b, output s, output co);
  assign s = a ^ b;
  assign co = a & b;
endmodule
"""

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _operand(name: str, j: int, n: int, signed: bool) -> str:
    """Bit j of an operand extended to any index (sign- or zero-extension)."""
    if j < 0:
        return "1'b0"
    if j < n:
        return f"{name}[{j}]"
    return f"{name}[{n - 1}]" if signed else "1'b0"


def _dot_expr(d: ct.Dot, n: int, signed: bool) -> str:
    if d.kind == "and":
        return f"a[{d.args[0]}] & b[{d.args[1]}]"
    if d.kind == "nand":
        return f"~(a[{d.args[0]}] & b[{d.args[1]}])"
    if d.kind == "one":
        return "1'b1"
    g = d.args[0]
    if d.kind == "neg":
        return f"neg{g}"
    _, j, inv = d.args
    e = f"((one{g} & {_operand('a', j, n, signed)}) | (two{g} & {_operand('a', j - 1, n, signed)})) ^ neg{g}"
    return f"~({e})" if inv else e


def multiplier_verilog(design: MultiplierDesign, module_name: str = "multiplier") -> str:
    """Verilog for ``design``: module ``module_name`` (a, b [n-1:0] -> p [2n-1:0]) plus ``fa``,
    ``ha`` and the final adder module ``<module_name>_final_adder``."""
    from archgym.rtl.adder import adder_verilog

    if not isinstance(module_name, str) or not _IDENT.match(module_name):
        raise ConfigError("module_name", f"must be a Verilog identifier, got {module_name!r}")
    pp = design.partial_products
    n, signed = pp.width, pp.signed
    tree = reduced_tree(design)
    adder_name = f"{module_name}_final_adder"
    lines = [f"// {n}x{n} {'signed' if signed else 'unsigned'} multiplier, {pp.encoding} partial products,",
             f"// {int(design.fa.sum())} full adders, {int(design.ha.sum())} half adders in {tree.stages} stages,",
             f"// {design.adder.n}-bit prefix adder ({design.adder.size} nodes) on columns {pp.lsb}..{2 * n - 1}.",
             f"module {module_name} (input [{n - 1}:0] a, input [{n - 1}:0] b, output [{2 * n - 1}:0] p);"]
    groups = sorted({d.args[0] for d in pp.dots if d.kind in ("booth", "neg")})
    for g in groups:  # radix-4 Booth digit g from b[2g+1], b[2g], b[2g-1]
        hi, mid, lo = (_operand("b", 2 * g + k, n, signed) for k in (1, 0, -1))
        lines += [f"  wire one{g} = {mid} ^ {lo};",
                  f"  wire two{g} = ({hi} ^ {mid}) & ~one{g};",
                  f"  wire neg{g} = {hi};"]
    for k, d in enumerate(pp.dots):
        lines.append(f"  wire w{k} = {_dot_expr(d, n, signed)};  // column {d.column}")
    for cell in tree.cells:
        lines.append(f"  wire w{cell.sum}, w{cell.carry};")
    for idx, cell in enumerate(tree.cells):
        ins = ", ".join(f".{p}(w{x})" for p, x in zip("abc", cell.inputs))
        lines.append(f"  {cell.kind} {cell.kind}{idx}_c{cell.column}_s{cell.stage} "
                     f"({ins}, .s(w{cell.sum}), .co(w{cell.carry}));")
    m = design.adder.n

    def row(k: int) -> str:
        bits = [f"w{r[k]}" if len(r) > k else "1'b0" for r in tree.rows[pp.lsb:]]
        return "{" + ", ".join(reversed(bits)) + "}"

    lines += [f"  wire [{m - 1}:0] ra = {row(0)};",
              f"  wire [{m - 1}:0] rb = {row(1)};",
              f"  wire [{m - 1}:0] s;",
              "  wire cout;",
              f"  {adder_name} final_adder (.a(ra), .b(rb), .cin(1'b0), .sum(s), .cout(cout));"]
    low = [f"w{tree.rows[c][0]}" if tree.rows[c] else "1'b0" for c in range(pp.lsb)]
    lines.append("  assign p = " + ("{s, " + ", ".join(reversed(low)) + "};" if low else "s;"))
    lines.append("endmodule")
    return _CELLS + "\n" + adder_verilog(design.adder, adder_name) + "\n" + "\n".join(lines) + "\n"


def corner_vectors(n: int, signed: bool) -> list[tuple[int, int]]:
    """0, 1, all-ones, every power of two (and, signed, the most negative value) crossed pairwise."""
    vals = sorted({0, 1, (1 << n) - 1} | {1 << k for k in range(n)} | {(1 << n) - 2, (1 << (n - 1)) - 1})
    return [(x, y) for x in vals for y in vals]


def verify_multiplier(design: MultiplierDesign, verilog: str | None = None, *, random_vectors: int = 100_000,
                      exhaustive_up_to: int = 8, prove_up_to: int = 8, seed: int = 0) -> str:
    """Check ``verilog`` (default: ``multiplier_verilog(design)``) against a * b; return what was shown.

    Widths <= ``exhaustive_up_to``: every operand pair simulated.  Otherwise ``random_vectors``
    random pairs plus corner pairs.  Widths <= ``prove_up_to``: also a Yosys SAT equivalence proof
    against ``a * b`` (signed operands for signed designs).  Raises SimulationError on a mismatch.
    """
    from archgym.rtl import verify

    if verilog is None:
        verilog = multiplier_verilog(design)
    n, signed = design.width, design.signed
    mask = (1 << n) - 1
    if n <= exhaustive_up_to:
        a, b = np.meshgrid(np.arange(1 << n, dtype=np.uint64), np.arange(1 << n, dtype=np.uint64))
        pairs = list(zip(a.ravel().tolist(), b.ravel().tolist()))
        what = f"exhaustive simulation of all {len(pairs)} operand pairs"
    else:
        rng = np.random.default_rng(seed)
        words = (n + 31) // 32
        rand = [[sum(int(rng.integers(0, 1 << 32)) << (32 * k) for k in range(words)) & mask for _ in range(2)]
                for _ in range(random_vectors)]
        corners = corner_vectors(n, signed)
        pairs = corners + [(x, y) for x, y in rand]
        what = f"simulation of {random_vectors} random + {len(corners)} corner operand pairs"
    verify.check_vectors(verilog, "multiplier", n, pairs, signed)
    done = [what + f" ({'signed' if signed else 'unsigned'}, iverilog/verilator)"]
    if n <= prove_up_to:
        verify.prove_product(verilog, "multiplier", n, signed)
        done.append(f"Yosys SAT proof of equivalence with {'$signed(a) * $signed(b)' if signed else 'a * b'}")
    return "; ".join(done)
