"""Offline layout of a schedule (``simulators/scratchpad/layout.py``): residencies, the greedy-by-size
packing, and the ``pinned`` default policy that realises it."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from archgym.config import build_problem
from archgym.envs.base import DesignEnv, ParameterEnv
from archgym.simulators.scratchpad import graphs
from archgym.simulators.scratchpad import model as sp
from archgym.simulators.scratchpad.layout import Residency, greedy_by_size, packed_hints, residencies
from archgym.simulators.scratchpad.replay import Replay

GRAPHS = [graphs.random_dag(12, seed=s, window=4) for s in range(4)] + [
    graphs.skewed_dag(9 + s, 2000 + s, 2 + s % 3, 3 + s) for s in range(4)]


def test_greedy_by_size_on_a_hand_example():
    """Largest first at the lowest free address: B (8 B, steps 0-1) at 0, A (4 B, steps 0-0) above it at 8,
    C (4 B, steps 2-3) at 0 once B is gone, D (2 B, steps 1-2) above both at 8."""
    res = [Residency(0, 1, 0, 0, 4), Residency(1, 1, 0, 1, 8), Residency(2, 1, 2, 3, 4), Residency(3, 1, 1, 2, 2)]
    assert greedy_by_size(res) == [8, 0, 0, 8]


@pytest.mark.parametrize("g", GRAPHS, ids=lambda g: f"{len(g)}nodes")
def test_residencies_cover_every_working_set_and_packing_never_overlaps(g):
    cg = sp.compile_graph(g)
    order = sp.min_peak_order(cg)[0]
    for cap in (sp.budgets(cg).m_r, sp.budgets(cg).m_p):
        res = residencies(cg, cap, order)
        for s, o in enumerate(order):  # every tensor of an op's working set is live at its step
            for t in cg.working_set[cg.op_index[o]]:
                assert sum(r.first <= s <= r.last for r in res if r.tensor == t) == 1
        for t in range(len(cg.tensors)):  # a tensor's placements are numbered 1, 2, ... and never overlap
            mine = [r for r in res if r.tensor == t]
            assert [r.k for r in mine] == list(range(1, len(mine) + 1))
            assert all(a.last < b.first for a, b in itertools.pairwise(mine))
        live = [sum(r.size for r in res if r.first <= s <= r.last) for s in range(len(order))]
        assert max(live) <= cap  # ideal memory: the live bytes fit at every step
        off = greedy_by_size(res)
        for i, a in enumerate(res):
            for j in range(i):
                b = res[j]
                if a.first <= b.last and b.first <= a.last:
                    assert off[i] + a.size <= off[j] or off[j] + b.size <= off[i]
        assert max(o + r.size for o, r in zip(off, res)) >= max(live)


@pytest.mark.parametrize("g", GRAPHS, ids=lambda g: f"{len(g)}nodes")
def test_pinned_realises_a_packing_that_fits_exactly(g):
    """Where the packing of an order that needs no eviction fits, pinning its hints replays without
    traffic and at the planned addresses."""
    cg = sp.compile_graph(g)
    order = sp.min_peak_order(cg)[0]
    res = residencies(cg, 10**12, order)
    cap = max(o + r.size for o, r in zip(greedy_by_size(res), res))
    assert all(r.k == 1 for r in residencies(cg, cap, order))
    plan = packed_hints(cg, cap, order)
    assert len(plan) == len(res)
    hint = np.zeros(len(cg.tensors))
    for (t, _), h in plan.items():
        hint[t] = h
    sim = sp.ScratchpadSim(cg, cap, "pinned", hint=hint, later_hints={})
    r = sp.run_order(sim, order, sp.belady)
    assert r.feasible and r.non_compulsory == 0 and r.fragmentation_evictions == 0


def test_packed_default_reaches_the_ilp_optimum_where_online_placement_fragments(tmp_path):
    """The held-out case the online allocators miss (bench_scratchpad_heldout): skewed5_n16_f4_w7 at M_P.
    The min-peak order fits under ideal memory, but first fit and hinted's lowest fit evict 188 KB once;
    pinned's default policy (the packed layout) pays nothing, the addressed ILP's optimum."""
    cg = sp.compile_graph(graphs.skewed_dag(16, 2005, 4, 7))
    cap = sp.budgets(cg).m_p
    order = sp.min_peak_order(cg)[0]
    assert sp.simulate(cg, cap, order, "belady", "ideal").non_compulsory == 0
    assert sp.simulate(cg, cap, order, "belady", "first_fit").non_compulsory == 376292
    hinted = Replay(cg, cap, "hinted")
    assert hinted.run(hinted.make((), ())).non_compulsory == 376292
    pinned = Replay(cg, cap, "pinned")
    assert pinned.run(pinned.make((), ())).non_compulsory == 0

    path = tmp_path / "g.json"
    graphs.save_graph_json(graphs.skewed_dag(16, 2005, 4, 7), path)
    p = build_problem("scratchpad", {"graph": str(path), "capacity": "m_p", "allocator": "pinned"})
    assert p.evaluate(p.baseline("minpeak_packed")).cost == 0
    assert p.evaluate(p.baseline("minpeak_belady")).cost == 376292  # hints 0: lowest fit


def _pinned_problem(**over):
    return build_problem("scratchpad", {"graph": "random_dag", "ops": 14, "seed": 5, "capacity": "m_h",
                                        "allocator": "pinned", **over})


def test_pinned_points_replay_exactly_under_both_layouts():
    """Every decoded point's JSON (hints of reloads included) replays to the same metrics; with Belady and no
    victim picks the packed layout is the default policy's plan."""
    p = _pinned_problem(capacity="m_r")
    space, rng = p.space(), np.random.default_rng(3)
    assert "layout" in space.names and "layout" not in _pinned_problem(allocator="hinted").space().names
    reloads = 0
    for i in range(24):
        point = {**space.sample(rng), "layout": ("packed", "hints")[i % 2]}
        d = p.decode(point)
        again = p.from_json(json.loads(json.dumps(p.to_json(d))))
        assert p.evaluate(again).metrics == p.evaluate(d).metrics
        reloads += any(sp.split_placement_key(key)[1] > 1 for key, _ in d.placement)
        if point["layout"] == "packed":
            plain = p.decode({**point, "victim": "belady", **{f"evict.{j}": 0.0 for j in range(p.victim_knobs)}})
            plan = p.replay.default_hints(list(plain.order))
            assert {sp.placement_key(p.g.tensors[t].name, k): h for (t, k), h in plan.items()}.items() <= dict(
                plain.placement).items()
    assert reloads > 0


def test_pinned_default_placement_action_is_the_default_policy():
    """Taking the last placement action at every decision, and otherwise the min-peak next op and Belady,
    builds the complete design the empty design's completion is: the same cost, placed at the same hints."""
    p = _pinned_problem()
    d = p.initial_design()
    cost = p.evaluate(d).cost
    while not p.is_terminal(d):
        sim = p.replay.state(d)
        if sim.placing:
            action = p.n_ops + p.n_tensors + p.placement_levels
        elif sim.pending is not None:
            action = p.n_ops + sp.belady(sim, sim.candidate_indices())
        else:
            action = p.g.op_index[p.completion(d.order)[len(d.order)]]
        d = p.apply_action(d, action)
    assert p.evaluate(d).cost == cost and d.placement
    plan = p.replay.default_hints(p.min_peak_order)
    assert all(plan.get((p.g.tensor_index[name], k), h) == h
               for name, k, h in ((*sp.split_placement_key(key), h) for key, h in d.placement))


def test_check_env_under_pinned():
    p = _pinned_problem(drops=True)
    check_env(DesignEnv(p), skip_render_check=True)
    check_env(ParameterEnv(p), skip_render_check=True)
