"""Speed of the analytical NPU model: time per layer evaluation over random designs of the env's space.

Designs are drawn from ``model.DESIGN_SPACE`` (every dataflow, loop order, array shape, SRAM size and
bandwidth the env offers) and evaluated on every layer of a shipped workload, one layer at a time and
without the env's per-layer memo, so each figure is a fresh evaluation.  Prints the mean, median, 99th
percentile and worst time per layer, layer evaluations per second, and the worst cases.

    python -m archgym.experiments.bench_npu [--designs 40] [--workload resnet18] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from tqdm import tqdm

from archgym.simulators.npu.model import DESIGN_SPACE, NPUDesign, evaluate_layer
from archgym.simulators.npu.workloads import load_workload


def random_designs(n: int, seed: int) -> list[NPUDesign]:
    rng = np.random.default_rng(seed)
    return [NPUDesign(**{k: v[int(rng.integers(len(v)))] for k, v in DESIGN_SPACE.items()}) for _ in range(n)]


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", type=int, default=40)
    ap.add_argument("--workload", default="resnet18")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    layers = load_workload(args.workload)
    rows = []
    for d in tqdm(random_designs(args.designs, args.seed), desc="designs"):
        for lay in layers:
            t0 = time.perf_counter()
            evaluate_layer(lay, d)
            rows.append({"seconds": time.perf_counter() - t0, "layer": lay.name, **d.to_dict()})
    df = pd.DataFrame(rows)
    s = df["seconds"]
    print(f"{len(df)} layer evaluations ({args.designs} designs x {len(layers)} {args.workload} layers): "
          f"mean {s.mean() * 1e3:.1f} ms, median {s.median() * 1e3:.2f} ms, p99 {s.quantile(0.99) * 1e3:.0f} ms, "
          f"worst {s.max() * 1e3:.0f} ms; {len(df) / s.sum():.0f} layer evaluations/s; "
          f"{(s < 0.010).mean():.0%} under 10 ms")
    print(df.groupby("dataflow")["seconds"].agg(["mean", "median", "max"]).mul(1e3).round(2)
          .rename(columns=lambda c: f"{c} ms").to_string())
    print("slowest:\n" + df.nlargest(5, "seconds").to_string(index=False))
    return df


if __name__ == "__main__":
    main()
