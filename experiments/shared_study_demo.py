"""Two processes, one optuna study: scaling the optuna agents past one process through a shared storage.

Every optuna agent takes ``agent.storage=<optuna storage URL>``; processes (or machines, with a
PostgreSQL/MySQL URL) that give the same storage and ``agent.study_name`` ask and tell trials of
one study, so each one's sampler learns from all the evaluations.  Each process still logs its own
evaluations to its own run log, and gets its own seed (same seeds would make the startup trials
identical)::

    python experiments/shared_study_demo.py --dir /tmp/shared --budget 40
    optuna-dashboard sqlite:////tmp/shared/study.db      # pip install optuna-dashboard
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def run_shared_study(workdir: Path, budget: int = 40, processes: int = 2, agent: str = "tpe",
                     env_args: tuple[str, ...] = ("env=adder", "env.width=16"), study_name: str = "shared",
                     storage: str | None = None):
    """Start ``processes`` concurrent ``archgym.run`` processes on one study (``storage``: an optuna storage
    URL; default a SQLite file in ``workdir``); return the study and the URL."""
    import optuna

    workdir.mkdir(parents=True, exist_ok=True)
    url = storage or f"sqlite:///{(workdir / 'study.db').resolve()}"
    # create optuna's tables once: processes that all find an empty database race to create them
    optuna.storages.RDBStorage(url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "archgym.run", *env_args, f"agent={agent}", f"agent.storage='{url}'",
             f"agent.study_name={study_name}", f"seed={i}", f"budget={budget}", f"out_dir={workdir / f'p{i}'}",
             "progress=false", "verify=false", "ground_truth=false"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for i in range(processes)
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"process {p.args} failed:\n{err}")
    return optuna.load_study(study_name=study_name, storage=url), url


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path("shared_study"))
    ap.add_argument("--budget", type=int, default=40, help="evaluations per process")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--agent", default="tpe", help="an optuna agent: tpe, gp, cmaes, nsga2")
    ap.add_argument("--storage", default=None, help="optuna storage URL (e.g. postgresql://...); default SQLite")
    args = ap.parse_args(argv)
    study, url = run_shared_study(args.dir, args.budget, args.processes, args.agent, storage=args.storage)
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    print(f"study '{study.study_name}' in {url}: {len(study.trials)} trials from {args.processes} processes, "
          f"{len(done)} complete, best cost {study.best_value:.4g}")
    print(f"open it with:  optuna-dashboard {url}   (pip install optuna-dashboard)")


if __name__ == "__main__":
    main()
