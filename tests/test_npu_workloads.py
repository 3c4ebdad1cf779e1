"""NPU workloads: SCALE-Sim topology parsing and the shipped networks."""

from __future__ import annotations

import pytest

from archgym.errors import ConfigError, UnknownNameError
from archgym.simulators.npu.workloads import Layer, load_topology, load_workload, parse_topology

CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def test_scalesim_output_size_rounds_up() -> None:
    # SCALE-Sim: ceil((H - R + s) / s); ResNet-18's Conv1 (224, 7x7, stride 2) gives 110 x 110
    conv1 = load_workload("resnet18")[0]
    assert (conv1.ofmap_h, conv1.ofmap_w, conv1.window) == (110, 110, 147)
    # entries of the rounded-up outputs that fall outside the input are not data
    assert conv1.valid_window_elems() < conv1.ofmap_px * conv1.window
    assert Layer("x", 9, 9, 3, 3, 2, 1, 1).valid_window_elems() == 49 * 18


def test_shipped_workloads() -> None:
    r18, r50 = load_workload("resnet18"), load_workload("resnet50")
    assert len(r18) == 21 and r18[-1].name == "FC"
    assert len(r50) == 54  # SCALE-Sim's ResNet-50 (its blank separator row is skipped)
    bert = load_workload("bert_base_encoder")
    s, h, f = 128, 768, 3072
    assert sum(lay.macs for lay in bert) == s * (3 * h * h + h * h + 2 * h * f) + 12 * 2 * s * s * (h // 12)
    mnv2 = load_workload("mobilenetv2")
    dw = [lay for lay in mnv2 if lay.groups > 1]
    assert len(dw) == 17 and all(lay.channels == 1 and lay.num_filters == 1 for lay in dw)
    # Sandler et al. report ~300M multiply-adds for MobileNetV2 (224, width 1.0)
    assert 280e6 < sum(lay.macs for lay in mnv2) < 320e6


def test_gemm_format_maps_like_scalesim() -> None:
    (g,) = parse_topology("Layer,M,N,K,\nqk,128,64,32,\n")
    assert (g.ifmap_h, g.ifmap_w, g.filt_h, g.filt_w, g.channels, g.num_filters) == (128, 32, 1, 32, 1, 64)
    assert (g.ofmap_px, g.window, g.macs) == (128, 32, 128 * 64 * 32)


def test_depthwise_rows_become_groups(tmp_path) -> None:
    p = tmp_path / "net.csv"
    p.write_text(CONV_HEADER + "c1,10,10,3,3,3,8,1,\nDP_dw,10,10,3,3,8,1,1,\n")
    c1, dw = load_topology(p)
    assert c1.groups == 1 and dw.groups == 8 and dw.channels == 1
    assert dw.macs == 8 * 64 * 9


@pytest.mark.parametrize("body, where", [
    ("c1,10,10,3,3,3,8,\n", ":2"),          # missing stride
    ("c1,10,ten,3,3,3,8,1,\n", "ifmap_w"),  # not an integer
    ("c1,2,2,3,3,3,8,1,\n", "filter"),      # filter larger than input
    ("c1,10,10,3,3,0,8,1,\n", "channels"),  # zero channels
])
def test_bad_topologies_name_the_place(body: str, where: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_topology(CONV_HEADER + body, "net.csv")
    assert where in e.value.field


def test_unknown_workload_and_missing_file() -> None:
    with pytest.raises(UnknownNameError):
        load_workload("resnet1000")
    with pytest.raises(ConfigError):
        load_workload("/nonexistent/net.csv")
    with pytest.raises(ConfigError):
        parse_topology(CONV_HEADER)
