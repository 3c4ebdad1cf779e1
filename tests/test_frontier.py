"""The theory's prefix circuits: closed forms, legality, every width, and their place among the baselines."""

from __future__ import annotations

import math

import pytest

from archgym.config import build_problem
from archgym.simulators.arith.frontier import (
    frontier_constructions,
    frontier_nodes,
    ladner_fischer_nodes,
    max_zero_deficiency_width,
    min_zero_deficiency_depth,
    zero_deficiency_nodes,
)
from archgym.simulators.arith.prefix import PrefixGraph


def _fib(k: int) -> int:
    a, b = 0, 1
    for _ in range(k):
        a, b = b, a + b
    return a


def _graph(n: int, nodes) -> PrefixGraph:
    g = PrefixGraph(n, nodes)
    assert g.size == len(set(nodes)) == len(nodes), "the construction is legal as generated (no node added)"
    return g


@pytest.mark.parametrize("d", range(1, 15))
def test_widest_zero_deficiency_circuit_has_fibonacci_inputs(d):
    assert max_zero_deficiency_width(d) == _fib(d + 3) - 1  # Zhu, Cheng, Graham (TODAES 2006)


def test_zero_deficiency_at_every_width_meets_snirs_bound():
    for n in range(2, 400):
        d = min_zero_deficiency_depth(n)
        assert max_zero_deficiency_width(d - 1) < n <= max_zero_deficiency_width(d)
        g = _graph(n, zero_deficiency_nodes(n))
        assert g.depth == d and g.size + g.depth == 2 * n - 2, n


@pytest.mark.parametrize("n", [7, 20, 64, 100, 128, 143])
def test_zero_deficiency_at_every_admissible_depth(n):
    for d in range(min_zero_deficiency_depth(n), n):
        g = _graph(n, zero_deficiency_nodes(n, d))
        assert (g.depth, g.size) == (d, 2 * n - 2 - d)
    with pytest.raises(Exception, match="depth"):
        zero_deficiency_nodes(n, min_zero_deficiency_depth(n) - 1)


def test_the_provably_optimal_points_of_the_issue():
    assert _graph(128, zero_deficiency_nodes(128, 9)).size == 245  # depth 9, optimal (Snir's bound)
    assert _graph(64, zero_deficiency_nodes(64, 8)).size == 118


def test_ladner_fischer_depth_and_size_at_every_width():
    for n in range(2, 300):
        L = math.ceil(math.log2(n))
        for k in range(L + 1):
            g = _graph(n, ladner_fischer_nodes(n, k))
            assert g.depth <= L + k and g.size < 2 * (1 + 2.0**-k) * n + 1, (n, k)
        assert _graph(n, ladner_fischer_nodes(n, 0)).depth == L  # P_0 has the minimum depth


@pytest.mark.parametrize("m", range(2, 11))
def test_ladner_fischer_p0_size_closed_form(m):
    n = 2**m
    assert _graph(n, ladner_fischer_nodes(n, 0)).size == 4 * n - _fib(m + 5) + 1  # Ladner and Fischer (1980)


def test_constructions_compute_every_prefix():
    """Interval semantics: each node combines two adjacent intervals, each output is [0, i]."""
    for n in (2, 3, 9, 33, 70):
        for name, nodes in frontier_constructions(n, depth_bound=n - 1).items():
            assert frontier_nodes(name, n) == nodes  # a start design by name is the same circuit
            g = PrefixGraph(n, nodes)
            value = {(i, i): (i, i) for i in range(n)}
            for i, j in sorted(g.nodes, key=lambda ij: (ij[0], -ij[1])):
                up, low = value[g.parents(i, j)[0]], value[g.parents(i, j)[1]]
                assert low[1] + 1 == up[0], (name, n, (i, j))
                value[(i, j)] = (low[0], up[1])
            assert all(value[(i, 0)] == (0, i) for i in range(1, n))


def test_adder_env_lists_the_constructions_and_marks_those_over_the_bound_infeasible():
    p = build_problem("adder", {"width": 128, "mode": "theoretical", "depth_bound": 9})
    base = p.baselines()
    assert {"zero_deficiency", "lf_p0", "lf_p1", "lf_p2"} <= set(base)
    assert p.evaluate(base["zero_deficiency"]).cost == 245
    over = p.evaluate(base["lf_p4"])  # depth 11
    assert not over.feasible and "depth" in over.reason
    p8 = build_problem("adder", {"width": 64, "mode": "theoretical", "depth_bound": 10})
    assert p8.evaluate(p8.baselines()["zero_deficiency_d10"]).cost == 2 * 64 - 2 - 10


def test_a_construction_is_a_start_design_and_its_verilog_is_proven():
    p = build_problem("adder", {"width": 16, "start": "zero_deficiency"})
    g = p.initial_design()
    assert g.size + g.depth == 30
    assert "proved" in p.verify_verilog(g, p.to_verilog(g))
    q = build_problem("adder", {"width": 16, "start": "lf_p1"})
    assert "proved" in q.verify_verilog(q.initial_design(), q.to_verilog(q.initial_design()))
