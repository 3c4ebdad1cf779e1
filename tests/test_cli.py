"""The command-line contract: run / evaluate / export / list / compare, and clean user errors."""

from __future__ import annotations

import json

import pytest


def test_list_names_envs_agents_simulators_baselines(cli):
    out = cli("archgym.list")
    assert out.returncode == 0, out.stderr
    for word in ("adder", "archgym/Adder-v0", "sklansky", "mcts", "ppo", "tpe", "random", "adder.analytical"):
        assert word in out.stdout


def test_run_writes_summary_verilog_and_table(cli, tmp_path):
    out = cli("archgym.run", "env=adder", "agent=random", "budget=40", "env.width=12", "ground_truth_budget=4",
              f"out_dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    # the CLI re-scores in ground truth by default and refines with the budget given, logged as its own run
    truth = summary["ground_truth"]
    assert truth["refine"]["evaluations"] == 4 and truth["refine"]["run_id"] == summary["run_id"] + "-gt"
    assert "ground truth (cost_model=yosys)" in out.stdout
    from archgym import logs

    runs = logs.load_runs(f"sqlite:///{tmp_path / 'log.db'}")
    assert sorted(runs["run_id"]) == sorted([summary["run_id"], summary["run_id"] + "-gt"])
    assert summary["env"] == "adder" and summary["agent"] == "random" and summary["evaluations"] == 40
    assert set(summary["baselines"]) >= {"ripple", "sklansky", "kogge_stone", "brent_kung", "han_carlson",
                                         "ladner_fischer"}
    assert summary["best"]["cost"] <= min(b["cost"] for b in summary["baselines"].values()) + 1.0
    assert summary["best"]["design"]["width"] == 12
    assert (tmp_path / "best.v").read_text().startswith("//") or "module" in (tmp_path / "best.v").read_text()
    assert "proved" in summary["verilog_verification"].lower()
    assert "best found (random)" in out.stdout and "sklansky" in out.stdout


def test_evaluate_baseline_and_design_file(cli, tmp_path):
    out = cli("archgym.evaluate", "env=adder", "design=sklansky", "env.width=64")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["metrics"]["size"] == 192 and result["metrics"]["depth"] == 6
    design = tmp_path / "d.json"
    design.write_text(json.dumps({"width": 4, "nodes": [[1, 0], [2, 0], [3, 0]]}))
    result = json.loads(cli("archgym.evaluate", "env=adder", f"design={design}", "env.width=4").stdout)
    assert result["metrics"]["size"] == 3 and result["metrics"]["depth"] == 3  # ripple


def test_export_baseline_and_run_dir(cli, tmp_path):
    out = cli("archgym.export", "env=adder", "design=kogge_stone", "env.width=16", f"out={tmp_path / 'ks.v'}")
    assert out.returncode == 0, out.stderr
    assert "module ks" in (tmp_path / "ks.v").read_text()
    run = tmp_path / "run"
    assert cli("archgym.run", "env=adder", "agent=random", "budget=10", "env.width=8", f"out_dir={run}",
               "verify=false", "ground_truth=false").returncode == 0
    out = cli("archgym.export", "env=adder", f"design={run}", "env.width=8", f"out={tmp_path / 'best.v'}")
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("archgym.evaluate", "env=addr", "design=sklansky"), "unknown env 'addr'; valid envs: adder"),
        (("archgym.evaluate", "env=adder", "design=skl"), "valid baselines: brent_kung"),
        (("archgym.evaluate", "env=adder", "design=sklansky", "env.width=0"), "'env.width'"),
        (("archgym.evaluate", "env=adder", "design=sklansky", "env.mode=fast"), "'env.mode'"),
        (("archgym.run", "env=adder", "agent=random", "env.width=1"), "'env.width'"),
        (("archgym.run", "env=adder", "agent=random", "budget=0"), "'budget'"),
        (("archgym.export", "env=adder", "design=sklansky"), "missing argument out"),
    ],
)
def test_user_errors_are_one_line_without_traceback(cli, args, message):
    out = cli(*args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_malformed_design_names_the_field(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"width": 8, "nodes": [[3, 5]]}))
    out = cli("archgym.evaluate", "env=adder", f"design={bad}", "env.width=8")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "nodes" in out.stderr
    bad.write_text("{not json")
    out = cli("archgym.evaluate", "env=adder", f"design={bad}", "env.width=8")
    assert out.returncode == 2 and "not valid JSON" in out.stderr


def test_hydra_errors_list_valid_env_names(cli):
    out = cli("archgym.run", "env=addr", "agent=random")
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "adder" in out.stderr


@pytest.mark.parametrize("args", [("--help",), ("-h",), ("env=adder", "--help")])
def test_help_without_every_choice_lists_the_valid_ones(cli, args):
    """Hydra's --help composes the config, which needs env and agent chosen: without them it raised."""
    out = cli("archgym.run", *args)
    assert out.returncode == 0 and "Traceback" not in out.stderr
    assert "python -m archgym.run env=<env> agent=<agent>" in out.stdout
    assert "env: adder, approx_multiplier, multiplier" in out.stdout and "ppo" in out.stdout


@pytest.mark.parametrize("command", ["archgym.list", "archgym.evaluate", "archgym.export"])
def test_help_of_the_key_value_commands_is_their_usage(cli, command):
    out = cli(command, "env=adder", "--help")
    assert out.returncode == 0 and out.stderr == "" and f"python -m {command}" in out.stdout


def test_help_with_every_choice_is_hydras_own(cli):
    out = cli("archgym.run", "env=adder", "agent=ga", "--help")
    assert out.returncode == 0 and "== Config ==" in out.stdout and "delay_weight" in out.stdout


def test_unsupported_agent_env_pairing_is_a_clear_error():
    from toy_problem import ToyProblem

    from archgym.agents.optuna_agents import TPEAgent, TPEConfig
    from archgym.errors import ArchGymError

    class SeqOnly(TPEAgent):
        faces = ("sequential",)

    with pytest.raises(ArchGymError, match="needs the sequential face"):
        SeqOnly(TPEConfig()).face_for(ToyProblem(None))


def test_compare_runs_grid_and_resumes(cli, tmp_path):
    args = ("archgym.compare", "env=adder", "agents=[random,ga]", "seeds=2", "budget=30", "env.width=8",
            f"out_dir={tmp_path}", "progress=false")
    out = cli(*args)
    assert out.returncode == 0, out.stderr
    report = (tmp_path / "report.md").read_text()
    assert "| random" in report and "| ga" in report
    assert "ground_truth_rank" in report and "ranked by the ground-truth cost" in report
    assert (tmp_path / "best_so_far.png").stat().st_size > 1000
    import pandas as pd

    results = pd.read_csv(tmp_path / "results.csv")
    assert set(results["agent"]) == {"random", "ga"}
    mtime = (tmp_path / "runs" / "ga-s1" / "summary.json").stat().st_mtime
    assert cli(*args).returncode == 0  # finished runs are not run again
    assert (tmp_path / "runs" / "ga-s1" / "summary.json").stat().st_mtime == mtime


@pytest.mark.parametrize(
    "args, field",
    [(("budget=abc",), "'budget': must be an integer"), (("budget=1.5",), "'budget': must be an integer"),
     (("seed=-1",), "'seed': must be >= 0"), (("seed=1.5",), "'seed': must be an integer"),
     (("resume=maybe",), "'resume': must be one of"), (("progress=maybe",), "'progress': must be one of"),
     (("agent.ants=0",), "'agent.ants': must be >= 1"), (("agent.evaporation=2",), "'agent.evaporation'"),
     (("ground_truth_budget=-1",), "'ground_truth_budget'")],
)
def test_top_level_keys_and_agent_fields_are_validated(cli, tmp_path, args, field):
    out = cli("archgym.run", "env=adder", "agent=aco", "env.width=8", f"out_dir={tmp_path}", *args)
    assert out.returncode == 2 and field in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_errors_survive_pickling_for_compare_workers():
    import pickle

    from archgym.errors import ConfigError, UnknownNameError

    for exc in (ConfigError("env.workload", "no such file"), UnknownNameError("agent", "x", ["a", "b"])):
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is type(exc) and str(again) == str(exc)


def test_compare_reports_a_worker_config_error_in_one_line(cli, tmp_path):
    out = cli("archgym.compare", "env=npu", "env.workload=/no/such.csv", "agents=[random]", "seeds=1", "budget=2",
              f"out_dir={tmp_path}", "progress=false")
    assert out.returncode == 2 and "'env.workload'" in out.stderr and "Traceback" not in out.stderr
