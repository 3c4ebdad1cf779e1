"""One search run: problem + agent + evaluator + log store -> summary.json, best.v and a table.

Used by ``python -m archgym.run`` and by every job of ``python -m archgym.compare``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from archgym.config import build_agent, build_problem, writable_directory
from archgym.errors import ArchGymError, ConfigError
from archgym.evaluator import BudgetExhausted, Evaluator, Record
from archgym.logs import LogStore, RunInfo, default_url
from archgym.problem import DesignProblem, VerilogExport, canonical_json, design_hash

TRACKED_PACKAGES = ("archgym", "numpy", "gymnasium", "stable-baselines3", "sb3-contrib", "torch", "optuna")


@dataclass
class RunSpec:
    """Everything one search run needs: env, agent, their config overrides, budget, seed, output, log, options."""

    env: str
    agent: str
    env_config: dict[str, Any] = field(default_factory=dict)
    agent_config: dict[str, Any] = field(default_factory=dict)
    budget: int | None = None
    seed: int = 0
    out_dir: str = "runs/run"
    log: str | None = None
    resume: bool = False
    progress: bool = True
    verify: bool = True
    #: re-score the run's best candidates and the baselines with the family's ground truth (the CLI's default)
    ground_truth: bool = False
    #: ground-truth evaluations of the multi-fidelity refinement after the search (archgym.ground_truth.refine)
    ground_truth_budget: int | None = 0  # None: the env's default_ground_truth_budget()
    #: what ranks the refinement's edits: "learned" (archgym.ground_truth.LearnedScreen) or "fast"
    ground_truth_screen: str = "fast"
    #: say on stderr when resume=true finds nothing to resume (off for compare's jobs, which always resume)
    tell_fresh_resume: bool = True


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_revision() -> str | None:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def run_id_for(spec: RunSpec, env_config: dict[str, Any], agent_config: dict[str, Any]) -> str:
    """Deterministic id: the same config and seed name the same run, so resume can find it.

    The budget is not part of the id: ``resume=true budget=<more>`` extends a finished run.
    """
    key = canonical_json({"env": env_config, "agent": agent_config})
    return f"{spec.env}-{spec.agent}-s{spec.seed}-{design_hash(key)[:8]}"


def _resolve_run_id(store: LogStore, base: str, resume: bool) -> str:
    """With resume, the latest attempt of this run; otherwise a fresh id (earlier logs are kept)."""
    attempts = [base] + [f"{base}-r{i}" for i in range(2, 1000)]
    existing = [a for a in attempts if store.run_exists(a)] if store.run_exists(base) else []
    if resume:
        return existing[-1] if existing else base
    return attempts[len(existing)]


def execute(spec: RunSpec) -> dict[str, Any]:
    problem = build_problem(spec.env, spec.env_config)
    agent = build_agent(spec.agent, spec.agent_config, seed=spec.seed)
    agent.face_for(problem)  # fail early, with a clear message, on an unsupported pairing
    budget = int(spec.budget if spec.budget is not None else problem.default_budget)
    if budget <= 0:
        raise ConfigError("budget", f"must be a positive number of evaluations, got {budget}")
    env_config = _asdict(problem.config)
    agent_config = _asdict(agent.config)

    out_dir = writable_directory(spec.out_dir, "out_dir")
    with exclusive_use(out_dir):
        return _execute_in(out_dir, spec, problem, agent, budget, env_config, agent_config)


def _execute_in(out_dir: Path, spec: RunSpec, problem: DesignProblem, agent: Any, budget: int,
                env_config: dict[str, Any], agent_config: dict[str, Any]) -> dict[str, Any]:
    url = spec.log or default_url(out_dir)
    store = LogStore(url)
    run_id = _resolve_run_id(store, run_id_for(spec, env_config, agent_config), spec.resume)
    resumed = spec.resume and store.run_exists(run_id)
    if spec.resume and not resumed and spec.tell_fresh_resume:
        print(f"resume: the log {url} has no run {run_id} yet; starting it at step 0", file=sys.stderr)
    evaluator, replayed = logged_evaluator(
        store, problem, run_id, resumed, spec.env, spec.agent, spec.seed, budget,
        {"env": env_config, "agent": agent_config, "budget": budget, "seed": spec.seed},
    )
    if replayed > budget:
        store.close()
        raise ConfigError("budget", f"run {run_id} already has {replayed} logged evaluations; resume extends a run "
                                    f"(budget >= {replayed}) and never drops logged rows; for a shorter run, "
                                    "drop resume=true (a new run id is used)")

    bar = _progress_bar(spec, budget, run_id)
    if bar is not None:
        evaluator.on_evaluation = lambda rec: _tick(bar, evaluator)
    status = "finished"
    start = time.perf_counter()
    agent.work_dir = out_dir / "by_run" / run_id  # the agent's own artifacts (learning curves), beside the run's
    try:
        agent.search(problem, evaluator)
    except BudgetExhausted:
        pass
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        if bar is not None:
            bar.close()
        store.set_status(run_id, status)
    wall = time.perf_counter() - start

    summary = summarize(problem, evaluator, spec, run_id, url, budget, wall, replayed, status, store)
    summary.update(agent.summary_extras())
    store.close()
    # strict JSON: an infeasible or failed cost (inf) is written as null
    text = json.dumps(_finite(summary), indent=2, default=_jsonable, allow_nan=False)
    (out_dir / "summary.json").write_text(text)
    # out_dir/summary.json and best.v are the latest run's; every run's own copies stay in by_run/<run id>/
    kept = out_dir / "by_run" / run_id
    kept.mkdir(parents=True, exist_ok=True)
    (kept / "summary.json").write_text(text)
    if summary.get("verilog"):
        (kept / "best.v").write_text(Path(summary["verilog"]).read_text())
    return summary


@contextlib.contextmanager
def exclusive_use(out_dir: Path) -> Iterator[None]:
    """Hold an advisory lock on ``out_dir`` for one run: a second run on the same directory gets a clear
    error instead of writing the same log rows and overwriting the outputs.  The lock dies with its process
    (``kill -9`` included), so resume needs no cleanup."""
    import fcntl

    handle = (out_dir / ".archgym.lock").open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise ArchGymError(f"out_dir '{out_dir}' is in use by another archgym run ({owner}); wait for it to "
                               "finish or give another out_dir=") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def logged_evaluator(store: LogStore, problem: DesignProblem, run_id: str, resumed: bool, env: str, agent: str,
                     seed: int, budget: int, config: dict[str, Any]) -> tuple[Evaluator, int]:
    """The Evaluator of one logged run: a new run row (with config, versions, git revision) unless it is
    resumed, whose logged evaluations are then served back; returns it and the number of replayable rows."""
    if not resumed:
        store.start_run(RunInfo(run_id=run_id, env=env, agent=agent, seed=seed, config=config,
                                versions=package_versions(), git_revision=git_revision()))
    evaluator = Evaluator(problem, budget=budget, store=store, run_id=run_id, env_name=env, agent_name=agent, seed=seed)
    return evaluator, evaluator.load_replay() if resumed else 0


def summarize(
    problem: DesignProblem,
    evaluator: Evaluator,
    spec: RunSpec,
    run_id: str,
    url: str,
    budget: int,
    wall: float,
    replayed: int,
    status: str,
    store: LogStore | None = None,
) -> dict[str, Any]:
    out_dir = Path(spec.out_dir)
    best: Record | None = evaluator.best
    summary: dict[str, Any] = {
        "env": spec.env,
        "agent": spec.agent,
        "seed": spec.seed,
        "run_id": run_id,
        "status": status,
        "budget": budget,
        "evaluations": evaluator.steps,
        "failed_evaluations": evaluator.failures,
        "replayed_from_log": replayed,
        "wall_time_s": round(wall, 3),
        "env_config": _asdict(problem.config),
        "log": url,
        "best": None,
        "baselines": {},
        "verilog": None,
    }
    if len(problem.objective_names) > 1:  # multi-objective env: every run reports its Pareto front
        summary["pareto_front"] = pareto_records(problem, evaluator.records)
    if best is not None:
        summary["best"] = {
            "step": best.step,
            "cost": best.evaluation.cost,
            "metrics": best.evaluation.metrics,
            "design": problem.to_json(best.design),
        }
    for name, design in problem.baselines().items():
        ev = evaluator.evaluate_unlogged(design)
        summary["baselines"][name] = {"cost": ev.cost, "metrics": ev.metrics, "feasible": ev.feasible}
    answer = best.design if best is not None else None
    if spec.ground_truth and status == "finished":  # an interrupted run is summarized at once
        from archgym.ground_truth import ground_truth_problem, verify_run

        gt = ground_truth_problem(spec.env, problem)
        if gt is not None:
            truth = verify_run(problem, gt, evaluator.records)
            answer = truth.pop("best_design", answer)  # the run's answer is the ground-truth best
            scored = truth.pop("scored")
            gt_budget = problem.default_ground_truth_budget() if spec.ground_truth_budget is None \
                else spec.ground_truth_budget
            if gt_budget > 0 and store is not None:
                answer = refine_in_ground_truth(problem, gt, spec, run_id, store, truth, answer, gt_budget, scored)
            summary["ground_truth"] = truth
    if answer is not None and isinstance(problem, VerilogExport):
        verilog = problem.to_verilog(answer, module_name=f"{problem.name}_best")
        path = out_dir / "best.v"
        path.write_text(verilog)
        summary["verilog"] = str(path)
        if spec.verify:
            summary["verilog_verification"] = problem.verify_verilog(answer, verilog)
    return summary


def refine_in_ground_truth(problem: DesignProblem, gt: DesignProblem, spec: RunSpec, run_id: str, store: LogStore,
                           truth: dict[str, Any], answer: Any, budget: int,
                           scored: Sequence[tuple[Any, Any]] = ()) -> Any:
    """The multi-fidelity stage: a hill climb in ground truth from the best ground-truth design so far
    (candidate or baseline), screened by the fast cost or (``ground_truth_screen=learned``) by a model learned
    from ``scored`` (the ground-truth results so far) and refit as it goes, logged as run ``<run_id>-gt``;
    updates ``truth`` and returns the answer."""
    from archgym.ground_truth import compare_with_baselines, refine

    if not gt.has_sequential_face:
        return answer
    start, start_name = answer, "best candidate"
    base = truth.get("best_baseline")
    if base is not None and (truth["best"] is None or base["cost"] < truth["best"]["cost"]):
        start, start_name = gt.baseline(base["name"]), base["name"]
    if start is None:
        return answer
    gt_run = f"{run_id}-gt"
    evaluator, _ = logged_evaluator(store, gt, gt_run, store.run_exists(gt_run), spec.env, f"{spec.agent}+gt_refine",
                                    spec.seed, budget, {"env": _asdict(gt.config), "refines": run_id,
                                                        "budget": budget, "seed": spec.seed,
                                                        "screen": spec.ground_truth_screen})
    try:
        refine(gt, problem, start, evaluator, learned=spec.ground_truth_screen == "learned", known=scored)
    except BudgetExhausted:
        pass
    store.set_status(gt_run, "finished")
    truth["refine"] = {"run_id": gt_run, "start": start_name, "evaluations": evaluator.steps,
                       "best_cost": evaluator.best.evaluation.cost if evaluator.best else None}
    best = evaluator.best
    if best is not None and (truth["best"] is None or best.evaluation.cost < truth["best"]["cost"]):
        truth["best"] = {"step": f"gt-{best.step}", "fast_cost": problem.evaluate(best.design).cost,
                         "cost": best.evaluation.cost, "feasible": True, "failed": False, "reason": "",
                         "metrics": best.evaluation.metrics, "design": problem.to_json(best.design)}
        compare_with_baselines(gt, truth)
        return best.design
    return answer


def pareto_records(problem: DesignProblem, records: list[Record]) -> list[dict[str, Any]]:
    """The run's non-dominated feasible evaluations on the env's ``objective_names`` (one per point)."""
    import numpy as np

    from archgym.metrics import pareto_front

    names = problem.objective_names
    points = [tuple(float(v) for v in problem.objectives(r.evaluation)) for r in records]
    front = {tuple(p) for p in pareto_front(np.array(points, dtype=float).reshape(-1, len(names)))}
    out, seen = [], set()
    for record, p in zip(records, points):
        if p in front and p not in seen:
            seen.add(p)
            out.append({"step": record.step, "objectives": dict(zip(names, p)), "cost": record.evaluation.cost,
                        "design": problem.to_json(record.design)})
    return sorted(out, key=lambda e: tuple(e["objectives"].values()))


def print_table(summary: dict[str, Any], file=sys.stdout) -> None:
    from tabulate import tabulate

    rows = []
    metric_names: list[str] = []
    entries = []
    if summary["best"] is not None:
        entries.append((f"best found ({summary['agent']})", summary["best"]["cost"], summary["best"]["metrics"]))
    for name, b in summary["baselines"].items():
        entries.append((name, b["cost"], b["metrics"]))
    for _, _, m in entries:
        for k in m:
            if k not in metric_names and isinstance(m[k], (int, float)):
                metric_names.append(k)
    metric_names = metric_names[:6]
    for name, cost, m in entries:
        rows.append([name, cost] + [m.get(k, "") for k in metric_names])
    print(
        f"\n{summary['env']} / {summary['agent']} (seed {summary['seed']}): {summary['evaluations']} evaluations, "
        f"{summary['failed_evaluations']} failed, {summary['wall_time_s']} s",
        file=file,
    )
    print(tabulate(rows, headers=["design", "cost", *metric_names], floatfmt=".4g"), file=file)
    if summary.get("ground_truth"):
        print_ground_truth(summary, file)
    if summary.get("verilog"):
        print(f"Verilog: {summary['verilog']}  ({summary.get('verilog_verification', 'not verified')})", file=file)
    print(f"log: {summary['log']}  run: {summary['run_id']}", file=file)


#: the ground-truth table's metric columns, those that the family reports (synthesis; DNN accuracy)
GROUND_TRUTH_COLUMNS = ("delay", "area", "delay_fastest", "area_smallest", "energy_ratio", "accuracy",
                        "accuracy_drop")


def print_ground_truth(summary: dict[str, Any], file=sys.stdout) -> None:
    """The ground-truth table: the run's ground-truth best and every baseline, fast cost beside it."""
    from tabulate import tabulate

    truth = summary["ground_truth"]
    fast = {name: b["cost"] for name, b in summary["baselines"].items()}
    rows = []
    entries = ([(f"best found ({summary['agent']}, step {truth['best']['step']})", truth["best"]["fast_cost"],
                 truth["best"])] if truth.get("best") else [])
    entries += [(name, fast.get(name), row) for name, row in truth["baselines"].items()]
    columns = [k for k in GROUND_TRUTH_COLUMNS if any(k in row["metrics"] for _, _, row in entries)]
    for name, fast_cost, row in entries:
        rows.append([name, row["cost"], fast_cost, *(row["metrics"].get(k, "") for k in columns)])
    model = ", ".join(f"{k}={v}" for k, v in truth["cost_model"].items())
    print(f"\nground truth ({model}), {len(truth['candidates'])} candidates re-scored:", file=file)
    print(tabulate(rows, headers=["design", "cost", "fast cost", *columns], floatfmt=".4g"), file=file)
    if truth.get("best") and truth.get("best_baseline"):
        dom = truth.get("dominated_by") or []
        print(f"vs best baseline {truth['best_baseline']['name']}: ground-truth cost "
              f"{-100 * truth['improvement_vs_best_baseline']:+.2f}%; "
              f"Pareto-dominated by: {', '.join(dom) or 'none'}; "
              f"Spearman(fast, ground truth) over the candidates: {truth.get('spearman_fast_vs_ground_truth')}",
              file=file)


def _progress_bar(spec: RunSpec, budget: int, run_id: str):
    if not spec.progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=budget, desc=f"{spec.env}/{spec.agent}", unit="eval", dynamic_ncols=True, file=sys.stderr)


def _tick(bar, evaluator: Evaluator) -> None:
    bar.update(1)
    if bar.n % 16 == 0 and math.isfinite(evaluator.best_cost):
        bar.set_postfix_str(f"best={evaluator.best_cost:.4g}")


def _asdict(config: Any) -> dict[str, Any]:
    import dataclasses

    return json.loads(json.dumps(dataclasses.asdict(config), default=_jsonable))


def _finite(o: Any) -> Any:
    """A copy of a JSON-like structure with non-finite floats replaced by None."""
    import numpy as np

    if isinstance(o, (float, np.floating)):
        return float(o) if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def _jsonable(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:
        pass
    return str(o)
