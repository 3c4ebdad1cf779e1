"""The hyperparameter lottery (ArchGym, ISCA 2023): how much of an agent's result is its hyperparameters?

For each agent, one Hydra multirun of ``python -m archgym.run -m`` sweeps the agent's main
hyperparameters (the grids in ``SWEEPS``) x seeds on a small problem; then every job's best cost is
read from its log and the distribution per agent is plotted (box + points): a wide box means the
ranking of agents depends on who tuned what.  Writes ``DIR/lottery.csv`` and ``DIR/lottery.png``.

Default run (minutes on 2 cores): 16-bit adder, budget 100, seeds 0-1, the agents in ``DEFAULT``.
To scale it, widen the problem and the grid, and let Hydra's launchers spread the jobs::

    python experiments/hyperparameter_lottery.py --env-args env=adder env.width=64 --budget 1000 \\
        --seeds 0,1,2,3,4 --agents all --parallel 8
    # or add hydra/launcher=joblib (hydra-joblib-launcher) / ray (hydra-ray-launcher) via --extra

Re-running with the same --out-dir re-reads finished sweeps instead of repeating them (--force redoes them).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

#: main hyperparameters of each agent, as Hydra sweep overrides (every combination is one job per seed)
SWEEPS: dict[str, list[str]] = {
    "ppo": ["agent.learning_rate=1e-4,1e-3", "agent.n_steps=32,128", "agent.ent_coef=0.0,0.05"],
    "maskable_ppo": ["agent.learning_rate=1e-4,1e-3", "agent.n_steps=32,128", "agent.ent_coef=0.0,0.05"],
    "a2c": ["agent.learning_rate=1e-4,7e-4,3e-3", "agent.n_steps=5,16"],
    "dqn": ["agent.learning_rate=1e-4,1e-3", "agent.exploration_fraction=0.1,0.5", "agent.learning_starts=20,100"],
    "tpe": ["agent.n_startup_trials=5,20", "agent.n_ei_candidates=8,64", "agent.multivariate=true,false"],
    "gp": ["agent.n_startup_trials=5,20"],
    "cmaes": ["agent.sigma0=0.1,0.3", "agent.popsize=4,16"],
    "nsga2": ["agent.population_size=8,32", "agent.crossover_prob=0.5,0.9"],
    "ga": ["agent.population_size=8,32", "agent.mutation_rate=0.02,0.1", "agent.tournament_size=2,5"],
    "aco": ["agent.ants=8,32", "agent.evaporation=0.05,0.3", "agent.elite_ants=2,8"],
    "mcts": ["agent.exploration=0.01,0.1,0.5", "agent.descend_prob=0.1,0.5"],
    "random_walk": ["agent.episode_length=16,64,256"],
    "random": [],  # no hyperparameters: its spread is the seeds' alone
}
DEFAULT = ["ppo", "dqn", "a2c", "tpe", "cmaes", "ga", "aco", "mcts", "random"]


def sweep(agent: str, out_dir: Path, env_args: list[str], budget: int, seeds: str, extra: list[str], force: bool) -> Path:
    """One Hydra multirun over the agent's grid x seeds; each job writes ``<dir>/<job>/summary.json``."""
    target = out_dir / agent
    if (target / "done").exists() and not force:
        return target
    cmd = [
        sys.executable, "-m", "archgym.run", "-m", *env_args, f"agent={agent}", f"budget={budget}", f"seed={seeds}",
        *SWEEPS[agent], "progress=false", "verify=false", "ground_truth=false", f"hydra.sweep.dir={target}", *extra,
    ]
    res = subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"sweep of {agent} failed:\n{res.stderr[-3000:]}")
    (target / "done").write_text(" ".join(cmd))
    return target


def collect(out_dir: Path, agents: list[str]) -> pd.DataFrame:
    """One row per job: agent, seed, the swept hyperparameters, best cost (from the run's log)."""
    from archgym import logs

    rows = []
    for agent in agents:
        keys = [o.split("=")[0].removeprefix("agent.") for o in SWEEPS[agent]]
        for summary_path in sorted((out_dir / agent).glob("*/summary.json")):
            s = json.loads(summary_path.read_text())
            run = logs.load_runs(s["log"]).set_index("run_id").loc[s["run_id"]]
            config = json.loads(run["config"])["agent"]
            rows.append({
                "agent": agent, "seed": s["seed"], "best_cost": s["best"]["cost"] if s["best"] else float("nan"),
                "hyperparameters": ", ".join(f"{k}={config[k]}" for k in keys),
            })
    return pd.DataFrame(rows)


def plot(df: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    order = df.groupby("agent")["best_cost"].median().sort_values().index.tolist()
    data = [df[df["agent"] == a]["best_cost"].to_numpy() for a in order]
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(order), 4.5))
    ax.boxplot(data, showfliers=False)
    rng = np.random.default_rng(0)
    for i, values in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.15, 0.15, len(values)), values, s=10, alpha=0.6)
    ax.set_xticks(range(1, len(order) + 1), [f"{a}\n(n={len(d)})" for a, d in zip(order, data)])
    ax.set_ylabel("best cost found (lower is better)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", default=",".join(DEFAULT), help="comma-separated, or 'all'")
    ap.add_argument("--env-args", nargs="+", default=["env=adder", "env.width=16"])
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--seeds", default="0,1", help="Hydra sweep of seeds, e.g. 0,1,2")
    ap.add_argument("--out-dir", type=Path, default=Path("lottery"))
    ap.add_argument("--parallel", type=int, default=2, help="agents swept at the same time")
    ap.add_argument("--extra", nargs="*", default=[], help="more Hydra overrides, e.g. hydra/launcher=joblib")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    agents = list(SWEEPS) if args.agents == "all" else [a for a in args.agents.split(",") if a]
    unknown = [a for a in agents if a not in SWEEPS]
    if unknown:
        sys.exit(f"error: no sweep defined for {unknown}; known: {', '.join(SWEEPS)}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.parallel) as pool:
        list(pool.map(lambda a: sweep(a, args.out_dir, args.env_args, args.budget, args.seeds, args.extra, args.force),
                      agents))
    df = collect(args.out_dir, agents)
    df.to_csv(args.out_dir / "lottery.csv", index=False)
    title = f"hyperparameter lottery: {' '.join(args.env_args)}, budget {args.budget}"
    plot(df, args.out_dir / "lottery.png", title)
    stats = df.groupby("agent")["best_cost"].agg(["count", "min", "median", "max"]).sort_values("median")
    print(stats.to_markdown(floatfmt=".4g"))
    best = df.loc[df.groupby("agent")["best_cost"].idxmin()][["agent", "best_cost", "hyperparameters"]]
    print("\nbest setting per agent:\n" + best.to_markdown(index=False, floatfmt=".4g"))
    print(f"\nwrote {args.out_dir / 'lottery.csv'} and {args.out_dir / 'lottery.png'}")


if __name__ == "__main__":
    main()
