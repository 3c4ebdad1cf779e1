"""Throughput of the prefix-adder cost model: edit (add or delete) + legalize + size/depth/delay/area.

Search agents (MCTS, RL) evaluate one edited graph per step, so this figure bounds their speed.  The
walk applies random legal edits (add or delete with probability 1/2 each; an action is drawn uniformly
from the n(n-1)/2 grid positions and redrawn until legal) from a Sklansky and a ripple start, and calls


``analytical_metrics`` after every edit.  Run: ``python -m archgym.experiments.bench_adder_eval``.
"""

from __future__ import annotations

import argparse
import random
import time

from archgym.simulators.arith.prefix import PrefixGraph, analytical_metrics, classical


def random_edit(g: PrefixGraph, rng: random.Random) -> PrefixGraph:
    """One uniformly drawn legal add or delete (rejection sampling over the grid)."""
    n = g.n
    while True:
        i = rng.randrange(1, n)
        j = rng.randrange(0, i)
        if rng.random() < 0.5:
            if g.can_add(i, j):
                return g.add(i, j)
        elif g.can_delete(i, j):
            return g.delete(i, j)


def bench(n: int, start: str, steps: int, episode: int = 50, seed: int = 0) -> tuple[float, float]:
    """(evaluations per CPU-second, mean size) of ``steps`` random edits from ``classical(start, n)``."""
    rng = random.Random(seed)
    g0 = classical(start, n)
    g = g0
    total_size = 0
    t0 = time.process_time()  # CPU time of this process: one core, robust to other jobs on the machine
    for s in range(steps):
        if s % episode == 0:
            g = g0
        g = random_edit(g, rng)
        total_size += analytical_metrics(g)["size"]
    return steps / (time.process_time() - t0), total_size / steps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--episode", type=int, default=50, help="edits per episode")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"{'n':>5} {'start':>10} {'evals/s (CPU)':>14} {'mean size':>10}")
    for n in (32, 64, 128):
        for start in ("sklansky", "ripple"):
            rate, size = bench(n, start, args.steps, args.episode, args.seed)
            print(f"{n:>5} {start:>10} {rate:>14,.0f} {size:>10.1f}")


if __name__ == "__main__":
    main()
