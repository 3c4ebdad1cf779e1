"""Arithmetic families: parallel-prefix adders and multipliers (compressor tree + final prefix adder).

Design types (``PrefixGraph``, ``MultiplierDesign``), their classical constructions, legal edits and the
analytical cost models (unit-gate cells with a fanout term, bit-level arrival times)."""

from archgym.simulators.arith.cost_models import AdderAnalytical, MultiplierAnalytical
from archgym.simulators.arith.multiplier import (
    TREES,
    MultiplierDesign,
    legal_tree_edits,
    multiplier_baseline,
    reduced_tree,
    tree_edit,
    with_adder,
)
from archgym.simulators.arith.prefix import CLASSICAL, PrefixGraph, analytical_metrics, classical

__all__ = [
    "CLASSICAL",
    "TREES",
    "AdderAnalytical",
    "MultiplierAnalytical",
    "MultiplierDesign",
    "PrefixGraph",
    "analytical_metrics",
    "classical",
    "legal_tree_edits",
    "multiplier_baseline",
    "reduced_tree",
    "tree_edit",
    "with_adder",
]
