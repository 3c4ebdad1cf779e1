"""Metrics over runs: best-so-far curves, evaluations-to-target, Pareto fronts, hypervolume."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def weighted_cost(metrics: dict[str, float], reference: dict[str, float], delay_weight: float) -> float:
    """``w * delay / delay_ref + (1 - w) * area / area_ref``: 1.0 for the reference design, so
    the two terms are comparable at every width and under every cost model."""
    return delay_weight * metrics["delay"] / reference["delay"] + (1 - delay_weight) * metrics["area"] / reference["area"]


def best_so_far(costs: Sequence[float]) -> np.ndarray:
    """Running minimum of the cost sequence (inf until the first feasible evaluation)."""
    arr = np.asarray(costs, dtype=float)
    return np.minimum.accumulate(np.where(np.isnan(arr), np.inf, arr)) if len(arr) else arr


def evaluations_to_reach(costs: Sequence[float], target: float, rel_tol: float = 0.01) -> float:
    """1-based number of evaluations until the cost is within ``rel_tol`` of ``target`` (nan if never)."""
    threshold = target + abs(target) * rel_tol
    for i, c in enumerate(costs):
        if c <= threshold:
            return float(i + 1)
    return math.nan


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Which rows of ``points`` (to minimize) no other row dominates; equal rows are all kept."""
    pts = np.asarray(points, dtype=float)
    keep = np.zeros(len(pts), dtype=bool)
    for i, p in enumerate(pts):
        keep[i] = not np.any(np.all(pts <= p, axis=1) & np.any(pts < p, axis=1))
    return keep


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Rows of ``points`` (to minimize) not dominated by any other row, sorted by the first column."""
    pts = np.unique(np.asarray(points, dtype=float), axis=0)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    front = pts[pareto_mask(pts)]
    return front[np.lexsort(front.T[::-1])] if len(front) else front


def hypervolume(points: np.ndarray, reference: Sequence[float] | np.ndarray) -> float:
    """Exact hypervolume dominated by ``points`` (minimization) and bounded by ``reference``.

    Slicing along the last objective (HSO, While et al. 2006); exact and fast enough for the
    fronts of a comparison (hundreds of points, 2-3 objectives).
    """
    ref = np.asarray(reference, dtype=float)
    pts = np.asarray(points, dtype=float)
    if pts.size == 0:
        return 0.0
    pts = pts[np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pareto_front(pts)
    if pts.shape[1] == 1:
        return float(ref[0] - pts[:, 0].min())
    if pts.shape[1] == 2:
        order = np.argsort(pts[:, 0])
        volume, prev_y = 0.0, ref[1]
        for x, y in pts[order]:
            if y < prev_y:
                volume += (ref[0] - x) * (prev_y - y)
                prev_y = y
        return float(volume)
    order = np.argsort(pts[:, -1])
    pts = pts[order]
    volume = 0.0
    for k in range(len(pts)):
        upper = pts[k + 1, -1] if k + 1 < len(pts) else ref[-1]
        depth = upper - pts[k, -1]
        if depth > 0:
            volume += depth * hypervolume(pts[: k + 1, :-1], ref[:-1])
    return float(volume)
