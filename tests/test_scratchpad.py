"""Scratchpad scheduling: workloads, cost model, baselines, parameter face, step API."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archgym.errors import ConfigError, DesignError
from archgym.simulators.scratchpad import graphs
from archgym.simulators.scratchpad import model as sp


def chain(sizes: list[int], weights: list[int] | None = None, inp: int = 1) -> nx.DiGraph:
    """x -> a0 -> a1 -> ... with the given output sizes."""
    g = nx.DiGraph(name="chain")
    g.add_node("x", kind="input", out_bytes=inp, weight_bytes=0)
    prev = "x"
    for i, s in enumerate(sizes):
        g.add_node(f"a{i}", kind="op", out_bytes=s, weight_bytes=(weights or [0] * len(sizes))[i])
        g.add_edge(prev, f"a{i}")
        prev = f"a{i}"
    return g


def skip_graph() -> nx.DiGraph:
    """x -> a -> b -> c -> d, with a skip a -> d: a (size 4) must survive b and c."""
    g = chain([4, 3, 3, 2])
    g.add_edge("a0", "a3")
    return g


# ------------------------------------------------------------------------------ workloads
def test_resnet18_sizes_from_architecture():
    g = graphs.resnet18()
    assert g.nodes["conv1"]["out_bytes"] == 112 * 112 * 64
    assert g.nodes["conv1"]["weight_bytes"] == 7 * 7 * 3 * 64 + 64 * 4
    assert g.nodes["maxpool"]["out_bytes"] == 56 * 56 * 64
    assert g.nodes["l4.1.conv2"]["weight_bytes"] == 3 * 3 * 512 * 512 + 512 * 4
    assert g.nodes["l2.0.down"]["out_bytes"] == 28 * 28 * 128
    assert g.nodes["fc"]["weight_bytes"] == 512 * 1000 + 1000 * 4
    convs = [n for n, a in g.nodes(data=True) if a["op_type"] == "conv" or a["op_type"] == "dense"]
    # 17 3x3/7x7 convs + 3 projection shortcuts + fc; int8 parameters ~ 11.7 M (He et al.)
    assert len(convs) == 21
    params = sum(a["weight_bytes"] for _, a in g.nodes(data=True))
    assert 11.5e6 < params < 11.8e6


def test_mobilenet_v2_structure():
    g = graphs.mobilenet_v2()
    assert sum(1 for _, a in g.nodes(data=True) if a["op_type"] == "dwconv") == 17
    assert sum(1 for _, a in g.nodes(data=True) if a["op_type"] == "add") == 10
    assert g.nodes["conv_last"]["out_bytes"] == 7 * 7 * 1280
    params = sum(a["weight_bytes"] for _, a in g.nodes(data=True))
    assert 3.4e6 < params < 3.6e6  # 3.4 M parameters (Sandler et al. Table 4) plus int32 biases


def test_inception_and_transformer_shapes():
    g = graphs.inception_block()
    assert g.nodes["3a.concat"]["out_bytes"] == 28 * 28 * 256
    assert g.nodes["3b.concat"]["out_bytes"] == 28 * 28 * 480
    t = graphs.transformer_encoder()
    assert t.nodes["scores"]["out_bytes"] == 12 * 128 * 128
    assert t.nodes["ff1"]["weight_bytes"] == 768 * 3072 + 3072 * 4


def test_random_dag_seeded_and_valid():
    a, b = graphs.random_dag(30, seed=3), graphs.random_dag(30, seed=3)
    assert graphs.graph_to_json(a) == graphs.graph_to_json(b)
    assert graphs.graph_to_json(a) != graphs.graph_to_json(graphs.random_dag(30, seed=4))
    graphs.validate_graph(a)
    assert nx.is_weakly_connected(a)


def test_json_round_trip(tmp_path):
    for name in graphs.WORKLOADS:
        g = graphs.workload(name)
        p = tmp_path / f"{name}.json"
        graphs.save_graph_json(g, p)
        g2 = graphs.load_graph_json(p)
        assert graphs.graph_to_json(g2) == graphs.graph_to_json(g)
    assert graphs.graph_to_json(graphs.shipped_json("example_block")) is not None


@pytest.mark.parametrize("doc,word", [
    ({"nodes": [{"name": "a", "kind": "op", "out_bytes": -1}], "edges": []}, "out_bytes"),
    ({"nodes": [{"name": "a", "kind": "layer", "out_bytes": 1}], "edges": []}, "kind"),
    ({"nodes": [{"name": "a", "kind": "op", "out_bytes": 1}], "edges": [["a", "b"]]}, "edges[0]"),
    ({"nodes": [{"name": "a", "kind": "op", "out_bytes": 1}, {"name": "b", "kind": "op", "out_bytes": 1}],
      "edges": [["a", "b"], ["b", "a"]]}, "cycle"),
])
def test_bad_graph_json_names_the_field(doc, word):
    with pytest.raises(DesignError, match=word.replace("[", r"\[").replace("]", r"\]")):
        graphs.graph_from_json(doc)


# ------------------------------------------------------------------------------ cost model
def test_compulsory_is_inputs_weights_and_outputs():
    g = chain([5, 6, 7], weights=[2, 0, 3], inp=4)
    r = sp.simulate(g, 100, sp.default_order(g), "belady", "first_fit")
    assert r.feasible and r.compulsory == 4 + 2 + 3 + 7 and r.non_compulsory == 0
    assert r.peak == 6 + 7 + 3  # a2: input a1 (6), weights 3, output 7


def test_dirty_spill_costs_write_and_reload():
    # capacity 9: at c (a2) the skip tensor a0 (4, dirty) must go: write 4 + reload 4
    g = skip_graph()
    order = ["a0", "a1", "a2", "a3"]
    r = sp.simulate(g, 9, order, "belady", "ideal")
    assert r.feasible and r.spill_bytes == 4 and r.reload_bytes == 4 and r.non_compulsory == 8
    assert r.evictions == ["a0"]
    assert sp.simulate(g, 10, order, "belady", "ideal").non_compulsory == 0


def test_clean_input_dropped_for_free():
    # input x (size 4) read by first and last op: dropping it costs only the reload
    g = chain([3, 3, 2], inp=4)
    g.add_edge("x", "a2")
    r = sp.simulate(g, 9, ["a0", "a1", "a2"], "belady", "ideal")
    assert r.feasible and r.spill_bytes == 0 and r.reload_bytes == 4


def test_fragmentation_forces_eviction_with_enough_total_space():
    # contiguity: after s, holes [0,2) and [10,13) hold 5 bytes but not a contiguous 4 for big
    g = nx.DiGraph()
    g.add_node("x", kind="input", out_bytes=2, weight_bytes=0)
    for n, s in (("p", 2), ("q", 2), ("r", 2), ("s", 2)):
        g.add_node(n, kind="op", out_bytes=s, weight_bytes=0)
        g.add_edge("x", n)
    g.add_node("big", kind="op", out_bytes=4, weight_bytes=0)
    g.add_node("end", kind="op", out_bytes=1, weight_bytes=0)
    for n in ("q", "s"):
        g.add_edge(n, "big")
    for n in ("p", "r", "big"):
        g.add_edge(n, "end")
    order = ["p", "q", "r", "s", "big", "end"]
    ideal = sp.simulate(g, 13, order, "belady", "ideal")
    ff = sp.simulate(g, 13, order, "belady", "first_fit")
    assert ideal.non_compulsory == 0
    assert ff.feasible and ff.fragmentation_evictions >= 1 and ff.non_compulsory > 0


def test_allocators_agree_with_ample_space():
    g = graphs.inception_block()
    o = sp.default_order(g)
    res = [sp.simulate(g, 10**8, o, "belady", a) for a in ("ideal", "first_fit", "best_fit")]
    assert {r.non_compulsory for r in res} == {0}
    assert {r.peak for r in res} == {sp.no_eviction_peak(g, o)}


def test_infeasible_below_largest_op_and_bad_inputs():
    g = chain([5, 6])
    r = sp.simulate(g, 10, ["a0", "a1"])
    assert not r.feasible and "capacity" in r.reason
    r = sp.simulate(g, 100, ["a1", "a0"])
    assert not r.feasible and "not ready" in r.reason
    with pytest.raises(ConfigError, match="order"):
        sp.simulate(g, 100, ["a0"])
    with pytest.raises(ConfigError, match="allocator"):
        sp.simulate(g, 100, ["a0", "a1"], allocator="buddy")
    with pytest.raises(ConfigError, match="capacity"):
        sp.ScratchpadSim(g, 0)
    r = sp.simulate(skip_graph(), 9, ["a0", "a1", "a2", "a3"], ["a1"], "ideal")
    assert not r.feasible and "not a candidate" in r.reason


def test_explicit_choices_replay_policy_result():
    g = graphs.random_dag(12, seed=1)
    b = sp.budgets(g)
    o = sp.default_order(g)
    for alloc in ("first_fit", "best_fit", "ideal"):
        r1 = sp.simulate(g, b.m_r, o, "lru", alloc)
        r2 = sp.simulate(g, b.m_r, o, r1.evictions, alloc)
        assert (r1.non_compulsory, r1.peak, r1.feasible) == (r2.non_compulsory, r2.peak, r2.feasible)


def test_step_api_matches_simulate():
    g = graphs.transformer_encoder()
    b = sp.budgets(g)
    sim = sp.ScratchpadSim(g, b.m_r, "first_fit")
    while not sim.done:
        ready = sim.ready_ops()
        status = sim.schedule(ready[-1])
        while status == "victim":
            cands = sim.candidates()
            working = {sim.g.tensors[t].name for t in sim.g.working_set[sim.pending]}
            assert cands and set(cands) <= set(sim.resident()) and not set(cands) & working
            status = sim.evict(cands[0])
        assert status != "infeasible"
    r = sim.result()
    assert r.feasible
    r2 = sp.simulate(g, b.m_r, r.order, r.evictions, "first_fit")
    assert r2.non_compulsory == r.non_compulsory
    with pytest.raises(DesignError):
        sim.schedule(r.order[0])


def test_belady_optimal_on_uniform_clean_tensors():
    # all tensors equal-size clean inputs: Belady's MIN is optimal; compare with brute force
    g = nx.DiGraph()
    for k in range(4):
        g.add_node(f"x{k}", kind="input", out_bytes=1, weight_bytes=0)
    reads = [(0, 1), (2, 3), (0, 2), (1, 3), (0, 3), (1, 2)]
    prev = None
    for i, (a, b) in enumerate(reads):
        g.add_node(f"o{i}", kind="op", out_bytes=1, weight_bytes=0)
        g.add_edge(f"x{a}", f"o{i}")
        g.add_edge(f"x{b}", f"o{i}")
        if prev:
            g.add_edge(prev, f"o{i}")
        prev = f"o{i}"
    order = [f"o{i}" for i in range(6)]
    # after o_i the previous output is dead; capacity 4 = 2 inputs + prev output + output
    bel = sp.simulate(g, 5, order, "belady", "ideal")
    best = sp.brute_force(g, 5, "ideal")
    assert bel.non_compulsory == best.non_compulsory
    assert sp.simulate(g, 5, order, "lru", "ideal").non_compulsory >= bel.non_compulsory


# ------------------------------------------------------------------------------ schedules and budgets
def test_min_peak_order_is_exact_on_tiny_graphs():
    import itertools

    for seed in range(6):
        g = graphs.tiny_graph(6, seed)
        order, peak, exact = sp.min_peak_order(g)
        assert exact
        best = min(sp.no_eviction_peak(g, list(p)) for p in itertools.permutations(sp.default_order(g))
                   if nx.is_directed_acyclic_graph(g) and _is_topo(g, p))
        assert peak == best == sp.no_eviction_peak(g, order)


def _is_topo(g: nx.DiGraph, order) -> bool:
    pos = {o: i for i, o in enumerate(order)}
    return all(pos.get(u, -1) < pos[v] for u, v in g.edges() if g.nodes[u]["kind"] == "op")


def test_budgets_ordering_and_zero_traffic_at_m_p():
    for name in ("inception", "transformer", "resnet18"):
        g = graphs.workload(name)
        b = sp.budgets(g)
        assert b.m_r <= b.m_h <= b.m_p and b.m_p_exact
        order, _, _ = sp.min_peak_order(g)
        assert sp.simulate(g, b.m_p, order, "belady", "ideal").non_compulsory == 0
        assert not sp.simulate(g, b.m_r - 1, order, "belady", "ideal").feasible


# ------------------------------------------------------------------------------ parameter face
def test_decode_priorities_order_and_keep():
    g = graphs.inception_block()
    n_order, n_side, n_full = sp.n_priorities(g)
    cg = sp.compile_graph(g)
    pr = np.arange(n_order, 0, -1, dtype=float)  # highest priority first = default order
    order, choices, res = sp.decode_priorities(g, 10**8, pr)
    assert order == sp.default_order(g) and choices == [] and res.feasible
    b = sp.budgets(g)
    rng = np.random.default_rng(0)
    full = rng.normal(size=n_full)
    order, choices, res = sp.decode_priorities(g, b.m_r, full, "first_fit")
    assert _is_topo(g, order) and res.feasible
    sim = sp.ScratchpadSim(g, b.m_r, "two_sided", high=full[n_order:n_side] > 0)
    replay = sp.run_order(sim, order, lambda s, c: s.g.tensor_index[choices[len(s.evictions)]])
    assert replay.non_compulsory == res.non_compulsory
    with pytest.raises(ConfigError, match="priorities"):
        sp.decode_priorities(g, b.m_r, np.ones(3))
    assert len(cg.tensors) == n_full - n_side == n_side - n_order
    # a placement-side vector switches to the two-sided allocator, replayable with the same sides
    side = np.concatenate([pr, np.where(np.arange(n_side - n_order) % 2 == 0, 1.0, -1.0)])
    order, choices, res = sp.decode_priorities(g, b.m_r, side)
    sim = sp.ScratchpadSim(g, b.m_r, "two_sided", high=side[n_order:] > 0)
    assert sp.run_order(sim, order, sp.belady).non_compulsory == res.non_compulsory


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(4, 14))
def test_any_priority_vector_decodes_to_a_valid_schedule(seed, n):
    g = graphs.random_dag(n, seed=seed)
    b = sp.budgets(g)
    pr = np.random.default_rng(seed).normal(size=sp.n_priorities(g)[seed % 3])
    order, _, res = sp.decode_priorities(g, b.m_r, pr, "best_fit")
    assert _is_topo(g, order) and sorted(order) == sorted(sp.default_order(g))
    assert res.feasible  # M_R always suffices: everything else can be evicted
    assert res.compulsory == sp.compile_graph(g).compulsory
    assert res.peak <= b.m_r


def test_brute_force_lower_bounds_baselines_and_local_search_finds_it():
    hits = 0
    for seed in range(6):
        g = graphs.tiny_graph(6, seed)
        b = sp.budgets(g)
        ideal = sp.brute_force(g, b.m_r, "ideal").non_compulsory
        for alloc in ("ideal", "first_fit"):
            best = sp.brute_force(g, b.m_r, alloc)
            for ev in ("belady", "lru"):
                r = sp.simulate(g, b.m_r, sp.default_order(g), ev, alloc)
                assert r.non_compulsory >= best.non_compulsory >= ideal
            ls = sp.local_search(g, b.m_r, evaluations=300, seed=0, allocator=alloc)
            assert ideal <= ls.non_compulsory <= sp.simulate(g, b.m_r, sp.default_order(g), "belady", alloc).non_compulsory
            hits += alloc == "ideal" and ls.non_compulsory == ideal
    # order + Belady-family victims is not a complete search space (seed 4 needs a non-Belady victim)
    assert hits >= 5


def test_deterministic():
    g = graphs.random_dag(16, seed=2)
    b = sp.budgets(g)
    r1 = sp.local_search(g, b.m_r, 200, seed=5)
    r2 = sp.local_search(g, b.m_r, 200, seed=5)
    assert r1 == r2
