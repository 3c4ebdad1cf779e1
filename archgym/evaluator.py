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
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from archgym.errors import ArchGymError, SimulationError
from archgym.logs import LogStore
from archgym.problem import DesignProblem, Evaluation, design_hash


class BudgetExhausted(Exception):
    """Raised when an agent asks for an evaluation past its budget: the normal end of a search."""


@dataclass
class Record:
    """One logged evaluation: its step in the run, the design and its Evaluation (cached: served by the memo)."""

    step: int
    design: Any
    evaluation: Evaluation
    cached: bool


@dataclass
class Evaluator:
    """The shared logging layer: every evaluation of every agent goes through it (budget, memo, log rows,
    resume replay, best so far)."""

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
    memo_size: int = 100_000  # designs remembered for re-visits (least recently used dropped)
    _memo: OrderedDict[str, Evaluation] = field(default_factory=OrderedDict)
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

    # ---- the evaluation entry points ----------------------------------------------------
    def evaluate(self, design: Any) -> Evaluation:
        return self.evaluate_batch([design])[0]

    def evaluate_batch(self, designs: list[Any]) -> list[Evaluation]:
        """Evaluate several designs (a population, a vectorized step) in one call, so a cost model
        that runs external tools can run them in parallel; logged in order, one row each.  Raises
        BudgetExhausted after logging the designs that fit in the budget if some did not."""
        if self.exhausted:
            raise BudgetExhausted(f"budget of {self.budget} evaluations used")
        fitting = designs if self.remaining is None else designs[: self.remaining]
        texts = [self.problem.canonical(d) for d in fitting]
        keys = [design_hash(t) for t in texts]
        start = time.perf_counter()
        results: list[Evaluation | None] = [None] * len(fitting)
        replayed = [False] * len(fitting)
        cached = [False] * len(fitting)
        todo: dict[str, list[int]] = {}
        for pos, key in enumerate(keys):
            row = self._take_replay(self.steps + pos, key)
            if row is not None:
                results[pos] = replayed_eval = _evaluation_from_row(row)
                replayed[pos] = True
                self._remember(key, replayed_eval)
            elif key in self._memo:
                self._memo.move_to_end(key)
                results[pos], cached[pos] = self._memo[key], True
            elif key in todo:  # the same new design twice in one batch: simulate once
                todo[key].append(pos)
                cached[pos] = True
            else:
                todo[key] = [pos]
        if todo:
            firsts = [positions[0] for positions in todo.values()]
            fresh = self._evaluate_safely_batch([fitting[p] for p in firsts])
            for (key, positions), evaluation in zip(todo.items(), fresh):
                if not evaluation.failed:  # a failure (e.g. a timeout) may pass on retry
                    self._remember(key, evaluation)
                for p in positions:
                    results[p] = evaluation
        wall = (time.perf_counter() - start) / max(1, len(fitting))
        out: list[Evaluation] = []
        for pos, design in enumerate(fitting):
            evaluation_or_none = results[pos]
            assert evaluation_or_none is not None
            evaluation = evaluation_or_none
            self._record(design, texts[pos], keys[pos], evaluation, cached[pos], replayed[pos], wall)
            out.append(evaluation)
        if len(fitting) < len(designs):
            raise BudgetExhausted(f"budget of {self.budget} evaluations used")
        return out

    def _remember(self, key: str, evaluation: Evaluation) -> None:
        self._memo[key] = evaluation
        if len(self._memo) > self.memo_size:
            self._memo.popitem(last=False)

    def _take_replay(self, step: int, key: str) -> dict[str, Any] | None:
        row = self._replay.pop(step, None)
        if row is not None and row["design_hash"] != key:
            warnings.warn(
                f"resume: run {self.run_id} diverged from its log at step {step}; "
                "re-evaluating from here (was the config or code changed?)",
                stacklevel=3,
            )
            assert self.store is not None  # replay rows only come from a store
            self.store.delete_evaluations_from(self.run_id, step)
            self._replay.clear()
            return None
        return row

    def _record(self, design: Any, text: str, key: str, evaluation: Evaluation, cached: bool, replayed: bool,
                wall: float) -> None:
        step = self.steps
        self.steps += 1
        if not replayed and self.store is not None:
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
            self.problem.incumbent = design
        if self.on_evaluation is not None:
            self.on_evaluation(record)

    def _evaluate_safely_batch(self, designs: list[Any]) -> list[Evaluation]:
        if len(designs) == 1:
            return [self.evaluate_unlogged(designs[0])]
        try:
            results = self.problem.evaluate_batch(designs)
        except Exception:  # fall back to one by one, so one bad design fails alone
            return [self.evaluate_unlogged(d) for d in designs]
        return [r if isinstance(r, Evaluation) else _failure(r) for r in results]

    def evaluate_unlogged(self, design: Any) -> Evaluation:
        """Score a reference design (a baseline) without logging or counting it; never raises."""
        try:
            return self.problem.evaluate(design)
        except Exception as exc:  # a crashing cost model must not end the search
            return _failure(exc)

    @property
    def best_cost(self) -> float:
        return math.inf if self.best is None else self.best.evaluation.cost


def _failure(exc: BaseException) -> Evaluation:
    if isinstance(exc, (SimulationError, ArchGymError)):
        return Evaluation.failure(f"{type(exc).__name__}: {exc}")
    text = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return Evaluation.failure(f"simulator crashed: {text}")


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
