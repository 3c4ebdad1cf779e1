"""Benchmark: do the RL agents learn?  RL against random_walk, random and the best registry agents at equal
evaluation budgets, with Mann-Whitney U tests, and the width transfer of a saved grid policy.

    python -m archgym.experiments.bench_rl                                  # adder 64-bit, 2,000 evaluations
    python -m archgym.experiments.bench_rl --budget 20000 --problems adder64,multiplier16
    python -m archgym.experiments.bench_rl --transfer                       # 32-bit policy acting on 48-bit

``ppo`` runs its default policy (the grid policy on the adder and on ``multiplier16grid``, the multiplier with
``env.observation=grid``, agents/policies.py); ``maskable_ppo`` runs
with ``policy=mlp`` as the MLP reference.  Every run uses the analytical cost model (the issue's targets
are stated on it); the test is one-sided: is the RL agent's final best cost lower?
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import mannwhitneyu

from archgym.compare import grid, run_grid
from archgym.runner import RunSpec, execute

#: name -> (env, env config)
PROBLEMS: dict[str, tuple[str, dict[str, Any]]] = {
    "adder64": ("adder", {"width": 64}),
    "adder32": ("adder", {"width": 32}),
    "multiplier16": ("multiplier", {"width": 16}),
    # the grid observation: ppo's policy=auto is then the grid policy (maskable_ppo's stays the MLP)
    "multiplier16grid": ("multiplier", {"width": 16, "observation": "grid"}),
}
RL = ("ppo", "maskable_ppo")
AGENTS = ("ppo", "maskable_ppo", "random_walk", "random", "ga", "mcts")
AGENT_CONFIG = {"maskable_ppo": {"policy": "mlp"}}


def compare(problem: str, agents: list[str], seeds: int, budget: int, out_dir: Path) -> pd.DataFrame:
    env, env_config = PROBLEMS[problem]
    specs = grid(env, env_config, agents, seeds, budget, out_dir / problem, AGENT_CONFIG)
    summaries = run_grid(specs, progress=True)
    return pd.DataFrame([{"agent": s["agent"], "seed": s["seed"], "best_cost": s["best"]["cost"],
                          "wall_s": s["wall_time_s"]} for s in summaries])


def table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per agent: mean, std and median of the final best cost; for RL agents the one-sided Mann-Whitney p
    against random_walk and random, and the gap of the median to the best agent's median."""
    stats = runs.groupby("agent")["best_cost"].agg(["mean", "std", "median"])
    stats["wall_s"] = runs.groupby("agent")["wall_s"].mean()
    best_median = stats["median"].min()
    stats["gap_to_best_%"] = 100 * (stats["median"] / best_median - 1)
    for ref in ("random_walk", "random"):
        if ref not in stats.index:
            continue
        theirs = runs.loc[runs.agent == ref, "best_cost"]
        stats[f"p_vs_{ref}"] = [
            mannwhitneyu(runs.loc[runs.agent == a, "best_cost"], theirs, alternative="less").pvalue if a.startswith(RL) else None
            for a in stats.index
        ]
    return stats.sort_values("median")


def transfer(out_dir: Path, seeds: int, train_budget: int, budget: int, train_width: int = 32,
             width: int = 48) -> pd.DataFrame:
    """Train the grid PPO at ``train_width``, act at ``width`` without training; against random_walk and a
    fresh PPO at the same budget."""
    model = out_dir / f"ppo_{train_width}bit.zip"
    start = time.perf_counter()
    execute(RunSpec("adder", "ppo", {"width": train_width}, {"save": str(model)}, budget=train_budget, seed=0,
                    out_dir=str(out_dir / "train"), progress=False, verify=False, ground_truth=False))
    print(f"trained at {train_width} bits: {train_budget} evaluations in {time.perf_counter() - start:.0f} s")
    rows = []
    arms = {"ppo (loaded, no training)": ("ppo", {"load": str(model), "learn": False}),
            "ppo (loaded, keeps learning)": ("ppo", {"load": str(model)}),
            "ppo (fresh)": ("ppo", {}), "random_walk": ("random_walk", {})}
    for label, (agent, config) in arms.items():
        for seed in range(seeds):
            s = execute(RunSpec("adder", agent, {"width": width}, config, budget=budget, seed=seed,
                                out_dir=str(out_dir / label.split()[0] / f"{label}-s{seed}"), progress=False,
                                verify=False, ground_truth=False))
            rows.append({"agent": label, "seed": seed, "best_cost": s["best"]["cost"], "wall_s": s["wall_time_s"]})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="adder64", help=f"comma-separated subset of {', '.join(PROBLEMS)}")
    ap.add_argument("--agents", default=",".join(AGENTS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=2000, help="evaluations per run")
    ap.add_argument("--transfer", action="store_true", help="only the width-transfer measurement")
    ap.add_argument("--train-budget", type=int, default=5000, help="--transfer: training evaluations at 32 bits")
    ap.add_argument("--out-dir", type=Path, default=Path("comparisons/bench_rl"))
    args = ap.parse_args(argv)
    pd.set_option("display.width", 200)
    if args.transfer:
        runs = transfer(args.out_dir / "transfer", args.seeds, args.train_budget, args.budget)
        print(f"\nadder 48-bit, {args.budget} evaluations, {args.seeds} seeds (policy trained at 32 bits)")
        print(table(runs).to_string(float_format=lambda v: f"{v:.4g}"))
        return
    for problem in args.problems.split(","):
        runs = compare(problem, args.agents.split(","), args.seeds, args.budget, args.out_dir / str(args.budget))
        print(f"\n{problem}, {args.budget} evaluations, {args.seeds} seeds")
        print(table(runs).to_string(float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
