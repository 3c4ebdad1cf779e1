"""EvoApproxLib interface: published figures, the library's metric definitions, Verilog import."""

from __future__ import annotations

import random

import numpy as np
import pytest

from archgym.errors import ConfigError
from archgym.experiments import bench_evoapprox
from archgym.simulators.approx import evoapprox as ev
from archgym.simulators.approx import library as am
from archgym.simulators.approx.library import CONST0, CONST1, Netlist

V = np.arange(256, dtype=np.int64)
A, B = np.meshgrid(V, V, indexing="ij")


def to_evoapprox_verilog(net: Netlist, name: str = "mul8u_TEST", shuffle: int | None = None) -> str:
    """An archgym netlist written the way EvoApproxLib writes its circuits (assigns and PDKGEN cells)."""
    n = net.n

    def s(x: int) -> str:
        if x in (CONST0, CONST1):
            return f"1'b{x}"
        if x < 2 + n:
            return f"A[{x - 2}]"
        if x < 2 + 2 * n:
            return f"B[{x - 2 - n}]"
        return f"sig_{x}"

    body = []
    ops = {sid: (op, ins) for sid, op, ins in net.ops}
    for sid, op, ins in net.ops:
        a = [s(i) for i in ins]
        if op == "AND":
            body.append(f"  PDKGENAND2X1 n{sid}(.A({a[0]}), .B({a[1]}), .Y({s(sid)}));")
        elif op in ("OR", "XOR"):
            body.append(f"assign {s(sid)} = {a[0]} {'|' if op == 'OR' else '^'} {a[1]};")
        elif op == "NOT":
            inner = ops.get(ins[0])
            if inner and inner[0] in ("OR", "AND"):  # also exercise ~(x op y)
                sym = "|" if inner[0] == "OR" else "&"
                body.append(f"assign {s(sid)} = ~({s(inner[1][0])} {sym} {s(inner[1][1])});")
            else:
                body.append(f"assign {s(sid)} = ~{a[0]};")
        elif op in ("HA_S", "FA_S"):
            cell = "PDKGENHAX1" if op == "HA_S" else "PDKGENFAX1"
            ports = ", ".join(f".{p}({x})" for p, x in zip("ABC", a, strict=False))
            body.append(f"  {cell} n{sid}({ports}, .YS({s(sid)}), .YC({s(sid + 1)}));")
        # HA_C / FA_C are the second output of the cell emitted for the sum (sid + 1)
    body += [f"assign O[{j}] = {s(o)};" for j, o in enumerate(net.outputs)]
    if shuffle is not None:
        random.Random(shuffle).shuffle(body)
    cells = "module PDKGENHAX1( input A, input B, output YS, output YC );\nassign YS = A ^ B;\nendmodule\n"
    return (f"// MAE% = 0.00 %\nmodule {name}(A, B, O);\n  input [7:0] A;\n  input [7:0] B;\n  output [15:0] O;\n"
            + "\n".join(body) + "\nendmodule\n\n" + cells)


@pytest.mark.parametrize("name", ["exact", "trunc6", "truncc4", "bam_h2v6", "kul3", "c42_8"])
def test_import_round_trips_archgym_circuits_exactly(name: str) -> None:
    cfg = am.get_config(name)
    net = am.build_netlist(cfg)
    assert all(op != "HA_C" or net.ops[k - 1][1] == "HA_S" for k, (_, op, _) in enumerate(net.ops))
    text = to_evoapprox_verilog(net, shuffle=7)  # out of order: the importer sorts it topologically
    got = ev.import_verilog(text)
    np.testing.assert_array_equal(got.evaluate(A, B), am.product_table(cfg))
    assert got.area == pytest.approx(net.area)  # the same unit-gate cost
    assert got.delay == pytest.approx(net.delay)


def test_truncation_metrics_follow_the_closed_form() -> None:
    """Dropping the k low columns removes each of their bits (probability 1/4 each): e = -dropped value."""
    for k in (2, 4, 6):
        m = ev.evoapprox_metrics(am.product_table(am.get_config(f"trunc{k}")))
        count = [min(c, 7) - max(0, c - 7) + 1 for c in range(k)]  # partial products in column c of 8x8
        mae = sum(cnt * 2**c / 4 for c, cnt in enumerate(count))
        assert m["mae"] == pytest.approx(mae)
        assert m["mae_pct"] == pytest.approx(100 * mae / 2**16)
        assert m["wce"] == sum(cnt * 2**c for c, cnt in enumerate(count))  # every dropped bit set
        assert m["mse"] >= m["mae"] ** 2  # Jensen
    zero = ev.evoapprox_metrics(A * B)
    assert all(v == 0 for v in zero.values())


def test_relative_errors_skip_zero_products_as_the_library_does() -> None:
    table = A * B
    table[0, 5] = 3  # exact 0: not part of MRE/WCRE
    table[2, 2] = 5  # exact 4: relative error 1/4
    m = ev.evoapprox_metrics(table)
    assert m["wcre_pct"] == pytest.approx(25.0)
    assert m["mre_pct"] == pytest.approx(100 * 0.25 / (255 * 255))
    assert m["ep_pct"] == pytest.approx(100 * 2 / 65536)
    assert m["wce"] == 3


def test_published_figures_are_consistent() -> None:
    pub = ev.published()
    assert len(pub) == 36 and ev.EXACT in pub
    assert all(v == 0 for k, v in pub[ev.EXACT].figures.items() if k not in ("power_mw", "area_um2", "delay_ns"))
    for c in pub.values():
        f = c.figures
        assert f["mae_pct"] == pytest.approx(100 * f["mae"] / 2**16, rel=0.06, abs=0.006), c.name
        assert f["wce_pct"] == pytest.approx(100 * f["wce"] / 2**16, rel=0.06, abs=0.006), c.name
        assert f["mse"] >= 0.9 * f["mae"] ** 2, c.name
        assert set(c.pareto_sets) <= {"ep", "mae", "mre", "mse", "wce"} and c.pareto_sets
    fta = pub["mul8u_FTA"]  # printed: MAE% 0.89, MAE 581, MSE 543210
    assert ev.matches_published({"mae_pct": 0.8859, "mae": 581.4, "mse": 543210.2}, fta) == {
        "mae_pct": True, "mae": True, "mse": True}
    assert ev.matches_published({"mae_pct": 0.8960, "mae": 582.0}, fta) == {"mae_pct": False, "mae": False}
    assert ev.printed_tolerance("0.89") == pytest.approx(0.005)
    assert ev.printed_tolerance("15608.397e3") == pytest.approx(0.5)
    assert ev.printed_tolerance("0") == pytest.approx(0.5)


def test_bad_netlists_get_a_clear_error() -> None:
    head = "module m(A, B, O);\n"
    with pytest.raises(ConfigError, match="unknown cell PDKGENMUX"):
        ev.import_verilog(head + "PDKGENMUX2 u(.A(A[0]), .B(B[0]), .S(A[1]), .Y(O[0]));\nendmodule")
    with pytest.raises(ConfigError, match="lacks port"):
        ev.import_verilog(head + "PDKGENAND2X1 u(.A(A[0]), .Y(O[0]));\nendmodule")
    with pytest.raises(ConfigError, match="unsupported expression"):
        ev.import_verilog(head + "assign O[0] = A[0] + B[0];\nendmodule")
    with pytest.raises(ConfigError, match="unsupported expression"):  # (~a) & b is not ~(a & b): refused
        ev.import_verilog(head + "assign O[0] = ~A[0] & B[0];\nendmodule")
    with pytest.raises(ConfigError, match="never driven or driven in a loop: x"):
        ev.import_verilog(head + "assign x = y & A[0];\nassign y = x | B[0];\nendmodule")
    with pytest.raises(ConfigError, match=r"output bit\(s\) O\[1\]"):
        ev.import_verilog(head + "".join(f"assign O[{j}] = 1'b0;\n" for j in range(16) if j != 1) + "endmodule")
    with pytest.raises(ConfigError, match="no 'module"):
        ev.import_verilog("assign O[0] = A[0];")


def test_benchmark_part_a_matches_archgym_and_the_library() -> None:
    ours, pub = bench_evoapprox.archgym_circuits(), bench_evoapprox.published_circuits()
    a = bench_evoapprox.part_a(ours, pub)
    assert len(a) == len(am.catalogue(8))
    exact = a[a["archgym"] == "exact"].iloc[0]
    assert exact["EvoApproxLib at <= MAE%"] == ev.EXACT and exact["unit-gate area ratio"] == 1.0
    front = bench_evoapprox.pareto_front(pub, "power_ratio")
    assert front[pub["name"] == ev.EXACT].all()  # the only zero-error circuit


# ---- user circuits in the library and the env (family 'verilog', env.circuits) ---------------------------
@pytest.fixture
def trunc6_file(tmp_path):
    path = tmp_path / "mul8u_T6.v"
    path.write_text(to_evoapprox_verilog(am.build_netlist(am.get_config("trunc6")), "mul8u_T6", shuffle=3))
    return str(path)


def test_a_user_circuit_is_a_library_configuration(trunc6_file: str) -> None:
    cfg = am.get_config("verilog:" + trunc6_file)
    assert cfg == am.verilog_config(trunc6_file) and cfg.name == "verilog:" + trunc6_file
    np.testing.assert_array_equal(am.product_table(cfg), am.product_table(am.get_config("trunc6")))
    assert am.hardware_cost(cfg, 0.3) == am.hardware_cost(am.get_config("trunc6"), 0.3)
    assert "verilog:" + trunc6_file not in am.catalogue(8)  # the built-in catalogue is unchanged


def test_the_env_offers_user_circuits_to_every_layer(trunc6_file: str) -> None:
    from archgym.config import build_problem

    problem = build_problem("approx_multiplier", {"accuracy_model": "closed_form", "circuits": [trunc6_file]})
    name = "verilog:" + trunc6_file
    assert problem.names[-1] == name and len(problem.names) == len(am.catalogue(8)) + 1
    mine, theirs = problem.evaluate(problem.uniform(name)), problem.evaluate(problem.uniform("trunc6"))
    assert mine.cost == pytest.approx(theirs.cost)
    assert mine.metrics["accuracy_drop"] == pytest.approx(theirs.metrics["accuracy_drop"])
    design = problem.from_json({"layers": [name, "exact", name]})  # JSON round trip of a mixed design
    assert problem.from_json(problem.to_json(design)) == design
    assert problem.action_mask(problem.uniform("exact")).sum() == problem.n_layers * (len(problem.names) - 1)


@pytest.mark.skipif(__import__("shutil").which("iverilog") is None, reason="iverilog not installed")
def test_user_circuits_export_verified_verilog(trunc6_file: str) -> None:
    from archgym.config import build_problem

    problem = build_problem("approx_multiplier", {"accuracy_model": "closed_form", "circuits": [trunc6_file]})
    design = problem.from_json({"layers": ["verilog:" + trunc6_file, "kul3", "exact"]})
    verilog = problem.to_verilog(design)
    assert "simulated all 65,536" in problem.verify_verilog(design, verilog)


def test_bad_user_circuits_get_a_clear_error(tmp_path) -> None:
    from archgym.config import build_problem

    with pytest.raises(ConfigError, match=r"circuits.*not a readable Verilog file"):
        build_problem("approx_multiplier", {"circuits": [str(tmp_path / "missing.v")]})
    bad = tmp_path / "bad.v"
    bad.write_text("module m(A, B, O);\nassign O[0] = A[0] + B[0];\nendmodule\n")
    with pytest.raises(ConfigError, match=r"'env.circuits'.*bad\.v: unsupported expression"):
        build_problem("approx_multiplier", {"circuits": [str(bad)]})
    with pytest.raises(ConfigError, match=r"'env.circuits': must be a list"):
        build_problem("approx_multiplier", {"circuits": "x.v"})
    with pytest.raises(ConfigError, match="source"):
        am.ApproxMultiplierSpec("trunc", 8, k=2, source="x.v")


def test_pareto_mask_keeps_ties_and_drops_dominated_rows() -> None:
    from archgym.metrics import pareto_front, pareto_mask

    pts = np.array([[0.0, 424.0], [0.0, 424.0], [1.0, 400.0], [1.0, 410.0], [2.0, 400.0], [3.0, 100.0]])
    assert pareto_mask(pts).tolist() == [True, True, True, False, False, True]  # equal rows both stay
    np.testing.assert_array_equal(pareto_front(pts), [[0.0, 424.0], [1.0, 400.0], [3.0, 100.0]])  # deduplicated
