"""NPU dataflows: the analytical model of a systolic/spatial PE array (``model``, per-access energy and
area figures in ``costs``), DNN workloads as SCALE-Sim topologies (``workloads``), heterogeneous
multi-array systems (``system``) and SCALE-Sim 3.0.0 itself in a private venv (``scalesim``)."""

from archgym.simulators.npu.model import DATAFLOWS, DESIGN_SPACE, LOOP_ORDERS, NPUDesign, evaluate, evaluate_layer
from archgym.simulators.npu.system import NPUSystem, evaluate_system
from archgym.simulators.npu.workloads import BUILTIN_WORKLOADS, Layer, load_workload

__all__ = [
    "BUILTIN_WORKLOADS",
    "DATAFLOWS",
    "DESIGN_SPACE",
    "LOOP_ORDERS",
    "Layer",
    "NPUDesign",
    "NPUSystem",
    "evaluate",
    "evaluate_layer",
    "evaluate_system",
    "load_workload",
]
