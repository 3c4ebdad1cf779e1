"""Multiplier search benchmark: env throughput and the best designs PPO and a second agent find.

(a) env steps/s at 16 and 32 bits: uniformly random legal actions through ``DesignEnv`` (the env's own
    cost: edit + evaluation + mask + observation), and PPO's steps/s while learning (evaluations per
    second of search wall time, torch single-threaded as ``agents/sb3.py`` runs it);
(b) the best design found by PPO and by a second agent (default MCTS) within the same fixed budget of
    evaluations, next to the classical baselines Dadda + Sklansky and Wallace + Kogge-Stone (and Dadda +
    Kogge-Stone), with delay, area and area x delay under the analytical unit-gate model; ``dominates``
    says whether a found design is at least as good as both classical baselines in delay and in area; below
    it, per agent, the cheapest design of the run's (delay, area) Pareto front that is at least as good as
    Dadda + Sklansky, and as both (the best-cost design may trade area for delay: a designer who wants a
    design no worse than the baseline in either takes this one);
(c) the weighted cost of the best design against Dadda + Sklansky and against every classical
    construction of the family (each tree with each final adder), at every width (issue 15).

Run: ``python -m archgym.experiments.bench_multiplier [--budget N] [--widths 16 32 64] [--agents ppo mcts]
[--delay-weight W]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from archgym.config import build_problem
from archgym.envs.base import DesignEnv
from archgym.evaluator import Evaluator
from archgym.runner import RunSpec, execute

#: the classical designs every found design is compared with (the issue's targets are the first two)
TARGETS = ("dadda_sklansky", "wallace_kogge_stone")
SHOWN = (*TARGETS, "dadda_kogge_stone")


def env_steps_per_second(width: int, steps: int, seed: int = 0) -> float:
    """Env steps/s with uniformly random legal actions (no learning): the env's own cost per step."""
    problem = build_problem("multiplier", {"width": width})
    env = DesignEnv(problem, Evaluator(problem, keep_history=False))
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for _ in range(steps):
        action = int(rng.choice(np.flatnonzero(env.action_masks())))
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - t0)


def search(width: int, agent: str, budget: int, seed: int, env_config: dict | None = None) -> dict:
    """One run through ``archgym.runner.execute`` (no Verilog check): its summary."""
    with tempfile.TemporaryDirectory(prefix="bench_mul_") as out:
        return execute(RunSpec(env="multiplier", agent=agent, env_config={"width": width, **(env_config or {})},
                               budget=budget, seed=seed, out_dir=out, progress=False, verify=False))


def dominates_targets(metrics: dict[str, float], baselines: dict[str, dict],
                      targets: Sequence[str] = TARGETS) -> bool:
    """At least as fast and as small as every target baseline (Pareto-dominates or matches each)."""
    return all(metrics["delay"] <= baselines[t]["metrics"]["delay"] and
               metrics["area"] <= baselines[t]["metrics"]["area"] for t in targets)


def front_dominator(summary: dict, baselines: dict[str, dict], targets: Sequence[str]) -> str:
    """The lowest-cost design of the run's (delay, area) Pareto front that dominates or matches every baseline
    of ``targets``, as a line of the report."""
    hits = [e for e in summary.get("pareto_front", []) if dominates_targets(e["objectives"], baselines, targets)]
    if not hits:
        return "none"
    e = min(hits, key=lambda e: e["cost"])
    return f"step {e['step']}: cost {e['cost']:.4f}, delay {e['objectives']['delay']:.2f}, " \
           f"area {e['objectives']['area']:.0f}"


def report(width: int, agents: Sequence[str], budget: int, seed: int, env_config: dict | None = None) -> bool:
    """Print the table of one width; return whether every agent's best design meets the target."""
    rows, ok, baselines, fronts = [], True, {}, []
    for agent in agents:
        s = search(width, agent, budget, seed, env_config)
        baselines = s["baselines"]
        m = s["best"]["metrics"]
        hit = dominates_targets(m, baselines)
        ok &= hit
        rate = s["evaluations"] / s["wall_time_s"]
        rows.append((f"{agent} (best of {s['evaluations']})", s["best"]["cost"], m, "yes" if hit else "NO",
                     f"{s['wall_time_s']:.1f} s, {rate:.0f} steps/s"))
        fronts += [f"  {agent}, front design no worse than {' and '.join(targets)}: "
                   f"{front_dominator(s, baselines, targets)}" for targets in (TARGETS[:1], TARGETS)]
    for name in SHOWN:
        b = baselines[name]
        rows.append((name, b["cost"], b["metrics"], "", ""))
    print(f"\n(b) {width}-bit AND-array multipliers, budget {budget} evaluations, seed {seed}:")
    print(f"  {'design':<26} {'cost':>7} {'delay':>7} {'area':>7} {'area x delay':>13} {'dominates':>9}  search")
    for name, cost, m, hit, note in rows:
        print(f"  {name:<26} {cost:7.4f} {m['delay']:7.2f} {m['area']:7.0f} {m['area'] * m['delay']:13.0f} "
              f"{hit:>9}  {note}")
    print("\n".join(fronts))
    reference = baselines["dadda_sklansky"]["cost"]
    found = [(name, cost) for name, cost, *_ in rows[:len(agents)]]  # the searched designs
    every = sorted([*found, *((name, b["cost"]) for name, b in baselines.items())], key=lambda r: r[1])
    print(f"\n(c) {width}-bit weighted cost (the env's delay_weight) against Dadda + Sklansky and every classical "
          f"construction:")
    for name, cost in every:
        print(f"  {name:<26} {cost:7.4f} {100 * (cost / reference - 1):+7.2f}%")
    return ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--agents", nargs="+", default=["ppo", "mcts"])
    parser.add_argument("--budget", type=int, default=None, help="evaluations per search (default: the env's)")
    parser.add_argument("--env-steps", type=int, default=3000, help="random env steps for (a)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--delay-weight", type=float, default=None,
                        help="the env's delay_weight for the searches (default: the env's); lower favours area")
    args = parser.parse_args(argv)
    budget = args.budget or build_problem("multiplier", {}).default_budget

    print("(a) env steps/s with random legal actions (no learning; PPO's rate while learning is in (b))")
    for width in args.widths:
        print(f"  {width:3d}-bit: {env_steps_per_second(width, args.env_steps, args.seed):7.0f} steps/s")
    env_config = {} if args.delay_weight is None else {"delay_weight": args.delay_weight}
    results = [report(width, args.agents, budget, args.seed, env_config) for width in args.widths]  # every width
    ok = all(results)
    print(f"\nevery found design dominates or matches {' and '.join(TARGETS)}: {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
