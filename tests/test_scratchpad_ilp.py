"""The COSMA-style ILP against brute force on tiny graphs, and on the shipped workloads."""

from __future__ import annotations

import pytest
from archgym.simulators import scratchpad as S
from archgym.simulators import scratchpad_graphs as G
from archgym.simulators import scratchpad_ilp as I

from archgym.errors import ConfigError


def _caps(g) -> list[int]:
    b = S.budgets(g)
    return sorted({b.m_r, b.m_h, b.m_p, max(b.m_r, b.m_p - 3)})


@pytest.mark.parametrize("seed", range(14))
def test_capacity_ilp_equals_brute_force(seed):
    g = G.tiny_graph(5 + seed % 3, seed)
    for cap in _caps(g):
        best = S.brute_force(g, cap, "ideal")
        ilp = I.solve_ilp(g, cap, time_limit=10, addresses=False)
        assert ilp.optimal and ilp.gap == 0.0
        assert ilp.result.feasible
        assert ilp.result.non_compulsory == best.non_compulsory == pytest.approx(ilp.objective)
        # the replayed schedule is a valid simulator input
        again = S.simulate(g, cap, ilp.result.order, ilp.result.evictions, "ideal")
        assert again.non_compulsory == ilp.result.non_compulsory


@pytest.mark.parametrize("seed", range(10))
def test_address_ilp_between_ideal_and_first_fit_brute_force(seed):
    g = G.tiny_graph(5 + seed % 2, 100 + seed)
    for cap in _caps(g):
        ideal = S.brute_force(g, cap, "ideal").non_compulsory
        ff = S.brute_force(g, cap, "first_fit").non_compulsory
        ilp = I.solve_ilp(g, cap, time_limit=10, addresses=True)
        assert ilp.result.feasible, ilp.result.reason
        # the ILP's own addresses, replayed in the simulator, cost exactly the ILP objective
        assert ilp.result.non_compulsory == pytest.approx(ilp.objective)
        assert ideal <= ilp.result.non_compulsory <= ff


def test_below_m_r_is_infeasible_and_bad_time_limit():
    g = G.tiny_graph(5, 1)
    b = S.budgets(g)
    r = I.solve_ilp(g, b.m_r - 1, time_limit=5)
    assert not r.result.feasible and "M_R" in r.result.reason
    with pytest.raises(ConfigError, match="time_limit"):
        I.solve_ilp(g, b.m_r, time_limit=0)
    with pytest.raises(ConfigError, match="segment"):
        I.solve_decomposed(g, b.m_r, segment=0)


def test_transformer_optimum_and_decomposition():
    g = G.transformer_encoder()
    b = S.budgets(g)
    ilp = I.solve_ilp(g, b.m_r, time_limit=30, addresses=True)
    assert ilp.optimal and ilp.result.feasible
    topo = S.simulate(g, b.m_r, S.default_order(g), "belady", "best_fit")
    assert ilp.result.non_compulsory <= topo.non_compulsory
    # here good addresses remove every fragmentation cost: the capacity-only optimum is attained
    assert ilp.result.non_compulsory == I.solve_ilp(g, b.m_r, time_limit=30).result.non_compulsory
    dec = I.solve_decomposed(g, b.m_r, segment=5, time_limit=20)
    assert dec.result.feasible
    assert dec.result.non_compulsory >= ilp.result.non_compulsory
    assert S.simulate(g, b.m_p, S.min_peak_order(g)[0], "belady", "ideal").non_compulsory == 0
