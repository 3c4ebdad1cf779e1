"""Worker script executed *inside* SCALE-Sim's own virtual environment (see backend.py).

Why a separate file: SCALE-Sim 3.0.0 needs numpy 2.2 while archgym runs on numpy 2.4, so SCALE-Sim
runs in its own interpreter.  This script imports only the standard library and `scalesim`; it
simulates one layer at a time (so partial progress survives an interrupted run), with traces off,
in a temporary directory, and appends one JSON line per layer to the output file.

Usage (inside the venv):  python scalesim_worker.py JOB.json OUT.jsonl
JOB.json = {"array_rows", "array_cols", "dataflow", "ifmap_kb", "filter_kb", "ofmap_kb",
            "bandwidth", "layers": [[name, ifmap_h, ifmap_w, filt_h, filt_w, channels, num_filt, stride], ...]}
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time

CONFIG_TEMPLATE = """[general]
run_name = run

[architecture_presets]
ArrayHeight:    {array_rows}
ArrayWidth:     {array_cols}
IfmapSramSzkB:   {ifmap_kb}
FilterSramSzkB:  {filter_kb}
OfmapSramSzkB:   {ofmap_kb}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : {bandwidth}
Dataflow : {dataflow}
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: {bandwidth}
IfmapSRAMBankNum: {banks}
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: {bandwidth}
FilterSRAMBankNum: {banks}
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: USER
UseRamulatorTrace: False
"""

TOPO_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
# The layout file is parsed even when custom layouts are off; one neutral row per layer suffices.
LAYOUT_HEADER = ("Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, Filter Height Intraline "
                 "Factor, Filter Width Intraline Factor, Channel Intraline Factor, Num Filter Intraline Factor, "
                 "IFMAP Height Intraline Order, IFMAP Width Intraline Order, Channel Intraline Order, IFMAP Height "
                 "Interline Order, IFMAP Width Interline Order, Channel Interline Order, Num Filter Intraline Order, "
                 "Channel Intraline Order, Filter Height Intraline Order, Filter Width Intraline Order, Num Filter "
                 "Interline Order, Channel Interline Order, Filter Height Interline Order, Filter Width Interline "
                 "Order,\n")


def sram_banks(bandwidth: int) -> int:
    """SCALE-Sim asserts that the SRAM bank bandwidth divides by the bank count: the largest divisor of
    the bandwidth up to 10 (10, the count of SCALE-Sim's sample configs, for every multiple of 10)."""
    return max(d for d in range(1, 11) if int(bandwidth) % d == 0)


def config_text(job: dict) -> str:
    """The SCALE-Sim .cfg of a job (the design's array, SRAMs, dataflow and bandwidth)."""
    return CONFIG_TEMPLATE.format(**job, banks=sram_banks(job["bandwidth"]))


def _read_report(path: str) -> list[str]:
    with open(path) as f:
        rows = [r.strip() for r in f if r.strip()]
    return [x.strip() for x in rows[1].split(",") if x.strip() != ""]


def run_layer(job: dict, layer: list) -> dict:
    """Simulate one layer with SCALE-Sim and return its report fields."""
    from scalesim.scale_sim import scalesim  # imported here: only inside the venv

    with tempfile.TemporaryDirectory(prefix="scalesim_") as tmp:
        cfg = os.path.join(tmp, "run.cfg")
        topo = os.path.join(tmp, "topo.csv")
        lay = os.path.join(tmp, "layout.csv")
        with open(cfg, "w") as f:
            f.write(config_text(job))
        with open(topo, "w") as f:
            f.write(TOPO_HEADER + ",".join(str(x) for x in layer) + ",\n")
        with open(lay, "w") as f:
            f.write(LAYOUT_HEADER + f"{layer[0]},1,1,1,1,1,1,0,1,2,0,1,2,0,1,2,3,0,1,2,3,\n")
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=lay)
            sim.run_scale(top_path=os.path.join(tmp, "out"))
        wall = time.perf_counter() - t0
        comp = _read_report(os.path.join(tmp, "out", "run", "COMPUTE_REPORT.csv"))
        det = _read_report(os.path.join(tmp, "out", "run", "DETAILED_ACCESS_REPORT.csv"))
    return {
        "layer": layer[0],
        "dims": [int(x) for x in layer[1:]],
        "array_rows": job["array_rows"], "array_cols": job["array_cols"], "dataflow": job["dataflow"],
        "ifmap_kb": job["ifmap_kb"], "filter_kb": job["filter_kb"], "ofmap_kb": job["ofmap_kb"],
        "bandwidth": job["bandwidth"],
        "total_cycles_incl_prefetch": int(float(comp[1])), "total_cycles": int(float(comp[2])),
        "stall_cycles": int(float(comp[3])), "overall_util_pct": float(comp[4]),
        "mapping_eff_pct": float(comp[5]), "compute_util_pct": float(comp[6]),
        "sram_ifmap_reads": int(float(det[3])), "sram_filter_reads": int(float(det[6])),
        "sram_ofmap_writes": int(float(det[9])),
        "dram_ifmap_reads": int(float(det[12])), "dram_filter_reads": int(float(det[15])),
        "dram_ofmap_writes": int(float(det[18])),
        "dram_ifmap_start": int(float(det[10])), "dram_ifmap_stop": int(float(det[11])),
        "dram_ofmap_stop": int(float(det[17])),
        "wall_s": wall,
    }


def main(argv: list[str]) -> int:
    job_path, out_path = argv[1], argv[2]
    with open(job_path) as f:
        job = json.load(f)
    for layer in job["layers"]:
        rec = run_layer(job, layer)
        with open(out_path, "a") as f:
            f.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
