"""SCALE-Sim 3.0.0 as a second (ground-truth) backend of the NPU dataflow family.

Why a subprocess in its own virtual environment: SCALE-Sim 3.0.0 crashes under numpy 2.4
(double_buffered_scratchpad_mem.py) and works with numpy 2.2, while archgym runs on numpy 2.4.
`ensure_scalesim_venv()` creates a private venv (default ~/.cache/archgym/scalesim-venv, override
with ARCHGYM_SCALESIM_VENV) with `scalesim==3.0.0` and `numpy==2.2.*`; `run_scalesim()` runs
simulators/npu/scalesim/worker.py inside it, one layer at a time, traces disabled, in a temporary
directory.  SCALE-Sim is slow (minutes per ResNet-18 layer set): use it to validate, never in a loop.

Its results are cached as JSON lines under simulators/data/npu/scalesim_cache/ (one record per
layer and design); `load_cache()` reads them back.
"""

from __future__ import annotations

import configparser
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from archgym.errors import ConfigError, SimulationError
from archgym.simulators.eda import tools
from archgym.simulators.npu.model import NPUDesign
from archgym.simulators.npu.workloads import Layer

SCALESIM_VERSION = "3.0.0"
NUMPY_PIN = "numpy==2.2.*"
DEFAULT_VENV = Path.home() / ".cache" / "archgym" / "scalesim-venv"
_WORKER = Path(__file__).with_name("worker.py")


def venv_path() -> Path:
    return Path(os.environ.get("ARCHGYM_SCALESIM_VENV", str(DEFAULT_VENV)))


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def scalesim_available(venv: Path | None = None) -> bool:
    """True when the private venv exists and imports scalesim (no installation attempted)."""
    py = _venv_python(venv or venv_path())
    if not py.exists():
        return False
    try:
        r = tools.run([str(py), "-c", "import scalesim.scale_sim"], cwd=py.parent, timeout=120,
                      what="SCALE-Sim import check")
    except SimulationError:
        return False
    return r.returncode == 0


def ensure_scalesim_venv(venv: Path | None = None) -> Path:
    """Create (once) the private venv with SCALE-Sim and a numpy it works with; return its python.

    Equivalent shell: python -m venv VENV && VENV/bin/pip install scalesim==3.0.0 'numpy==2.2.*'."""
    venv = venv or venv_path()
    py = _venv_python(venv)
    if scalesim_available(venv):
        return py
    venv.parent.mkdir(parents=True, exist_ok=True)
    try:
        tools.run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent, timeout=600, check=True,
                  what="python -m venv (SCALE-Sim)")
        tools.run([str(py), "-m", "pip", "install", "-q", f"scalesim=={SCALESIM_VERSION}", NUMPY_PIN],
                  cwd=venv.parent, timeout=1800, check=True, what="pip install scalesim")
    except SimulationError as exc:
        raise SimulationError(f"could not create the SCALE-Sim venv at {venv}: {exc}") from exc
    return py


def _layer_row(layer: Layer) -> list:
    """A topology row; a depthwise layer is SCALE-Sim's single-channel convolution of one channel (the
    caller multiplies the counts by the channels, as SCALE-Sim's per-channel expansion sums them)."""
    return [layer.name, *layer.single_group().dims]


def run_scalesim(design: NPUDesign, layers: Iterable[Layer], out_jsonl: str | Path | None = None,
                 timeout_s: float = 7200, nice: int = 10) -> list[dict]:
    """Simulate `layers` on `design` with SCALE-Sim; return one record per layer.

    Records are appended to `out_jsonl` as they finish (so long runs can be resumed)."""
    if design.dataflow not in ("os", "ws", "is"):
        raise ConfigError("dataflow", f"SCALE-Sim supports os/ws/is, not {design.dataflow!r}")
    if design.loop_order != "col_outer" or design.word_bytes != 1:
        raise ConfigError("design", "SCALE-Sim models only loop_order='col_outer' and word_bytes=1")
    for f in ("ifmap_kb", "filter_kb", "ofmap_kb"):
        if float(getattr(design, f)) != int(getattr(design, f)):
            raise ConfigError(f, "SCALE-Sim takes whole kilobytes")
    py = ensure_scalesim_venv()
    job = {**design_fields(design), "layers": [_layer_row(lay) for lay in layers]}
    with tempfile.TemporaryDirectory(prefix="archgym_scalesim_") as tmp:
        job_path = Path(tmp) / "job.json"
        job_path.write_text(json.dumps(job))
        out = Path(out_jsonl) if out_jsonl else Path(tmp) / "out.jsonl"
        proc = tools.run([str(py), str(_WORKER), str(job_path), str(out)], cwd=tmp, timeout=timeout_s,
                         nice=nice, what="SCALE-Sim")
        if proc.returncode != 0:
            raise SimulationError(f"SCALE-Sim failed: {proc.stderr[-2000:]}")
        return [json.loads(x) for x in out.read_text().splitlines() if x.strip()]


def design_fields(design: NPUDesign) -> dict:
    """The design as SCALE-Sim's job and a cached record name it (whole kilobytes as ints; a fractional
    size, which SCALE-Sim cannot take, stays as it is and so matches no record)."""
    kb = {f: int(v) if float(v).is_integer() else v
          for f, v in (("ifmap_kb", design.ifmap_kb), ("filter_kb", design.filter_kb), ("ofmap_kb", design.ofmap_kb))}
    return {"array_rows": design.rows, "array_cols": design.cols, "dataflow": design.dataflow, **kb,
            "bandwidth": design.dram_bw}


def cache_dir() -> Path:
    return Path(str(resources.files("archgym.simulators").joinpath("data", "npu", "scalesim_cache")))


_NOT_RESULTS = ("wall_s", "layer", "cache_file")  # a timing, a name SCALE-Sim never sees, where it was read


def record_key(rec: dict) -> tuple:
    """What a SCALE-Sim result depends on: the layer's dimensions (not its name) and the design."""
    return (tuple(rec["dims"]), rec["array_rows"], rec["array_cols"], rec["dataflow"], rec["ifmap_kb"],
            rec["filter_kb"], rec["ofmap_kb"], rec["bandwidth"])


def key_of(layer: Layer, design: NPUDesign) -> tuple:
    """The `record_key` a SCALE-Sim run of `layer` (one group) on `design` is cached under."""
    return record_key({"dims": list(layer.dims), **design_fields(design)})


def _cache_files(path: str | Path | None) -> list[Path]:
    p = Path(path) if path else cache_dir()
    return [p] if p.is_file() else sorted(p.glob("*.jsonl"))


def load_cache(path: str | Path | None = None, unique: bool = True) -> list[dict]:
    """Cached SCALE-Sim records (every *.jsonl file of the cache folder, or one file).

    Each record names the file it was read from (``cache_file``).  unique=True keeps one record per
    `record_key` (several runs, or layers of equal shape, may overlap; `duplicate_mismatches` checks that
    such duplicates agree)."""
    recs = [{**json.loads(line), "cache_file": f.name} for f in _cache_files(path)
            for line in f.read_text().splitlines() if line.strip()]
    if not unique:
        return recs
    first: dict[tuple, dict] = {}
    for r in recs:
        first.setdefault(record_key(r), r)
    return list(first.values())


def duplicate_mismatches(path: str | Path | None = None) -> tuple[int, list[tuple[dict, dict]]]:
    """Number of cached records that repeat an earlier simulation (same `record_key`), and the
    pairs whose results differ (timings aside).  SCALE-Sim is deterministic, so the list must be
    empty; it is what justifies sharing one simulation among layers of equal shape."""
    first: dict[tuple, dict] = {}
    repeats, bad = 0, []
    for r in load_cache(path, unique=False):
        k = record_key(r)
        if k in first:
            repeats += 1
            a, b = first[k], r
            if any(a[f] != b[f] for f in a if f not in _NOT_RESULTS):
                bad.append((a, b))
        else:
            first[k] = r
    return repeats, bad


def record_design(rec: dict) -> NPUDesign:
    """The NPUDesign a cached record was simulated with."""
    return NPUDesign(rows=rec["array_rows"], cols=rec["array_cols"], dataflow=rec["dataflow"],
                     ifmap_kb=rec["ifmap_kb"], filter_kb=rec["filter_kb"], ofmap_kb=rec["ofmap_kb"],
                     dram_bw=rec["bandwidth"])


def record_layer(rec: dict) -> Layer:
    return Layer(rec["layer"], *rec["dims"])


def load_scalesim_config(text: str, source: str, word_bytes: int = 1) -> NPUDesign:
    """Map a SCALE-Sim .cfg ([architecture_presets]) to a design: array shape, dataflow, SRAM sizes
    and the per-interface bandwidth (words/cycle; SCALE-Sim's USER interface bandwidth mode)."""
    cp = configparser.ConfigParser()
    try:
        cp.read_string(text, source=source)
        a = cp["architecture_presets"]
        return NPUDesign(rows=int(a["ArrayHeight"]), cols=int(a["ArrayWidth"]), dataflow=a["Dataflow"].strip(),
                         ifmap_kb=float(a["IfmapSramSzkB"]), filter_kb=float(a["FilterSramSzkB"]),
                         ofmap_kb=float(a["OfmapSramSzkB"]), dram_bw=int(a["Bandwidth"]), word_bytes=word_bytes)
    except (configparser.Error, KeyError, ValueError) as exc:
        raise ConfigError(source, f"not a SCALE-Sim architecture config: {exc}") from None
