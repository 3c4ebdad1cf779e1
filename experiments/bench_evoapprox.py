"""archgym's approximate 8x8 multipliers against EvoApproxLib's published circuits.

EvoApproxLib (Mrazek et al., DATE 2017) is the reference library of evolved approximate multipliers.  This
script puts archgym's library (`simulators/approx/library.py`: truncated, broken-array, Kulkarni, Mitchell,
DRUM, approximate 4:2) on EvoApproxLib's axes:

(a) Always, from the figures the library publishes (`simulators/approx/evoapprox.py: published`): each
    archgym circuit's exhaustive error in EvoApproxLib's definitions (MAE%, WCE%, EP%, MRE%, MSE) and its
    unit-gate area relative to archgym's exact multiplier, next to the cheapest EvoApproxLib circuit whose
    MAE% is no larger (its PDK45 power and area relative to the library's exact mul8u_1JFF).  These two
    ratios come from different cost models (unit gates vs a PDK45 synthesis), so (a) reads as a
    first comparison only.
(b) With ``--evoapprox DIR`` (a checkout of github.com/ehw-fit/evoapproxlib; no circuit ships with
    archgym): every 8x8 unsigned circuit of the library is imported (`evoapprox.import_verilog`),
    simulated exhaustively and costed with archgym's own unit-gate model.  It checks that archgym's
    error metrics reproduce every published figure, reports the Spearman correlation of the unit-gate
    area with the published PDK45 area and power, and ranks both libraries on one axis: which circuits
    are on the joint (MAE%, unit-gate area) Pareto front.
(c) With ``--synth`` as well: both libraries synthesized by archgym's ground-truth flow (Yosys + ABC onto
    osu018, OpenSTA), every circuit mapped at one delay target, 1.25x the unconstrained delay of archgym's
    exact multiplier (all circuits meet the same clock, as a designer would constrain them); the joint
    front in synthesized area, and the Spearman correlation of osu018 area with PDK45 area.

Usage: ``python -m archgym.experiments.bench_evoapprox [--evoapprox DIR [--synth]] [--plot front.png]``
(a) and (b) take seconds; (c) about a minute on 2 cores (cached).
"""

from __future__ import annotations

import argparse
import glob
import os
import time

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from archgym.metrics import pareto_mask
from archgym.simulators.approx import evoapprox as ev
from archgym.simulators.approx import library as am

N = 8
ERRORS = ("mae_pct", "wce_pct", "ep_pct", "mre_pct", "mse")


def archgym_circuits() -> pd.DataFrame:
    """archgym's catalogue in EvoApproxLib's error metrics, with unit-gate area relative to exact."""
    exact_area = am.hardware_cost(am.get_config("exact")).area
    rows = []
    for name, cfg in am.catalogue(N).items():
        m = ev.evoapprox_metrics(am.product_table(cfg))
        area = am.hardware_cost(cfg).area
        rows.append({"library": "archgym", "name": name, **{k: m[k] for k in ERRORS},
                     "unit_area": area, "unit_area_ratio": area / exact_area})
    return pd.DataFrame(rows)


def published_circuits() -> pd.DataFrame:
    pub = ev.published()
    ref = pub[ev.EXACT].figures
    return pd.DataFrame([{"library": "EvoApproxLib", "name": c.name, **{k: c.figures[k] for k in ERRORS},
                          "power_ratio": c.figures["power_mw"] / ref["power_mw"],
                          "pdk45_area_ratio": c.figures["area_um2"] / ref["area_um2"]} for c in pub.values()])


def cheapest_at_most(pub: pd.DataFrame, mae_pct: float, column: str) -> pd.Series:
    """The EvoApproxLib circuit of lowest ``column`` whose MAE% is at most ``mae_pct``."""
    ok = pub[pub["mae_pct"] <= mae_pct + 1e-12]
    return ok.loc[ok[column].idxmin()]


def pareto_front(df: pd.DataFrame, cost: str) -> pd.Series:
    """Whether each row is on the (MAE%, cost) Pareto front of the whole frame (both minimized)."""
    return pd.Series(pareto_mask(df[["mae_pct", cost]].to_numpy()), index=df.index)


def part_a(ours: pd.DataFrame, pub: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, r in ours.iterrows():
        best = cheapest_at_most(pub, r["mae_pct"], "power_ratio")
        rows.append({"archgym": r["name"], "MAE%": r["mae_pct"], "WCE%": r["wce_pct"], "EP%": r["ep_pct"],
                     "MRE%": r["mre_pct"], "unit-gate area ratio": r["unit_area_ratio"],
                     "EvoApproxLib at <= MAE%": best["name"], "its power ratio": best["power_ratio"],
                     "its area ratio": best["pdk45_area_ratio"]})
    return pd.DataFrame(rows)


def import_library(root: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every 8x8 unsigned multiplier of an EvoApproxLib checkout, imported and measured by archgym."""
    files = {os.path.basename(f)[:-2]: f for f in glob.glob(os.path.join(root, "multiplers", "8x8_unsigned", "*", "*.v"))
             if not f.endswith("_pdk45.v")}
    if not files:
        raise SystemExit(f"no multiplers/8x8_unsigned/*/*.v under {root}: pass a checkout of ehw-fit/evoapproxlib")
    pub = ev.published()
    v = np.arange(1 << N, dtype=np.int64)
    a, b = np.meshgrid(v, v, indexing="ij")
    rows, texts = [], {}
    for name in sorted(files):
        text = open(files[name]).read()
        texts[name] = text
        net = ev.import_verilog(text, N)
        m = ev.evoapprox_metrics(net.evaluate(a, b), N)
        figures = pub[name].figures if name in pub else {}
        ok = ev.matches_published(m, pub[name]) if name in pub else {}
        rows.append({"library": "EvoApproxLib", "name": name, **{k: m[k] for k in ERRORS}, "unit_area": net.area,
                     "figures_checked": len(ok), "figures_matched": sum(ok.values()),
                     "pdk45_area": figures.get("area_um2", np.nan), "pdk45_power": figures.get("power_mw", np.nan)})
    return pd.DataFrame(rows), texts


def synthesize_all(ours: pd.DataFrame, theirs: pd.DataFrame, texts: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """osu018 area of every circuit at one delay target (1.25x the exact multiplier's fastest mapping)."""
    from archgym.rtl.approx.verilog import module_name, to_verilog
    from archgym.simulators.eda.synthesis import synthesize, synthesize_many

    exact = am.get_config("exact")
    fastest = synthesize(to_verilog(exact), module_name(exact))
    target = 1.25 * fastest.delay_ns * 1000.0
    items = [{"verilog": to_verilog(am.get_config(n)), "top": module_name(am.get_config(n)), "delay_target_ps": target}
             for n in ours["name"]]
    items += [{"verilog": texts[n], "top": n, "delay_target_ps": target} for n in theirs["name"]]
    results = synthesize_many(items)
    for item, r in zip(items, results, strict=True):
        if isinstance(r, Exception):
            print(f"{item['top']}: {r}")
    areas = [r.area if not isinstance(r, Exception) else np.nan for r in results]
    k = len(ours)
    return pd.Series(areas[:k], index=ours.index), pd.Series(areas[k:], index=theirs.index)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evoapprox", metavar="DIR", help="a checkout of github.com/ehw-fit/evoapproxlib")
    ap.add_argument("--synth", action="store_true", help="also synthesize both libraries (needs --evoapprox)")
    ap.add_argument("--plot", metavar="PNG", help="write the (MAE%%, relative cost) plane of both libraries")
    args = ap.parse_args(argv)
    if args.synth and not args.evoapprox:
        ap.error("--synth compares both libraries synthesized alike: it needs --evoapprox DIR")
    pd.set_option("display.width", 200)
    t0 = time.time()
    ours, pub = archgym_circuits(), published_circuits()
    print("(a) archgym's circuits in EvoApproxLib's metrics; the cheapest published circuit at no larger MAE%")
    a = part_a(ours, pub)
    print(a.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    beaten = (a["its power ratio"] < a["unit-gate area ratio"]).sum()
    print(f"EvoApproxLib has a circuit of lower relative cost at no larger MAE% for {beaten} of {len(a)}"
          " archgym circuits (power ratio vs unit-gate area ratio)")
    plane = [(ours, "unit_area_ratio", "archgym (unit-gate area / exact)"),
             (pub, "power_ratio", "EvoApproxLib (PDK45 power / mul8u_1JFF)")]
    if args.evoapprox:
        theirs, texts = import_library(args.evoapprox)
        print(f"\n(b) {len(theirs)} EvoApproxLib circuits imported and measured by archgym")
        print(f"published figures reproduced: {int(theirs['figures_matched'].sum())} of "
              f"{int(theirs['figures_checked'].sum())} (MAE%, MAE, WCE%, WCE, WCRE%, EP%, MRE%, MSE of every circuit)")
        live = theirs[theirs["unit_area"] > 0]
        rho_area = spearmanr(live["unit_area"], live["pdk45_area"]).statistic
        rho_power = spearmanr(live["unit_area"], live["pdk45_power"]).statistic
        print(f"Spearman, archgym unit-gate area vs PDK45 area: {rho_area:.3f}, vs PDK45 power: {rho_power:.3f}"
              f" (n = {len(live)})")
        both = pd.concat([ours, theirs], ignore_index=True)
        exact_area = float(both.loc[both["name"] == "exact", "unit_area"].iloc[0])
        both["unit_area_ratio"] = both["unit_area"] / exact_area
        both["front"] = pareto_front(both, "unit_area")
        print("joint (MAE%, unit-gate area) Pareto front, both libraries costed alike:")
        front = both[both["front"]].sort_values("mae_pct")
        print(front[["library", "name", "mae_pct", "wce_pct", "unit_area", "unit_area_ratio"]].to_string(
            index=False, float_format=lambda x: f"{x:.4g}"))
        counts = both.groupby("library")["front"].agg(["sum", "size"])
        print("on the front: " + ", ".join(f"{lib} {int(r['sum'])} of {int(r['size'])}" for lib, r in counts.iterrows()))
        plane = [(both[both["library"] == "archgym"], "unit_area_ratio", "archgym (unit-gate area / exact)"),
                 (both[both["library"] == "EvoApproxLib"], "unit_area_ratio", "EvoApproxLib (unit-gate area / exact)")]
        if args.synth:
            ours_area, theirs_area = synthesize_all(ours, theirs, texts)
            both["osu018_area"] = pd.concat([ours_area, theirs_area], ignore_index=True)
            ok = both["osu018_area"].notna()
            if not ok.all():
                print("not synthesized (a tool error): " + ", ".join(both.loc[~ok, "name"]))
            ref = float(both.loc[both["name"] == "exact", "osu018_area"].iloc[0])
            both["osu018_area_ratio"] = both["osu018_area"] / ref
            synth_live = both[(both["library"] == "EvoApproxLib") & ok & (both["unit_area"] > 0)]
            pdk = theirs.set_index("name").loc[synth_live["name"], "pdk45_area"].to_numpy()
            print(f"\n(c) synthesized (osu018, one delay target): {int(ok.sum())} of {len(both)} circuits; Spearman "
                  f"osu018 area vs PDK45 area {spearmanr(synth_live['osu018_area'], pdk).statistic:.3f}")
            both.loc[ok, "synth_front"] = pareto_front(both[ok], "osu018_area")
            front = both[both["synth_front"] == True].sort_values("mae_pct")  # noqa: E712 (NaN rows are not on it)
            print(front[["library", "name", "mae_pct", "osu018_area", "osu018_area_ratio"]].to_string(
                index=False, float_format=lambda x: f"{x:.4g}"))
            plane = [(both[(both["library"] == lib) & ok], "osu018_area_ratio", f"{lib} (osu018 area / archgym exact)")
                     for lib in ("archgym", "EvoApproxLib")]
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for (df, col, label), marker in zip(plane, ("o", "x"), strict=True):
            live = df[df["mae_pct"] > 0]
            ax.scatter(live["mae_pct"], live[col], marker=marker, label=label)
        ax.set_xscale("log")
        ax.set_xlabel("MAE (% of 2^16)")
        ax.set_ylabel("cost relative to the exact multiplier")
        ax.legend()
        ax.set_title("8x8 unsigned approximate multipliers")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")
    print(f"\n{time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
