"""Adder search benchmark: cost-model throughput and MCTS best size over time (theoretical mode).

(a) evaluations/s of one incremental edit + evaluation at n = 32, 64, 128, through the Evaluator
    (no log store) and through ``problem.evaluate`` directly;
(b) MCTS best size over wall time on the theoretical adder (minimize prefix nodes s.t. depth <=
    bound): n = 64 depth 6 (proven minimum 167, Sergeev ECCC TR13-041; Sklansky 192) and n = 128
    depth 7 (minimum 364), optionally n = 128 at depth 8 / 9 (warm-started from the best design of the
    next tighter bound, as ArithTreeRL's ``search_best_adder`` does), n = 32 (minimum 74) and n = 256.

(c) ``--frontier``: the theory's constructions (``simulators/arith/frontier.py``) next to Snir's lower
    bound (size >= 2n - 2 - depth) and the published figures, and MCTS restarted from the best feasible
    constructions and Sklansky (time split among the starts), for the issue's cases: n = 128 at depth
    8 and 9, n = 64 at depth 7, n = 256 at depth 8.

Run: ``python -m archgym.experiments.bench_adder [--quick] [--deep] [--small] [--large] [--frontier]``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from archgym.agents.mcts import MCTS, MCTSConfig
from archgym.envs.adder import AdderConfig, AdderProblem
from archgym.evaluator import BudgetExhausted, Evaluator, Record
from archgym.simulators.arith.prefix import PrefixGraph

#: minimum sizes at depth log2 n, Sergeev (ECCC TR13-041):
#: 3.5 * 2^m - (8.5 + 3.5 * (m mod 2)) * 2^floor(m/2) + m + 5 for n = 2^m
OPTIMUM = {(2**m, m): round(3.5 * 2**m - (8.5 + 3.5 * (m % 2)) * 2 ** (m // 2) + m + 5) for m in range(4, 11)}


def throughput(n: int, evaluations: int, seed: int = 0) -> tuple[float, float]:
    """(evaluations/s through the Evaluator, through problem.evaluate) of random legal edits."""
    rates = []
    for via_evaluator in (True, False):
        problem = AdderProblem(AdderConfig(width=n, mode="theoretical"))
        evaluator = Evaluator(problem, keep_history=False)
        rng = np.random.default_rng(seed)
        design = problem.initial_design()
        nodes = len(problem.candidates)
        t0 = time.perf_counter()
        for _ in range(evaluations):
            while True:  # one uniformly drawn legal add or delete, as bench_adder_eval does
                i, j = problem.candidates[int(rng.integers(nodes))]
                if design.has(i, j):
                    if design.can_delete(i, j):
                        design = design.delete(i, j)
                        break
                elif design.can_add(i, j):
                    design = design.add(i, j)
                    break
            if via_evaluator:
                evaluator.evaluate(design)
            else:
                problem.evaluate(design)
        rates.append(evaluations / (time.perf_counter() - t0))
    return rates[0], rates[1]


def run_mcts(
    n: int,
    depth: int,
    seconds: float,
    seed: int = 1,
    start_design: Any = None,
    checkpoints: Sequence[float] = (),
    config: MCTSConfig | None = None,
) -> tuple[PrefixGraph, list[tuple[float, int, int]]]:
    """Run MCTS for ``seconds``; return the best design and its (time, evaluations, size) improvements."""
    problem = AdderProblem(AdderConfig(width=n, mode="theoretical", depth_bound=depth))
    trace: list[tuple[float, int, int]] = []
    t0 = time.perf_counter()

    def watch(record: Record) -> None:
        ev = record.evaluation
        if ev.feasible and (not trace or ev.cost < trace[-1][2]):
            trace.append((time.perf_counter() - t0, record.step + 1, int(ev.cost)))
        if time.perf_counter() - t0 > seconds:
            raise BudgetExhausted("time limit")

    evaluator = Evaluator(problem, keep_history=False, on_evaluation=watch)
    agent = MCTS(config or MCTSConfig(), seed=seed, start_design=start_design)
    try:
        agent.search(problem, evaluator)
    except BudgetExhausted:
        pass
    return evaluator.best.design, trace


def report(n: int, depth: int, seconds: float, seed: int, start_design: Any = None) -> PrefixGraph:
    best, trace = run_mcts(n, depth, seconds, seed, start_design)
    target = OPTIMUM.get((n, depth))
    print(f"\nMCTS n={n} depth<={depth} ({seconds:g} s, seed {seed}; optimum {target or 'unknown'}):")
    print(f"  {'time s':>8} {'evals':>9} {'size':>5}")
    for p, (t, steps, size) in enumerate(trace):
        if p == 0 or p >= len(trace) - 8 or size % 10 == 0:  # the start, every tenth size, the last steps
            print(f"  {t:8.2f} {steps:9d} {size:5d}")
    print(f"  best size {best.size} (depth {best.depth}) after {trace[-1][0]:.2f} s")
    return best


#: published best sizes (ArithTreeRL, Lai et al., NeurIPS 2024, theoretical mode) and Sergeev's minima
PUBLISHED = {(128, 8): "273 (ArithTreeRL)", (128, 9): "248 (ArithTreeRL)", (256, 8): "773 (Sergeev, optimal)",
             (64, 7): "-"}
FRONTIER_CASES = ((128, 9), (128, 8), (64, 7), (256, 8))


def frontier(n: int, depth: int, seconds: float, seed: int, starts: int = 3) -> dict[str, Any]:
    """Best construction within the depth bound, and MCTS restarted from the ``starts`` smallest feasible
    baselines (constructions and textbook adders), ``seconds`` split among them."""
    problem = AdderProblem(AdderConfig(width=n, mode="theoretical", depth_bound=depth))
    feasible = sorted(((problem.evaluate(g).cost, name) for name, g in problem.baselines().items()
                       if problem.evaluate(g).feasible))
    best_cost, best_name = feasible[0]
    runs = []
    t0 = time.perf_counter()
    for _, name in feasible[:starts]:
        design, trace = run_mcts(n, depth, seconds / starts, seed, start_design=problem.baseline(name))
        runs.append((design.size, name, trace[-1][0] if trace else 0.0))
    size, start, when = min(runs)
    return {"n": n, "depth": depth, "bound": 2 * n - 2 - depth, "published": PUBLISHED.get((n, depth), "-"),
            "construction": f"{best_name} {int(best_cost)}", "search": size, "start": start,
            "found_at_s": round(when, 1),
            "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (CI smoke test)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deep", action="store_true", help="also n=128 at depth 8 and 9 (warm-started)")
    parser.add_argument("--small", action="store_true", help="also n=32 depth 5")
    parser.add_argument("--large", action="store_true", help="also n=256 depth 8")
    parser.add_argument("--frontier", action="store_true", help="only (c): constructions, bounds, restarted MCTS")
    parser.add_argument("--seconds", type=float, default=None, help="override every MCTS time limit")
    args = parser.parse_args(argv)
    scale = 0.05 if args.quick else 1.0

    def limit(seconds: float) -> float:
        return args.seconds if args.seconds is not None else seconds * scale

    if args.frontier:
        from tabulate import tabulate

        rows = [frontier(n, d, limit(600), args.seed) for n, d in FRONTIER_CASES]
        print("(c) the theory's constructions, Snir's bound, the published best, and restarted MCTS")
        print(tabulate(rows, headers="keys"))
        return
    print("(a) evaluations/s (random legal edit + evaluation, theoretical mode)")
    print(f"  {'n':>4} {'Evaluator':>10} {'evaluate':>10}")
    for n in (32, 64, 128):
        via_eval, direct = throughput(n, 500 if args.quick else 5000, args.seed)
        print(f"  {n:4d} {via_eval:10.0f} {direct:10.0f}")

    print("\n(b) MCTS best size over time")
    if args.small:
        report(32, 5, limit(10), args.seed)
    report(64, 6, limit(10), args.seed)
    best7 = report(128, 7, limit(600), args.seed)
    if args.deep:
        best8 = report(128, 8, limit(1800), args.seed, start_design=best7)
        report(128, 9, limit(1800), args.seed, start_design=best8)
    if args.large:
        report(256, 8, limit(1800), args.seed)
    print(f"\n(limits scaled by {scale:g}; targets: 64/6 -> 167 in 10 s, 128/7 -> 364 in 600 s)")
    if not math.isclose(scale, 1.0):
        print("  (quick mode: the deep/large targets are not expected at these limits)")


if __name__ == "__main__":
    main()
