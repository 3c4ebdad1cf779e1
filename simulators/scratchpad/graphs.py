"""DNN operator graphs with tensor sizes in bytes, for scratchpad scheduling.

Graph model (a ``networkx.DiGraph``, one node per operator or graph input):

* node attribute ``kind``: ``"input"`` (a network input tensor that already lives in DRAM, not an
  operator) or ``"op"`` (an operator to schedule);
* ``out_bytes`` (int > 0): size of the node's single output tensor; for an input node, the input;
* ``weight_bytes`` (int >= 0, ops only): size of the operator's weights (plus int32 biases), a clean
  tensor loaded from DRAM and used by that operator only;
* ``op_type`` (str, informational) and optional ``shape`` (list of ints, the output shape);
* an edge ``u -> v`` means operator ``v`` reads ``u``'s output.  Ops with no successor are the
  graph outputs: their output is written to DRAM once (compulsory traffic).

Tensor sizes come from the real layer shapes with int8 activations and weights (1 byte per element)
and int32 biases (4 bytes per output channel), the usual post-training-quantised deployment.

JSON format (``load_graph_json`` / ``save_graph_json``)::

    {"name": "my-net",
     "nodes": [{"name": "x", "kind": "input", "out_bytes": 150528},
               {"name": "conv1", "kind": "op", "op_type": "conv", "out_bytes": 802816,
                "weight_bytes": 9664}],
     "edges": [["x", "conv1"]]}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from archgym.errors import ConfigError, DesignError

INT8 = 1  # bytes per activation / weight element
BIAS_BYTES = 4  # int32 bias per output channel


# ----------------------------------------------------------------------------------------------
# A small builder that tracks shapes so that every size is computed from the layer geometry.
# ----------------------------------------------------------------------------------------------
@dataclass
class _Builder:
    graph: nx.DiGraph
    shapes: dict

    @classmethod
    def new(cls, name: str) -> _Builder:
        return cls(nx.DiGraph(name=name), {})

    def input(self, name: str, shape: tuple[int, ...]) -> str:
        self.shapes[name] = shape
        self.graph.add_node(name, kind="input", op_type="input", out_bytes=int(np.prod(shape)) * INT8,
                            weight_bytes=0, shape=list(shape))
        return name

    def op(self, name: str, op_type: str, inputs: list[str], shape: tuple[int, ...], weight_bytes: int) -> str:
        if name in self.graph:
            raise DesignError(f"duplicate operator name '{name}'")
        self.shapes[name] = shape
        self.graph.add_node(name, kind="op", op_type=op_type, out_bytes=int(np.prod(shape)) * INT8,
                            weight_bytes=int(weight_bytes), shape=list(shape))
        for src in inputs:
            self.graph.add_edge(src, name)
        return name

    def conv(self, name: str, src: str, cout: int, k: int, stride: int = 1, groups: int = 1,
             pad: int | None = None) -> str:
        """Convolution (H, W, C) -> (H', W', cout); 'same' padding k // 2 unless given."""
        h, w, cin = self.shapes[src]
        pad = k // 2 if pad is None else pad
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        weights = k * k * (cin // groups) * cout * INT8 + cout * BIAS_BYTES
        kind = "dwconv" if groups == cin and groups > 1 else "conv"
        return self.op(name, kind, [src], (ho, wo, cout), weights)

    def pool(self, name: str, src: str, k: int, stride: int, pad: int = 0, global_: bool = False) -> str:
        h, w, c = self.shapes[src]
        if global_:
            return self.op(name, "avgpool", [src], (1, 1, c), 0)
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        return self.op(name, "maxpool", [src], (ho, wo, c), 0)

    def add(self, name: str, a: str, b: str) -> str:
        if self.shapes[a] != self.shapes[b]:
            raise DesignError(f"add '{name}': shapes {self.shapes[a]} and {self.shapes[b]} differ")
        return self.op(name, "add", [a, b], self.shapes[a], 0)

    def concat(self, name: str, srcs: list[str]) -> str:
        h, w, _ = self.shapes[srcs[0]]
        return self.op(name, "concat", srcs, (h, w, sum(self.shapes[s][2] for s in srcs)), 0)

    def dense(self, name: str, src: str, dout: int, bias: bool = True) -> str:
        """Matrix product (..., din) x (din, dout)."""
        shape = self.shapes[src]
        weights = shape[-1] * dout * INT8 + (dout * BIAS_BYTES if bias else 0)
        return self.op(name, "dense", [src], (*shape[:-1], dout), weights)


# ----------------------------------------------------------------------------------------------
# Shipped workloads.
# ----------------------------------------------------------------------------------------------
def resnet18(resolution: int = 224, num_classes: int = 1000) -> nx.DiGraph:
    """ResNet-18 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, Table 1).

    7x7/2 conv, 3x3/2 max-pool, four stages of two basic blocks (64, 128, 256, 512 channels; the
    first block of stages 2-4 has stride 2 and a 1x1/2 projection shortcut), global average pool, fc.
    """
    b = _Builder.new("resnet18")
    x = b.conv("conv1", b.input("image", (resolution, resolution, 3)), 64, 7, stride=2)
    x = b.pool("maxpool", x, 3, 2, pad=1)
    for stage, ch in enumerate((64, 128, 256, 512), start=1):
        for blk in range(2):
            stride = 2 if stage > 1 and blk == 0 else 1
            pre = f"l{stage}.{blk}"
            y = b.conv(f"{pre}.conv1", x, ch, 3, stride=stride)
            y = b.conv(f"{pre}.conv2", y, ch, 3)
            short = b.conv(f"{pre}.down", x, ch, 1, stride=stride, pad=0) if stride != 1 else x
            x = b.add(f"{pre}.add", y, short)
    x = b.pool("avgpool", x, 0, 0, global_=True)
    b.dense("fc", x, num_classes)
    return b.graph


# (expansion t, output channels c, repeats n, first stride s): Sandler et al. 2018, Table 2.
_MBV2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                  (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(resolution: int = 224, num_classes: int = 1000) -> nx.DiGraph:
    """MobileNetV2 1.0 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
    CVPR 2018, Table 2): inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1 linear project;
    residual add when stride 1 and channels match)."""
    b = _Builder.new("mobilenet_v2")
    x = b.conv("conv0", b.input("image", (resolution, resolution, 3)), 32, 3, stride=2)
    idx = 0
    for t, c, n, s in _MBV2_SETTINGS:
        for i in range(n):
            stride = s if i == 0 else 1
            cin = b.shapes[x][2]
            pre = f"b{idx}"
            y = b.conv(f"{pre}.expand", x, cin * t, 1, pad=0) if t != 1 else x
            y = b.conv(f"{pre}.dw", y, b.shapes[y][2], 3, stride=stride, groups=b.shapes[y][2])
            y = b.conv(f"{pre}.project", y, c, 1, pad=0)
            x = b.add(f"{pre}.add", y, x) if stride == 1 and cin == c else y
            idx += 1
    x = b.conv("conv_last", x, 1280, 1, pad=0)
    x = b.pool("avgpool", x, 0, 0, global_=True)
    b.dense("fc", x, num_classes)
    return b.graph


def inception_block(resolution: int = 28) -> nx.DiGraph:
    """GoogLeNet inception modules 3a and 3b (Szegedy et al., "Going Deeper with Convolutions",
    CVPR 2015, Table 1): four branches (1x1; 1x1->3x3; 1x1->5x5; 3x3 max-pool->1x1) and a concat."""
    b = _Builder.new("inception_3a_3b")
    x = b.input("x", (resolution, resolution, 192))
    for name, (c1, c3r, c3, c5r, c5, pp) in (("3a", (64, 96, 128, 16, 32, 32)),
                                             ("3b", (128, 128, 192, 32, 96, 64))):
        br1 = b.conv(f"{name}.1x1", x, c1, 1, pad=0)
        br2 = b.conv(f"{name}.3x3", b.conv(f"{name}.3x3r", x, c3r, 1, pad=0), c3, 3)
        br3 = b.conv(f"{name}.5x5", b.conv(f"{name}.5x5r", x, c5r, 1, pad=0), c5, 5)
        br4 = b.conv(f"{name}.pp", b.pool(f"{name}.pool", x, 3, 1, pad=1), pp, 1, pad=0)
        x = b.concat(f"{name}.concat", [br1, br2, br3, br4])
    return b.graph


def transformer_encoder(seq_len: int = 128, d_model: int = 768, heads: int = 12, d_ff: int = 3072) -> nx.DiGraph:
    """One post-LN transformer encoder layer (Vaswani et al., "Attention Is All You Need", NeurIPS
    2017, sec. 3) at BERT-base size (Devlin et al., NAACL 2019: d=768, 12 heads, d_ff=3072)."""
    b = _Builder.new("transformer_encoder")
    x = b.input("x", (seq_len, d_model))
    q, k, v = (b.dense(n, x, d_model) for n in ("q_proj", "k_proj", "v_proj"))
    scores = b.op("scores", "matmul", [q, k], (heads, seq_len, seq_len), 0)  # Q K^T per head
    probs = b.op("softmax", "softmax", [scores], (heads, seq_len, seq_len), 0)
    ctx = b.op("context", "matmul", [probs, v], (seq_len, d_model), 0)  # P V, heads concatenated
    o = b.dense("out_proj", ctx, d_model)
    h = b.op("ln1", "layernorm", [b.add("add1", o, x)], (seq_len, d_model), 2 * d_model * BIAS_BYTES)
    f = b.op("gelu", "gelu", [b.dense("ff1", h, d_ff)], (seq_len, d_ff), 0)
    f = b.dense("ff2", f, d_model)
    b.op("ln2", "layernorm", [b.add("add2", f, h)], (seq_len, d_model), 2 * d_model * BIAS_BYTES)
    return b.graph


# Activation sizes for random graphs: int8 feature maps of common CNN layers (H*W*C bytes).
_RANDOM_ACT = (56 * 56 * 24, 28 * 28 * 32, 28 * 28 * 64, 14 * 14 * 96, 14 * 14 * 128, 7 * 7 * 320)


def _cell_dag(name: str, n_ops: int, rng: np.random.Generator, max_fan_in: int, window: int,
              input_bytes: int, op_bytes: Callable[[], tuple[int, int]]) -> nx.DiGraph:
    """A NAS-cell-like DAG: op i reads 1..max_fan_in outputs of the previous ``window`` nodes (always
    including node i-1 so the graph stays connected); ``op_bytes()`` gives each op's (output, weight) bytes."""
    if n_ops < 1:
        raise ConfigError("n_ops", f"must be >= 1, got {n_ops}")
    if max_fan_in < 1 or window < 1:
        raise ConfigError("max_fan_in/window", "must be >= 1")
    g = nx.DiGraph(name=name)
    g.add_node("x", kind="input", op_type="input", out_bytes=input_bytes, weight_bytes=0)
    names = ["x"]
    for i in range(n_ops):
        op = f"op{i}"
        prev = names[max(0, len(names) - window):]
        k = int(rng.integers(1, min(max_fan_in, len(prev)) + 1))
        extra = list(rng.choice(prev[:-1], size=min(k - 1, len(prev) - 1), replace=False)) if k > 1 else []
        out, weights = op_bytes()
        g.add_node(op, kind="op", op_type="cell_op", out_bytes=out, weight_bytes=weights)
        for src in [prev[-1], *extra]:
            g.add_edge(str(src), op)
        names.append(op)
    return g


def random_dag(n_ops: int, seed: int, max_fan_in: int = 3, window: int = 4) -> nx.DiGraph:
    """A seeded NAS-cell-like DAG (``_cell_dag``); sizes are drawn from real CNN layer shapes; weights
    are those of a 3x3 conv between the channel counts involved."""
    rng = np.random.default_rng(seed)

    def op_bytes() -> tuple[int, int]:
        out = int(rng.choice(_RANDOM_ACT))
        channels = int(rng.choice((32, 64, 96, 128)))
        return out, 9 * channels * channels * INT8 + channels * BIAS_BYTES

    return _cell_dag(f"random_dag_{n_ops}_s{seed}", n_ops, rng, max_fan_in, window,
                     int(rng.choice(_RANDOM_ACT)), op_bytes)


def skewed_dag(n_ops: int, seed: int, max_fan_in: int = 4, window: int = 8) -> nx.DiGraph:
    """A seeded DAG wired like ``random_dag`` but with sizes spread over two and a half decades
    (activations log-uniform in 1..256 KiB, 70% of ops with weights of 1..64 KiB), so that tensors
    rarely fit each other's holes and placement matters: held-out cases unlike the CNN-shaped ones."""
    rng = np.random.default_rng(seed)

    def kib(lo: float, hi: float) -> int:
        return int(1024 * np.exp(rng.uniform(np.log(lo), np.log(hi))))

    def op_bytes() -> tuple[int, int]:
        out = kib(1, 256)
        return out, kib(1, 64) if rng.random() < 0.7 else 0

    return _cell_dag(f"skewed_dag_{n_ops}_s{seed}", n_ops, rng, max_fan_in, window, kib(1, 256), op_bytes)


def tiny_graph(n_ops: int, seed: int) -> nx.DiGraph:
    """A tiny random DAG with small integer sizes, for brute-force cross-checks."""
    rng = np.random.default_rng(seed)
    g = nx.DiGraph(name=f"tiny_{n_ops}_s{seed}")
    g.add_node("x", kind="input", op_type="input", out_bytes=int(rng.integers(1, 5)), weight_bytes=0)
    names = ["x"]
    for i in range(n_ops):
        name = f"t{i}"
        g.add_node(name, kind="op", op_type="op", out_bytes=int(rng.integers(1, 6)),
                   weight_bytes=int(rng.integers(0, 3)))
        srcs = {names[-1]} | {names[int(j)] for j in rng.integers(0, len(names), size=int(rng.integers(0, 2)))}
        for s in sorted(srcs):
            g.add_edge(s, name)
        names.append(name)
    return g


WORKLOADS = {
    "resnet18": resnet18,
    "mobilenet_v2": mobilenet_v2,
    "inception": inception_block,
    "transformer": transformer_encoder,
    "random_dag": lambda: random_dag(40, seed=1, window=8),  # M_R < M_H < M_P: a non-trivial case
}


def workload(name: str) -> nx.DiGraph:
    """A shipped workload by name (see ``WORKLOADS``)."""
    if name not in WORKLOADS:
        raise ConfigError("workload", f"unknown '{name}'; valid: {', '.join(sorted(WORKLOADS))}")
    build: Any = WORKLOADS[name]
    return build()


# ----------------------------------------------------------------------------------------------
# Validation and JSON round trip.
# ----------------------------------------------------------------------------------------------
def validate_graph(graph: nx.DiGraph) -> None:
    """Raise DesignError naming the node/field if the graph breaks the documented format."""
    if not isinstance(graph, nx.DiGraph):
        raise DesignError("graph must be a networkx.DiGraph")
    if graph.number_of_nodes() == 0:
        raise DesignError("graph has no nodes")
    if not nx.is_directed_acyclic_graph(graph):
        raise DesignError(f"graph has a cycle: {nx.find_cycle(graph)}")
    n_ops = 0
    for node, attrs in graph.nodes(data=True):
        kind = attrs.get("kind")
        if kind not in ("input", "op"):
            raise DesignError(f"node '{node}': field 'kind' must be 'input' or 'op', got {kind!r}")
        out = attrs.get("out_bytes")
        if not isinstance(out, (int, np.integer)) or isinstance(out, bool) or out <= 0:
            raise DesignError(f"node '{node}': field 'out_bytes' must be a positive int, got {out!r}")
        wb = attrs.get("weight_bytes", 0)
        if not isinstance(wb, (int, np.integer)) or isinstance(wb, bool) or wb < 0:
            raise DesignError(f"node '{node}': field 'weight_bytes' must be an int >= 0, got {wb!r}")
        if kind == "input":
            if graph.in_degree(node) > 0:
                raise DesignError(f"input node '{node}' must have no predecessors")
            if graph.out_degree(node) == 0:
                raise DesignError(f"input node '{node}' is read by no operator")
            if wb:
                raise DesignError(f"input node '{node}': field 'weight_bytes' must be 0")
        else:
            n_ops += 1
    if n_ops == 0:
        raise DesignError("graph has no operator (kind='op') nodes")


def graph_to_json(graph: nx.DiGraph) -> dict:
    """The documented JSON document of a graph."""
    validate_graph(graph)
    nodes = []
    for node, a in graph.nodes(data=True):
        entry = {"name": str(node), "kind": a["kind"], "op_type": a.get("op_type", a["kind"]),
                 "out_bytes": int(a["out_bytes"]), "weight_bytes": int(a.get("weight_bytes", 0))}
        if "shape" in a:
            entry["shape"] = [int(s) for s in a["shape"]]
        nodes.append(entry)
    return {"name": graph.graph.get("name", "graph"), "nodes": nodes,
            "edges": [[str(u), str(v)] for u, v in graph.edges()]}


def graph_from_json(doc: dict) -> nx.DiGraph:
    """Build and validate a graph from the documented JSON document."""
    if not isinstance(doc, dict) or "nodes" not in doc or "edges" not in doc:
        raise DesignError("graph JSON must be an object with 'nodes' and 'edges'")
    g = nx.DiGraph(name=doc.get("name", "graph"))
    for i, n in enumerate(doc["nodes"]):
        if not isinstance(n, dict) or "name" not in n:
            raise DesignError(f"nodes[{i}] must be an object with a 'name'")
        g.add_node(n["name"], **{k: v for k, v in n.items() if k != "name"})
    for i, e in enumerate(doc["edges"]):
        if not isinstance(e, (list, tuple)) or len(e) != 2 or e[0] not in g or e[1] not in g:
            raise DesignError(f"edges[{i}] must be [src, dst] naming declared nodes, got {e!r}")
        g.add_edge(e[0], e[1])
    validate_graph(g)
    return g


def save_graph_json(graph: nx.DiGraph, path: str | Path) -> None:
    Path(path).write_text(json.dumps(graph_to_json(graph), indent=1))


def load_graph_json(path: str | Path) -> nx.DiGraph:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError("path", f"cannot read graph JSON {path}: {exc}") from exc
    return graph_from_json(doc)


def shipped_json(name: str) -> nx.DiGraph:
    """A graph shipped as JSON under simulators/data/scratchpad/ (an example of the user format)."""
    path = resources.files("archgym.simulators") / "data" / "scratchpad" / f"{name}.json"
    if not path.is_file():
        raise ConfigError("name", f"no shipped scratchpad graph '{name}'")
    return graph_from_json(json.loads(path.read_text()))
