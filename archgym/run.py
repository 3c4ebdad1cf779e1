"""``python -m archgym.run env=<env> agent=<agent> [budget=N] [seed=S] [out_dir=DIR] [env.f=..] [agent.f=..]``

Runs one search, shows a progress bar, writes DIR/summary.json (and DIR/best.v for families that
export Verilog) and prints the best design found next to the classical baselines; families with a
ground truth are then re-scored and refined in it (``ground_truth=``, ``ground_truth_budget=``, see
``archgym.ground_truth``).  Hydra handles the overrides, so ``-m`` sweeps (``-m seed=0,1,2``) work too.
"""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from archgym.config import container, hydra_entry, user_errors
from archgym.fields import RunOptions, check_options
from archgym.runner import RunSpec, execute, print_table


@user_errors
def run_from_config(cfg: DictConfig) -> dict:
    check_options(RunOptions, cfg)
    out_dir = cfg.out_dir
    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:  # one directory per job of a sweep
        out_dir = f"{hc.sweep.dir}/{hc.sweep.subdir}"
    env_values = container(cfg.env)
    agent_values = container(cfg.agent)
    spec = RunSpec(
        env=env_values.pop("name"),
        agent=agent_values.pop("name"),
        env_config=env_values,
        agent_config=agent_values,
        budget=cfg.budget,
        seed=cfg.seed,
        out_dir=out_dir,
        log=cfg.log,
        resume=cfg.resume,
        progress=cfg.progress,
        verify=cfg.verify,
        ground_truth=cfg.ground_truth,
        ground_truth_budget=cfg.ground_truth_budget,
        ground_truth_screen=cfg.ground_truth_screen,
    )
    summary = execute(spec)
    print_table(summary)
    return summary


@hydra.main(version_base="1.3", config_path="conf", config_name="run")
def main(cfg: DictConfig) -> None:
    run_from_config(cfg)


if __name__ == "__main__":
    hydra_entry(main, "run", ("env", "agent"))
