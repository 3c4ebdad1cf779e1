"""Multiplier cost model: closed forms, legality, edits, bit-exact simulation, JSON, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archgym.errors import ConfigError, DesignError, UnknownNameError
from archgym.simulators.arith import compressor_tree as ct
from archgym.simulators.arith import multiplier as mul
from archgym.simulators.arith.prefix import classical

FAMILIES = [("and", False), ("and", True), ("booth", False), ("booth", True)]


def _expected(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    return (a.astype(object) * b.astype(object)) % (1 << (2 * n))


def _all_pairs(n: int, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.meshgrid(np.arange(1 << n), np.arange(1 << n))
    a, b = a.ravel(), b.ravel()
    if signed:
        a = a - (a >= 1 << (n - 1)) * (1 << n)
        b = b - (b >= 1 << (n - 1)) * (1 << n)
    return a, b


def _random_walk(d: mul.MultiplierDesign, steps: int, seed: int) -> mul.MultiplierDesign:
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        legal = np.flatnonzero(mul.legal_tree_edits(d))
        if legal.size == 0:
            break
        a = int(rng.choice(legal))
        d = mul.tree_edit(d, a // 4, a % 4)
    return d


# ----------------------------------------------------------------------------- closed forms

@pytest.mark.parametrize("n,fa,ha,stages", [(8, 35, 7, 4), (16, 195, 15, 6), (32, 899, 31, 8), (64, 3843, 63, 10),
                                            (128, 15875, 127, 11)])
def test_dadda_anchor_counts_and_stages(n: int, fa: int, ha: int, stages: int) -> None:
    met = mul.evaluate(mul.multiplier_baseline("dadda", "sklansky", n))
    assert (met["full_adders"], met["half_adders"], met["stages"]) == (fa, ha, stages)


def test_dadda_closed_form_all_widths() -> None:
    for n in range(4, 65):
        fa, ha = ct.dadda_counts(ct.partial_products(n))
        assert (fa.sum(), ha.sum()) == (n * n - 4 * n + 3, n - 1), n


@pytest.mark.parametrize("n,fa,ha,kept_ha", [(8, 36, 25, 25), (16, 196, 79, 78), (32, 900, 220, 216),
                                             (64, 3844, 561, 552)])
def test_wallace_anchor_counts(n: int, fa: int, ha: int, kept_ha: int) -> None:
    pp = ct.partial_products(n)
    f, h = ct.wallace_counts(pp, spill=True)  # textbook count, carries spill above column 2n-1
    assert (f.sum(), h.sum()) == (fa, ha)
    assert h[: pp.columns].sum() == kept_ha  # the rest sit above the product MSB
    d = mul.multiplier_baseline("wallace", "ripple", n)  # designs keep the 2n product columns
    assert (sum(d.full_adders), sum(d.half_adders)) == (fa, kept_ha)


def test_array_closed_form() -> None:
    # carry-save array: (n-1)(n-2) full adders, n-1 half adders, one stage per added row (n-1)
    for n in (4, 7, 8, 16, 33):
        met = mul.evaluate(mul.multiplier_baseline("array", "ripple", n))
        assert (met["full_adders"], met["half_adders"], met["stages"]) == ((n - 1) * (n - 2), n - 1, n - 1)


def test_baselines_legal_every_width() -> None:
    for n in range(4, 65):
        pp = ct.partial_products(n)
        for tree in mul.TREES:
            fa, ha = mul._TREE_COUNTS[tree](pp)
            ct.check_legal(pp, fa, ha)
            assert np.array_equal(ct.legalize(pp, fa, ha)[0], fa)  # already legal: a no-op
    for enc, signed in FAMILIES[1:]:
        for n in (4, 5, 7, 16, 33, 64):
            for tree in mul.TREES:
                d = mul.multiplier_baseline(tree, "brent_kung", n, enc, signed)
                assert d.adder.n == d.adder_width


def test_baseline_adders_and_structure() -> None:
    d = mul.multiplier_baseline("dadda", "kogge_stone", 16)
    assert d.adder == classical("kogge_stone", 31)  # AND array: column 0 holds a single bit
    met = mul.evaluate(d)
    assert met["prefix_nodes"] == d.adder.size and met["prefix_depth"] == d.adder.depth
    assert met["area"] == pytest.approx(met["pp_area"] + met["tree_area"] + met["adder_area"])
    assert met["tree_area"] == 7 * 195 + 3 * 15  # Zimmermann FA 7, HA 3 (cells.py)
    assert met["pp_area"] == 256  # one AND2 per partial product
    assert met["delay"] > met["tree_delay"]


def test_delay_ordering_of_baselines() -> None:
    for n in (16, 32):
        delay = {t: mul.evaluate(mul.multiplier_baseline(t, "sklansky", n))["delay"] for t in mul.TREES}
        assert delay["dadda"] < delay["array"]
        rip = mul.evaluate(mul.multiplier_baseline("dadda", "ripple", n))
        sk = mul.evaluate(mul.multiplier_baseline("dadda", "sklansky", n))
        assert sk["delay"] < rip["delay"] and sk["area"] > rip["area"]


def test_arrival_profile_is_nonuniform_and_used() -> None:
    d = mul.multiplier_baseline("dadda", "sklansky", 16)
    prof = mul.arrival_profile(d)
    assert len(prof) == d.adder.n and max(prof) > min(prof)
    # the middle columns (tallest) arrive last
    assert int(np.argmax(prof)) in range(8, 24)
    assert mul.evaluate(d)["delay"] >= max(prof)


# ----------------------------------------------------------------------------- bit-exact model

@pytest.mark.parametrize("enc,signed", FAMILIES)
def test_simulate_exhaustive_baselines(enc: str, signed: bool) -> None:
    for n in range(4, 9):
        a, b = _all_pairs(n, signed)
        exp = _expected(a, b, n)
        for tree in mul.TREES:
            for adder in ("ripple", "kogge_stone", "brent_kung"):
                d = mul.multiplier_baseline(tree, adder, n, enc, signed)
                assert (mul.simulate_design(d, a, b).astype(object) == exp).all(), (n, tree, adder)


@settings(max_examples=25, deadline=None)
@given(fam=st.sampled_from(FAMILIES), n=st.integers(4, 8), steps=st.integers(1, 60), seed=st.integers(0, 10**6),
       adder=st.sampled_from(["sklansky", "han_carlson", "ladner_fischer"]))
def test_simulate_exhaustive_random_trees(fam: tuple[str, bool], n: int, steps: int, seed: int, adder: str) -> None:
    enc, signed = fam
    d = _random_walk(mul.multiplier_baseline("wallace", adder, n, enc, signed), steps, seed)
    a, b = _all_pairs(n, signed)
    assert (mul.simulate_design(d, a, b).astype(object) == _expected(a, b, n)).all()


@pytest.mark.parametrize("n", [16, 32, 64])
def test_simulate_random_wide(n: int) -> None:
    rng = np.random.default_rng(n)
    for enc, signed in FAMILIES:
        d = _random_walk(mul.multiplier_baseline("dadda", "brent_kung", n, enc, signed), 30, n)
        vals = [0, 1, (1 << n) - 1] + [1 << k for k in range(n)]
        a = [int.from_bytes(rng.bytes(8), "little") % (1 << n) for _ in range(3000)] + vals * len(vals)
        b = [int.from_bytes(rng.bytes(8), "little") % (1 << n) for _ in range(3000)] + \
            [v for v in vals for _ in vals]
        got = mul.simulate_design(d, np.array(a, dtype=object), np.array(b, dtype=object))
        if signed:
            a = [x - (x >> (n - 1) << n) for x in a]
            b = [x - (x >> (n - 1) << n) for x in b]
        exp = [(x * y) % (1 << (2 * n)) for x, y in zip(a, b)]
        assert [int(v) for v in got] == exp


def test_simulate_detects_a_wrong_netlist(monkeypatch: pytest.MonkeyPatch) -> None:
    d = mul.multiplier_baseline("dadda", "sklansky", 6)
    a, b = _all_pairs(6, False)
    tree = mul.reduced_tree(d)
    cells = list(tree.cells)
    c0 = cells[0]
    cells[0] = ct.Compressor(c0.kind, c0.column, c0.inputs, c0.carry, c0.sum, c0.stage)  # swap sum/carry
    broken = ct.ReducedTree(tuple(cells), tree.rows, tree.arrival, tree.stages, tree.net_count)
    monkeypatch.setattr(mul, "reduced_tree", lambda _d: broken)
    assert not (mul.simulate_design(d, a, b).astype(object) == _expected(a, b, 6)).all()


# ----------------------------------------------------------------------------- edits

@settings(max_examples=30, deadline=None)
@given(fam=st.sampled_from(FAMILIES), n=st.integers(4, 20), seed=st.integers(0, 10**6))
def test_edit_mask_is_exact(fam: tuple[str, bool], n: int, seed: int) -> None:
    enc, signed = fam
    d = _random_walk(mul.multiplier_baseline("dadda", "ripple", n, enc, signed), 20, seed)
    mask = mul.legal_tree_edits(d)
    assert mask.shape == (2 * n * 4,)
    for idx in range(mask.size):
        col, kind = divmod(idx, 4)
        if mask[idx]:
            nd = mul.tree_edit(d, col, kind)  # constructor re-checks legality
            fa_delta, ha_delta = nd.fa[col] - d.fa[col], nd.ha[col] - d.ha[col]
            assert (fa_delta, ha_delta) == [(0, 1), (0, -1), (-1, 1), (1, -1)][kind]
            assert np.array_equal(nd.fa[:col], d.fa[:col]) and np.array_equal(nd.ha[:col], d.ha[:col])
        else:
            with pytest.raises(DesignError, match=f"column {col}"):
                mul.tree_edit(d, col, kind)


def test_legalize_repairs_columns_above() -> None:
    pp = ct.partial_products(8)
    fa, ha = ct.dadda_counts(pp)
    fa2, ha2 = fa.copy(), ha.copy()
    ha2[5] += 1  # one more carry into column 6 ...
    with pytest.raises(DesignError):
        ct.check_legal(pp, fa2, ha2)
    fa3, ha3 = ct.legalize(pp, fa2, ha2, start=6)
    ct.check_legal(pp, fa3, ha3)
    assert np.array_equal(fa3[:6], fa2[:6]) and np.array_equal(ha3[:6], ha2[:6])


def test_edit_by_name_and_adder_swap() -> None:
    d = mul.multiplier_baseline("dadda", "ripple", 8)
    col = int(np.flatnonzero(mul.legal_tree_edits(d).reshape(-1, 4)[:, ct.ADD_HA])[0])
    assert mul.tree_edit(d, col, "add_ha") == mul.tree_edit(d, col, ct.ADD_HA)
    with pytest.raises(UnknownNameError):
        mul.tree_edit(d, col, "add_4to2")
    d2 = mul.with_adder(d, classical("sklansky", d.adder_width))
    assert mul.evaluate(d2)["delay"] < mul.evaluate(d)["delay"]
    with pytest.raises(ConfigError, match="adder"):
        mul.with_adder(d, classical("sklansky", 16))


def test_evaluation_is_deterministic_and_speed() -> None:
    import time

    d = mul.multiplier_baseline("dadda", "sklansky", 16)
    assert mul.evaluate(d) == mul.evaluate(mul.MultiplierDesign.from_json(d.to_json()))
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    for _ in range(150):
        legal = np.flatnonzero(mul.legal_tree_edits(d))
        a = int(rng.choice(legal))
        d = mul.tree_edit(d, a // 4, a % 4)
        mul.evaluate(d)
    assert 150 / (time.perf_counter() - t) > 150  # target 300 steps/s; margin for a loaded machine


# ----------------------------------------------------------------------------- JSON and errors

@pytest.mark.parametrize("enc,signed", FAMILIES)
def test_json_round_trip(enc: str, signed: bool) -> None:
    d = _random_walk(mul.multiplier_baseline("array", "han_carlson", 12, enc, signed), 25, 1)
    text = json.dumps(d.to_json())
    back = mul.MultiplierDesign.from_json(text)
    assert back == d and mul.MultiplierDesign.from_json(json.loads(text)) == d
    assert mul.evaluate(back) == mul.evaluate(d)


def test_validation_errors_name_the_field() -> None:
    d = mul.multiplier_baseline("dadda", "ripple", 8)
    j = d.to_json()
    with pytest.raises(ConfigError, match="'width'"):
        mul.multiplier_baseline("dadda", "ripple", 1)
    with pytest.raises(ConfigError, match="'encoding'"):
        mul.multiplier_baseline("dadda", "ripple", 8, encoding="radix8")
    with pytest.raises(UnknownNameError, match="tree"):
        mul.multiplier_baseline("wallce", "ripple", 8)
    with pytest.raises(UnknownNameError, match="adder"):
        mul.multiplier_baseline("dadda", "carry_select", 8)
    with pytest.raises(ConfigError, match="'full_adders'"):
        mul.MultiplierDesign.from_json({**j, "full_adders": j["full_adders"][:-1]})
    bad = list(j["half_adders"])
    bad[3] += 3  # three more half adders than column 3 has bits for
    with pytest.raises(DesignError, match="column 3"):
        mul.MultiplierDesign.from_json({**j, "half_adders": bad})
    with pytest.raises(DesignError, match="missing field 'adder'"):
        mul.MultiplierDesign.from_json({k: v for k, v in j.items() if k != "adder"})
    with pytest.raises(DesignError, match="unknown field 'depth'"):
        mul.MultiplierDesign.from_json({**j, "depth": 3})
    with pytest.raises(ConfigError, match="'signed'"):
        mul.MultiplierDesign.from_json({**j, "signed": "yes"})
    with pytest.raises(ConfigError, match="'b'"):
        mul.simulate_design(d, [1, 2], [3])
