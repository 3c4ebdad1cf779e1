"""Prefix graphs: closed forms of the classical adders, legality under edits, cost model, errors."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archgym.errors import ConfigError, DesignError, UnknownNameError
from archgym.simulators.arith.cells import AND2, BLACK, FANOUT_DELAY, GREY, XOR2
from archgym.simulators.arith.prefix import CLASSICAL, PrefixGraph, analytical_metrics, classical

# /work/shared/reference/anchors.md: (depth, size) per width and constructor
ANCHORS = {
    32: {"sklansky": (5, 80), "kogge_stone": (5, 129), "brent_kung": (8, 57), "han_carlson": (6, 80),
         "ladner_fischer": (6, 63), "ripple": (31, 31)},
    64: {"sklansky": (6, 192), "kogge_stone": (6, 321), "brent_kung": (10, 120), "han_carlson": (7, 192),
         "ladner_fischer": (7, 143), "ripple": (63, 63)},
    128: {"sklansky": (7, 448), "kogge_stone": (7, 769), "brent_kung": (12, 247), "han_carlson": (8, 448),
          "ladner_fischer": (8, 319), "ripple": (127, 127)},
}


# ------------------------------------------------------------------------------------------------
# an independent, deliberately naive model of the spec, to check the incremental implementation
def ref_parents(nodes: set[tuple[int, int]], i: int, j: int) -> tuple[tuple[int, int], tuple[int, int]]:
    k = min([kk for kk in range(j + 1, i) if (i, kk) in nodes], default=i)
    return (i, k), (k - 1, j)


def ref_is_legal(n: int, nodes: set[tuple[int, int]]) -> bool:
    if any(not (0 <= j < i < n) for i, j in nodes):
        return False
    if any((i, 0) not in nodes for i in range(1, n)):
        return False
    for i, j in nodes:
        _, (li, lj) = ref_parents(nodes, i, j)
        if li != lj and (li, lj) not in nodes:
            return False
    return True


def ref_metrics(n: int, nodes: set[tuple[int, int]]) -> dict[str, float]:
    """The documented model computed by brute force (default arguments: arrival 0, cin present)."""
    par = {x: ref_parents(nodes, *x) for x in nodes}
    fanout = {(i, i): (2 if i else 1) for i in range(n)}
    fanout.update({x: 1 for x in nodes})
    for _up, lo in par.values():
        fanout[lo] += 1
    level, time = {}, {}

    def t(x):
        if x not in time:
            i, j = x
            if i == j:
                level[x] = 0
                time[x] = (XOR2.delay + GREY.delay if i == 0 else XOR2.delay) + FANOUT_DELAY * (fanout[x] - 1)
            else:
                up, lo = par[x]
                level[x] = 1 + max(t(up) and level[up], t(lo) and level[lo])
                cell = GREY if j == 0 else BLACK
                time[x] = max(t(up), t(lo)) + cell.delay + FANOUT_DELAY * (fanout[x] - 1)
        return time[x]

    outs = [XOR2.delay + FANOUT_DELAY * (fanout[(0, 0)] - 1) + XOR2.delay]
    outs += [max(t((i, i)), t((i - 1, 0))) + XOR2.delay for i in range(1, n)]
    outs.append(t((n - 1, 0)))
    for x in nodes:
        t(x)
    area = n * (AND2.area + XOR2.area) + GREY.area + (len(nodes) - n + 1) * BLACK.area
    area += (n - 1) * GREY.area + n * XOR2.area
    return {"delay": max(outs), "area": area, "size": len(nodes),
            "depth": max(level[x] for x in nodes), "max_fanout": max(fanout.values())}


# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", sorted(ANCHORS))
@pytest.mark.parametrize("name", CLASSICAL)
def test_anchor_table(n, name):
    g = classical(name, n)
    assert (g.depth, g.size) == ANCHORS[n][name]


@pytest.mark.parametrize("m", range(3, 9))
def test_power_of_two_closed_forms(m):
    n = 2**m
    sk, ks, bk, hc = (classical(c, n) for c in ("sklansky", "kogge_stone", "brent_kung", "han_carlson"))
    assert (sk.size, sk.depth) == (n // 2 * m, m)
    assert (ks.size, ks.depth) == (n * m - n + 1, m)
    assert (bk.size, bk.depth) == (2 * n - 2 - m, 2 * m - 2)
    assert (hc.size, hc.depth) == (n // 2 * m, m + 1)
    assert classical("ladner_fischer", n).depth == m + 1


@pytest.mark.parametrize("n", [*list(range(2, 41)), 63, 65, 100, 127, 129])
def test_every_width_legal_and_log_depth(n):
    for name in CLASSICAL:
        g = classical(name, n)
        assert ref_is_legal(n, set(g.nodes)), name
        assert g.size + g.depth >= 2 * n - 2, name  # Snir's bound
    log = math.ceil(math.log2(n))
    assert classical("sklansky", n).depth == log
    assert classical("kogge_stone", n).depth == log
    assert classical("ripple", n).depth == classical("ripple", n).size == n - 1
    assert classical("han_carlson", n).depth <= log + 1
    assert classical("brent_kung", n).depth <= max(1, 2 * log - 2)


@pytest.mark.parametrize("n", [2, 3, 5, 8, 13, 32, 64])
@pytest.mark.parametrize("name", CLASSICAL)
def test_constructors_need_no_legalization_and_match_reference_model(n, name):
    g = classical(name, n)
    assert PrefixGraph(n, g.nodes) == g
    assert analytical_metrics(g) == pytest.approx(ref_metrics(n, set(g.nodes)))


def test_ripple_cost_closed_form():
    # carries (i,0) drive the next carry and a sum XOR (fanout 2); inputs drive two loads.
    for n in (2, 8, 33):
        m = analytical_metrics(classical("ripple", n))
        t_carry0 = XOR2.delay + GREY.delay + FANOUT_DELAY  # g0 with cin, driving (1, 0) and sum[1]
        # carries 1..n-2 drive two loads each; the last carry drives cout only
        expected = t_carry0 + (GREY.delay + FANOUT_DELAY) * (n - 2) + GREY.delay
        assert m["delay"] == pytest.approx(expected)
        assert m["area"] == n * (AND2.area + XOR2.area) + GREY.area + (n - 1) * GREY.area + n * XOR2.area
        assert m["max_fanout"] == 2


def _random_walk(g: PrefixGraph, steps: int, rng: random.Random) -> PrefixGraph:
    n = g.n
    for _ in range(steps):
        adds = [(i, j) for i in range(n) for j in range(i) if g.can_add(i, j)]
        dels = [(i, j) for i in range(n) for j in range(i) if g.can_delete(i, j)]
        if dels and (not adds or rng.random() < 0.5):
            g = g.delete(*rng.choice(dels))
        else:
            g = g.add(*rng.choice(adds))
    return g


@pytest.mark.parametrize("n", [2, 3, 7, 16, 21])
def test_node_arrays_agree_with_the_graph_queries(n):
    """The cached arrays behind the masks and grid planes say what can_add / can_delete / levels / fanouts say,
    on graphs reached by edits (each edit returns a new graph with its own arrays)."""
    rng = random.Random(n)
    g = classical("sklansky", n)
    for _ in range(12):
        g = _random_walk(g, 3, rng) if n > 2 else g  # a 2-bit graph has no editable node
        a = g.node_arrays()
        add, delete = g.action_masks()
        for i in range(n):
            for j in range(i):
                assert add[i, j] == g.can_add(i, j) and delete[i, j] == g.can_delete(i, j), (i, j)
        assert not add[np.triu_indices(n)].any() and not delete[np.triu_indices(n)].any()
        assert {(int(i), int(j)) for i, j in zip(*np.nonzero(g.nodemap()))} == set(g.nodes) | {(i, i) for i in range(n)}
        cells = list(zip(a["i"].tolist(), a["j"].tolist()))
        assert dict(zip(cells, a["level"].tolist())) == g.levels()
        assert dict(zip(cells, a["fanout"].tolist())) == g.fanouts()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 24),
    start=st.sampled_from(CLASSICAL),
    actions=st.lists(st.tuples(st.booleans(), st.integers(0, 10**6), st.integers(0, 10**6)), max_size=40),
)
def test_edits_keep_graph_legal_and_metrics_exact(n, start, actions):
    g = classical(start, n)
    for is_add, a, b in actions:
        i = 1 + a % (n - 1)
        j = b % i
        before = set(g.nodes)
        if is_add:
            if not g.can_add(i, j):
                continue
            g = g.add(i, j)
            assert (i, j) in g.nodes and before < set(g.nodes)
        else:
            if not g.can_delete(i, j):
                with pytest.raises(DesignError):
                    g.delete(i, j)
                continue
            g = g.delete(i, j)
            assert (i, j) not in g.nodes and before - {(i, j)} <= set(g.nodes)
        nodes = set(g.nodes)
        assert ref_is_legal(n, nodes)
        assert g.size == len(nodes)
        assert analytical_metrics(g) == pytest.approx(ref_metrics(n, nodes))
    scratch = PrefixGraph(n, g.nodes)
    assert scratch == g and analytical_metrics(scratch) == analytical_metrics(g)
    assert scratch.levels() == g.levels() and scratch.fanouts() == g.fanouts()


@pytest.mark.parametrize("n", [16, 33, 64])
def test_snir_bound_on_random_graphs(n):
    rng = random.Random(n)
    for start in ("sklansky", "ripple", "brent_kung"):
        g = _random_walk(classical(start, n), 30, rng)
        assert g.size + g.depth >= 2 * n - 2
        assert ref_is_legal(n, set(g.nodes))


def test_add_legalizes_recursively():
    # Adding (7, 4) to ripple needs lower parent (6, 4) -> needs (5, 4); row 7's (7, 0) then needs (3, 0).
    g = classical("ripple", 8).add(7, 4)
    assert {(7, 4), (6, 4), (5, 4)} <= g.nodes
    assert g.size == 7 + 3
    assert g.parents(7, 0) == ((7, 4), (3, 0))
    assert g.parents(7, 4) == ((7, 7), (6, 4))


def test_delete_rules():
    g = classical("sklansky", 8)
    with pytest.raises(DesignError, match=r"\(5, 0\).*carry output"):
        g.delete(5, 0)
    with pytest.raises(DesignError, match=r"\(5, 4\).*lower parent"):
        g.delete(5, 4)  # the lower parent of (6, 4)
    with pytest.raises(DesignError, match="not present"):
        g.delete(6, 5)
    with pytest.raises(DesignError, match="already present"):
        g.add(7, 6)
    assert not g.can_delete(3, 3) and not g.can_delete(5, 0) and not g.can_delete(5, 4)
    assert g.can_delete(7, 6)
    h = g.delete(7, 6)
    # (7, 4) now has upper parent (7, 7) and needs (6, 4), which exists; nothing else changes.
    assert h.nodes == g.nodes - {(7, 6)} and h.parents(7, 4) == ((7, 7), (6, 4))
    assert g.has(7, 6) and not h.has(7, 6)  # immutable: g is unchanged
    add_mask, del_mask = h.action_masks()
    for i in range(8):
        for j in range(8):
            assert add_mask[i, j] == h.can_add(i, j)
            assert del_mask[i, j] == h.can_delete(i, j)


def test_cells_nodemap_levels_fanouts():
    g = classical("kogge_stone", 16)
    seen = {(i, i) for i in range(16)}
    for i, j, k in g.cells():
        assert (i, k) in seen and (k - 1, j) in seen  # topological order
        seen.add((i, j))
    assert len(g.cells()) == g.size
    m = g.nodemap()
    assert m.shape == (16, 16) and m.dtype == np.uint8
    assert np.array_equal(np.diag(m), np.ones(16)) and not np.triu(m, 1).any()
    assert int(m.sum()) == g.size + 16
    assert max(g.levels().values()) == g.depth
    assert max(g.fanouts().values()) == g.max_fanout
    assert g.levels()[(0, 0)] == 0


def test_arrival_times_and_cin():
    g = classical("sklansky", 16)
    base = analytical_metrics(g)
    assert analytical_metrics(g, [0.0] * 16) == base
    shifted = analytical_metrics(g, [3.0] * 16)
    assert shifted["delay"] == pytest.approx(base["delay"] + 3.0)
    late = [0.0] * 16
    late[15] = 20.0  # critical path: (15,15) -> (15,14) -> (15,12) -> (15,8) -> (15,0) = cout
    expected = 20.0 + XOR2.delay + FANOUT_DELAY + 3 * BLACK.delay + GREY.delay
    assert analytical_metrics(g, late)["delay"] == pytest.approx(expected)
    no_cin = analytical_metrics(g, cin=False)
    assert no_cin["area"] == base["area"] - GREY.area - XOR2.area
    assert no_cin["delay"] <= base["delay"]
    for bad in ([0.0] * 15, [float("nan")] * 16, "x" * 16, [None] * 16):
        with pytest.raises(ConfigError, match="arrival"):
            analytical_metrics(g, bad)


def test_json_round_trip():
    rng = random.Random(3)
    g = _random_walk(classical("brent_kung", 20), 15, rng)
    data = json.loads(json.dumps(g.to_json()))
    assert data["width"] == 20 and data["nodes"] == sorted(data["nodes"])
    h = PrefixGraph.from_json(data)
    assert h == g and hash(h) == hash(g) and analytical_metrics(h) == analytical_metrics(g)


def test_invalid_inputs():
    for n in (1, 0, -3, 2.5, True, "8"):
        with pytest.raises(ConfigError, match="width"):
            PrefixGraph(n)
    with pytest.raises(DesignError, match=r"\(3, 5\)"):
        PrefixGraph(8, [(3, 5)])
    with pytest.raises(DesignError, match="lsb"):
        PrefixGraph(8, [(3, -1)])
    with pytest.raises(DesignError, match="msb"):
        PrefixGraph(8, [(8, 2)])
    with pytest.raises(DesignError, match="pair"):
        PrefixGraph(8, [(3,)])
    with pytest.raises(DesignError, match=r"\(4, 4\)"):
        classical("ripple", 8).add(4, 4)
    with pytest.raises(UnknownNameError, match="kogge_stone"):
        classical("kogge", 8)
    bad_json = [
        ([1, 2], "object"),
        ({"nodes": []}, "'width'"),
        ({"width": 8}, "'nodes'"),
        ({"width": 1, "nodes": []}, "'width'"),
        ({"width": 8, "nodes": "abc"}, "'nodes'"),
        ({"width": 8, "nodes": [[3, 1], [2]]}, r"'nodes\[1\]'"),
        ({"width": 8, "nodes": [[3, 5]]}, r"'nodes\[0\]'.*\(3, 5\)"),
        ({"width": 8, "nodes": [["a", 1]]}, r"'nodes\[0\]'"),
    ]
    for data, match in bad_json:
        with pytest.raises(DesignError, match=match):
            PrefixGraph.from_json(data)
