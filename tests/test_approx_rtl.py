"""Exported Verilog equals the numpy model over all 65,536 input pairs (Icarus Verilog)."""

import shutil

import numpy as np
import pytest

from archgym.rtl.approx import verilog as rt
from archgym.simulators.approx import library as am

pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed")


@pytest.mark.parametrize("name", ["truncc6", "kul5", "c42_9", "mitchell5", "drum4"])
def test_verilog_matches_numpy_exhaustively(name):
    cfg = am.get_config(name)
    assert np.array_equal(rt.simulate_table(cfg), am.product_table(cfg))


def test_verilog_detects_a_wrong_model():
    sim = rt.simulate_table(am.get_config("bam_h2v6"))
    assert not np.array_equal(sim, am.product_table(am.get_config("bam_h2v8")))
