"""Results in ground truth: a run's most promising designs and every baseline re-scored by the family's
ground-truth cost model, side by side with the fast model that the search optimized.

A family declares its ground truth as config overrides (``DesignProblem.ground_truth``, e.g.
``{"cost_model": "yosys"}`` for adders and multipliers: synthesis at a sweep of delay targets, see
``archgym.simulators.eda.yosys_model``; ``{"accuracy_model": "measured"}`` for approximate multipliers).
After a search, :func:`verify_run` picks the candidates a fast model can vouch for (the ``top`` lowest-cost
distinct designs, plus up to ``top`` designs of the fast model's Pareto front on the env's objectives),
scores them and the baselines with the ground truth in one parallel batch, and reports the ground-truth
best, how it compares with the best baseline, which baselines Pareto-dominate it, and how well the fast
model ranked the candidates (Spearman).  The run's answer is the ground-truth best.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from archgym.evaluator import Record
from archgym.metrics import pareto_front
from archgym.problem import DesignProblem, Evaluation

#: candidates taken from each of the two pools (lowest fast cost; fast Pareto front)
DEFAULT_TOP = 8


def ground_truth_problem(env: str, problem: DesignProblem) -> DesignProblem | None:
    """The same configured family under its ground-truth cost model (the problem itself when it already
    uses it); None when the family declares no ground truth."""
    from archgym.config import build_problem

    overrides = dict(type(problem).ground_truth or {})
    if not overrides:
        return None
    config = dataclasses.asdict(problem.config)
    if all(config.get(k) == v for k, v in overrides.items()):
        return problem
    return build_problem(env, {**config, **overrides})


def candidates(problem: DesignProblem, records: list[Record], top: int = DEFAULT_TOP) -> list[Record]:
    """The distinct feasible designs worth confirming: the ``top`` lowest fast cost, then up to ``top``
    more from the fast model's Pareto front on the env's objectives (spread along it)."""
    best: dict[str, Record] = {}
    for r in records:
        if r.evaluation.feasible and not r.evaluation.failed and math.isfinite(r.evaluation.cost):
            best.setdefault(problem.canonical(r.design), r)
    distinct = sorted(best.values(), key=lambda r: (r.evaluation.cost, r.step))
    chosen = distinct[:top]
    if len(problem.objective_names) > 1 and len(distinct) > len(chosen):
        pts = np.array([problem.objectives(r.evaluation) for r in distinct], dtype=float)
        front_pts = {tuple(p) for p in pareto_front(pts)}
        front = [r for r, p in zip(distinct, pts) if tuple(p) in front_pts and r not in chosen]
        if front:
            picks = np.unique(np.linspace(0, len(front) - 1, min(top, len(front))).round().astype(int))
            chosen += [front[i] for i in picks]
    return chosen


def verify_run(env: str, problem: DesignProblem, records: list[Record], top: int = DEFAULT_TOP) -> dict[str, Any] | None:
    """Ground-truth figures of a run's candidates and of every baseline (see the module docstring)."""
    truth = ground_truth_problem(env, problem)
    if truth is None:
        return None
    picked = candidates(problem, records, top)
    baselines = truth.baselines()
    evaluations = truth.evaluate_batch([r.design for r in picked] + list(baselines.values()))
    rows = [_row(ev) for ev in evaluations]
    cand_rows, base_rows = rows[: len(picked)], dict(zip(baselines, rows[len(picked):]))
    report: dict[str, Any] = {
        "cost_model": dict(type(problem).ground_truth or {}),
        "candidates": [{"step": r.step, "fast_cost": r.evaluation.cost, **row} for r, row in zip(picked, cand_rows)],
        "baselines": base_rows,
        "best": None,
    }
    ok = [(row["cost"], i) for i, row in enumerate(cand_rows) if row["feasible"] and math.isfinite(row["cost"])]
    if ok:
        _, i = min(ok)
        report["best"] = {"step": picked[i].step, "fast_cost": picked[i].evaluation.cost, **cand_rows[i],
                          "design": problem.to_json(picked[i].design)}
        report["best_design"] = picked[i].design  # not JSON: the caller exports it, then drops it
    feasible_base = {n: b for n, b in base_rows.items() if b["feasible"] and math.isfinite(b["cost"])}
    if feasible_base:
        name = min(feasible_base, key=lambda n: feasible_base[n]["cost"])
        report["best_baseline"] = {"name": name, "cost": feasible_base[name]["cost"]}
        if report["best"] is not None:
            report["improvement_vs_best_baseline"] = 1.0 - report["best"]["cost"] / feasible_base[name]["cost"]
            report["dominated_by"] = _dominating(truth, report["best"]["metrics"], feasible_base)
    fast = [r.evaluation.cost for r in picked]
    truth_costs = [row["cost"] for row in cand_rows]
    report["spearman_fast_vs_ground_truth"] = _spearman(fast, truth_costs)
    return report


def _row(ev: Evaluation | Exception) -> dict[str, Any]:
    if isinstance(ev, Exception):
        return {"cost": math.inf, "feasible": False, "failed": True, "reason": str(ev)[:500], "metrics": {}}
    return {"cost": ev.cost, "feasible": ev.feasible, "failed": ev.failed, "reason": ev.reason, "metrics": ev.metrics}


def _dominating(problem: DesignProblem, metrics: dict[str, float], baselines: dict[str, dict[str, Any]]) -> list[str]:
    """Baselines at least as good on every objective of the env and better on one."""
    names = [n for n in problem.objective_names if n != "cost"]
    if not names or not all(n in metrics for n in names):
        return []
    mine = [metrics[n] for n in names]
    out = []
    for base, row in baselines.items():
        theirs = [row["metrics"].get(n, math.inf) for n in names]
        if all(t <= m for t, m in zip(theirs, mine)) and any(t < m for t, m in zip(theirs, mine)):
            out.append(base)
    return out


def _spearman(a: list[float], b: list[float]) -> float | None:
    pairs = [(x, y) for x, y in zip(a, b) if math.isfinite(x) and math.isfinite(y)]
    if len(pairs) < 3:
        return None
    from scipy.stats import spearmanr

    rho = spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic
    return None if not math.isfinite(rho) else float(rho)
