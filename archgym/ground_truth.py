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

Multi-fidelity refinement (:func:`refine`, ``ground_truth_budget`` > 0): a hill climb *in ground truth*
from the best ground-truth design so far (a candidate or a baseline), where a screen ranks: every legal
edit of the current design is ranked (microseconds each), and the ``screen`` most promising ones not yet
synthesized go to the ground truth as one parallel batch; the climb moves to the best of them when it
improves, and otherwise takes the next ``screen`` of the ranking.  The screen ranks by the fast cost
(default), or with ``learned=True`` (``ground_truth_screen=learned``) by :class:`LearnedScreen`:
gradient-boosted trees from the fast model's figures of a design to its ground-truth cost, refit after every
batch on every ground-truth result of the run so far (the re-scored candidates and baselines, then each
refinement batch), so the screen learns the ground truth as the run goes on.  Measured side by side (README,
"Results in ground truth"), the learned screen has not beaten the fast one yet, so it is not the default.
Its evaluations
are logged as their own run (``<run id>-gt``, the ground-truth config) in the same store, so every row
says which fidelity scored it, and a resumed run replays them like any other.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
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
        taken = {id(r) for r in chosen}
        front = [r for r, p in zip(distinct, pts) if tuple(p) in front_pts and id(r) not in taken]
        if front:
            picks = np.unique(np.linspace(0, len(front) - 1, min(top, len(front))).round().astype(int))
            chosen += [front[i] for i in picks]
    return chosen


def verify_run(problem: DesignProblem, truth: DesignProblem, records: list[Record],
               top: int = DEFAULT_TOP) -> dict[str, Any]:
    """Ground-truth figures (``truth``: see :func:`ground_truth_problem`) of a run's candidates and of every
    baseline (see the module docstring)."""
    picked = candidates(problem, records, top)
    baselines = truth.baselines()
    designs = [r.design for r in picked] + list(baselines.values())
    evaluations = truth.evaluate_batch(designs)
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
    # not JSON either: what the refinement's learned screen starts from (the caller drops it)
    report["scored"] = [(d, ev) for d, ev in zip(designs, evaluations) if isinstance(ev, Evaluation)]
    compare_with_baselines(truth, report)
    fast = [r.evaluation.cost for r in picked]
    truth_costs = [row["cost"] for row in cand_rows]
    report["spearman_fast_vs_ground_truth"] = _spearman(fast, truth_costs)
    return report


def compare_with_baselines(truth: DesignProblem, report: dict[str, Any]) -> None:
    """Set the report's best baseline, the best design's improvement over it, and who dominates it."""
    feasible = {n: b for n, b in report["baselines"].items() if b["feasible"] and math.isfinite(b["cost"])}
    if not feasible:
        return
    name = min(feasible, key=lambda n: feasible[n]["cost"])
    report["best_baseline"] = {"name": name, "cost": feasible[name]["cost"]}
    if report["best"] is not None:
        report["improvement_vs_best_baseline"] = 1.0 - report["best"]["cost"] / feasible[name]["cost"]
        report["dominated_by"] = _dominating(truth, report["best"]["metrics"], feasible)


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


class LearnedScreen:
    """The ground-truth cost predicted from the fast model's figures, learned online.

    Features: the fast cost and every numeric metric of the fast model (for adders and multipliers the
    unit-gate delay and area, prefix size, depth, fanout, compressor counts ...); target: the ground-truth
    cost.  Refit on every :meth:`add`; until ``min_rows`` results are known it ranks by the fast cost.  Ties
    (tree models are piecewise constant) are broken by the fast cost, then by the design's key, so the
    ranking is deterministic and a resumed run ranks as the uninterrupted one did.
    """

    def __init__(self, fast: DesignProblem, learn: bool = True, min_rows: int = 8, seed: int = 0):
        self.fast = fast
        self.learn = learn
        self.min_rows = min_rows
        self.seed = seed
        self._names: list[str] | None = None
        self._x: list[list[float]] = []
        self._y: list[float] = []
        self._known: set[str] = set()
        self._model: Any = None

    def _features(self, design: Any) -> tuple[float, list[float]]:
        ev = self.fast.evaluate(design)
        if self._names is None:
            self._names = sorted(k for k, v in ev.metrics.items() if isinstance(v, (int, float)))
        return ev.cost, [ev.cost] + [float(ev.metrics.get(k, 0.0)) for k in self._names]

    def add(self, results: Sequence[tuple[Any, Evaluation]]) -> None:
        """Learn from ground-truth results (failed and infeasible ones are left out); refit."""
        if not self.learn:
            return
        grown = False
        for design, ev in results:
            key = self.fast.canonical(design)
            if key in self._known or not ev.feasible or ev.failed or not math.isfinite(ev.cost):
                continue
            self._known.add(key)
            self._x.append(self._features(design)[1])
            self._y.append(float(ev.cost))
            grown = True
        if grown and len(self._y) >= self.min_rows:
            from sklearn.ensemble import GradientBoostingRegressor

            model = GradientBoostingRegressor(n_estimators=150, max_depth=2, learning_rate=0.1, subsample=1.0,
                                              random_state=self.seed)
            self._model = model.fit(np.array(self._x), np.array(self._y))

    def rank(self, designs: dict[str, Any]) -> list[str]:
        """The keys of ``designs``, most promising first."""
        keys = sorted(designs)
        feats = [self._features(designs[k]) for k in keys]
        fast_costs = [f[0] for f in feats]
        if self._model is None:
            predicted = fast_costs
        else:
            predicted = [float(v) for v in self._model.predict(np.array([f[1] for f in feats]))]
        order = sorted(range(len(keys)), key=lambda i: (predicted[i], fast_costs[i], keys[i]))
        return [keys[i] for i in order]


def refine(truth: DesignProblem, fast: DesignProblem, start: Any, evaluator: Any, screen: int = 4,
           learned: bool = False, known: Sequence[tuple[Any, Evaluation]] = ()) -> None:
    """Greedy ground-truth hill climb from ``start`` with a screen (see the module docstring); ``known``:
    ground-truth results the learned screen starts from (e.g. the re-scored candidates and baselines);
    ``evaluator`` scores ``truth`` and ends the climb by raising BudgetExhausted."""
    from archgym.problem import with_sequential_face

    seq_truth = with_sequential_face(truth)
    ranker = LearnedScreen(fast, learn=learned)
    ranker.add(known)
    current = start
    first = evaluator.evaluate(current)
    ranker.add([(current, first)])
    cost = first.cost
    tried: set[str] = {truth.canonical(current)}
    while True:
        legal = np.flatnonzero(seq_truth.action_mask(current))
        neighbours = [seq_truth.apply_action(current, int(a)) for a in legal]
        fresh = {truth.canonical(d): d for d in neighbours}
        ranked = ranker.rank({k: d for k, d in fresh.items() if k not in tried})
        moved = False
        for i in range(0, len(ranked), screen):
            batch = ranked[i:i + screen]
            tried.update(batch)
            evaluations = evaluator.evaluate_batch([fresh[k] for k in batch])
            ranker.add([(fresh[k], ev) for k, ev in zip(batch, evaluations)])
            scored = [(ev.cost, k) for ev, k in zip(evaluations, batch) if ev.feasible and not ev.failed]
            if scored and min(scored)[0] < cost:
                cost, key = min(scored)
                current, moved = fresh[key], True
                break
        if not moved:
            return  # a ground-truth local optimum among the screened edits
