"""`python -m archgym.compare` beyond the happy path: resume after a kill, the Ray executor on a
local cluster, and two processes sharing one optuna study (`agent.storage`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, run_cli

from archgym import logs
from archgym.problem import design_hash

GRID = ("env=adder", "env.width=32", "agents=[random,ga]", "seeds=2", "budget=400", "progress=false",
        "ground_truth=false")


def _per_run(out_dir: Path) -> pd.DataFrame:
    df = logs.load(logs.default_url(out_dir))
    return df.sort_values(["run_id", "step"])


def test_killed_comparison_resumes_without_redoing_finished_runs(tmp_path):
    out = tmp_path / "cmp"
    proc = subprocess.Popen(
        [sys.executable, "-m", "archgym.compare", *GRID, f"out_dir={out}", "jobs=1"],
        cwd=REPO.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob("runs/*/summary.json")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its pool workers, mid-grid
    proc.wait()
    finished = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/summary.json")}
    assert 1 <= len(finished) < 4, "the kill should land between the first and the last run"
    before = _per_run(out)

    assert run_cli("archgym.compare", *GRID, f"out_dir={out}").returncode == 0
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime  # finished runs were not run again
    after = _per_run(out)
    assert after.groupby("run_id").size().tolist() == [400] * 4  # nothing redone twice, nothing lost
    for _, rows in after.groupby("run_id"):
        assert rows["step"].tolist() == list(range(400))
    # rows logged before the kill are kept as they were
    kept = after.merge(before, on=["run_id", "step"], suffixes=("", "_before"))
    assert len(kept) == len(before) and (kept["design_hash"] == kept["design_hash_before"]).all()
    summaries = [json.loads(p.read_text()) for p in out.glob("runs/*/summary.json")]
    assert sorted(s["status"] for s in summaries) == ["finished"] * 4
    assert (out / "report.md").exists() and len(pd.read_csv(out / "runs.csv")) == 4


def test_ray_executor_on_a_local_cluster_matches_the_process_pool(tmp_path):
    pytest.importorskip("ray")
    grid = ("env=adder", "env.width=8", "agents=[random,tpe]", "seeds=2", "budget=30", "progress=false", "jobs=2",
            "ground_truth=false",
            "+agent_config.tpe.n_startup_trials=5")
    for executor in ("local", "ray"):
        res = run_cli("archgym.compare", *grid, f"executor={executor}", f"out_dir={tmp_path / executor}")
        assert res.returncode == 0, res.stderr[-2000:]
    local = pd.read_csv(tmp_path / "local" / "runs.csv").sort_values(["agent", "seed"]).reset_index(drop=True)
    on_ray = pd.read_csv(tmp_path / "ray" / "runs.csv").sort_values(["agent", "seed"]).reset_index(drop=True)
    pd.testing.assert_series_equal(local["best_cost"], on_ray["best_cost"])  # same runs, same results
    a, b = _per_run(tmp_path / "local"), _per_run(tmp_path / "ray")
    assert a["design_hash"].tolist() == b["design_hash"].tolist()
    runs = logs.load_runs(logs.default_url(tmp_path / "ray")).set_index("agent")
    assert {json.loads(c)["agent"]["n_startup_trials"] for c in runs.loc["tpe", "config"]} == {5}  # per-agent override


def test_two_processes_share_one_optuna_study(tmp_path):
    from archgym.config import build_problem
    from archgym.experiments.shared_study_demo import run_shared_study

    budget = 20
    study, _ = run_shared_study(tmp_path, budget=budget, processes=2, env_args=("env=adder", "env.width=8"))
    assert len(study.trials) == 2 * budget
    assert {t.state.name for t in study.trials} == {"COMPLETE"}
    # every trial of the study is an evaluation one of the two processes logged
    problem = build_problem("adder", {"width": 8})
    from_study = sorted(design_hash(problem.canonical(problem.decode(t.params))) for t in study.trials)
    logged = pd.concat([logs.load(str(tmp_path / f"p{i}")) for i in range(2)])
    assert sorted(logged["design_hash"]) == from_study
    assert logged.groupby("run_id").size().tolist() == [budget, budget]
