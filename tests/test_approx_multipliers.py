"""Approximate multiplier library: exactness, closed forms, monotonicity, RTL equivalence, GEMM distortion."""

import itertools

import numpy as np
import pytest

from archgym.errors import ConfigError
from archgym.simulators.approx import dnn_error as de
from archgym.simulators.approx import library as am

V = np.arange(256)


def test_exact_and_k0_are_exact():
    for cfg in (am.ApproxMultiplierSpec("exact"), am.ApproxMultiplierSpec("trunc", k=0), am.ApproxMultiplierSpec("c42", k=0),
                am.ApproxMultiplierSpec("kul", k=0), am.ApproxMultiplierSpec("drum", k=8)):
        m = am.error_metrics(cfg)
        assert m.mae == 0 and m.ep == 0 and m.wce == 0, cfg


def test_dadda_counts_match_anchor():
    # anchors.md: 8-bit Dadda tree 35 FA / 7 HA; our CPA adds a 14-bit ripple (13 FA + 1 HA)
    c = am.build_netlist(am.ApproxMultiplierSpec("exact")).counts
    assert (c["FA"], c["HA"], c["AND2"]) == (35 + 13, 7 + 1, 64)


@pytest.mark.parametrize("name", [n for n in am.catalogue() if not n.startswith("c42")])
def test_netlist_matches_arithmetic_reference(name):
    cfg = am.get_config(name)
    assert np.array_equal(am.product_table(cfg), am.reference_multiply(cfg, V[:, None], V[None, :]))


@pytest.mark.parametrize("family,comp", [("trunc", False), ("trunc", True), ("c42", False), ("kul", False)])
def test_error_grows_with_k(family, comp):
    ks = range(0, 8) if family == "kul" else range(0, 13)
    mae = [am.error_metrics(am.ApproxMultiplierSpec(family, k=k, compensated=comp and k > 0)).mae for k in ks]
    assert all(b >= a for a, b in itertools.pairwise(mae)) and mae[-1] > 0


def test_mitchell_max_relative_error_is_one_ninth():
    t = am.product_table(am.ApproxMultiplierSpec("mitchell", k=7)).astype(float)
    ex = (V[:, None] * V[None, :]).astype(float)
    nz = ex > 0
    rel = (ex - t)[nz] / ex[nz]
    assert rel.min() >= 0  # Mitchell never overestimates
    assert rel.max() == pytest.approx(1 / 9, abs=1e-12)


def test_drum_is_nearly_unbiased():
    # DRUM's LSB forcing makes the operand approximation unbiased (Hashemi et al. 2015): the signed
    # operand error averages out, unlike plain truncation of the same bits
    for k in (4, 5, 6):
        x = V[V >= 1 << k]
        ax = am._drum_operand(x, k)
        err = ax - x  # forced LSB = midpoint of the dropped range, up to the half-unit integer grid
        assert err.mean() == pytest.approx(0.5)  # vs plain truncation: -(2^s - 1)/2 on average


def test_kulkarni_block_error_only_for_3x3():
    cfg = am.ApproxMultiplierSpec("kul", n=2, k=1)
    t = am.product_table(cfg)
    ex = np.arange(4)[:, None] * np.arange(4)[None, :]
    assert t[3, 3] == 7 and np.array_equal(np.delete((t - ex).ravel(), 15), np.zeros(15))


def test_bad_config_raises_config_error():
    with pytest.raises(ConfigError, match="k"):
        am.ApproxMultiplierSpec("drum", k=1)
    with pytest.raises(ConfigError, match="family"):
        am.ApproxMultiplierSpec("booth")
    with pytest.raises(ConfigError, match="multiplier"):
        am.get_config("nope")
    with pytest.raises(ConfigError, match="a"):
        am.multiply(am.ApproxMultiplierSpec("exact"), np.array([256]), np.array([1]))


def test_cost_decreases_with_truncation_and_energy_follows_activity():
    areas = [am.hardware_cost(am.ApproxMultiplierSpec("trunc", k=k)).area for k in range(0, 14, 2)]
    assert all(b < a for a, b in itertools.pairwise(areas))
    c = am.get_config("drum4")
    assert am.hardware_cost(c, 0.25).energy == pytest.approx(0.5 * am.hardware_cost(c, 0.5).energy)
    assert am.operand_activity() == pytest.approx(0.5)


def test_signed_table_is_sign_magnitude():
    cfg = am.get_config("mitchell5")
    st = am.signed_product_table(cfg)
    u = am.product_table(cfg)
    assert st[200, 128 - 77] == -u[200, 77] and st[200, 128 + 77] == u[200, 77] and st[9, 128] == 0


@pytest.mark.parametrize("name", ["truncc6", "drum4"])
def test_closed_form_gemm_distortion_vs_monte_carlo(name):
    cfg = am.get_config(name)
    rng = np.random.default_rng(0)
    m, k, n = 64, 48, 32
    table = am.signed_product_table(cfg)
    st = am.signed_error_metrics(cfg, np.full(256, 1 / 256), np.full(256, 1 / 256))
    meas = []
    for _ in range(30):  # fresh iid operands for each trial
        a = rng.integers(0, 256, (m, k))
        w = rng.integers(-128, 128, (k, n))
        meas.append(float(((de.gemm_with_table(a, w, table) - a @ w).astype(float) ** 2).sum()))
    pred = de.predicted_distortion(st.mean, st.var, m, k, n)
    assert np.mean(meas) == pytest.approx(pred, rel=0.1)


def test_lmul_findings():
    r = am.lmul_vs_fp8()
    assert r["lmul_m4"] / r["fp8_e4m3_real"] == pytest.approx(2.3, abs=0.3)  # about twice e4m3
    assert r["lmul_m3"] / r["fp8_e5m2_real"] == pytest.approx(1.17, abs=0.1)  # close to e5m2


def test_linearized_fidelity_matches_measurement_at_the_last_layer():
    # the logits are linear in the last layer's accumulator, so the propagated prediction of the
    # logit MSE is exact there up to the iid-activation assumption
    for name in ("drum4", "trunc8", "bam_h2v8"):
        asg = ["exact", "exact", name]
        pred, meas = de.predict_fidelity(asg), de.measure_fidelity(asg)
        assert 0.7 < meas.logit_mse / pred.logit_mse < 1.5, name
    zero = de.predict_fidelity(["exact"] * 3)
    assert zero.kl == zero.logit_mse == zero.accuracy_drop == 0.0
    assert de.measure_fidelity(["exact"] * 3).kl == 0.0


def test_predicted_kl_ranks_the_measured_kl():
    from scipy.stats import spearmanr

    names = ["trunc4", "truncc8", "trunc10", "bam_h3v8", "kul5", "mitchell5", "drum3", "drum6", "c42_8", "c42_11"]
    pred = [de.predict_fidelity([n] * 3).kl for n in names]
    meas = [de.measure_fidelity([n] * 3).kl for n in names]
    assert spearmanr(pred, meas).statistic > 0.9


def test_folds_are_disjoint_halves():
    x0, t0, _, _ = de.digits_split(0)
    x1, t1, _, _ = de.digits_split(1)
    assert np.array_equal(x0, t1) and np.array_equal(t0, x1) and len(t0) + len(t1) == 1797
    with pytest.raises(ConfigError, match="fold"):
        de.digits_split(2)
