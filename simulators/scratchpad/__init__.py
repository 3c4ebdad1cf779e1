"""Scratchpad scheduling of DNN operator graphs: graphs and their JSON form (``graphs``), the replay
cost model on a contiguous address space with eviction policies (``model``) and the COSMA-style ILP
yardstick (``ilp``)."""

from archgym.simulators.scratchpad.graphs import WORKLOADS, graph_from_json, load_graph_json, validate_graph, workload
from archgym.simulators.scratchpad.ilp import ILPResult, solve_decomposed, solve_ilp
from archgym.simulators.scratchpad.model import (
    ALLOCATORS,
    POLICIES,
    CompiledGraph,
    Result,
    ScratchpadSim,
    belady,
    budgets,
    compile_graph,
    default_order,
    min_peak_order,
    simulate,
)

__all__ = [
    "ALLOCATORS",
    "POLICIES",
    "WORKLOADS",
    "CompiledGraph",
    "ILPResult",
    "Result",
    "ScratchpadSim",
    "belady",
    "budgets",
    "compile_graph",
    "default_order",
    "graph_from_json",
    "load_graph_json",
    "min_peak_order",
    "simulate",
    "solve_decomposed",
    "solve_ilp",
    "validate_graph",
    "workload",
]
