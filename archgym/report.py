"""The comparison report: a table per agent, best-so-far and Pareto-front plots, a Markdown page."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archgym import logs
from archgym.metrics import best_so_far, evaluations_to_reach, hypervolume, pareto_front


def results_table(df: pd.DataFrame, summaries: list[dict[str, Any]], objectives: tuple[str, ...]) -> pd.DataFrame:
    """Per agent: best cost mean/std over seeds, evaluations to within 1% of the best known, wall
    time, and (for two or more objectives) the hypervolume of each run's front."""
    best_known = min(
        [s["best"]["cost"] for s in summaries if s.get("best")]
        + [b["cost"] for s in summaries for b in s["baselines"].values() if b.get("feasible")],
        default=math.inf,
    )
    per_run = []
    reference = _hv_reference(df, objectives)
    for s in summaries:
        rows = df[df["run_id"] == s["run_id"]].sort_values("step")
        costs = rows["cost"].to_numpy(dtype=float)
        entry = {
            "agent": s["agent"],
            "seed": s["seed"],
            "best_cost": s["best"]["cost"] if s.get("best") else math.inf,
            "evals_to_1pct": evaluations_to_reach(costs, best_known),
            "wall_time_s": s["wall_time_s"],
            "failed": s["failed_evaluations"],
        }
        truth = (s.get("ground_truth") or {}).get("best")
        if s.get("ground_truth") is not None:  # the run's best candidate re-scored in the family's ground truth
            entry["ground_truth_cost"] = truth["cost"] if truth else math.inf
        if reference is not None:
            entry["hypervolume"] = hypervolume(_objective_points(rows, objectives), reference)
        per_run.append(entry)
    runs = pd.DataFrame(per_run)
    agg = {
        "best_cost_mean": ("best_cost", "mean"),
        "best_cost_std": ("best_cost", "std"),
        "evals_to_1pct_median": ("evals_to_1pct", "median"),
        "runs_reaching_1pct": ("evals_to_1pct", lambda x: int(np.isfinite(x).sum())),
        "wall_time_s_mean": ("wall_time_s", "mean"),
        "failed_evals": ("failed", "sum"),
    }
    if "hypervolume" in runs:
        agg["hypervolume_mean"] = ("hypervolume", "mean")
    if "ground_truth_cost" in runs:
        agg["ground_truth_cost_mean"] = ("ground_truth_cost", "mean")
        agg["ground_truth_cost_std"] = ("ground_truth_cost", "std")
    table = runs.groupby("agent", sort=False).agg(**agg).reset_index()
    if "ground_truth_cost_mean" in table:  # a design is better only if it is better in ground truth: rank by it
        table = table.sort_values("ground_truth_cost_mean", kind="stable").reset_index(drop=True)
        table.insert(1, "ground_truth_rank", range(1, len(table) + 1))
    table.attrs["best_known"] = best_known
    table.attrs["per_run"] = runs
    return table


def _objective_points(rows: pd.DataFrame, objectives: tuple[str, ...]) -> np.ndarray:
    ok = rows[rows["feasible"].astype(bool)]
    cols = ["cost" if o == "cost" else f"metric.{o}" for o in objectives]
    if not all(c in ok for c in cols):
        return np.empty((0, len(objectives)))
    return ok[cols].to_numpy(dtype=float)


def _hv_reference(df: pd.DataFrame, objectives: tuple[str, ...]) -> np.ndarray | None:
    if len(objectives) < 2:
        return None
    pts = _objective_points(df, objectives)
    if len(pts) == 0:
        return None
    return pts.max(axis=0) * 1.1 + 1e-12  # nadir of everything seen, padded by 10%


def plot_best_so_far(df: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for agent, group in df.groupby("agent", sort=False):
        curves = [best_so_far(r.sort_values("step")["cost"].to_numpy(float)) for _, r in group.groupby("run_id")]
        length = max(len(c) for c in curves)
        mat = np.full((len(curves), length), np.nan)
        for i, c in enumerate(curves):
            mat[i, : len(c)] = c
            mat[i, len(c):] = c[-1] if len(c) else np.nan
        mat[~np.isfinite(mat)] = np.nan
        x = np.arange(1, length + 1)
        mean = np.nanmean(mat, axis=0)
        std = np.nanstd(mat, axis=0)
        half = 1.96 * std / np.sqrt(max(1, len(curves)))  # 95% confidence band of the mean
        ax.plot(x, mean, label=f"{agent} (n={len(curves)})")
        ax.fill_between(x, mean - half, mean + half, alpha=0.2)
    _finish(fig, ax, path, "evaluations", "best cost so far", title)


def learning_curves(out_dir: Path, summaries: list[dict[str, Any]]) -> dict[str, list[pd.DataFrame]]:
    """Per agent, the SB3 learning curves (``progress.csv``) its runs wrote under ``out_dir``."""
    out: dict[str, list[pd.DataFrame]] = {}
    for s in summaries:
        for path in out_dir.glob(f"runs/*/by_run/{s['run_id']}/sb3/progress.csv"):
            curve = pd.read_csv(path)
            if "rollout/ep_rew_mean" in curve and len(curve):
                out.setdefault(s["agent"], []).append(curve)
    return out


def plot_learning_curves(curves: dict[str, list[pd.DataFrame]], path: Path, title: str) -> bool:
    """Mean episode return against training steps, one line per RL agent (its runs averaged)."""
    if not curves:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for agent, runs in curves.items():
        joined = pd.concat([r[["time/total_timesteps", "rollout/ep_rew_mean"]] for r in runs])
        mean = joined.groupby("time/total_timesteps")["rollout/ep_rew_mean"].mean()
        ax.plot(mean.index, mean.to_numpy(), label=f"{agent} (n={len(runs)})")
    _finish(fig, ax, path, "environment steps", "mean episode return", title)
    return True


def _finish(fig: Any, ax: Any, path: Path, xlabel: str, ylabel: str, title: str) -> None:
    """Label, grid, legend, save as PNG and close a line plot."""
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_pareto(df: pd.DataFrame, objectives: tuple[str, ...], path: Path, title: str) -> bool:
    if len(objectives) < 2:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    drew = False
    for agent, group in df.groupby("agent", sort=False):
        front = pareto_front(_objective_points(group, objectives[:2]))
        if len(front):
            ax.step(front[:, 0], front[:, 1], where="post", marker="o", ms=3, label=agent)
            drew = True
    ax.set_xlabel(objectives[0])
    ax.set_ylabel(objectives[1])
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if drew:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return drew


def write_report(out_dir: Path, env: str, summaries: list[dict[str, Any]], log: str | None = None) -> Path:
    from archgym import registry

    summaries = sorted(summaries, key=lambda s: (s["agent"], s["seed"]))
    df = logs.load(log or logs.default_url(out_dir))
    df = df[df["run_id"].isin({s["run_id"] for s in summaries})]
    objectives = tuple(getattr(registry.envs.get(env), "objective_names", ("cost",)))
    table = results_table(df, summaries, objectives)
    table.to_csv(out_dir / "results.csv", index=False)
    table.attrs["per_run"].to_csv(out_dir / "runs.csv", index=False)
    plot_best_so_far(df, out_dir / "best_so_far.png", f"{env}: best cost vs evaluations (mean, 95% CI)")
    has_pareto = plot_pareto(df, objectives, out_dir / "pareto.png", f"{env}: Pareto fronts")
    baselines = summaries[0]["baselines"] if summaries else {}
    lines = [
        f"# Comparison on `{env}`",
        "",
        f"Env config: `{summaries[0]['env_config'] if summaries else {}}`; budget "
        f"{summaries[0]['budget'] if summaries else '?'} evaluations per run; seeds "
        f"{sorted({s['seed'] for s in summaries})}.  Best known cost: {table.attrs['best_known']:.6g}.",
        "",
        table.to_markdown(index=False, floatfmt=".4g"),
        "",
        "![best so far](best_so_far.png)",
        "",
    ]
    if plot_learning_curves(learning_curves(out_dir, summaries), out_dir / "learning_curves.png",
                            f"{env}: RL learning curves (SB3 progress.csv of each run)"):
        lines += ["Learning curves of the RL agents:", "", "![learning curves](learning_curves.png)", ""]
    if has_pareto:
        lines += [f"Pareto fronts of ({', '.join(objectives[:2])}):", "", "![pareto](pareto.png)", ""]
    if "ground_truth_rank" in table:
        model = (summaries[0].get("ground_truth") or {}).get("cost_model", {})
        truth_base = (summaries[0].get("ground_truth") or {}).get("best_baseline")
        lines += [f"Agents are ranked by the ground-truth cost of their runs' best designs ({model}); the best "
                  f"baseline in ground truth: {truth_base['name']} at {truth_base['cost']:.6g}." if truth_base else
                  f"Agents are ranked by the ground-truth cost of their runs' best designs ({model}).", ""]
    if baselines:
        lines += ["Baselines under the same cost model:", ""]
        lines += [f"- {k}: cost {v['cost']:.6g}" for k, v in baselines.items() if v.get("feasible")]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path

