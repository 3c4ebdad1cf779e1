"""MCTS agent: beats classical adders and a random walk, deterministic, generic, validated config."""

from __future__ import annotations

import math

import pytest

from archgym.agents.mcts import MCTS, MCTSConfig
from archgym.agents.random_search import RandomWalk, RandomWalkConfig
from archgym.envs.adder import AdderConfig, AdderProblem
from archgym.errors import ConfigError
from archgym.evaluator import BudgetExhausted, Evaluator


def _run(agent, problem, budget: int) -> Evaluator:
    evaluator = Evaluator(problem, budget=budget)
    with pytest.raises(BudgetExhausted):
        agent.search(problem, evaluator)
    assert evaluator.steps == budget
    return evaluator


def _theoretical(n: int, depth: int | None = None, cls=AdderProblem) -> AdderProblem:
    return cls(AdderConfig(width=n, mode="theoretical", depth_bound=depth, start="sklansky", restart="start"))


def test_reaches_optimum_n32_and_beats_random_walk():
    # Sergeev's minimum at n = 32, depth 5 is 74 nodes; Sklansky has 80.
    problem = _theoretical(32)
    mcts = _run(MCTS(MCTSConfig(), seed=1), problem, 600)
    walk = _run(RandomWalk(RandomWalkConfig(), seed=1), problem, 600)
    assert problem.baseline("sklansky").size == 80
    assert mcts.best_cost == 74
    assert mcts.best.design.depth <= 5 and mcts.best.design.size == 74
    assert mcts.best_cost < walk.best_cost


def test_n16_reaches_sergeev_minimum_and_stops_when_exhausted():
    # Sergeev's formula at n = 16 (m = 4): 3.5*16 - 8.5*4 + 4 + 5 = 31 nodes at depth 4; Sklansky has 32
    problem = _theoretical(16)
    evaluator = Evaluator(problem, budget=5000)
    MCTS(MCTSConfig(), seed=3).search(problem, evaluator)  # returns by itself: the space is exhausted
    assert evaluator.steps < 5000
    best = evaluator.best.design
    assert best.depth <= 4 and evaluator.best_cost == best.size == 31
    # Snir's bound: size + depth >= 2n - 2 (Zhu, Cheng & Graham 2006)
    assert best.size + best.depth >= 2 * 16 - 2


def test_deterministic_given_seed():
    def designs(seed: int) -> list[str]:
        problem = _theoretical(16, depth=5)
        evaluator = Evaluator(problem, budget=120)
        seen: list[str] = []
        evaluator.on_evaluation = lambda record: seen.append(problem.canonical(record.design))
        with pytest.raises(BudgetExhausted):
            MCTS(MCTSConfig(iterations_per_move=20), seed=seed).search(problem, evaluator)
        return seen

    a, b, c = designs(7), designs(7), designs(8)
    assert a == b and len(a) == 120
    assert a != c


def test_generic_without_hook_weighted_mode_improves_on_start():
    # plain AdderProblem in weighted mode: every legal action (adds too) is a candidate
    problem = AdderProblem(AdderConfig(width=8, mode="weighted", start="ripple", restart="start"))
    evaluator = _run(MCTS(MCTSConfig(), seed=0), problem, 200)
    start_cost = problem.evaluate(problem.initial_design()).cost
    assert evaluator.best_cost < start_cost


def test_exhausted_space_ends_search_without_budget():
    # n = 4 has a tiny reachable space: the search must stop by itself rather than loop
    problem = _theoretical(4)
    evaluator = Evaluator(problem, budget=None)
    MCTS(MCTSConfig(), seed=0).search(problem, evaluator)
    assert 0 < evaluator.steps < 50
    assert evaluator.best_cost == 4  # n = 4, depth 2: the Sklansky/Kogge-Stone minimum is 4 nodes


def test_warm_start_and_best_baseline_start():
    problem = _theoretical(16, depth=6)
    start = problem.baseline("ladner_fischer")
    evaluator = _run(MCTS(MCTSConfig(), seed=0, start_design=start), problem, 50)
    assert evaluator.records[0].design == start
    ev2 = Evaluator(problem, budget=50)
    try:  # the zero-deficiency baseline (24 nodes) is optimal here: the tree may be exhausted within the budget
        MCTS(MCTSConfig(start="best_baseline"), seed=0).search(problem, ev2)
    except BudgetExhausted:
        pass
    feasible = [b.size for b in problem.baselines().values() if b.depth <= 6]
    assert ev2.best_cost <= min(feasible)


def test_infeasible_start_is_a_config_error():
    problem = _theoretical(16, depth=4)
    with pytest.raises(ConfigError, match="start"):
        MCTS(MCTSConfig(), seed=0, start_design=problem.baseline("ripple")).search(
            problem, Evaluator(problem)
        )


@pytest.mark.parametrize(
    "field,value",
    [
        ("exploration", -1.0),
        ("best_weight", 1.5),
        ("descend_prob", -0.1),
        ("iterations_per_move", 0),
        ("max_rollout_steps", -1),
        ("tolerance", math.nan),
        ("start", "nope"),
    ],
)
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        MCTS(MCTSConfig(**{field: value}), seed=0)
