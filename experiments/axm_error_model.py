"""Predicted error vs measured DNN fidelity across the whole approximate-multiplier library.

For every 8-bit configuration and every placement (one layer approximate, or all three layers at
once), on both folds of a 2-fold cross-validation of the digits int8 MLP (so all 1,797 samples are
test samples once), this compares

* predictors (no forward pass with the approximate tables):
  ``relative_iid``  sum over layers of M N (K sigma^2 + K^2 mu^2) / ||C||^2 (iid closed form),
  ``relative_w``    the weight-conditioned closed form, same normalization,
  ``logit_mse`` / ``kl`` / ``drop``  the first-order propagation of the per-column error moments
  through the exact network's Jacobian (`dnn_error.predict_fidelity`);
* measures (one forward pass, vs the exact int8 network on the same inputs):
  accuracy drop, mean KL(p_exact || p_approx), cross-entropy increase, logit-margin drop, logit MSE.

Spearman rank correlations are computed over all 40 configurations (none dropped), per placement
and pooled over the four placements.  Also prints the library table and the closed-form check
(predicted / measured ||dC||^2 per layer).  Usage:
``python -m archgym.experiments.axm_error_model [--out results.json]``  (about 1-2 minutes).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy.stats import spearmanr

from archgym.simulators.approx import dnn_error as de
from archgym.simulators.approx import library as am

MEASURES = ("accuracy_drop", "kl", "ce_increase", "margin_drop", "logit_mse")
PREDICTORS = ("relative_iid", "relative_w", "logit_mse", "kl", "drop")
#: the predictor each measure is naturally compared with
PAIRS = {"accuracy_drop": "drop", "kl": "kl", "ce_increase": "kl", "margin_drop": "logit_mse",
         "logit_mse": "logit_mse"}


def _placements(n_layers: int) -> dict[str, list[int]]:
    return {f"layer{i}": [i] for i in range(n_layers)} | {"all": list(range(n_layers))}


def _point(name: str, layers: list[int], n_layers: int) -> dict[str, float]:
    """Predictors and measures of one placement, averaged over the two folds."""
    asg = [name if i in layers else "exact" for i in range(n_layers)]
    acc: dict[str, list[float]] = {}
    for fold in de.FOLDS:
        pred = de.predict_fidelity(asg, fold)
        meas = de.measure_fidelity(asg, fold)
        net = de.quantized_mlp(fold)
        iid = 0.0
        for i in layers:
            cfg = am.get_config(name)
            a, w = de.network_sensitivity(fold).inputs[i], net.weights[i]
            st = am.signed_error_metrics(cfg, *de.operand_histograms(a, w))
            exact = (a @ w).astype(np.float64)
            iid += de.predicted_distortion(st.mean, st.var, a.shape[0], a.shape[1], w.shape[1]) / (exact**2).sum()
        vals = {"pred_relative_iid": iid, "pred_relative_w": pred.relative_distortion,
                "pred_logit_mse": pred.logit_mse, "pred_kl": pred.kl, "pred_drop": pred.accuracy_drop,
                **{f"meas_{m}": getattr(meas, m) for m in MEASURES}}
        for k, v in vals.items():
            acc.setdefault(k, []).append(float(v))
    return {k: float(np.mean(v)) for k, v in acc.items()}


def _spearman(points: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for m in MEASURES:
        y = [p[f"meas_{m}"] for p in points]
        out[m] = {pr: float(spearmanr([p[f"pred_{pr}"] for p in points], y).statistic) for pr in PREDICTORS}
    return out


def run() -> dict:
    start = time.perf_counter()
    cat = am.catalogue(8)
    n_layers = de.quantized_mlp(0).n_layers
    placements = _placements(n_layers)
    rows, check = [], []
    for name, cfg in cat.items():
        uni = am.error_metrics(cfg)
        cost = am.hardware_cost(cfg)
        row: dict = {"name": name, "uniform": uni.__dict__, "area": cost.area, "delay": cost.delay,
                     "energy_uniform": cost.energy}
        for pl, layers in placements.items():
            row[pl] = _point(name, layers, n_layers)
        if name != "exact":  # closed-form GEMM check, fold 0, one layer at a time
            s = de.score_assignment([name] * n_layers)
            for i, r in enumerate(s.layers):
                row[f"layer{i}"] |= {"mu": r.mu, "var": r.var}
                check.append((f"layer{i}", name, r.predicted_iid, r.predicted_weighted, r.measured))
        rows.append(row)
    spearman = {pl: _spearman([r[pl] for r in rows]) for pl in placements}
    spearman["pooled"] = _spearman([r[pl] for r in rows for pl in placements])
    ratio_iid = np.array([c[2] / c[4] for c in check if c[4] > 0])
    ratio_w = np.array([c[3] / c[4] for c in check if c[4] > 0])
    ties = {pl: int(sum(abs(r[pl]["meas_accuracy_drop"]) < 0.6 / 899 for r in rows)) for pl in placements}
    return {"rows": rows, "spearman": spearman, "check": check,
            "accuracy_drop_below_one_sample": ties,
            "test_samples": int(sum(len(de.network_sensitivity(f).y) for f in de.FOLDS)),
            "closed_form": {"iid_ratio_median": float(np.median(ratio_iid)),
                            "iid_ratio_p10_p90": [float(np.quantile(ratio_iid, q)) for q in (0.1, 0.9)],
                            "weighted_ratio_median": float(np.median(ratio_w)),
                            "weighted_ratio_p10_p90": [float(np.quantile(ratio_w, q)) for q in (0.1, 0.9)]},
            "lmul_vs_fp8": am.lmul_vs_fp8(),
            "wall_time_s": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write all results as JSON here")
    args = ap.parse_args(argv)
    res = run()
    print(f"{'config':12s} {'MAE':>8s} {'MRE':>7s} {'area':>5s} {'predKL_L0':>9s} {'KL_L0':>9s} {'drop_L0':>7s} "
          f"{'predKL_all':>10s} {'KL_all':>9s} {'pdrop_all':>9s} {'drop_all':>8s}")
    for r in res["rows"]:
        u, l0, al = r["uniform"], r["layer0"], r["all"]
        print(f"{r['name']:12s} {u['mae']:8.1f} {u['mre']:7.4f} {r['area']:5.0f} {l0['pred_kl']:9.2e} "
              f"{l0['meas_kl']:9.2e} {l0['meas_accuracy_drop']:7.4f} {al['pred_kl']:10.2e} {al['meas_kl']:9.2e} "
              f"{al['pred_drop']:9.4f} {al['meas_accuracy_drop']:8.4f}")
    print("closed form / measured ||dC||^2:", json.dumps(res["closed_form"]))
    print(f"test samples (2 folds): {res['test_samples']}; configs whose accuracy drop is < 1 sample:",
          json.dumps(res["accuracy_drop_below_one_sample"]))
    print("Spearman(predictor, measure) over all 40 configurations:")
    print(f"{'placement':10s} {'measure':14s} " + " ".join(f"{p:>12s}" for p in PREDICTORS))
    for pl, table in res["spearman"].items():
        for m, cs in table.items():
            print(f"{pl:10s} {m:14s} " + " ".join(f"{cs[p]:12.3f}" for p in PREDICTORS))
    print("L-Mul vs fp8 (mean relative error):", json.dumps({k: round(v, 4) for k, v in res["lmul_vs_fp8"].items()}))
    print(f"wall time {res['wall_time_s']:.1f} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
