"""Log stores under stress: PostgreSQL next to SQLite, concurrent writers, corrupted files, resume semantics."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from archgym import logs
from archgym.errors import ArchGymError, ConfigError
from archgym.logs import LogStore, RunInfo, StoreError
from archgym.runner import RunSpec, execute

RUN_ARGS = ("env=adder", "agent=random", "env.width=16", "progress=false", "verify=false", "ground_truth=false")


def _spec(out_dir, **kw) -> RunSpec:
    return RunSpec("adder", "random", {"width": 16}, budget=kw.pop("budget", 20), seed=kw.pop("seed", 0),
                   out_dir=str(out_dir), progress=False, verify=False, **kw)


def test_two_writers_of_one_step_get_a_clear_error_and_the_first_row_stays(store_url):
    a, b = LogStore(store_url), LogStore(store_url)
    a.start_run(RunInfo("r", "adder", "x", 0, {}, {}, None))
    with pytest.raises(StoreError, match="already written by another process"):
        b.start_run(RunInfo("r", "adder", "x", 0, {}, {}, None))
    row = {"run_id": "r", "env": "adder", "agent": "x", "seed": 0, "step": 0, "design": "{}", "design_hash": "h",
           "metrics": {"size": 1.0}, "cost": 1.0, "feasible": True, "failed": False, "error": None, "cached": False,
           "wall_time": 0.0, "timestamp": 0.0}
    a.append(row)
    with pytest.raises(StoreError, match="step 0 of run r"):
        b.append({**row, "cost": 2.0})
    b.append({**row, "step": 1})  # the connection is usable after the refused row
    df = logs.load(store_url)
    assert df["cost"].tolist() == [1.0, 1.0] and df["step"].tolist() == [0, 1]
    a.close()
    b.close()


def test_concurrent_processes_log_into_one_store(tmp_path, store_url):
    """Two runs at once into one store (the way compare's workers and shared studies write): both complete,
    every row lands once, and each run's log equals the log of the same run done alone."""
    LogStore(store_url).close()
    procs = [subprocess.Popen([sys.executable, "-m", "archgym.run", *RUN_ARGS, f"seed={s}", "budget=150",
                               f"out_dir={tmp_path / f'p{s}'}", f"log='{store_url}'"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for s in (0, 1)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    df = logs.load(store_url)
    assert df.groupby("seed")["step"].apply(list).tolist() == [list(range(150))] * 2
    execute(_spec(tmp_path / "alone", seed=1, budget=150))
    alone = logs.load(str(tmp_path / "alone"))
    assert df[df["seed"] == 1]["design_hash"].tolist() == alone["design_hash"].tolist()


def test_compare_workers_share_one_postgresql_store(tmp_path, postgres_server):
    url = postgres_server.new_database()
    out = subprocess.run([sys.executable, "-m", "archgym.compare", "env=adder", "env.width=8", "agents=[random,ga]",
                          "seeds=2", "budget=25", "jobs=2", f"out_dir={tmp_path}", f"log='{url}'", "progress=false"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    df = logs.load(url)
    assert df.groupby(["agent", "seed"]).size().to_dict() == {(a, s): 25 for a in ("ga", "random") for s in (0, 1)}
    assert set(pd.read_csv(tmp_path / "results.csv")["agent"]) == {"random", "ga"}
    assert not (tmp_path / "log.db").exists()  # nothing went to the default SQLite store


def test_optuna_shared_study_on_postgresql(tmp_path, postgres_server):
    from archgym.experiments.shared_study_demo import run_shared_study

    study, _ = run_shared_study(tmp_path, budget=12, processes=2, env_args=("env=adder", "env.width=8"),
                                storage=postgres_server.new_database())
    assert len(study.trials) == 24 and {t.state.name for t in study.trials} == {"COMPLETE"}


def test_a_second_run_on_a_busy_out_dir_gets_a_clear_error(tmp_path):
    busy = subprocess.Popen([sys.executable, "-m", "archgym.run", *RUN_ARGS, "budget=1000000",
                             f"out_dir={tmp_path}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import time

        deadline = time.time() + 60
        while time.time() < deadline and not (tmp_path / ".archgym.lock").exists():
            time.sleep(0.2)
        time.sleep(1.0)
        out = subprocess.run([sys.executable, "-m", "archgym.run", *RUN_ARGS, "resume=true", "budget=10",
                              f"out_dir={tmp_path}"], capture_output=True, text=True, timeout=120)
    finally:
        busy.kill()
        busy.wait()
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "is in use by another archgym run (pid" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    # the lock died with its process: the directory is usable at once
    assert execute(_spec(tmp_path, seed=2, budget=5))["status"] == "finished"


def test_runs_in_one_directory_keep_their_own_outputs(tmp_path):
    a = execute(_spec(tmp_path, seed=0))
    b = execute(_spec(tmp_path, seed=1))
    assert json.loads((tmp_path / "summary.json").read_text())["run_id"] == b["run_id"]  # the latest
    for s in (a, b):
        kept = tmp_path / "by_run" / s["run_id"]
        assert json.loads((kept / "summary.json").read_text())["run_id"] == s["run_id"]
        assert (kept / "best.v").read_text().startswith("//") or "module" in (kept / "best.v").read_text()


@pytest.mark.parametrize("content, reason", [(b"garbage\n" * 100, "file is not a database"), (None, "malformed")])
def test_a_corrupted_store_is_one_clear_error(tmp_path, content, reason):
    execute(_spec(tmp_path, budget=30))
    db = tmp_path / "log.db"
    if content is None:  # truncated in the middle of its pages
        (tmp_path / "log.db-wal").unlink(missing_ok=True)
        data = db.read_bytes()
        content = data[: len(data) // 2]
    db.write_bytes(content)
    for call in (lambda: logs.load(str(tmp_path)), lambda: execute(_spec(tmp_path, budget=40, resume=True))):
        with pytest.raises(StoreError) as err:
            call()
        message = str(err.value)
        assert str(db) in message and "move it aside" in message and "\n" not in message
    assert db.read_bytes() == content  # never rewritten


def test_reading_a_missing_store_does_not_create_one(tmp_path):
    with pytest.raises(StoreError, match="no log store at"):
        logs.load(str(tmp_path / "nothing.db"))
    assert not (tmp_path / "nothing.db").exists()


def test_resume_on_an_empty_store_says_it_starts_fresh(tmp_path, capsys):
    (tmp_path / "log.db").write_bytes(b"")
    summary = execute(_spec(tmp_path, budget=10, resume=True))
    assert summary["replayed_from_log"] == 0 and summary["evaluations"] == 10
    assert "has no run" in capsys.readouterr().err


def test_resume_never_shrinks_a_run(tmp_path):
    execute(_spec(tmp_path, budget=30))
    with pytest.raises(ConfigError, match="already has 30 logged evaluations"):
        execute(_spec(tmp_path, budget=10, resume=True))
    again = execute(_spec(tmp_path, budget=30, resume=True))  # the same budget: served from the log
    assert again["evaluations"] == again["replayed_from_log"] == 30
    grown = execute(_spec(tmp_path, budget=45, resume=True))
    assert grown["evaluations"] == 45 and len(logs.load(str(tmp_path))) == 45  # summary agrees with the log


def test_unwritable_paths_name_the_field(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="'out_dir'"):
        execute(_spec(tmp_path / "file" / "sub"))
    with pytest.raises(ArchGymError, match="cannot create its directory"):
        execute(_spec(tmp_path / "ok", log=f"sqlite:///{tmp_path / 'file' / 'log.db'}"))
