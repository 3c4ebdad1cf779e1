"""DNN workloads for the NPU dataflow family, in SCALE-Sim's topology formats.

Why this format: SCALE-Sim (Samajdar et al., ISPASS 2020) is the second backend of this family, so
its CSV formats are the exchange format: users bring their own networks as SCALE-Sim topologies.

* conv format: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
  Num Filter, Strides,`` with inputs already padded.  A layer whose name contains ``DP`` is
  depthwise: SCALE-Sim expands it into one single-channel convolution per channel; we keep it as one
  layer with ``groups = channels`` (same arithmetic, evaluated once and multiplied).
* GEMM format: ``Layer, M, N, K,``; SCALE-Sim maps it to a convolution with IFMAP M x K, filter
  1 x K, one channel and N filters (topology_utils.load_arrays_gemm), and so do we.

Shipped workloads (data under simulators/data/npu/): ResNet-18 and ResNet-50 as shipped with
SCALE-Sim (MIT licence, see SCALESIM_LICENSE), MobileNetV2 (Sandler et al., CVPR 2018, Table 2, 224x224,
pre-padded) and one BERT-base encoder layer (Devlin et al., NAACL 2019; sequence length 128).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from archgym.errors import ArchGymError, ConfigError, UnknownNameError

_DATA_PACKAGE = "archgym.simulators"
BUILTIN_WORKLOADS = {
    "resnet18": "resnet18.csv",
    "resnet50": "resnet50.csv",
    "mobilenetv2": "mobilenetv2.csv",
    "bert_base_encoder": "bert_base_encoder.csv",
}


@dataclass(frozen=True)
class Layer:
    """One convolution (or GEMM mapped to a convolution), with SCALE-Sim's dimension conventions."""

    name: str
    ifmap_h: int
    ifmap_w: int
    filt_h: int
    filt_w: int
    channels: int
    num_filters: int
    stride: int = 1
    groups: int = 1  # depthwise layers: number of independent single-channel convolutions

    def __post_init__(self) -> None:
        for f in ("ifmap_h", "ifmap_w", "filt_h", "filt_w", "channels", "num_filters", "stride", "groups"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"layer '{self.name}'.{f}", f"must be a positive integer, got {v!r}")
        if self.filt_h > self.ifmap_h or self.filt_w > self.ifmap_w:
            raise ConfigError(f"layer '{self.name}'.filter", "filter larger than the (padded) input")

    # SCALE-Sim's output size: ceil((H - R + s) / s) (topology_utils.calc_hyper_params).
    @property
    def ofmap_h(self) -> int:
        return math.ceil((self.ifmap_h - self.filt_h + self.stride) / self.stride)

    @property
    def ofmap_w(self) -> int:
        return math.ceil((self.ifmap_w - self.filt_w + self.stride) / self.stride)

    @property
    def ofmap_px(self) -> int:
        """Output pixels per filter (rows of the im2col operand matrix)."""
        return self.ofmap_h * self.ofmap_w

    @property
    def window(self) -> int:
        """Convolution window size R*S*C (the reduction dimension)."""
        return self.filt_h * self.filt_w * self.channels

    @property
    def dims(self) -> tuple[int, int, int, int, int, int, int]:
        """The dimensions of one group in SCALE-Sim's topology order (what a simulation depends on)."""
        return (self.ifmap_h, self.ifmap_w, self.filt_h, self.filt_w, self.channels, self.num_filters, self.stride)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the whole layer (all groups)."""
        return self.ofmap_px * self.window * self.num_filters * self.groups

    def valid_window_elems(self) -> int:
        """im2col entries that fall inside the input (SCALE-Sim marks the rest -1 when ceil()
        rounds the output size up); these are the words its read buffers actually hold."""
        def axis(n_in: int, n_out: int, k: int) -> int:
            return sum(max(0, min(k, n_in - o * self.stride)) for o in range(n_out))
        return axis(self.ifmap_h, self.ofmap_h, self.filt_h) * axis(self.ifmap_w, self.ofmap_w, self.filt_w) \
            * self.channels

    def single_group(self) -> Layer:
        """The per-group layer that the array actually runs (itself when groups == 1)."""
        if self.groups == 1:
            return self
        return Layer(self.name, self.ifmap_h, self.ifmap_w, self.filt_h, self.filt_w, 1, self.num_filters,
                     self.stride, 1)


def gemm_layer(name: str, m: int, n: int, k: int) -> Layer:
    """An M x K by K x N matrix product as SCALE-Sim maps it (IFMAP M x K, 1 x K filter, N filters)."""
    return Layer(name, m, k, 1, k, 1, n, 1)


def _int(field: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ConfigError(field, f"expected an integer, got {text.strip()!r}") from None


def parse_topology(text: str, source: str = "<topology>") -> list[Layer]:
    """Parse a SCALE-Sim topology (conv or GEMM M,N,K format, detected from the header)."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise ConfigError(source, "empty topology file")
    header = [h.strip().lower() for h in lines[0].split(",")]
    gemm = header[1:4] == ["m", "n", "k"]
    layers: list[Layer] = []
    for lineno, ln in enumerate(lines[1:], start=2):
        cells = [c.strip() for c in ln.split(",")]
        if not cells[0]:
            continue  # SCALE-Sim's ResNet-50 has a separator row of empty cells
        where = f"{source}:{lineno}"
        if gemm:
            if len(cells) < 4:
                raise ConfigError(where, "GEMM rows need Layer, M, N, K")
            m, n, k = (_int(f"{where}.{c}", cells[i]) for i, c in ((1, "M"), (2, "N"), (3, "K")))
            layers.append(gemm_layer(cells[0], m, n, k))
            continue
        if len(cells) < 8 or not cells[7]:
            raise ConfigError(where, "conv rows need 8 fields: name, IFMAP H, IFMAP W, Filter H, Filter W, "
                                     "Channels, Num Filter, Strides")
        v = [_int(f"{where}.{h}", cells[i]) for i, h in enumerate(
            ("ifmap_h", "ifmap_w", "filt_h", "filt_w", "channels", "num_filters", "stride"), start=1)]
        if "DP" in cells[0]:
            layers.append(Layer(cells[0], v[0], v[1], v[2], v[3], 1, v[5], v[6], groups=v[4]))
        else:
            layers.append(Layer(cells[0], *v))
    if not layers:
        raise ConfigError(source, "no layers found")
    return layers


def load_topology(path: str | Path) -> list[Layer]:
    """Read a user topology CSV (SCALE-Sim conv or GEMM format)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("topology", f"file not found: {p}")
    return parse_topology(p.read_text(), str(p))


def load_workload(name: str) -> list[Layer]:
    """A shipped workload by name (see BUILTIN_WORKLOADS) or a path to a topology CSV."""
    if name in BUILTIN_WORKLOADS:
        ref = resources.files(_DATA_PACKAGE).joinpath("data", "npu", BUILTIN_WORKLOADS[name])
        return parse_topology(ref.read_text(), BUILTIN_WORKLOADS[name])
    if name.endswith(".csv"):
        return load_topology(name)
    raise UnknownNameError("workload", name, list(BUILTIN_WORKLOADS))


def select_layers(workload: str, layer: str | int | None = None) -> list[Layer]:
    """The layers an env simulates: the whole ``workload`` (shipped name or topology CSV), or one of its
    layers by name or 0-based index.  Errors name the config field (``workload`` or ``layer``)."""
    try:
        layers = load_workload(workload)
    except ArchGymError as exc:
        raise ConfigError("workload", str(exc)) from None
    if layer is None:
        return layers
    key = str(layer).strip()
    named = [lay for lay in layers if lay.name == key]
    if named:
        return named[:1]
    if key.isdigit() and int(key) < len(layers):  # 0-based; a negative index is an error, not "from the end"
        return [layers[int(key)]]
    names = ", ".join(lay.name for lay in layers)
    raise ConfigError("layer", f"no layer {key!r} in {workload} (an index in [0, {len(layers)}) or a name: "
                                   f"{names[:150] + '...' if len(names) > 150 else names})")
