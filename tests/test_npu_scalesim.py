"""The analytical NPU model against cached SCALE-Sim 3.0.0 results (and live, when its venv exists)."""

from __future__ import annotations

import configparser
import statistics

import pytest

from archgym.errors import ConfigError
from archgym.experiments.validate_npu import APPROX, EXACT, RESNET18_PLAN, compare, model_value, scalesim_value
from archgym.simulators.npu.model import NPUDesign, evaluate_layer
from archgym.simulators.npu.scalesim import backend as sb
from archgym.simulators.npu.scalesim import worker
from archgym.simulators.npu.workloads import Layer, load_workload

RECORDS = sb.load_cache()


def test_cache_covers_the_validation_plan() -> None:
    """Every layer shape the plan names is cached (so --regenerate resumes with nothing to do); the
    plan has three array sizes in each dataflow and every ResNet-18 layer at 32x32 but one shape."""
    layers = load_workload("resnet18")
    shape = {lay.name: lay.dims for lay in layers}
    cached = {(r["array_rows"], r["array_cols"], r["dataflow"], tuple(r["dims"])) for r in RECORDS}
    for rows, cols, df, names in RESNET18_PLAN:
        for name in names or shape:
            assert (rows, cols, df, shape[name]) in cached, (rows, cols, df, name)
    for df in ("os", "ws", "is"):
        assert {r for r, _, d, _ in RESNET18_PLAN if d == df} == {8, 32, 128}
    rows = compare(RECORDS, repeats=1)["rows"]
    at32 = {df: {r["layer"] for r in rows if (r["suite"], r["array"], r["dataflow"]) == ("resnet18", "32x32", df)}
            for df in ("os", "ws", "is")}
    assert len(at32["os"]) == len(at32["is"]) == 21
    assert set(shape) - at32["ws"] == {"Conv5_1b", "Conv5_2a", "Conv5_2b"}  # ~7 h of SCALE-Sim: see the plan


def test_duplicate_simulations_agree() -> None:
    """SCALE-Sim is deterministic and never sees a layer's name: repeated simulations of one shape
    (e.g. Conv2_1a and Conv2_1b) agree exactly, which lets one simulation stand for equal layers."""
    repeats, mismatches = sb.duplicate_mismatches()
    assert repeats >= 10
    assert mismatches == []


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: f"{r['array_rows']}x{r['array_cols']}-{r['dataflow']}-"
                                                        f"{r['ifmap_kb']}KB-{r['layer']}")
def test_closed_form_cycles_and_sram_are_exact(rec: dict) -> None:
    m = evaluate_layer(sb.record_layer(rec), sb.record_design(rec))
    for ours, theirs in EXACT:
        assert model_value(m, ours) == scalesim_value(rec, theirs, ours), ours


def test_filter_dram_and_input_stationary_ifmap_dram_are_exact() -> None:
    """Filters have one copy per address, so the window walk (rows read top-down, each row left to
    right, a straddling row costing a ring turn) must match SCALE-Sim's read buffer word for word;
    input-stationary ifmaps are scanned per word with all their copies."""
    rows = compare(RECORDS, repeats=1)["rows"]
    assert all(r["dram_filter_reads"][0] == r["dram_filter_reads"][1] for r in rows)
    assert all(r["dram_ifmap_reads"][0] == r["dram_ifmap_reads"][1] for r in rows if r["dataflow"] == "is")


def test_dram_and_total_cycles_within_5_percent_mae() -> None:
    res = compare(RECORDS, repeats=1)["overall"]
    for ours, _ in APPROX:
        assert res[f"{ours}_mae_pct"] < 5.0, (ours, res[f"{ours}_mae_pct"])


def test_worker_writes_a_config_scalesim_reads() -> None:
    text = worker.config_text(dict(array_rows=8, array_cols=16, dataflow="is", ifmap_kb=4,
                                   filter_kb=8, ofmap_kb=2, bandwidth=10))
    cp = configparser.ConfigParser()
    cp.read_string(text)
    arch = cp["architecture_presets"]
    assert (arch["ArrayHeight"], arch["ArrayWidth"], arch["Dataflow"]) == ("8", "16", "is")
    assert cp["run_presets"]["InterfaceBandwidth"] == "USER"


def test_every_bandwidth_of_the_design_space_gets_banks_scalesim_accepts() -> None:
    """SCALE-Sim asserts bank bandwidth % bank count == 0 (it failed for dram_bw = 5 with 10 fixed banks)."""
    from archgym.simulators.npu.model import DESIGN_SPACE

    for bw in (*DESIGN_SPACE["dram_bw"], 1, 3, 7, 12, 25, 64):
        cp = configparser.ConfigParser()
        cp.read_string(worker.config_text(dict(array_rows=8, array_cols=8, dataflow="ws", ifmap_kb=4, filter_kb=4,
                                               ofmap_kb=4, bandwidth=bw)))
        for kind in ("Ifmap", "Filter"):
            banks = int(cp["layout"][f"{kind}SRAMBankNum"])
            assert int(cp["layout"][f"{kind}SRAMBankBandwidth"]) % banks == 0 and 1 <= banks <= 10
    assert worker.sram_banks(10) == worker.sram_banks(40) == 10  # the cached records' configs are unchanged


def test_backend_rejects_what_scalesim_cannot_model() -> None:
    layer = Layer("L", 4, 4, 1, 1, 1, 1, 1)
    with pytest.raises(ConfigError):
        sb.run_scalesim(NPUDesign(dataflow="rs"), [layer])
    with pytest.raises(ConfigError):
        sb.run_scalesim(NPUDesign(loop_order="row_outer"), [layer])
    with pytest.raises(ConfigError):
        sb.run_scalesim(NPUDesign(ifmap_kb=1.5), [layer])


def test_record_round_trip() -> None:
    rec = RECORDS[0]
    d, layer = sb.record_design(rec), sb.record_layer(rec)
    assert (d.rows, d.cols, d.dataflow) == (rec["array_rows"], rec["array_cols"], rec["dataflow"])
    assert list(layer.dims) == rec["dims"]


@pytest.mark.skipif(not sb.scalesim_available(), reason="SCALE-Sim venv not installed (ensure_scalesim_venv())")
def test_live_scalesim_matches_closed_form() -> None:
    layer = Layer("live", 7, 7, 3, 3, 3, 5, 2)
    for df in ("os", "ws", "is"):
        d = NPUDesign(rows=4, cols=8, dataflow=df, ifmap_kb=1, filter_kb=1, ofmap_kb=1)
        (rec,) = sb.run_scalesim(d, [layer])
        m = evaluate_layer(layer, d)
        for ours, theirs in EXACT:
            assert model_value(m, ours) == scalesim_value(rec, theirs, ours), (df, ours)
        errs = [abs(model_value(m, o) - scalesim_value(rec, t, o)) / max(1, scalesim_value(rec, t, o))
                for o, t in APPROX]
        assert statistics.fmean(errs) < 0.05


def test_scalesim_is_a_cost_model_of_the_npu_env() -> None:
    """env.cost_model=scalesim scores from SCALE-Sim's own figures (here the shipped cache: no venv needed):
    cycles equal SCALE-Sim's total, compute/SRAM equal the analytical model's (exact on this case), and a
    design SCALE-Sim cannot run (row-stationary) is a failed evaluation, not a crash."""
    from archgym import registry
    from archgym.config import build_problem
    from archgym.evaluator import Evaluator

    assert "scalesim" in registry.cost_models("npu") and "analytical" in registry.cost_models("npu")
    cfg = {"layer": "Conv4_s", "cost_model": "scalesim"}
    p = build_problem("npu", cfg)
    base = p.baseline("scalesim_scale")  # 32x32 ws, 64 KB buffers, 10 words/cycle
    rec = next(r for r in RECORDS if sb.record_key(r) == (tuple(p.layers[0].dims), 32, 32, "ws", 64, 64, 64, 10))
    ev = p.evaluate(base)
    assert ev.metrics["cycles"] == rec["total_cycles"] and ev.metrics["dram_ifmap_reads"] == rec["dram_ifmap_reads"]
    analytical = build_problem("npu", {"layer": "Conv4_s"}).evaluate(base)
    assert ev.metrics["sram_ifmap_reads"] == analytical.metrics["sram_ifmap_reads"]
    assert ev.metrics["area_mm2"] == analytical.metrics["area_mm2"]
    rs = build_problem("npu", cfg).from_json({**p.to_json(base), "dataflow": "rs"})
    failed = Evaluator(p, keep_history=False).evaluate(rs)
    assert failed.failed and "SCALE-Sim" in failed.reason


def test_scalesim_cost_model_expands_a_depthwise_layer_per_channel() -> None:
    """A depthwise layer of C channels is C single-channel convolutions for SCALE-Sim: one is simulated (here a
    record stands for the run) and every count is multiplied by C; the topology row is the single channel's."""
    from archgym.simulators.npu.cost_models import ScaleSimLayers

    design = NPUDesign()
    dw = Layer("dw", 16, 16, 3, 3, 1, 1, 1, groups=24)
    single = dw.single_group()
    assert sb._layer_row(dw) == ["dw", *single.dims]
    rec = {"total_cycles": 1000, "stall_cycles": 100, "sram_ifmap_reads": 11, "sram_filter_reads": 12,
           "sram_ofmap_writes": 13, "dram_ifmap_reads": 14, "dram_filter_reads": 15, "dram_ofmap_writes": 16}
    layers = ScaleSimLayers(type("C", (), {"scalesim_timeout": 1.0})())
    key = (tuple(single.dims), design.rows, design.cols, design.dataflow, design.ifmap_kb, design.filter_kb,
           design.ofmap_kb, design.dram_bw)
    layers._known = {key: rec}
    m = layers(dw, design)
    assert m["cycles"] == 24 * 1000 and m["stall_cycles"] == 24 * 100 and m["dram_ofmap_writes"] == 24 * 16
    assert m["macs"] == dw.macs
