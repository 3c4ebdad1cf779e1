"""Benchmark: every kind of agent on the 64-bit adder and the 16-bit multiplier, 5 seeds each.

Runs ``python -m archgym.compare`` twice (the CLI a user would run, on the local process pool)
and prints both report tables::

    python experiments/compare_adder.py                 # defaults below, ~15 min per env on 2 cores
    python experiments/compare_adder.py --budget 2000 --out-dir comparisons/big

The two comparisons resume: re-running the script after an interruption skips finished runs.
``gp`` (optuna's GPSampler) is left out by default: on the 17-knob parameter face of these families
(see README, "parameter faces") one GP trial costs seconds, so it alone would take longer than the
whole grid; add it with ``--agents``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

#: (env, env overrides, evaluations per run) of the two benchmark problems, both scored by the
#: analytical cost model with the default weighted cost (0.5 delay + 0.5 area, relative to Sklansky /
#: Dadda+Sklansky).  Budgets: TPE's cost per trial grows with the trials told, and it dominates the
#: grid; these keep each comparison near 15 min on 2 cores.
PROBLEMS = {
    "adder64": ("adder", ["env.width=64"], 600),
    "multiplier16": ("multiplier", ["env.width=16"], 1000),
}
DEFAULT_AGENTS = ["ppo", "dqn", "mcts", "random_walk", "random", "tpe", "cmaes", "nsga2", "ga", "aco"]


def run_comparison(name: str, agents: list[str], seeds: int, budget: int | None, out_dir: Path,
                   jobs: int | None) -> Path:
    env, overrides, default_budget = PROBLEMS[name]
    budget = budget or default_budget
    target = out_dir / name
    cmd = [
        sys.executable, "-m", "archgym.compare", f"env={env}", *overrides,
        f"agents=[{','.join(agents)}]", f"seeds={seeds}", f"budget={budget}", f"out_dir={target}", "progress=false",
    ]
    if jobs:
        cmd.append(f"jobs={jobs}")
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    print(f"{name}: {time.perf_counter() - start:.0f} s wall", flush=True)
    return target / "report.md"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", default=",".join(DEFAULT_AGENTS), help="comma-separated agent names")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=None, help="evaluations per run (default: per problem, above)")
    ap.add_argument("--problems", default=",".join(PROBLEMS), help=f"subset of {', '.join(PROBLEMS)}")
    ap.add_argument("--out-dir", type=Path, default=Path("comparisons/benchmark"))
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: every core)")
    args = ap.parse_args(argv)
    agents = [a for a in args.agents.split(",") if a]
    reports = [
        run_comparison(p, agents, args.seeds, args.budget, args.out_dir, args.jobs) for p in args.problems.split(",")
    ]
    for report in reports:
        print()
        print(report.read_text())


if __name__ == "__main__":
    main()
