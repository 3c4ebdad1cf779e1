from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from archgym.metrics import best_so_far, evaluations_to_reach, hypervolume, pareto_front


def test_best_so_far_and_evaluations_to_reach():
    costs = [5.0, math.inf, 3.0, 4.0, 1.0]
    assert best_so_far(costs).tolist() == [5.0, 5.0, 3.0, 3.0, 1.0]
    assert evaluations_to_reach(costs, 1.0) == 5
    assert evaluations_to_reach(costs, 2.98) == 3  # 3.0 is within 1% of 2.98
    assert math.isnan(evaluations_to_reach(costs, 0.5))


def test_pareto_front_and_hypervolume_closed_forms():
    pts = np.array([[1, 3], [2, 2], [3, 1], [3, 3], [2, 2.5]])
    assert pareto_front(pts).tolist() == [[1, 3], [2, 2], [3, 1]]
    # staircase area against reference (4, 4): 3*1 + 2*1 + 1*1
    assert hypervolume(pts, [4, 4]) == 6.0
    cube = np.array([[0.0, 0.0, 0.0]])
    assert hypervolume(cube, [2, 3, 4]) == 24.0
    # three 2x1x1 boxes, pairwise and triple overlaps of 1: 3*2 - 3*1 + 1
    assert hypervolume(np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]), [2, 2, 2]) == 4.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=12))
def test_hypervolume_matches_monte_carlo(points):
    pts = np.array(points)
    rng = np.random.default_rng(0)
    samples = rng.random((20000, 3)) * 1.0
    dominated = np.zeros(len(samples), dtype=bool)
    for p in pts:
        dominated |= np.all(samples >= p, axis=1)
    assert abs(hypervolume(pts, [1, 1, 1]) - dominated.mean()) < 0.02
