"""Results in ground truth: a run's candidates and every baseline re-scored by the family's ground truth,
the run's answer (and its Verilog) chosen by it, and the new summary fields."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import pytest

from archgym.config import build_problem
from archgym.evaluator import Record
from archgym.ground_truth import candidates, ground_truth_problem, verify_run
from archgym.problem import Evaluation
from archgym.runner import RunSpec, execute, print_ground_truth
from archgym.simulators.eda import synthesis

needs_tools = pytest.mark.skipif(not (shutil.which("yosys") and shutil.which("sta")), reason="yosys and OpenSTA needed")


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(synthesis.CACHE_ENV_VAR, str(tmp_path / "synth-cache"))


def test_ground_truth_problem_is_the_same_config_under_the_declared_model() -> None:
    fast = build_problem("adder", {"width": 8, "delay_weight": 0.3})
    truth = ground_truth_problem("adder", fast)
    assert truth is not fast and truth.config.cost_model == "yosys" and truth.config.delay_weight == 0.3
    already = build_problem("adder", {"width": 8, "cost_model": "yosys"})
    assert ground_truth_problem("adder", already) is already
    assert ground_truth_problem("npu", build_problem("npu", {"layer": "Conv4_s"})) is None  # none declared
    approx = build_problem("approx_multiplier", {"accuracy_model": "closed_form"})
    assert ground_truth_problem("approx_multiplier", approx).config.accuracy_model == "measured"


def test_candidates_are_distinct_lowest_cost_then_fast_pareto_front() -> None:
    p = build_problem("adder", {"width": 8})
    designs = list(p.baselines().values())
    recs = [Record(i, d, p.evaluate(d), False) for i, d in enumerate(designs)]
    recs.append(Record(99, designs[0], p.evaluate(designs[0]), False))  # a repeat: one candidate
    recs.append(Record(100, designs[1], Evaluation({}, math.inf, feasible=False, reason="x"), False))
    picked = candidates(p, recs, top=2)
    texts = [p.canonical(r.design) for r in picked]
    assert len(texts) == len(set(texts))
    costs = sorted(r.evaluation.cost for r in recs if r.evaluation.feasible)
    assert [r.evaluation.cost for r in picked[:2]] == costs[:2]
    assert all(r.evaluation.feasible for r in picked) and len(picked) <= 4


@needs_tools
def test_run_reports_ground_truth_and_exports_its_best(tmp_path: Path) -> None:
    spec = RunSpec(env="adder", agent="random", env_config={"width": 8}, budget=30, seed=1,
                   out_dir=str(tmp_path / "run"), progress=False, ground_truth=True)
    summary = execute(spec)
    truth = summary["ground_truth"]
    assert truth["cost_model"] == {"cost_model": "yosys"}
    assert set(truth["baselines"]) == set(summary["baselines"])
    assert truth["baselines"]["sklansky"]["cost"] == pytest.approx(1.0)  # the reference, at every target
    best = truth["best"]
    assert best["cost"] == min(c["cost"] for c in truth["candidates"])
    assert best["metrics"]["synth_runs"] == 5.0
    # the exported Verilog is the ground-truth best, and the file on disk is strict JSON with the same fields
    ours = build_problem("adder", {"width": 8}).from_json(best["design"])
    assert f"{ours.size} prefix nodes" in (tmp_path / "run" / "best.v").read_text()
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert on_disk["ground_truth"]["best"]["step"] == best["step"] and "best_design" not in on_disk["ground_truth"]
    assert "improvement_vs_best_baseline" in truth and isinstance(truth["dominated_by"], list)


@needs_tools
def test_verify_run_matches_direct_ground_truth_evaluations() -> None:
    p = build_problem("adder", {"width": 8})
    truth = build_problem("adder", {"width": 8, "cost_model": "yosys"})
    recs = [Record(i, d, p.evaluate(d), False) for i, d in enumerate(p.baselines().values())]
    report = verify_run(p, truth, recs, top=3)
    for c in report["candidates"]:
        design = recs[c["step"]].design
        assert c["cost"] == pytest.approx(truth.evaluate(design).cost)
        assert c["fast_cost"] == recs[c["step"]].evaluation.cost
    lines = []

    class Out:
        def write(self, s: str) -> None:
            lines.append(s)

    print_ground_truth({"ground_truth": report, "agent": "x", "baselines": {n: {"cost": 1.0} for n in p.baselines()}},
                       Out())
    text = "".join(lines)
    assert "ground truth (cost_model=yosys)" in text
    assert "delay_fastest" in text and "accuracy" not in text  # the columns the family reports


def test_ground_truth_table_shows_the_metrics_the_family_has(capsys) -> None:
    row = {"cost": 0.5, "metrics": {"energy_ratio": 0.5, "area": 10.0, "accuracy": 97.0, "accuracy_drop": 0.4}}
    truth = {"cost_model": {"accuracy_model": "measured"}, "candidates": [row], "best": {**row, "step": 3, "fast_cost": 0.5},
             "baselines": {"exact": {"cost": 1.0, "metrics": {"energy_ratio": 1.0, "area": 20.0, "accuracy": 97.4,
                                                              "accuracy_drop": 0.0}}}}
    print_ground_truth({"ground_truth": truth, "agent": "ga", "baselines": {"exact": {"cost": 1.0}}}, sys.stdout)
    header = capsys.readouterr().out.splitlines()[2]
    assert header.split() == ["design", "cost", "fast", "cost", "area", "energy_ratio", "accuracy", "accuracy_drop"]


def test_families_without_ground_truth_report_none(tmp_path: Path) -> None:
    summary = execute(RunSpec(env="npu", agent="random", env_config={"layer": "Conv4_s"}, budget=5,
                              out_dir=str(tmp_path), progress=False, ground_truth=True))
    assert "ground_truth" not in summary


@needs_tools
@pytest.mark.parametrize("screen", ["fast", "learned"])
def test_refinement_is_logged_as_its_own_run_and_a_resumed_run_equals_an_uninterrupted_one(tmp_path: Path,
                                                                                            screen: str) -> None:
    from archgym import logs
    from archgym.logs import LogStore, default_url

    def run(out: Path, resume: bool = False) -> dict:
        return execute(RunSpec(env="adder", agent="random", env_config={"width": 8}, budget=20, seed=2,
                               out_dir=str(out), progress=False, verify=False, ground_truth=True,
                               ground_truth_budget=6, ground_truth_screen=screen, resume=resume))

    full = run(tmp_path / "a")
    gt_run = full["run_id"] + "-gt"
    assert full["ground_truth"]["refine"] == {**full["ground_truth"]["refine"], "run_id": gt_run, "evaluations": 6}
    rows = logs.load(str(tmp_path / "a"))
    gt_rows = rows[rows["run_id"] == gt_run].sort_values("step")
    assert len(gt_rows) == 6 and len(rows[rows["run_id"] == full["run_id"]]) == 20
    # every refinement row is a ground-truth evaluation: synthesized metrics at the five targets
    assert (gt_rows["metric.synth_runs"] == 5.0).all()
    assert rows[rows["run_id"] == full["run_id"]]["metric.synth_runs"].isna().all()  # the fast rows
    # interrupt the refinement after 3 rows, resume: the log equals the uninterrupted one
    interrupted = run(tmp_path / "b")
    store = LogStore(default_url(tmp_path / "b"))
    store.delete_evaluations_from(gt_run, 3)
    store.close()
    resumed = run(tmp_path / "b", resume=True)
    again = logs.load(str(tmp_path / "b"))
    assert again[again["run_id"] == gt_run].sort_values("step")["design_hash"].tolist() == gt_rows["design_hash"].tolist()
    costs = [s["ground_truth"]["best"]["cost"] for s in (full, interrupted, resumed)]
    assert costs[0] == costs[1] == costs[2]


@needs_tools
def test_proxy_trains_from_a_log_and_is_a_cost_model(tmp_path: Path) -> None:
    """A cost_model=yosys run's rows train the proxy; the proxy then scores designs as env.cost_model=proxy,
    reproducing the ground truth it was trained on closely; bad proxy settings are config errors."""
    from archgym.errors import ConfigError
    from archgym.simulators.arith.proxy import Proxy, fit, ground_truth_rows

    execute(RunSpec(env="adder", agent="random", env_config={"width": 8, "cost_model": "yosys",
                                                             "synth_targets": [1.0, 2.0]},
                    budget=25, seed=4, out_dir=str(tmp_path / "run"), progress=False, verify=False))
    designs, delay, area = ground_truth_rows(str(tmp_path / "run"), "adder", 8)
    assert len(designs) >= 5 and ground_truth_rows(str(tmp_path / "run"), "adder", 16) == ([], [], [])
    path = str(tmp_path / "a8.proxy")
    fit("adder", 8, designs, delay, area).save(path)
    p = build_problem("adder", {"width": 8, "cost_model": "proxy", "proxy_model": path})
    for d, dl, ar in zip(designs, delay, area):
        m = p.simulator.metrics(d)
        assert m["delay"] == pytest.approx(dl, rel=0.05) and m["area"] == pytest.approx(ar, rel=0.05)
        assert "analytical_delay" in m
    assert Proxy.load(path).rows == len(designs)
    with pytest.raises(ConfigError, match="proxy_model"):
        build_problem("adder", {"width": 8, "cost_model": "proxy"})
    with pytest.raises(ConfigError, match="trained for adder width 8"):
        build_problem("adder", {"width": 16, "cost_model": "proxy", "proxy_model": path})
    (tmp_path / "junk").write_text("not a proxy")
    with pytest.raises(ConfigError, match="cannot read a proxy"):
        build_problem("adder", {"width": 8, "cost_model": "proxy", "proxy_model": str(tmp_path / "junk")})


def _adders(n: int = 12, count: int = 30) -> list:
    """Distinct legal 12-bit adders: random edit walks from Sklansky."""
    import numpy as np

    from archgym.problem import with_sequential_face

    p = with_sequential_face(build_problem("adder", {"width": n, "start": "sklansky"}))
    rng = np.random.default_rng(0)
    seen, out, design = set(), [], p.baseline("sklansky")
    while len(out) < count:
        legal = np.flatnonzero(p.action_mask(design))
        design = p.apply_action(design, int(rng.choice(legal)))
        if p.canonical(design) not in seen:
            seen.add(p.canonical(design))
            out.append(design)
    return out


def test_learned_screen_learns_a_ground_truth_that_disagrees_with_the_fast_model() -> None:
    """Fed ground-truth costs that reverse the fast model's order, the learned screen ranks in (nearly) the
    reverse order; without learning, or before min_rows results, it ranks by the fast cost."""
    from scipy.stats import spearmanr

    from archgym.ground_truth import LearnedScreen

    fast = build_problem("adder", {"width": 12})
    designs = _adders()
    held = {fast.canonical(d): d for d in designs}
    truth = [(d, Evaluation({}, 10.0 - fast.evaluate(d).cost)) for d in designs]  # the reverse of the fast order
    by_fast = sorted(held, key=lambda k: (fast.evaluate(held[k]).cost, k))
    plain = LearnedScreen(fast, learn=False)
    plain.add(truth)
    assert plain.rank(held) == by_fast
    early = LearnedScreen(fast, min_rows=100)
    early.add(truth)
    assert early.rank(held) == by_fast
    learned = LearnedScreen(fast)
    learned.add([(designs[0], Evaluation.failure("timeout")), *truth])  # the failed row is left out
    order = learned.rank(held)
    assert spearmanr([by_fast.index(k) for k in order], range(len(order))).statistic < -0.8
    again = LearnedScreen(fast)
    again.add(truth)
    assert again.rank(held) == learned.rank(held)  # deterministic
