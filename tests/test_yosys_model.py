"""cost_model=yosys: synthesized delay/area in the env, failures logged while the run goes on, disk cache."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from archgym import registry
from archgym.envs.adder import AdderConfig, AdderProblem
from archgym.errors import ConfigError, SimulationError
from archgym.logs import LogStore, default_url
from archgym.rtl.arith.cost_models import AdderYosys
from archgym.runner import RunSpec, execute
from archgym.simulators.arith.prefix import classical
from archgym.simulators.eda import synthesis

pytestmark = pytest.mark.skipif(not (shutil.which("yosys") and shutil.which("sta")),
                                reason="native yosys and OpenSTA needed")


@pytest.fixture(autouse=True)
def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the cost model (the lead adds it to archgym/registry.py) and isolate the disk cache."""
    registry.simulators.register("adder.yosys", "archgym.rtl.arith.cost_models:AdderYosys")
    monkeypatch.setenv(synthesis.CACHE_ENV_VAR, str(tmp_path / "cache"))


def test_adder_env_costs_come_from_synthesis() -> None:
    problem = AdderProblem(AdderConfig(width=16, cost_model="yosys", synth_targets=[]))
    ripple = problem.evaluate(problem.baseline("ripple"))
    ks = problem.evaluate(problem.baseline("kogge_stone"))
    sk = problem.evaluate(problem.baseline("sklansky"))
    # without a sweep, the metrics are one unconstrained synthesis of this design's exported Verilog
    direct = synthesis.synthesize(problem.to_verilog(problem.baseline("ripple"), "prefix_adder"), "prefix_adder")
    assert ripple.metrics["delay"] == pytest.approx(direct.delay_ns) and ripple.metrics["area"] == pytest.approx(direct.area)
    assert ripple.metrics["cells"] == direct.cell_count and ripple.metrics["logic_depth"] == direct.depth
    # a 15-level carry chain is slower than 4 levels of Kogge-Stone, which costs more cells
    assert ripple.metrics["delay"] > 1.5 * ks.metrics["delay"]
    assert ks.metrics["area"] > ripple.metrics["area"]
    # structural figures and the weighted cost normalized by synthesized Sklansky
    assert (ripple.metrics["size"], ripple.metrics["depth"]) == (15.0, 15.0)
    assert sk.cost == pytest.approx(1.0)


def test_ground_truth_is_the_sweep_of_delay_targets_set_by_the_reference() -> None:
    """Every design is mapped at the same absolute targets (factors x Sklansky's unconstrained delay);
    delay and area are geometric means over them, so Sklansky's weighted cost is exactly 1.0."""
    factors = [1.0, 1.5, 2.0]
    problem = AdderProblem(AdderConfig(width=16, cost_model="yosys", synth_targets=factors))
    text = lambda name: problem.to_verilog(problem.baseline(name), "prefix_adder")
    fastest = synthesis.synthesize(text("sklansky"), "prefix_adder").delay_ns
    targets = [f * fastest * 1000 for f in factors]
    assert problem.simulator.targets_ps() == pytest.approx(targets)
    ks = problem.evaluate(problem.baseline("kogge_stone"))
    direct = [synthesis.synthesize(text("kogge_stone"), "prefix_adder", delay_target_ps=t) for t in targets]
    gm = lambda xs: float(np.exp(np.mean(np.log(xs))))
    assert ks.metrics["delay"] == pytest.approx(gm([r.delay_ns for r in direct]))
    assert ks.metrics["area"] == pytest.approx(gm([r.area for r in direct]))
    assert [ks.metrics[f"area_t{k}"] for k in (1, 2, 3)] == [r.area for r in direct]
    assert ks.metrics["delay_fastest"] == min(r.delay_ns for r in direct) and ks.metrics["synth_runs"] == 3
    assert problem.evaluate(problem.baseline("sklansky")).cost == pytest.approx(1.0)


def test_batch_runs_in_parallel_slots_and_isolates_failures() -> None:
    sim = AdderYosys(SimpleNamespace(liberty=None, synth_jobs=2, synth_targets=[]))
    designs = [classical(k, 8) for k in ("ripple", "sklansky", "kogge_stone")]
    batch = sim.metrics_batch([designs[0], "not a design", *designs[1:]])  # type: ignore[list-item]
    assert isinstance(batch[1], Exception)
    assert [b["delay"] for b in batch if isinstance(b, dict)] == [sim.metrics(d)["delay"] for d in designs]


def test_bad_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="synth_flow"):
        AdderYosys(SimpleNamespace(liberty=None, synth_flow="fastest"))
    with pytest.raises(ConfigError, match="synth_timeout"):
        AdderYosys(SimpleNamespace(liberty=None, synth_timeout=0))
    with pytest.raises(ConfigError, match="liberty"):
        AdderProblem(AdderConfig(width=8, cost_model="yosys", liberty=str(tmp_path / "missing.lib")))


def test_failed_synthesis_is_a_failed_row_and_the_run_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Designs with an odd prefix-node count hit a (monkeypatched) 1 ns timeout; the others synthesize."""
    real = synthesis.synthesize

    def flaky(verilog: str, top: str, **kw: object) -> synthesis.SynthesisResult:
        nodes = int(verilog.split(" prefix nodes")[0].rsplit(" ", 1)[1])
        return real(verilog, top, **{**kw, "timeout": 1e-9 if nodes % 2 else kw["timeout"]})

    monkeypatch.setattr(synthesis, "synthesize", flaky)  # what synthesize_many runs for every (design, target)
    summary = execute(RunSpec(env="adder", agent="random", budget=8, seed=3, out_dir=str(tmp_path / "run"),
                              env_config={"width": 8, "mode": "theoretical", "depth_bound": 4, "cost_model": "yosys"},
                              progress=False, verify=False))
    assert summary["status"] == "finished" and summary["evaluations"] == 8
    store = LogStore(default_url(tmp_path / "run"))
    rows = store.evaluations(summary["run_id"])
    store.close()
    failed = [r for r in rows if r["failed"]]
    ok = [r for r in rows if not r["failed"]]
    assert failed and ok, "the seed should give both odd and even node counts"
    assert summary["failed_evaluations"] == len(failed)
    assert all("timed out" in r["error"] for r in failed)
    assert all(r["cost"] in (None, float("inf")) for r in failed)
    assert all(json.loads(r["metrics"])["delay"] > 0 for r in ok)
    assert summary["best"] is not None and int(summary["best"]["metrics"]["size"]) % 2 == 0


def test_repeated_design_is_a_cache_hit() -> None:
    sim = AdderYosys(SimpleNamespace(liberty=None, width=32))
    design = classical("kogge_stone", 32)
    t0 = time.perf_counter()
    first = sim.metrics(design)
    t1 = time.perf_counter()
    second = sim.metrics(design)
    t2 = time.perf_counter()
    assert first["synth_cached"] == 0.0 and second["synth_cached"] == 1.0
    assert {k: v for k, v in first.items() if k != "synth_cached"} == \
        {k: v for k, v in second.items() if k != "synth_cached"}
    assert t2 - t1 < min(0.1, (t1 - t0) / 3)


def test_timeout_raises_simulation_error() -> None:
    sim = AdderYosys(SimpleNamespace(liberty=None, synth_timeout=1e-9, width=8))
    with pytest.raises(SimulationError, match="timed out"):
        sim.metrics(classical("sklansky", 8))


def test_calibration_constants_patch_every_model_and_restore() -> None:
    """The re-fit evaluates the analytical models under other cell constants; all importers must see them."""
    from archgym.experiments.calibrate_rtl import Point, analyze, constants, correlations, current_constants
    from archgym.simulators.arith.multiplier import multiplier_baseline

    pts = [Point("adder", 16, k, classical(k, 16)) for k in ("ripple", "sklansky", "kogge_stone")]
    pts += [Point("multiplier", 8, f"dadda+{k}", multiplier_baseline("dadda", k, 8)) for k in ("ripple", "sklansky")]
    analyze(pts)
    base = [dict(p.analytical) for p in pts]
    before = current_constants()
    with constants({"FA.area": 0.0, "HA.area": 0.0, "XOR2.delay": 3.0, "FANOUT_DELAY": 0.0}):
        analyze(pts)
        assert [p.analytical["tree_area"] for p in pts[3:]] == [0.0, 0.0]
        # 16-bit ripple, no fanout term: cin folded into bit 0 (XOR2 3 + GREY 2), 15 GREY cells to the carry
        # into bit 15 (at 5 + 14 * 2 = 33), its sum XOR: 36 (cout at 35)
        assert pts[0].analytical["delay"] == 36.0
    assert current_constants() == before
    analyze(pts)
    assert [p.analytical for p in pts] == base
    for p in pts:  # synthesized figures ranked exactly like the model's: rho = 1 everywhere
        p.delay_ns, p.area = 2 * p.analytical["delay"], 3 * p.analytical["area"]
    assert all(v == pytest.approx(1.0) for c in correlations(pts).values() for v in c.values())
