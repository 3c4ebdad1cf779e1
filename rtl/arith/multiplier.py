"""Structural Verilog of a MultiplierDesign, and its verification.

The netlist is exactly the one the cost model times and ``simulate_design`` evaluates: the same
partial-product dots (``compressor_tree.partial_products``), the same wiring of every full/half
adder (``multiplier.reduced_tree``) as named ``fa``/``ha`` instances, and the final prefix adder
instantiated from ``archgym.rtl.arith.adder.adder_verilog`` (carry-in tied to 0, carry-out unused).
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import numpy as np

from archgym.errors import ConfigError
from archgym.simulators.arith import compressor_tree as ct
from archgym.simulators.arith.multiplier import MultiplierDesign, reduced_tree
from archgym.simulators.eda import tools

_CELLS = """module fa (input a, input b, input c, output s, output co);
  assign s = a ^ b ^ c;
  assign co = (a & b) | (c & (a ^ b));
endmodule

module ha (input a, input b, output s, output co);
  assign s = a ^ b;
  assign co = a & b;
endmodule
"""



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
    from archgym.rtl.arith.adder import adder_verilog

    if not tools.is_identifier(module_name):
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


def corner_vectors(n: int) -> list[tuple[int, int]]:
    """Operand pairs from {0, 1, all-ones, every power of two, 2^(n-1)-1, all-ones - 1}, crossed."""
    vals = sorted({0, 1, (1 << n) - 1, (1 << n) - 2, (1 << (n - 1)) - 1} | {1 << k for k in range(n)})
    return [(x, y) for x in vals for y in vals]


def _product(x: int, y: int, n: int, signed: bool) -> int:
    if signed:
        x -= (x >> (n - 1)) << n
        y -= (y >> (n - 1)) << n
    return (x * y) % (1 << (2 * n))


def random_pairs(n: int, count: int, seed: int = 0) -> list[tuple[int, int]]:
    """``count`` seeded uniformly random n-bit operand pairs."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 1 << 32, size=(count, 2, (n + 31) // 32), dtype=np.uint64).tolist()
    mask = (1 << n) - 1
    return [tuple(sum(w << (32 * k) for k, w in enumerate(op)) & mask for op in pair) for pair in raw]


def simulate_verilator(verilog: str, module_name: str, n: int, signed: bool,
                       pairs: list[tuple[int, int]] | None = None, timeout: float = 1800.0) -> tuple[int, float]:
    """Run ``pairs`` (None: all 4^n pairs, looped inside the bench) through ``module_name`` compiled by
    Verilator (``--binary``); return (mismatching pairs, seconds incl. compile).

    The test bench computes the reference product itself (``a * b``, or on $signed operands), so only
    the operands travel through a file.  Much faster than Icarus for wide multipliers.
    """
    from archgym.errors import SimulationError

    verilator = tools.find("verilator")
    w = 2 * n
    count = (1 << w) if pairs is None else len(pairs)
    fill_a, fill_b = (f"a[{n - 1}]", f"b[{n - 1}]") if signed else ("1'b0", "1'b0")
    ext_a = f"{{{{{n}{{{fill_a}}}}}, a}}"  # sign- or zero-extend to 2n bits
    ext_b = f"{{{{{n}{{{fill_b}}}}}, b}}"
    ref = "$signed(ra) * $signed(rb)" if signed else "ra * rb"
    load = ("{a, b} = i;" if pairs is None else "{a, b} = mem[i];")
    tb = f"""module mul_tb;
  reg [{n - 1}:0] a, b;
  wire [{w - 1}:0] p;
  reg {'signed ' if signed else ''}[{w - 1}:0] ra, rb, want;
  {'' if pairs is None else f'reg [{w - 1}:0] mem [0:{count - 1}];'}
  longint i, errors;
  {module_name} dut (.a(a), .b(b), .p(p));
  initial begin
    {'' if pairs is None else '$readmemh("ops.hex", mem);'}
    errors = 0;
    for (i = 0; i < {count}; i = i + 1) begin
      {load}
      ra = {ext_a};
      rb = {ext_b};
      #1;
      want = {ref};
      if (p !== want) errors = errors + 1;
    end
    $display("MUL_DONE %0d %0d", i, errors);
    $finish;
  end
endmodule
"""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="archgym_mul_") as tmp:
        work = Path(tmp)
        (work / "design.v").write_text(verilog)
        (work / "tb.v").write_text(tb)
        if pairs is not None:
            hexw = (w + 3) // 4
            (work / "ops.hex").write_text("".join(f"{(x << n) | y:0{hexw}x}\n" for x, y in pairs))
        deadline = time.monotonic() + timeout
        comp = tools.run([*verilator.argv, "--binary", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--timing",
                          "--top-module", "mul_tb", "-O1", "tb.v", "design.v"],
                         cwd=work, deadline=deadline, what=f"verilator build of '{module_name}'")
        if comp.returncode != 0:
            raise SimulationError(f"verilator failed on '{module_name}':\n{comp.stderr[-2000:]}")
        run = tools.run([str(work / "obj_dir" / "Vmul_tb")], cwd=work, deadline=deadline,
                        what=f"verilator run of '{module_name}'")
    done = re.search(r"MUL_DONE (\d+) (\d+)", run.stdout)
    if done is None or int(done.group(1)) != count:
        raise SimulationError(f"verilator simulation of '{module_name}' did not finish:\n{run.stdout[-2000:]}")
    return int(done.group(2)), time.perf_counter() - t0


def top_module(verilog: str) -> str:
    """The multiplier module of a text written by ``multiplier_verilog`` (the one with a ``<name>_final_adder``)."""
    modules = tools.module_names(verilog)
    for m in modules:
        if f"{m}_final_adder" in modules:
            return m
    raise ConfigError("verilog", f"no multiplier module (one with a '<name>_final_adder') among {modules}")


def verify_multiplier(design: MultiplierDesign, verilog: str | None = None, module_name: str = "multiplier", *,
                      random_vectors: int = 100_000, exhaustive_up_to: int = 8, prove_up_to: int = 6,
                      seed: int = 0, corners: bool = True, engine: str = "icarus", timeout: float = 600.0) -> str:
    """Check ``verilog`` (default: ``multiplier_verilog(design)``) against the product; return what was shown.

    Widths <= ``exhaustive_up_to``: every operand pair simulated (Icarus, ``rtl.verify.simulate``);
    wider: ``random_vectors`` seeded random pairs plus (``corners``) ``corner_vectors``.  ``engine="verilator"``
    simulates with Verilator instead (``simulate_verilator``; seconds of compile, then fast).  Widths <= ``prove_up_to``:
    also a Yosys SAT proof (``rtl.verify.prove_equivalent``) against ``a * b`` ($signed operands for
    signed designs).  An 8-bit proof takes 40-90 s on a loaded 2-core machine, hence the default of 6.
    Raises SimulationError on any mismatch or failed proof.
    """
    from archgym.errors import SimulationError
    from archgym.rtl.verify import prove_equivalent, simulate

    if verilog is None:
        verilog = multiplier_verilog(design, module_name)
    n, signed = design.width, design.signed
    ins, outs = {"a": n, "b": n}, {"p": 2 * n}
    if n <= exhaustive_up_to:
        pairs = [(x, y) for x in range(1 << n) for y in range(1 << n)]
        what = f"all {len(pairs)} operand pairs simulated"
    else:
        extra = corner_vectors(n) if corners else []
        pairs = extra + random_pairs(n, random_vectors, seed)
        what = f"{random_vectors} random (seed {seed}) + {len(extra)} corner operand pairs simulated"
    kind = "signed" if signed else "unsigned"
    if engine == "verilator":
        errors, secs = simulate_verilator(verilog, module_name, n, signed, pairs, timeout)
        if errors:
            raise SimulationError(f"{n}-bit multiplier Verilog disagrees with the product on {errors} pairs")
        done = [f"{what} ({kind}, Verilator, {secs:.1f} s incl. compile)"]
    elif engine == "icarus":
        res = simulate(verilog, module_name, ins, outs, vectors=[{"a": x, "b": y} for x, y in pairs],
                       expected=[{"p": _product(x, y, n, signed)} for x, y in pairs], timeout=timeout)
        if not res.passed:
            raise SimulationError(f"{n}-bit multiplier Verilog disagrees with the product: {res}")
        done = [f"{what} ({kind}, Icarus Verilog, {res.seconds:.1f} s)"]
    else:
        raise ConfigError("engine", f"must be 'icarus' or 'verilator', got {engine!r}")
    if n <= prove_up_to:
        ref = f"assign p = {'$signed(a) * $signed(b)' if signed else 'a * b'};"
        proof = prove_equivalent(verilog, module_name, ref, ins, outs, timeout=timeout)
        if not proof.equivalent:
            raise SimulationError(f"{n}-bit multiplier Verilog is NOT proven equal to the product: {proof}")
        done.append(f"proved equal to {ref[11:-1]} by Yosys SAT in {proof.seconds:.1f} s")
    return "; ".join(done)


def main(argv: list[str] | None = None) -> None:
    """Verify classical and randomly edited multipliers beyond what the test suite can afford.

    Example: ``python -m archgym.rtl.arith.multiplier --widths 8 12 16 32 64 --vectors 100000``.
    """
    import argparse

    from archgym.simulators.arith.multiplier import legal_tree_edits, multiplier_baseline, tree_edit

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--vectors", type=int, default=100_000)
    ap.add_argument("--prove-up-to", type=int, default=6)
    ap.add_argument("--exhaustive-up-to", type=int, default=12)
    ap.add_argument("--edits", type=int, default=40, help="random tree edits applied to each baseline")
    ap.add_argument("--engine", choices=("icarus", "verilator"), default="verilator")
    args = ap.parse_args(argv)
    families = [("and", False), ("and", True), ("booth", False), ("booth", True)]
    for n in args.widths:
        for enc, signed in families:
            d = multiplier_baseline("dadda", "sklansky", n, enc, signed)
            rng = np.random.default_rng(n)
            for _ in range(args.edits):
                k = int(rng.choice(np.flatnonzero(legal_tree_edits(d))))
                d = tree_edit(d, k // 4, k % 4)
            t0 = time.perf_counter()
            if n <= args.exhaustive_up_to and args.engine == "verilator" and n > 8:
                errors, secs = simulate_verilator(multiplier_verilog(d), "multiplier", n, signed)
                if errors:
                    raise SystemExit(f"{n}-bit {enc} signed={signed}: {errors} mismatches")
                msg = f"all {4 ** n} operand pairs simulated (Verilator, {secs:.1f} s)"
            else:
                msg = verify_multiplier(d, random_vectors=args.vectors, prove_up_to=args.prove_up_to,
                                        exhaustive_up_to=min(args.exhaustive_up_to, 8), engine=args.engine)
            print(f"{n:3d}-bit {enc:5s} {'signed  ' if signed else 'unsigned'} "
                  f"{sum(d.full_adders)} FA {sum(d.half_adders)} HA: {msg} [{time.perf_counter() - t0:.1f} s]",
                  flush=True)


if __name__ == "__main__":
    main()
