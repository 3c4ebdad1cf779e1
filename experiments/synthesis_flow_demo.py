"""Why archgym synthesizes with a structure-keeping flow: the figures, side by side.

Yosys's default ``synth`` followed by a plain ABC mapping re-synthesizes a written-out adder, so
ripple-carry, Sklansky and Kogge-Stone come out as near-identical netlists and an architecture
search would have nothing to find.  The ``structural`` flow (see ``archgym.simulators.eda.synthesis``)
maps the design as written, with a delay target.  This script synthesizes ripple / Sklansky /
Kogge-Stone adders at 8, 32 and 64 bits under both flows and prints area, OpenSTA delay, logic depth
and cell count.

Run:  python -m archgym.experiments.synthesis_flow_demo [--widths 8 32 64] [--jobs 2]

The adders are generated here as gate-level Verilog (generate ``g = a & b``, propagate
``p = a ^ b``, a prefix network of ``(g, p) o (g', p')`` operators, sum ``s_i = p_i ^ G_{i-1}``) so the
demo and the synthesis tests do not depend on the search families' RTL exporters.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

PREFIX_KINDS = ("ripple", "sklansky", "kogge_stone")


def _prefix_pairs(kind: str, n: int) -> Iterator[list[tuple[int, int]]]:
    """Yield, level by level, the (i, j) operator pairs: node i absorbs the group ending at j."""
    if kind == "ripple":
        for i in range(1, n):
            yield [(i, i - 1)]
        return
    levels = max(1, (n - 1).bit_length())
    for level in range(levels):
        span = 1 << level
        if kind == "sklansky":
            yield [(i, ((i >> level) << level) - 1) for i in range(n) if (i >> level) & 1]
        elif kind == "kogge_stone":
            yield [(i, i - span) for i in range(span, n)]
        else:
            raise ValueError(f"unknown prefix kind {kind!r}; valid: {', '.join(PREFIX_KINDS)}")


def adder_verilog(kind: str, n: int, top: str | None = None) -> str:
    """Gate-level Verilog of an ``n``-bit prefix adder ``{cout, s} = a + b`` of the given ``kind``."""
    if n < 2:
        raise ValueError("adder width n must be at least 2")
    top = top or f"{kind}_{n}"
    lines = [
        f"module {top}(input [{n - 1}:0] a, input [{n - 1}:0] b, output [{n - 1}:0] s, output cout);",
    ]
    g = [f"g0_{i}" for i in range(n)]
    p = [f"p0_{i}" for i in range(n)]
    for i in range(n):
        lines.append(f"  wire g0_{i} = a[{i}] & b[{i}];")
        lines.append(f"  wire p0_{i} = a[{i}] ^ b[{i}];")
    half = list(p)  # p_i = a_i ^ b_i is also needed for the sum bits
    for step, pairs in enumerate(_prefix_pairs(kind, n), start=1):
        new_g, new_p = list(g), list(p)
        for i, j in pairs:
            new_g[i] = f"g{step}_{i}"
            lines.append(f"  wire {new_g[i]} = {g[i]} | ({p[i]} & {g[j]});")
            if j > 0:  # the group propagate is dead once the group reaches bit 0
                new_p[i] = f"p{step}_{i}"
                lines.append(f"  wire {new_p[i]} = {p[i]} & {p[j]};")
        g, p = new_g, new_p
    lines.append(f"  assign s[0] = {half[0]};")
    for i in range(1, n):
        lines.append(f"  assign s[{i}] = {half[i]} ^ {g[i - 1]};")
    lines.append(f"  assign cout = {g[n - 1]};")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    from archgym.simulators.eda.synthesis import FLOWS, synthesize_many

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--flows", nargs="+", default=["default", "structural", "sized"], choices=sorted(FLOWS))
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--no-cache", action="store_true", help="re-run every synthesis")
    args = parser.parse_args(argv)

    items = []
    for flow in args.flows:
        for n in args.widths:
            for kind in PREFIX_KINDS:
                items.append({"verilog": adder_verilog(kind, n), "top": f"{kind}_{n}", "flow": flow,
                              "use_cache": not args.no_cache})
    results = synthesize_many(items, jobs=args.jobs)
    header = f"{'flow':<11}{'n':>3} {'adder':<12}{'delay ns':>9}{'area':>10}{'depth':>6}{'cells':>6}" \
             f"{'time s':>8}  engine"
    print(header)
    print("-" * len(header))
    for item, res in zip(items, results):
        kind, n = item["top"].rsplit("_", 1)
        if isinstance(res, Exception):
            print(f"{item['flow']:<11}{n:>3} {kind:<12} FAILED: {res}")
            continue
        print(f"{item['flow']:<11}{n:>3} {kind:<12}{res.delay_ns:>9.3f}{res.area:>10.1f}{res.depth:>6}"
              f"{res.cell_count:>6}{res.seconds:>8.2f}  {res.yosys_backend}/{res.timing_engine}"
              f"{' (cached)' if res.cached else ''}")


if __name__ == "__main__":
    main()
