"""Validate the analytical NPU model against SCALE-Sim 3.0.0 (cached results, re-runs in seconds).

For every cached SCALE-Sim record (ResNet-18 layers x array size x os/ws/is, a small synthetic suite,
and the held-out suite of random designs and layers, `heldout_plan`), compare:
compute cycles and SRAM reads/writes per operand (target: exact), DRAM reads/writes per operand
(target: MAE <= 0.1%, max <= 1%) and total cycles including stalls (target: MAE <= 0.5%, max <= 5%), and
the time per evaluation.

A record stands for every ResNet-18 layer of its shape (SCALE-Sim is deterministic and never sees
the layer's name; the cache's repeated simulations confirm it), so the 21 layers at 32x32 need 12
simulations.  Summaries are printed per array size and dataflow and per dataflow over all sizes.

Conventions: SCALE-Sim reports "Total Cycles" as the index of the last cycle, so its compute cycles
are total - stall + 1 and its total is compared with ours minus one.  Total cycles exclude the
initial buffer fill on both sides (SCALE-Sim's "Total Cycles", not "incl. prefetch").

Usage:
  python -m archgym.experiments.validate_npu                  # from the cache
  python -m archgym.experiments.validate_npu --live           # also time SCALE-Sim live on a few layers
  python -m archgym.experiments.validate_npu --json out.json  # write the summary
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict

import numpy as np
from tqdm import tqdm

from archgym.simulators.npu.model import NPUDesign, evaluate_layer
from archgym.simulators.npu.scalesim import backend as sb
from archgym.simulators.npu.workloads import Layer

EXACT = [("compute_cycles", None), ("sram_ifmap_reads", "sram_ifmap_reads"),
         ("sram_filter_reads", "sram_filter_reads"), ("sram_ofmap_writes", "sram_ofmap_writes")]
APPROX = [("dram_ifmap_reads", "dram_ifmap_reads"), ("dram_filter_reads", "dram_filter_reads"),
          ("dram_ofmap_writes", "dram_ofmap_writes"), ("cycles", "total_cycles")]


def scalesim_value(rec: dict, key: str | None, ours: str) -> float:
    if ours == "compute_cycles":
        return rec["total_cycles"] - rec["stall_cycles"] + 1
    return rec[key]


def model_value(m: dict, ours: str) -> float:
    return m["cycles"] - 1 if ours == "cycles" else m[ours]


def _resnet18_by_shape() -> dict[tuple, list[str]]:
    from archgym.simulators.npu.workloads import load_workload
    names: dict[tuple, list[str]] = defaultdict(list)
    for lay in load_workload("resnet18"):
        names[lay.dims].append(lay.name)
    return names


def _suite(rec: dict, resnet_shape: bool) -> str:
    if resnet_shape:
        return "resnet18"
    return "heldout" if rec.get("cache_file") == HELDOUT_FILE else "small"


def compare(records: list[dict], repeats: int = 3) -> dict:
    """Per-layer comparison rows plus per-group and overall summaries.

    A record of a ResNet-18 layer shape stands for every ResNet-18 layer of that shape (SCALE-Sim is
    deterministic and never sees the name; `sb.duplicate_mismatches` checks it on the cache)."""
    by_shape = _resnet18_by_shape()
    rows = []
    for rec in records:
        d, layer = sb.record_design(rec), sb.record_layer(rec)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            m = evaluate_layer(layer, d)
            best = min(best, time.perf_counter() - t0)
        resnet_names = by_shape.get(tuple(rec["dims"]), [])
        for name in resnet_names or [rec["layer"]]:
            row = {"layer": name, "simulated_as": rec["layer"], "array": f"{d.rows}x{d.cols}",
                   "dataflow": d.dataflow, "suite": _suite(rec, bool(resnet_names)),
                   "buffer_kb": rec["ifmap_kb"], "model_s": best, "scalesim_s": rec["wall_s"]}
            for ours, theirs in EXACT + APPROX:
                row[ours] = (model_value(m, ours), scalesim_value(rec, theirs, ours))
            rows.append(row)

    def summarize(sel: list[dict]) -> dict:
        s: dict = {"cases": len(sel), "simulations": len({(r["simulated_as"], r["array"], r["dataflow"],
                                                             r["buffer_kb"]) for r in sel})}
        for ours, _ in EXACT + APPROX:
            pairs = [r[ours] for r in sel]
            s[f"{ours}_exact_rate"] = sum(a == b for a, b in pairs) / len(pairs)
            errs = [abs(a - b) / b * 100 for a, b in pairs if b]
            s[f"{ours}_mae_pct"] = statistics.fmean(errs) if errs else 0.0
            s[f"{ours}_max_err_pct"] = max(errs) if errs else 0.0
        s["model_ms_mean"] = statistics.fmean(r["model_s"] for r in sel) * 1e3
        s["scalesim_s_mean"] = statistics.fmean(r["scalesim_s"] for r in sel)
        s["speedup_min"] = min(r["scalesim_s"] / r["model_s"] for r in sel)
        s["speedup_median"] = statistics.median(r["scalesim_s"] / r["model_s"] for r in sel)
        s["speedup_total"] = sum(r["scalesim_s"] for r in sel) / sum(r["model_s"] for r in sel)
        return s

    groups = defaultdict(list)
    for r in rows:
        if r["suite"] != "heldout":  # held-out designs are random: one group each would say little
            groups[(r["suite"], r["array"], r["dataflow"], f"{r['buffer_kb']}KB")].append(r)
        groups[(r["suite"], "all arrays", r["dataflow"], "")].append(r)
        groups[(r["suite"], "all arrays", "all dataflows", "")].append(r)
    return {"rows": rows, "groups": {" ".join(x for x in key if x): summarize(v)
                                     for key, v in sorted(groups.items())},
            "overall": summarize(rows) if rows else {}}


# Small synthetic suite: exercises partial folds, ceil-rounded outputs (stride 2), 1x1 and GEMM
# layers, non-square arrays and tiny buffers (which make SCALE-Sim's read window wrap).
SMALL_LAYERS = [("tiny", 5, 5, 3, 3, 4, 10, 1), ("fc", 1, 1, 1, 1, 256, 100, 1),
                ("s2", 15, 15, 3, 3, 8, 16, 2), ("pw", 14, 14, 1, 1, 32, 24, 1),
                ("gemm", 64, 96, 1, 96, 1, 40, 1), ("dw1", 12, 12, 3, 3, 1, 1, 1)]
SMALL_ARRAYS = [(8, 8), (4, 16), (16, 16)]
SMALL_BUFFERS_KB = [1, 64]
# ResNet-18: every layer shape at 32x32, except weight-stationary Conv5_1b (= Conv5_2a/2b): SCALE-Sim
# replays its 171M stall cycles of filter ring turns address by address and had done 20% of the
# layer after 85 CPU minutes (~7 h in all).  At 8x8 and 128x128 the shapes SCALE-Sim finishes in
# minutes (input-stationary Conv1/Conv2 at 128x128 ran > 30 min each and were left out).  Layers
# of equal shape are simulated once (see `compare`).
_ALL = None
_MID = ("FC", "Conv5_s", "Conv4_s", "Conv5_1a", "Conv4_1a", "Conv3_1a", "Conv4_1b", "Conv3_1b")
_WS32 = ("Conv1", "Conv2_1a", "Conv3_1a", "Conv3_1b", "Conv3_s", "Conv4_1a", "Conv4_1b", "Conv4_s", "Conv5_1a",
         "Conv5_s", "FC")
RESNET18_PLAN: list[tuple[int, int, str, tuple[str, ...] | None]] = [
    (32, 32, "os", _ALL), (32, 32, "ws", _WS32), (32, 32, "is", _ALL),
    *((8, 8, df, ("FC", "Conv3_s", "Conv4_s", "Conv5_s")) for df in ("os", "ws", "is")),
    (128, 128, "os", (*_MID, "Conv5_1b", "Conv2_1a", "Conv1")),
    (128, 128, "ws", (*_MID, "Conv2_1a", "Conv1")),
    (128, 128, "is", (*_MID, "Conv5_1b")),
]


HELDOUT_FILE = "heldout_suite.jsonl"
HELDOUT_DESIGNS = 60  # random designs of the held-out suite, two random layers each
HELDOUT_SEED = 2026
HELDOUT_KB = (1, 2, 3, 4, 6, 8, 12, 16, 32)
HELDOUT_BW = (1, 2, 3, 5, 7, 10, 16, 20, 40)


def heldout_plan(n_designs: int = HELDOUT_DESIGNS, seed: int = HELDOUT_SEED) -> list[tuple[NPUDesign, list[Layer]]]:
    """The held-out suite: random designs (non-square arrays of 2 to 32 PEs a side, each SRAM 1 to 32 KB
    on its own, every dataflow, bandwidths of the env's design space and odd ones) and random layer
    shapes (inputs 3 to 24, filters 1 to 5, strides 1 to 3, 1 to 48 channels and filters), none of them
    a shipped workload's or a shape the model was written against.  Deterministic in ``seed``; layers
    stay small (at most ~1.5 M MACs) so that SCALE-Sim runs each in seconds to minutes."""
    rng = np.random.default_rng(seed)
    plan = []
    for i in range(n_designs):
        d = NPUDesign(rows=int(rng.integers(2, 33)), cols=int(rng.integers(2, 33)),
                      dataflow=("os", "ws", "is")[i % 3],
                      ifmap_kb=int(rng.choice(HELDOUT_KB)), filter_kb=int(rng.choice(HELDOUT_KB)),
                      ofmap_kb=int(rng.choice(HELDOUT_KB)), dram_bw=int(rng.choice(HELDOUT_BW)))
        layers: list[Layer] = []
        while len(layers) < 2:
            h, w = (int(x) for x in rng.integers(3, 25, size=2))
            r, s = min(h, int(rng.integers(1, 6))), min(w, int(rng.integers(1, 6)))
            lay = Layer(f"h{i}_{len(layers)}", h, w, r, s, int(rng.integers(1, 49)), int(rng.integers(1, 49)),
                        int(rng.integers(1, 4)))
            if lay.ofmap_px * lay.window * lay.num_filters <= 1_500_000:
                layers.append(lay)
        plan.append((d, layers))
    return plan


def regenerate(which: str) -> None:
    """Re-run SCALE-Sim (slow) to rebuild cache files: 'small' (minutes, rewritten), 'heldout' (random
    designs and layers, see `heldout_plan`; resumes) or 'resnet18' (hours; resumes: shapes already in a
    file are not simulated again)."""
    from archgym.simulators.npu.workloads import load_workload
    cache = sb.cache_dir()
    if which == "heldout":
        out = cache / HELDOUT_FILE
        done = {sb.record_key(r) for r in sb.load_cache(out)} if out.exists() else set()
        for d, layers in tqdm(heldout_plan(), desc="SCALE-Sim held-out designs"):
            todo = [lay for lay in layers if sb.key_of(lay, d) not in done]
            if todo:
                sb.run_scalesim(d, todo, out)
        return
    if which == "small":
        out = cache / "small_suite.jsonl"
        out.unlink(missing_ok=True)
        layers = [Layer(*x) for x in SMALL_LAYERS]
        for (r, c) in SMALL_ARRAYS:
            for kb in SMALL_BUFFERS_KB:
                for df in ("os", "ws", "is"):
                    sb.run_scalesim(NPUDesign(rows=r, cols=c, dataflow=df, ifmap_kb=kb, filter_kb=kb,
                                              ofmap_kb=kb), layers, out)
        return
    for r, c, df, names in RESNET18_PLAN:
        out = cache / f"resnet18_{r}x{c}_{df}.jsonl"
        done = {tuple(x["dims"]) for x in sb.load_cache(out)} if out.exists() else set()
        todo: dict[tuple, Layer] = {}
        for lay in load_workload("resnet18"):
            if (names is None or lay.name in names) and lay.dims not in done:
                todo.setdefault(lay.dims, lay)
        if todo:
            print(f"SCALE-Sim {r}x{c} {df}: {len(todo)} layer shapes", flush=True)
            sb.run_scalesim(NPUDesign(rows=r, cols=c, dataflow=df), list(todo.values()), out)


LIVE_LAYERS = ("Conv1", "Conv4_s", "Conv5_s")  # the model's slowest ResNet-18 layer and two quick ones


def live_speed(names: tuple[str, ...] = LIVE_LAYERS) -> list[dict]:
    """Time SCALE-Sim and the model on the same ResNet-18 layers at 32x32, in this run."""
    from archgym.simulators.npu.workloads import load_workload
    layers = [lay for lay in load_workload("resnet18") if lay.name in names]
    out = []
    for df in ("os", "ws", "is"):
        d = NPUDesign(rows=32, cols=32, dataflow=df)
        for rec, layer in zip(sb.run_scalesim(d, layers), layers):
            t0 = time.perf_counter()
            evaluate_layer(layer, d)
            tm = time.perf_counter() - t0
            out.append({"layer": layer.name, "dataflow": df, "scalesim_s": rec["wall_s"], "model_s": tm,
                        "speedup": rec["wall_s"] / tm})
    return out


def _fmt(s: dict) -> str:
    parts = [f"n={s['cases']} layers ({s['simulations']} SCALE-Sim simulations)"]
    for ours, _ in EXACT:
        parts.append(f"{ours}: {100 * s[f'{ours}_exact_rate']:.0f}% exact")
    for ours, _ in APPROX:
        parts.append(f"{ours}: MAE {s[f'{ours}_mae_pct']:.2f}% (max {s[f'{ours}_max_err_pct']:.1f}%, "
                     f"{100 * s[f'{ours}_exact_rate']:.0f}% exact)")
    parts.append(f"model {s['model_ms_mean']:.2f} ms vs SCALE-Sim {s['scalesim_s_mean']:.1f} s "
                 f"(speedup min {s['speedup_min']:.0f}x, median {s['speedup_median']:.0f}x, "
                 f"total {s['speedup_total']:.0f}x)")
    return "\n    ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None, help="cache folder or .jsonl file (default: shipped cache)")
    ap.add_argument("--json", default=None, help="write the summary (and per-layer rows) here")
    ap.add_argument("--live", action="store_true", help="also time SCALE-Sim live (needs its venv)")
    ap.add_argument("--verbose", action="store_true", help="print every layer that is not exact")
    ap.add_argument("--regenerate", choices=("small", "heldout", "resnet18"), default=None,
                    help="re-run SCALE-Sim to rebuild a cache part first (small: minutes, resnet18: hours)")
    args = ap.parse_args(argv)
    if args.regenerate:
        regenerate(args.regenerate)
    recs = sb.load_cache(args.cache)
    if not recs:
        print("no cached SCALE-Sim results found")
        return 1
    res = compare(recs)
    for g, s in res["groups"].items():
        print(f"[{g}]\n    {_fmt(s)}")
    print(f"[overall]\n    {_fmt(res['overall'])}")
    if args.verbose:
        for r in res["rows"]:
            bad = {k: v for k, v in r.items() if isinstance(v, tuple) and v[0] != v[1]}
            if bad:
                print(r["array"], r["dataflow"], r["layer"],
                      {k: f"{a:.0f} vs {b:.0f} ({(a - b) / b * 100:+.2f}%)" for k, (a, b) in bad.items()})
    if args.live:
        res["live"] = live_speed()
        for x in res["live"]:
            print(f"live {x['dataflow']} {x['layer']}: SCALE-Sim {x['scalesim_s']:.2f} s, "
                  f"model {x['model_s'] * 1e3:.2f} ms, speedup {x['speedup']:.0f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
