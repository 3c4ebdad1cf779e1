"""The gateway every agent evaluates designs through.

The Evaluator wraps a DesignProblem's cost model and is the only place where evaluations happen:
it enforces the evaluation budget, memoizes repeated designs, turns a crashing simulator into a
failed evaluation (the search goes on), keeps the best design and the best-so-far curve, and writes
one log row per evaluation through the logging layer.  On resume it replays the logged rows: agents
are deterministic given their seed, so the re-run asks for the same designs in the same order and
gets the logged results back without calling the simulator again.
"""

from __future__ import annotations

import math
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

from archgym.errors import ArchGymError, SimulationError
from archgym.logs import LogStore
from archgym.problem import DesignProblem, Evaluation, design_hash


class BudgetExhausted(Exception):
    """Raised when an agent asks for an evaluation past its budget: the normal end of a search."""


@dataclass
class Record:
    step: int
    design: Any
    evaluation: Evaluation
    cached: bool


@dataclass
class Evaluator:
    problem: DesignProblem
    budget: int | None = None
    store: LogStore | None = None
    run_id: str = "run"
    env_name: str = ""
    agent_name: str = ""
    seed: int = 0
    on_evaluation: Callable[[Record], None] | None = None
    keep_history: bool = True

    steps: int = 0
    best: Record | None = None
    history: list[tuple[int, float]] = field(default_factory=list)  # (step, cost) per evaluation
    records: list[Record] = field(default_factory=list)  # feasible records (for Pareto fronts)
    failures: int = 0
    _memo: dict[str, Evaluation] = field(default_factory=dict)
    _replay: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env_name = self.env_name or self.problem.name

    # ---- resume ---------------------------------------------------------------------------
    def load_replay(self) -> int:
        """Load the logged rows of this run so that a re-run serves them instead of simulating."""
        if self.store is None:
            return 0
        self._replay = {row["step"]: row for row in self.store.evaluations(self.run_id)}
        return len(self._replay)

    @property
    def exhausted(self) -> bool:
        return self.budget is not None and self.steps >= self.budget

    @property
    def remaining(self) -> int | None:
        return None if self.budget is None else max(0, self.budget - self.steps)

    # ---- the one evaluation entry point --------------------------------------------------
    def evaluate(self, design: Any) -> Evaluation:
        if self.exhausted:
            raise BudgetExhausted(f"budget of {self.budget} evaluations used")
        step = self.steps
        text = self.problem.canonical(design)
        key = design_hash(text)
        start = time.perf_counter()
        cached = False
        replayed = self._replay.pop(step, None)
        if replayed is not None and replayed["design_hash"] != key:
            warnings.warn(
                f"resume: run {self.run_id} diverged from its log at step {step}; "
                "re-evaluating from here (was the config or code changed?)",
                stacklevel=2,
            )
            self.store.delete_evaluations_from(self.run_id, step)
            self._replay.clear()
            replayed = None
        if replayed is not None:
            evaluation = _evaluation_from_row(replayed)
            self._memo.setdefault(key, evaluation)
        elif key in self._memo:
            evaluation, cached = self._memo[key], True
        else:
            evaluation = self._evaluate_safely(design)
            if not evaluation.failed:  # a failure (e.g. a timeout) may pass on retry
                self._memo[key] = evaluation
        wall = time.perf_counter() - start
        self.steps += 1
        if replayed is None and self.store is not None:
            self.store.append(
                {
                    "run_id": self.run_id,
                    "env": self.env_name,
                    "agent": self.agent_name,
                    "seed": self.seed,
                    "step": step,
                    "design": text,
                    "design_hash": key,
                    "metrics": evaluation.metrics,
                    "cost": evaluation.cost,
                    "feasible": evaluation.feasible,
                    "failed": evaluation.failed,
                    "error": evaluation.reason or None,
                    "cached": cached,
                    "wall_time": wall,
                    "timestamp": time.time(),
                }
            )
        record = Record(step, design, evaluation, cached)
        if evaluation.failed:
            self.failures += 1
        if self.keep_history:
            self.history.append((step, evaluation.cost))
            if evaluation.feasible:
                self.records.append(record)
        if evaluation.feasible and (self.best is None or evaluation.cost < self.best.evaluation.cost):
            self.best = record
        if self.on_evaluation is not None:
            self.on_evaluation(record)
        return evaluation

    def _evaluate_safely(self, design: Any) -> Evaluation:
        try:
            return self.problem.evaluate(design)
        except (SimulationError, ArchGymError) as exc:
            return Evaluation.failure(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a crashing cost model must not end the search
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            return Evaluation.failure(f"simulator crashed: {tb}")

    @property
    def best_cost(self) -> float:
        return math.inf if self.best is None else self.best.evaluation.cost


def _evaluation_from_row(row: dict[str, Any]) -> Evaluation:
    import json

    cost = row["cost"]
    return Evaluation(
        metrics=json.loads(row["metrics"]) if isinstance(row["metrics"], str) else row["metrics"],
        cost=math.inf if cost is None else float(cost),
        feasible=bool(row["feasible"]),
        failed=bool(row["failed"]),
        reason=row["error"] or "",
    )
