"""Generated adder Verilog: formal equivalence with a + b + cin, simulation, parse-back, broken designs."""

from __future__ import annotations

import random
import shutil

import pytest

from archgym.errors import ConfigError, SimulationError
from archgym.rtl.arith.adder import adder_verilog
from archgym.rtl.verify import (
    EquivalenceJob,
    exhaustive_vectors,
    prove_equivalent,
    prove_equivalent_batch,
    simulate,
)
from archgym.simulators.arith.prefix import CLASSICAL, classical
from archgym.simulators.eda import tools

REFERENCE = "assign {cout, sum} = a + b + cin;"
WIDTHS = [*list(range(2, 17)), 31, 32, 33, 63, 64]

needs_iverilog = pytest.mark.skipif(
    not (shutil.which("iverilog") and shutil.which("vvp")), reason="Icarus Verilog not installed"
)


def ports(n: int) -> tuple[dict[str, int], dict[str, int]]:
    return {"a": n, "b": n, "cin": 1}, {"sum": n, "cout": 1}


def job(g, top: str = "prefix_adder") -> EquivalenceJob:
    inputs, outputs = ports(g.n)
    return EquivalenceJob(adder_verilog(g, top), top, REFERENCE, inputs, outputs)


def add_expected(n: int):
    def f(v):
        s = v["a"] + v["b"] + v["cin"]
        return {"sum": s & ((1 << n) - 1), "cout": s >> n}

    return f


def broken(g, bit: int) -> str:
    """The adder with sum[bit] using the bit's own generate instead of its carry-in."""
    text = adder_verilog(g)
    good = f"assign sum[{bit}] = p[{bit}] ^ G_{bit - 1}_0;"
    assert good in text
    return text.replace(good, f"assign sum[{bit}] = p[{bit}] ^ G_{bit - 1}_{bit - 1};")


def random_graph(n: int, steps: int, seed: int):
    rng = random.Random(seed)
    g = classical(rng.choice(CLASSICAL), n)
    for _ in range(steps):
        i = rng.randrange(1, n)
        j = rng.randrange(i)
        if g.can_add(i, j):
            g = g.add(i, j)
        elif g.can_delete(i, j):
            g = g.delete(i, j)
    return g


@pytest.fixture(scope="module")
def classical_proofs():
    designs = [(name, n) for name in CLASSICAL for n in WIDTHS]
    results = prove_equivalent_batch([job(classical(name, n)) for name, n in designs], timeout=300)
    return dict(zip(designs, results))


@pytest.mark.parametrize("name", CLASSICAL)
def test_classical_adders_are_equivalent_to_addition(classical_proofs, name):
    for n in WIDTHS:
        result = classical_proofs[(name, n)]
        assert result.equivalent, f"{name} n={n}: {result}"


def test_random_graphs_are_equivalent():
    graphs = [random_graph(n, 40, seed) for seed, n in enumerate([5, 9, 16, 17, 24, 32])]
    for g, result in zip(graphs, prove_equivalent_batch([job(g) for g in graphs])):
        assert result.equivalent, f"{g}: {result}"


@needs_iverilog
def test_broken_adder_is_caught_by_proof_with_counterexample():
    g = classical("sklansky", 8)
    inputs, outputs = ports(8)
    result = prove_equivalent(broken(g, 5), "prefix_adder", REFERENCE, inputs, outputs)
    assert result.status == "not_equivalent" and not result.equivalent
    cex = result.counterexample
    assert set(cex) == {"a", "b", "cin"}
    # the counterexample really distinguishes the designs
    sim = simulate(broken(g, 5), "prefix_adder", inputs, outputs, vectors=[cex], expected=add_expected(8))
    assert not sim.passed and sim.mismatches[0].inputs == cex


def test_batch_reports_errors_per_job_and_continues():
    inputs, outputs = ports(4)
    bad = EquivalenceJob("module prefix_adder(input a; endmodule", "prefix_adder", REFERENCE, inputs, outputs)
    results = prove_equivalent_batch([job(classical("ripple", 4)), bad, job(classical("sklansky", 4))])
    assert [r.status for r in results] == ["equivalent", "error", "equivalent"]
    assert "syntax error" in results[1].log


def test_find_yosys_and_argument_checks():
    assert tools.find("yosys").argv
    inputs, outputs = ports(4)
    with pytest.raises(ConfigError, match="top"):
        prove_equivalent("", "1bad", REFERENCE, inputs, outputs)
    with pytest.raises(ConfigError, match="inputs"):
        prove_equivalent("", "top", REFERENCE, {"a": 0}, outputs)
    with pytest.raises(ConfigError, match="timeout"):
        prove_equivalent("", "top", REFERENCE, inputs, outputs, timeout=0)


@needs_iverilog
@pytest.mark.parametrize("name", CLASSICAL)
def test_exhaustive_simulation_4bit(name):
    inputs, outputs = ports(4)
    verilog = adder_verilog(classical(name, 4))
    result = simulate(verilog, "prefix_adder", inputs, outputs, expected=add_expected(4))
    assert result.passed and result.vectors == 512 and result.errors == 0


@needs_iverilog
def test_random_simulation_64bit_against_reference_module():
    rng = random.Random(7)
    vecs = [{"a": rng.getrandbits(64), "b": rng.getrandbits(64), "cin": rng.getrandbits(1)}
            for _ in range(500)]
    vecs += [{"a": 2**64 - 1, "b": 0, "cin": 1}, {"a": 2**64 - 1, "b": 2**64 - 1, "cin": 1}]
    inputs, outputs = ports(64)
    for name in ("brent_kung", "han_carlson"):
        result = simulate(adder_verilog(classical(name, 64)), "prefix_adder", inputs, outputs, vectors=vecs,
                          reference=REFERENCE)
        assert result.passed and result.vectors == len(vecs), str(result)


@needs_iverilog
def test_broken_adder_is_caught_by_simulation():
    inputs, outputs = ports(4)
    result = simulate(broken(classical("kogge_stone", 4), 2), "prefix_adder", inputs, outputs,
                      expected=add_expected(4))
    assert not result.passed
    # sum[2] is wrong exactly when the carry into bit 2 differs from g1, i.e. 0 < errors < all vectors
    assert 0 < result.errors < 512
    for m in result.mismatches:
        want = add_expected(4)(m.inputs)
        assert m.expected == want and m.got != want and (m.got["sum"] ^ want["sum"]) == 0b100


@needs_iverilog
def test_simulation_errors_are_clear():
    inputs, outputs = ports(2)
    with pytest.raises(SimulationError, match="compile"):
        simulate("module prefix_adder(; endmodule", "prefix_adder", inputs, outputs, reference=REFERENCE)
    with pytest.raises(ConfigError, match="expected"):
        simulate("", "prefix_adder", inputs, outputs)
    with pytest.raises(ConfigError, match="vectors"):
        too_wide = [{"a": 4, "b": 0, "cin": 0}]
        simulate("", "prefix_adder", inputs, outputs, vectors=too_wide, reference=REFERENCE)
    with pytest.raises(ConfigError, match="vectors"):
        exhaustive_vectors({"a": 16, "b": 16})


def test_verilog_parses_back_with_pyverilog(tmp_path):
    parser_mod = pytest.importorskip("pyverilog.vparser.parser")
    from pyverilog.vparser import ast as vast

    g = classical("han_carlson", 8)
    tree = parser_mod.VerilogParser(outputdir=str(tmp_path), debug=False).parse(adder_verilog(g, "hc8"))
    (module,) = tree.description.definitions
    assert module.name == "hc8"
    assert [p.first.name for p in module.portlist.ports] == ["a", "b", "cin", "sum", "cout"]
    wires = set()
    for item in module.items:
        if isinstance(item, vast.Decl):
            wires |= {d.name for d in item.list if isinstance(d, vast.Wire)}
    for i, j in g.nodes:
        assert f"G_{i}_{j}" in wires
        assert (f"P_{i}_{j}" in wires) == (j > 0)  # grey cells for the carries, black elsewhere
    assigns = [item for item in module.items if isinstance(item, vast.Assign)]
    assert len(assigns) == g.n + 1  # n sum bits + cout


def test_verilog_structure_and_name_check():
    g = classical("brent_kung", 16)
    text = adder_verilog(g)
    assert text.count("// black cell") == g.size - 15 and text.count("// grey cell") == 15
    assert "module prefix_adder (" in text and text.rstrip().endswith("endmodule")
    with pytest.raises(ConfigError, match="module_name"):
        adder_verilog(g, "9adder")
