"""DNN-level error of approximate multipliers: closed-form GEMM distortion and a measured int8 MLP.

Closed form (Alahakoon et al., "Approximate Multiplier Induced Error Propagation in Deep Neural
Networks"): for C = AB (M x K by K x N) where every product carries an independent error of mean mu and
variance sigma^2, each entry of dC is a sum of K errors, so

    E ||dC||_F^2 = M N (K sigma^2 + K^2 mu^2),

dominated by the mean for large K.  In a real layer the errors are not identically distributed: with
sign-magnitude wrapping the product error is sgn(w) e(a, |w|), so its mean depends on the weight of the
column and largely cancels across signed weights.  `weight_conditioned_distortion` keeps the weights
fixed (activations iid from the layer's histogram): E = M sum_n [sum_k Var(e|w_kn) + (sum_k mu(w_kn))^2].

Measured: scikit-learn's bundled digits set (8x8 images, no download), an MLP 64-64-32-10 trained
deterministically (fixed seed, cached under ~/.cache/archgym/approx), quantized to uint8 activations
(ReLU, per-layer scale calibrated on the training half) and int8 symmetric weights, int32 accumulation;
every product of a layer can be replaced by a 256 x 256 table of the approximate multiplier.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from archgym.errors import ConfigError
from archgym.simulators.approx import library as am

HIDDEN = (64, 32)
SEED = 0
_MODEL_VERSION = "digits-mlp-v1"


def predicted_distortion(mu: float, var: float, m: int, k: int, n: int) -> float:
    """E||dC||_F^2 = M N (K sigma^2 + K^2 mu^2) for iid per-product errors."""
    return float(m * n * (k * var + k * k * mu * mu))


def gemm_with_table(a: np.ndarray, w: np.ndarray, table: np.ndarray | None) -> np.ndarray:
    """sum_k table[a_mk, w_kn + 128] (exact int product when table is None); int64 result."""
    a = np.asarray(a, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    if table is None:
        return a @ w
    if table.shape != (256, 256):
        raise ConfigError("table", "product table must be 256 x 256 (uint8 activation x int8 weight)")
    wi = w + 128
    out = np.empty((a.shape[0], w.shape[1]), dtype=np.int64)
    step = max(1, 2_000_000 // max(1, w.size))
    for s in range(0, a.shape[0], step):
        out[s:s + step] = table[a[s:s + step, :, None], wi[None, :, :]].sum(axis=1)
    return out


def operand_histograms(a: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Histograms of the layer's uint8 activations (256 bins) and int8 weights (bin w + 128)."""
    pa = np.bincount(np.asarray(a).ravel().astype(np.int64), minlength=256).astype(np.float64)
    pw = np.bincount((np.asarray(w).ravel() + 128).astype(np.int64), minlength=256).astype(np.float64)
    return pa / pa.sum(), pw / pw.sum()


def weight_conditioned_distortion(table: np.ndarray, p_act: np.ndarray, w: np.ndarray, m: int) -> float:
    """E||dC||^2 with the weights fixed and activations iid from p_act (see module docstring)."""
    av = np.arange(256, dtype=np.float64)
    wv = np.arange(-128, 128, dtype=np.float64)
    err = table - av[:, None] * wv[None, :]
    mu_w = p_act @ err
    var_w = p_act @ err**2 - mu_w**2
    wi = np.asarray(w, dtype=np.int64) + 128
    return float(m * (var_w[wi].sum() + (mu_w[wi].sum(axis=0) ** 2).sum()))


# ----------------------------------------------------------------------------------------------
# The trained network
# ----------------------------------------------------------------------------------------------
FOLDS = (0, 1)


def _check_fold(fold: int) -> None:
    if fold not in FOLDS:
        raise ConfigError("fold", f"must be one of {FOLDS} (2-fold cross-validation), got {fold!r}")


def digits_split(fold: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits (1797 samples), stratified 50/50 split with a fixed seed: X_train, X_test, y_train, y_test.

    fold=1 swaps the halves (2-fold cross-validation: every sample is a test sample exactly once).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    _check_fold(fold)
    x, y = load_digits(return_X_y=True)
    x_a, x_b, y_a, y_b = train_test_split(x, y, test_size=0.5, random_state=SEED, stratify=y)
    return (x_a, x_b, y_a, y_b) if fold == 0 else (x_b, x_a, y_b, y_a)


def _cache_dir() -> Path:
    return Path(os.environ.get("ARCHGYM_CACHE", Path.home() / ".cache" / "archgym")) / "approx"


@cache
def trained_float_mlp(fold: int = 0) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """(weights, biases) of the float MLP; trained once (deterministic) and cached as .npz."""
    _check_fold(fold)
    tag = "" if fold == 0 else f"fold{fold}"  # fold 0 keeps the original cache key
    key = hashlib.sha256(f"{_MODEL_VERSION}{HIDDEN}{SEED}{tag}".encode()).hexdigest()[:12]
    path = _cache_dir() / f"digits_mlp_{key}.npz"
    if path.exists():
        z = np.load(path)
        nl = len(HIDDEN) + 1
        return tuple(z[f"W{i}"] for i in range(nl)), tuple(z[f"b{i}"] for i in range(nl))
    from sklearn.neural_network import MLPClassifier

    x_tr, _, y_tr, _ = digits_split(fold)
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, random_state=SEED, max_iter=600, alpha=1e-3)
    clf.fit(x_tr / 16.0, y_tr)
    ws, bs = tuple(clf.coefs_), tuple(clf.intercepts_)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **{f"W{i}": w for i, w in enumerate(ws)}, **{f"b{i}": b for i, b in enumerate(bs)})
    tmp.replace(path)
    return ws, bs


@dataclass(frozen=True)
class QuantizedMLP:
    """int8 weights, int32 biases, uint8 activations; real = acc * s_in * s_w per layer."""

    weights: tuple[np.ndarray, ...]  # int8 (K, N)
    biases: tuple[np.ndarray, ...]  # int64, in units of s_in * s_w
    w_scales: tuple[float, ...]
    in_scales: tuple[float, ...]  # scale of each layer's uint8 input

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Digits pixels 0..16 -> uint8 codes; code * in_scales[0] = pixel / 16 (the training input)."""
        return np.clip(np.round(np.asarray(x) / 16.0 / self.in_scales[0]), 0, 255).astype(np.int64)

    def run(self, x: np.ndarray, tables: Sequence[np.ndarray | None] | None = None,
            ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Forward pass; returns logits, each layer's uint8 input and each layer's int accumulator."""
        tables = list(tables) if tables is not None else [None] * self.n_layers
        if len(tables) != self.n_layers:
            raise ConfigError("assignment", f"needs one entry per layer ({self.n_layers}), got {len(tables)}")
        a = self.quantize_input(x)
        inputs, accs = [], []
        for i in range(self.n_layers):
            inputs.append(a)
            acc = gemm_with_table(a, self.weights[i], tables[i]) + self.biases[i]
            accs.append(acc)
            real = acc * (self.in_scales[i] * self.w_scales[i])
            if i + 1 < self.n_layers:
                a = np.clip(np.round(np.maximum(real, 0) / self.in_scales[i + 1]), 0, 255).astype(np.int64)
        return real, inputs, accs


@cache
def quantized_mlp(fold: int = 0) -> QuantizedMLP:
    """Post-training int8 quantization of the cached float MLP (scales calibrated on the training half)."""
    ws, bs = trained_float_mlp(fold)
    x_tr = digits_split(fold)[0] / 16.0
    w_scales = tuple(float(np.abs(w).max() / 127.0) for w in ws)
    in_scales = [1.0 / 255.0]  # pixels / 16 in [0, 1]
    h = x_tr
    for w, b in zip(ws[:-1], bs[:-1]):
        h = np.maximum(h @ w + b, 0)
        in_scales.append(float(h.max() / 255.0))
    qws = tuple(np.clip(np.round(w / s), -127, 127).astype(np.int64) for w, s in zip(ws, w_scales))
    qbs = tuple(np.round(b / (si * sw)).astype(np.int64) for b, si, sw in zip(bs, in_scales, w_scales))
    return QuantizedMLP(qws, qbs, w_scales, tuple(in_scales))


# ----------------------------------------------------------------------------------------------
# Scoring a per-layer assignment
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerReport:
    """Per-layer error statistics under the layer's real operands and the resulting distortions."""

    config: str
    mu: float
    var: float
    predicted_iid: float  # M N (K sigma^2 + K^2 mu^2), integer-product units
    predicted_weighted: float  # weight-conditioned closed form
    measured: float | None  # ||dC||_F^2 of the layer's GEMM on its exact-path inputs
    signal: float  # ||C||_F^2 of the exact GEMM (for relative distortion)


@dataclass(frozen=True)
class AssignmentScore:
    """Predicted relative distortion (sum over layers of distortion / signal) and measured accuracy."""

    layers: tuple[LayerReport, ...]
    predicted_relative: float
    accuracy: float | None
    baseline_accuracy: float
    accuracy_drop: float | None
    energy: float  # per inference: sum over layers of K*N products x multiplier energy at the layer's activity


def _resolve(assignment: Sequence[str | am.ApproxMultiplierSpec], n_layers: int) -> list[am.ApproxMultiplierSpec]:
    if isinstance(assignment, (str, am.ApproxMultiplierSpec)) or len(assignment) != n_layers:
        raise ConfigError("assignment", f"must be a sequence of {n_layers} configuration names")
    return [c if isinstance(c, am.ApproxMultiplierSpec) else am.get_config(c) for c in assignment]


def score_assignment(assignment: Sequence[str | am.ApproxMultiplierSpec], measure: bool = True,
                     split: str = "test") -> AssignmentScore:
    """Closed-form distortion (always) and int8 accuracy (measure=True) of one config per layer."""
    if split not in ("test", "train"):
        raise ConfigError("split", "must be 'test' or 'train'")
    net = quantized_mlp()
    cfgs = _resolve(assignment, net.n_layers)
    x_tr, x_te, y_tr, y_te = digits_split()
    x, y = (x_te, y_te) if split == "test" else (x_tr, y_tr)
    logits, inputs, _accs = net.run(x)
    base_acc = float((logits.argmax(1) == y).mean())
    reports, rel, energy = [], 0.0, 0.0
    for i, cfg in enumerate(cfgs):
        a, w = inputs[i], net.weights[i]
        table = am.signed_product_table(cfg)
        pa, pw = operand_histograms(a, w)
        st = am.signed_error_metrics(cfg, pa, pw)
        (m, k), nn = a.shape, w.shape[1]
        exact = a @ w
        signal = float((exact.astype(np.float64) ** 2).sum())
        measured = None
        if measure:
            measured = float(((gemm_with_table(a, w, table) - exact).astype(np.float64) ** 2).sum())
        pred = predicted_distortion(st.mean, st.var, m, k, nn)
        reports.append(LayerReport(cfg.name, st.mean, st.var, pred,
                                   weight_conditioned_distortion(table, pa, w, m), measured, signal))
        rel += pred / signal
        activity = am.operand_activity(pa, magnitude_histogram(pw), cfg.n)
        energy += k * nn * am.hardware_cost(cfg, activity).energy  # products per inference
    acc = None
    if measure:
        logits_ax, _, _ = net.run(x, [am.signed_product_table(c) for c in cfgs])
        acc = float((logits_ax.argmax(1) == y).mean())
    return AssignmentScore(tuple(reports), rel, acc, base_acc, None if acc is None else base_acc - acc, energy)


def magnitude_histogram(p_w: np.ndarray) -> np.ndarray:
    """Histogram of |w| (what the unsigned core sees under sign-magnitude wrapping), 256 bins."""
    out = np.zeros(256)
    np.add.at(out, np.abs(np.arange(-128, 128)), p_w)
    return out


# ----------------------------------------------------------------------------------------------
# Network-level fidelity: measured, and predicted by first-order error propagation
# ----------------------------------------------------------------------------------------------
# Why: a small int8 network is robust, so most multipliers change its test accuracy by 0 or 1
# sample; the accuracy drop alone cannot rank them.  The output distribution of the approximate
# network vs the exact int8 one (KL divergence, cross-entropy, logit margin) is continuous and
# comes from the same forward pass.  Its prediction propagates each layer's accumulator error
# (per-column mean b_n and variance v_n, weight-conditioned, activations iid from the layer's
# histogram) to the logits through the exact network's Jacobian J (linearization at each sample):
#     dz ~ N(sum_i J_i b_i, sum_i J_i diag(v_i) J_i^T),
#     E KL(p || p') ~= 1/2 E[dz^T F dz], F = diag(p) - p p^T (Fisher information of the softmax),
# and the accuracy drop follows from the Gaussian probability that dz closes a sample's margin.
def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    zs = z - z.max(axis=1, keepdims=True)
    return zs - np.log(np.exp(zs).sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class Sensitivity:
    """The exact int8 network on one evaluation set, linearized: everything a prediction needs."""

    fold: int
    y: np.ndarray  # labels (S,)
    logits: np.ndarray  # exact logits (S, C)
    inputs: tuple[np.ndarray, ...]  # each layer's uint8 input (S, K_i)
    act_hist: tuple[np.ndarray, ...]  # each layer's activation histogram (256,)
    fisher_diag: tuple[np.ndarray, ...]  # (S, N_i): J[:, n]^T F J[:, n]
    gain_diag: tuple[np.ndarray, ...]  # (S, N_i): ||J[:, n]||^2
    margin_gain: tuple[np.ndarray, ...]  # (S, C, N_i): (J[t, n] - J[j, n])^2, t = exact prediction
    jac: tuple[np.ndarray, ...]  # (S, C, N_i): d logits / d accumulator of layer i

    @property
    def accuracy(self) -> float:
        return float((self.logits.argmax(1) == self.y).mean())


@cache
def network_sensitivity(fold: int = 0) -> Sensitivity:
    """Exact forward pass on the fold's test half and the per-sample Jacobians of the logits.

    acc_i -> a_{i+1} = clip(round(relu(acc_i s_i) / in_{i+1})) has slope s_i / in_{i+1} where the
    activation is neither cut by the ReLU nor saturated at 255 (rounding is treated as linear).
    """
    net = quantized_mlp(fold)
    _, x, _, y = digits_split(fold)
    logits, inputs, accs = net.run(x)
    scales = [si * sw for si, sw in zip(net.in_scales, net.w_scales)]
    s, c = logits.shape
    jac: list[np.ndarray] = [None] * net.n_layers  # type: ignore[list-item]
    jac[-1] = np.broadcast_to(np.eye(c) * scales[-1], (s, c, c)).copy()
    for i in range(net.n_layers - 2, -1, -1):
        real = accs[i] * scales[i]
        slope = np.where((real > 0) & (real < 255 * net.in_scales[i + 1]), scales[i] / net.in_scales[i + 1], 0.0)
        jac[i] = np.einsum("scm,km->sck", jac[i + 1], net.weights[i + 1].astype(np.float64)) * slope[:, None, :]
    p = _softmax(logits)
    t = logits.argmax(1)
    fisher, gain, margin = [], [], []
    for j in jac:
        pj = np.einsum("sc,scn->sn", p, j)
        fisher.append(np.einsum("sc,scn->sn", p, j * j) - pj * pj)
        gain.append((j * j).sum(axis=1))
        margin.append((j[np.arange(s), t][:, None, :] - j) ** 2)
    hists = tuple(operand_histograms(a, w)[0] for a, w in zip(inputs, net.weights))
    return Sensitivity(fold, y, logits, tuple(inputs), hists, tuple(fisher), tuple(gain), tuple(margin), tuple(jac))


@cache
def layer_error_moments(cfg: am.ApproxMultiplierSpec, layer: int, fold: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-column mean b_n and variance v_n of a layer's accumulator error (integer units)."""
    net = quantized_mlp(fold)
    if not 0 <= layer < net.n_layers:
        raise ConfigError("layer", f"must be in [0, {net.n_layers}), got {layer}")
    p_act = network_sensitivity(fold).act_hist[layer]
    av = np.arange(256, dtype=np.float64)
    wv = np.arange(-128, 128, dtype=np.float64)
    err = am.signed_product_table(cfg) - av[:, None] * wv[None, :]
    mu_w = p_act @ err
    var_w = p_act @ err**2 - mu_w**2
    wi = net.weights[layer] + 128
    b, v = mu_w[wi].sum(axis=0), var_w[wi].sum(axis=0)
    b.setflags(write=False)
    v.setflags(write=False)
    return b, v


@dataclass(frozen=True)
class Fidelity:
    """How far the approximate network's outputs are from the exact int8 network's, same inputs."""

    accuracy: float
    accuracy_drop: float  # percentage points x 1/100 (fraction), exact minus approximate
    kl: float  # mean KL(p_exact || p_approx), nats
    ce_increase: float  # mean cross-entropy on the labels, approximate minus exact, nats
    margin_drop: float  # mean (z_y - max_{j != y} z_j), exact minus approximate
    logit_mse: float  # mean ||z_approx - z_exact||^2


def _resolve_fold(assignment: Sequence[str | am.ApproxMultiplierSpec], fold: int) -> list[am.ApproxMultiplierSpec]:
    _check_fold(fold)
    return _resolve(assignment, quantized_mlp(fold).n_layers)


def measure_fidelity(assignment: Sequence[str | am.ApproxMultiplierSpec], fold: int = 0) -> Fidelity:
    """Forward pass with the approximate product tables on the fold's test half (ground truth)."""
    cfgs = _resolve_fold(assignment, fold)
    sens = network_sensitivity(fold)
    net = quantized_mlp(fold)
    tables = [None if c.family == "exact" else am.signed_product_table(c) for c in cfgs]
    z1 = sens.logits if all(t is None for t in tables) else net.run(_test_inputs(fold), tables)[0]
    z0, y = sens.logits, sens.y
    lp0, lp1 = _log_softmax(z0), _log_softmax(z1)
    idx = np.arange(len(y))

    def margin(z: np.ndarray) -> np.ndarray:
        other = z.copy()
        other[idx, y] = -np.inf
        return z[idx, y] - other.max(axis=1)

    acc = float((z1.argmax(1) == y).mean())
    return Fidelity(
        accuracy=acc,
        accuracy_drop=sens.accuracy - acc,
        kl=float((np.exp(lp0) * (lp0 - lp1)).sum(axis=1).mean()),
        ce_increase=float((lp0[idx, y] - lp1[idx, y]).mean()),
        margin_drop=float((margin(z0) - margin(z1)).mean()),
        logit_mse=float(((z1 - z0) ** 2).sum(axis=1).mean()),
    )


@lru_cache(maxsize=len(FOLDS))
def _test_inputs(fold: int) -> np.ndarray:
    return digits_split(fold)[1]


@dataclass(frozen=True)
class FidelityPrediction:
    """First-order (linearized, Gaussian) prediction of `Fidelity` from the error moments alone."""

    relative_distortion: float  # sum_i E||dC_i||^2 / ||C_i||^2 (weight-conditioned closed form)
    logit_mse: float
    kl: float
    accuracy_drop: float  # expected, fraction


def predict_fidelity(assignment: Sequence[str | am.ApproxMultiplierSpec], fold: int = 0) -> FidelityPrediction:
    """Closed-form screen: no forward pass with the approximate tables (see the section comment).

    Accuracy: for a sample classified t with margins d_j = z_t - z_j, the competitor j overtakes t
    with probability Phi(-(d_j + m_j) / s_j), (m_j, s_j^2) the mean/variance of dz_t - dz_j.
    Correct samples are lost with probability min(1, sum_j P_j); wrong ones are won back with the
    probability of flipping to the true label.
    """
    from scipy.special import ndtr

    cfgs = _resolve_fold(assignment, fold)
    sens = network_sensitivity(fold)
    s, c = sens.logits.shape
    mean = np.zeros((s, c))
    rel = mse = kl_var = 0.0
    var_diff = np.zeros((s, c))  # Var(dz_t - dz_j)
    t = sens.logits.argmax(1)
    idx = np.arange(s)
    for i, cfg in enumerate(cfgs):
        if cfg.family == "exact":
            continue
        b, v = layer_error_moments(cfg, i, fold)
        j = sens.jac[i]
        mean += j @ b
        mse += float((sens.gain_diag[i] @ v).mean())
        kl_var += float((sens.fisher_diag[i] @ v).mean())
        var_diff += sens.margin_gain[i] @ v
        rel += _weighted_relative(cfg, i, fold)
    p = _softmax(sens.logits)
    pm = (p * mean).sum(axis=1)
    kl_mean = float(((p * mean * mean).sum(axis=1) - pm * pm).mean())
    mse += float((mean * mean).sum(axis=1).mean())
    z = sens.logits + 0.0
    d = z[idx, t][:, None] - z
    m = mean[idx, t][:, None] - mean
    sd = np.sqrt(var_diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        pflip = np.where(sd > 0, ndtr(-(d + m) / np.where(sd > 0, sd, 1.0)), (d + m < 0).astype(float))
    pflip[idx, t] = 0.0
    correct = t == sens.y
    lost = np.minimum(1.0, pflip.sum(axis=1))[correct].sum()
    won = pflip[idx, sens.y][~correct].sum()
    return FidelityPrediction(rel, mse, 0.5 * (kl_var + kl_mean), float((lost - won) / s))


@cache
def _weighted_relative(cfg: am.ApproxMultiplierSpec, layer: int, fold: int) -> float:
    """Weight-conditioned E||dC||^2 of one layer relative to its exact output energy ||C||^2."""
    net = quantized_mlp(fold)
    a = network_sensitivity(fold).inputs[layer]
    w = net.weights[layer]
    b, v = layer_error_moments(cfg, layer, fold)
    exact = (a @ w).astype(np.float64)
    return float(a.shape[0] * (v.sum() + (b * b).sum()) / (exact * exact).sum())
