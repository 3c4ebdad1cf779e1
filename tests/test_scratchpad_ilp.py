"""The COSMA-style ILP against brute force on tiny graphs, and on the shipped workloads."""

from __future__ import annotations

import pytest

from archgym.errors import ConfigError
from archgym.simulators.scratchpad import graphs
from archgym.simulators.scratchpad import ilp as sp_ilp
from archgym.simulators.scratchpad import model as sp


def _caps(g) -> list[int]:
    b = sp.budgets(g)
    return sorted({b.m_r, b.m_h, b.m_p, max(b.m_r, b.m_p - 3)})


@pytest.mark.parametrize("seed", range(14))
def test_capacity_ilp_equals_brute_force(seed):
    g = graphs.tiny_graph(5 + seed % 3, seed)
    for cap in _caps(g):
        best = sp.brute_force(g, cap, "ideal")
        ilp = sp_ilp.solve_ilp(g, cap, time_limit=10, addresses=False)
        assert ilp.optimal and ilp.gap == 0.0
        assert ilp.result.feasible
        assert ilp.result.non_compulsory == best.non_compulsory == pytest.approx(ilp.objective)
        # the replayed schedule is a valid simulator input
        again = sp.simulate(g, cap, ilp.result.order, ilp.result.evictions, "ideal")
        assert again.non_compulsory == ilp.result.non_compulsory


@pytest.mark.parametrize("seed", range(10))
def test_address_ilp_between_ideal_and_first_fit_brute_force(seed):
    g = graphs.tiny_graph(5 + seed % 2, 100 + seed)
    for cap in _caps(g):
        ideal = sp.brute_force(g, cap, "ideal").non_compulsory
        ff = sp.brute_force(g, cap, "first_fit").non_compulsory
        ilp = sp_ilp.solve_ilp(g, cap, time_limit=10, addresses=True)
        assert ilp.result.feasible, ilp.result.reason
        # the ILP's own addresses, replayed in the simulator, cost exactly the ILP objective
        assert ilp.result.non_compulsory == pytest.approx(ilp.objective)
        assert ideal <= ilp.result.non_compulsory <= ff


def test_below_m_r_is_infeasible_and_bad_time_limit():
    g = graphs.tiny_graph(5, 1)
    b = sp.budgets(g)
    r = sp_ilp.solve_ilp(g, b.m_r - 1, time_limit=5)
    assert not r.result.feasible and "M_R" in r.result.reason
    with pytest.raises(ConfigError, match="time_limit"):
        sp_ilp.solve_ilp(g, b.m_r, time_limit=0)
    with pytest.raises(ConfigError, match="segment"):
        sp_ilp.solve_decomposed(g, b.m_r, segment=0)


def test_transformer_optimum_and_decomposition():
    g = graphs.transformer_encoder()
    b = sp.budgets(g)
    ilp = sp_ilp.solve_ilp(g, b.m_r, time_limit=30, addresses=True)
    assert ilp.optimal and ilp.result.feasible
    topo = sp.simulate(g, b.m_r, sp.default_order(g), "belady", "best_fit")
    assert ilp.result.non_compulsory <= topo.non_compulsory
    # here good addresses remove every fragmentation cost: the capacity-only optimum is attained
    assert ilp.result.non_compulsory == sp_ilp.solve_ilp(g, b.m_r, time_limit=30).result.non_compulsory
    dec = sp_ilp.solve_decomposed(g, b.m_r, segment=5, time_limit=20)
    assert dec.result.feasible
    assert dec.result.non_compulsory >= ilp.result.non_compulsory
    assert sp.simulate(g, b.m_p, sp.min_peak_order(g)[0], "belady", "ideal").non_compulsory == 0


def test_an_early_incumbent_replays_to_at_most_its_objective():
    """HiGHS stopped early (a loose mip gap, as after a time limit) returns an incumbent that drops tensors
    before space runs short; the replay drops them too, so it costs what the ILP claims (or less), never
    more, and the addresses of the ILP stay collision-free (no fragmentation eviction, no reset)."""
    from archgym.simulators.scratchpad.graphs import random_dag

    early = 0
    for seed in range(12):
        g = random_dag(16, seed, max_fan_in=3, window=6)
        b = sp.budgets(g)
        for cap in (b.m_r, b.m_h):
            ilp = sp_ilp.solve_ilp(g, cap, time_limit=20, addresses=True, gap=0.9)
            if not ilp.result.feasible:
                continue
            early += not ilp.optimal
            assert ilp.result.non_compulsory <= ilp.objective + 0.5, (seed, cap)
            assert ilp.result.fragmentation_evictions == ilp.result.forced_resets == 0
            assert ilp.bound <= ilp.result.non_compulsory
    assert early >= 3  # the property was exercised on incumbents that are not optimal
