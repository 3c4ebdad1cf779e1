"""How well the fast (analytical) cost model ranks designs the way the ground truth does.

Ground truth: ``env.cost_model=yosys``, synthesis at the sweep of delay targets set by the reference design
(``archgym.simulators.eda.yosys_model``).  Two held-out sets per family and width, none of them used to
build or tune the fast model:

* ``random``: random walks of 1 to 30 legal edits from every baseline (``--walks`` per baseline);
* ``search``: designs visited by real searches (GA and random search on the fast model, ``--budget``
  evaluations each), ``--sample`` of them drawn evenly over the fast cost range of their logs.

For each set the script prints the Spearman rank correlation of fast vs ground-truth delay, area and
weighted cost, the RMSE of cost, and the time per evaluation of each model, all measured side by side in
one run, for the analytical model and for the learned proxy (``simulators/arith/proxy.py``), which is
trained on a third, disjoint set of random walks (``--train-walks`` per baseline, another seed) scored by
the ground truth.

Run:  python -m archgym.experiments.fidelity [--adder-widths 16 32 64] [--multiplier-widths 8 16]
      [--encodings and booth] [--walks 4] [--sample 40] [--budget 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from archgym.config import build_problem
from archgym.runner import RunSpec, execute


def random_walks(problem: Any, walks: int, rng: np.random.Generator) -> list[Any]:
    """``walks`` random walks of 1..30 legal edits from every baseline (the last design of each walk)."""
    out = []
    for base in problem.baselines().values():
        for _ in range(walks):
            design = base
            for _ in range(int(rng.integers(1, 31))):
                legal = np.flatnonzero(problem.action_mask(design))
                if not len(legal):
                    break
                design = problem.apply_action(design, int(rng.choice(legal)))
            out.append(design)
    return out


def searched(env: str, config: dict[str, Any], budget: int, sample: int, seed: int, out: str) -> list[Any]:
    """Designs visited by GA and random search on the fast model, drawn evenly over their cost range."""
    from archgym import logs

    problem = build_problem(env, config)
    rows = []
    for agent in ("ga", "random"):
        tag = "-".join(f"{k}{v}" for k, v in config.items())
        spec = RunSpec(env=env, agent=agent, env_config=config, budget=budget, seed=seed,
                       out_dir=f"{out}/{env}-{tag}-{agent}", progress=False, verify=False)
        run_id = execute(spec)["run_id"]
        df = logs.load(spec.out_dir)
        df = df[df["run_id"] == run_id]
        rows += df[df["feasible"].astype(bool)][["cost", "design"]].values.tolist()
    rows.sort(key=lambda r: r[0])
    picks = np.unique(np.linspace(0, len(rows) - 1, min(sample, len(rows))).round().astype(int))
    import json

    return [problem.load_design(json.loads(rows[i][1])) for i in picks]


def train_proxy(env: str, config: dict[str, Any], designs: list[Any], path: str) -> str:
    """Score ``designs`` in ground truth, fit a proxy on them, save it; return its path."""
    from archgym.simulators.arith.proxy import fit

    truth = build_problem(env, {**config, "cost_model": "yosys"})
    evs = truth.evaluate_batch(designs)
    ok = [(d, e) for d, e in zip(designs, evs) if not isinstance(e, Exception) and e.feasible]
    fit(env, int(config["width"]), [d for d, _ in ok], [e.metrics["delay"] for _, e in ok],
        [e.metrics["area"] for _, e in ok]).save(path)
    return path


def compare(env: str, config: dict[str, Any], designs: list[Any], model: dict[str, Any] | None = None
            ) -> dict[str, float]:
    """Spearman of a fast model vs ground truth (delay, area, cost), cost RMSE, seconds per evaluation."""
    fast = build_problem(env, {**config, **(model or {})})
    truth = build_problem(env, {**config, "cost_model": "yosys"})
    t0 = time.perf_counter()
    f = [fast.evaluate(d) for d in designs]
    t1 = time.perf_counter()
    g = truth.evaluate_batch(designs)
    t2 = time.perf_counter()
    ok = [(a, b) for a, b in zip(f, g) if not isinstance(b, Exception) and a.feasible and b.feasible]
    # the ground truth's cost per design is its synthesis time (recorded in the disk cache too, so a warm
    # cache does not make it look free); the wall time of this batch is the fallback
    synth = [b.metrics.get("synth_seconds") for _, b in ok]
    truth_s = float(np.mean(synth)) if ok and all(s is not None for s in synth) else (t2 - t1) / len(designs)
    out = {"n": float(len(ok)), "fast_s": (t1 - t0) / len(designs), "truth_s": truth_s}
    for key in ("delay", "area", "cost"):
        x = [a.cost if key == "cost" else a.metrics[key] for a, _ in ok]
        y = [b.cost if key == "cost" else b.metrics[key] for _, b in ok]
        out[f"rho_{key}"] = float(spearmanr(x, y).statistic) if len(ok) > 2 else math.nan
    out["rmse_cost"] = float(np.sqrt(np.mean([(a.cost - b.cost) ** 2 for a, b in ok]))) if ok else math.nan
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adder-widths", type=int, nargs="*", default=[16, 32, 64])
    ap.add_argument("--multiplier-widths", type=int, nargs="*", default=[8, 16])
    ap.add_argument("--encodings", nargs="*", default=["and", "booth"])
    ap.add_argument("--walks", type=int, default=4, help="random walks per baseline")
    ap.add_argument("--train-walks", type=int, default=8, help="random walks per baseline to train the proxy on")
    ap.add_argument("--sample", type=int, default=40, help="searched designs per family and width")
    ap.add_argument("--budget", type=int, default=300, help="evaluations of each search")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/fidelity")
    a = ap.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    cases = [("adder", {"width": n}) for n in a.adder_widths]
    cases += [("multiplier", {"width": n, "encoding": e}) for n in a.multiplier_widths for e in a.encodings]
    print(f"{'case':<34} {'model':<10} {'set':<7} {'n':>4} {'rho delay':>9} {'rho area':>9} {'rho cost':>9} {'RMSE cost':>9} "
          f"{'fast s':>9} {'truth s':>9} {'speed-up':>9}")
    for env, config in cases:
        problem = build_problem(env, config)
        label = f"{env} " + " ".join(f"{k}={v}" for k, v in config.items())
        sets = {"random": random_walks(problem, a.walks, rng),
                "search": searched(env, config, a.budget, a.sample, a.seed, a.out)}
        import os

        os.makedirs(a.out, exist_ok=True)
        tag = "-".join(f"{k}{v}" for k, v in config.items())
        proxy = train_proxy(env, config, random_walks(problem, a.train_walks, np.random.default_rng(a.seed + 1000)),
                            f"{a.out}/{env}-{tag}.proxy")
        models = {"analytical": None, "proxy": {"cost_model": "proxy", "proxy_model": proxy}}
        for (name, designs), (mname, model) in [(s, m) for s in sets.items() for m in models.items()]:
            r = compare(env, config, designs, model)
            print(f"{label:<34} {mname:<10} {name:<7} {int(r['n']):>4} {r['rho_delay']:>9.3f} {r['rho_area']:>9.3f} "
                  f"{r['rho_cost']:>9.3f} {r['rmse_cost']:>9.4f} {r['fast_s']:>9.2e} {r['truth_s']:>9.3f} "
                  f"{r['truth_s'] / r['fast_s']:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
