"""``python -m archgym.compare env=<env> agents=[ppo,tpe,ga,random] seeds=5 budget=N [out_dir=DIR] [log=URL]``

Runs every (agent, seed) pair with the same env config and evaluation budget, on a local process
pool using every core (or on Ray with ``executor=ray``), all logging into one store (``DIR/log.db``,
or the store of ``log=<SQLAlchemy URL>``, e.g. one PostgreSQL database).  A finished run (its
``summary.json`` says so) is not run again, so an interrupted comparison resumes where it stopped;
an unfinished one resumes from its log.  Writes ``DIR/report.md`` with the table,
``DIR/results.csv`` and PNG plots.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from archgym.config import container, hydra_entry, user_errors
from archgym.errors import ConfigError
from archgym.fields import CompareOptions, check_options
from archgym.logs import LogStore, default_url
from archgym.runner import RunSpec, execute


def run_job(spec: RunSpec) -> dict[str, Any]:
    """One grid cell; runs in a worker process."""
    import torch

    torch.set_num_threads(1)
    summary_path = Path(spec.out_dir) / "summary.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        if (summary.get("status") == "finished" and summary.get("budget") == spec.budget
                and ("ground_truth" in summary or not spec.ground_truth)):
            return summary
    return execute(spec)


def grid(env: str, env_config: dict, agents: list[str], seeds: int, budget: int | None, out_dir: Path,
         agent_config: dict[str, dict], log: str | None = None, ground_truth: bool = False) -> list[RunSpec]:
    log = log or default_url(out_dir)
    return [
        RunSpec(
            env=env,
            agent=agent,
            env_config=env_config,
            agent_config=dict(agent_config.get(agent, {})),
            budget=budget,
            seed=seed,
            out_dir=str(out_dir / "runs" / f"{agent}-s{seed}"),
            log=log,
            resume=True,
            progress=False,
            verify=False,
            tell_fresh_resume=False,
            ground_truth=ground_truth,
            ground_truth_budget=0,  # re-score only: a refinement would blur what each agent found
        )
        for agent in agents
        for seed in range(seeds)
    ]


def run_grid(specs: list[RunSpec], executor: str = "local", jobs: int | None = None, progress: bool = True):
    from tqdm.auto import tqdm

    bar = tqdm(total=len(specs), desc="runs", unit="run", disable=not progress, file=sys.stderr)
    results: list[dict[str, Any]] = []
    if executor == "ray":
        try:
            import ray
        except ImportError:
            raise ConfigError("executor", "ray is not installed (pip install 'archgym[ray]')") from None
        ray.init(ignore_reinit_error=True, num_cpus=jobs or os.cpu_count(), log_to_driver=False)
        remote = ray.remote(num_cpus=1)(run_job)
        pending = [remote.remote(s) for s in specs]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            results.extend(ray.get(done))
            bar.update(len(done))
    elif executor == "local":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        workers = max(1, min(jobs or os.cpu_count() or 1, len(specs)))
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(run_job, s) for s in specs]
            for f in as_completed(futures):
                results.append(f.result())
                bar.update(1)
    else:
        raise ConfigError("executor", f"must be 'local' or 'ray', got {executor!r}")
    bar.close()
    return results


@user_errors
def compare_from_config(cfg: DictConfig) -> Path:
    from archgym.report import write_report

    check_options(CompareOptions, cfg)
    env_values = container(cfg.env)
    env = env_values.pop("name")
    agents = list(cfg.agents)
    if not agents:
        raise ConfigError("agents", "give at least one agent, e.g. agents=[random,tpe]")
    from archgym import registry

    for a in agents:
        registry.agents.get(a)  # unknown names list the valid ones before any work starts
    if int(cfg.seeds) < 1:
        raise ConfigError("seeds", "must be >= 1")
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    agent_config = container(cfg.agent_config)
    budget = int(cfg.budget) if cfg.budget is not None else registry.envs.get(env).default_budget
    specs = grid(env, env_values, agents, int(cfg.seeds), budget, out_dir, agent_config, cfg.get("log"),
                 bool(cfg.ground_truth))
    log = specs[0].log or default_url(out_dir)
    LogStore(log).close()  # create the tables once, before the workers start
    summaries = run_grid(specs, cfg.executor, cfg.jobs, cfg.progress)
    report = write_report(out_dir, env, summaries, log)
    print(report.read_text())
    return report


@hydra.main(version_base="1.3", config_path="conf", config_name="compare")
def main(cfg: DictConfig) -> None:
    compare_from_config(cfg)


if __name__ == "__main__":
    hydra_entry(main, "compare", ("env",))
