"""Prefix circuits from the theory of parallel prefix computation: the baselines a search must beat.

The RL papers compare with Sklansky, Kogge-Stone and Brent-Kung; the theory has better answers for a
given depth, and these are they, for every width ``n >= 2``:

* **Zero-deficiency circuits** (size + depth = 2n - 2, the lower bound of M. Snir, "Depth-size
  trade-offs for parallel prefix computation", J. Algorithms 7, 1986, so they are size-optimal at
  their depth).  H. Zhu, C.-K. Cheng and R. Graham ("Constructing zero-deficiency parallel prefix
  circuits of minimum depth", ACM TODAES 11(2), 2006) show that the widest one of depth ``d`` has
  F(d+3) - 1 inputs (F: Fibonacci) and build it from ``d`` slices.  We construct it from that
  characterization: a *spine* ``s_k = [e_k:0]`` at depth ``k`` for ``k = 1..d``, and in slice ``k`` a
  binary tree over the bits ``e_{k-1}+1..e_k`` whose root (depth <= k-1) feeds ``s_k`` and whose nodes
  are the only non-output nodes; every other output ``[j:0]`` is one node, the largest tree node
  ending at ``j`` combined with the output just below it (the PrefixRL grid's upper/lower parents).
  The slice trees come from an exact dynamic program over (root depth, depth of the output below the
  tree); :func:`max_zero_deficiency_width` reproduces F(d+3) - 1, which the tests check.  A width
  below the maximum trims leaves (removing a tree's rightmost leaf never deepens anything).
* **Ladner-Fischer P_k** (R. Ladner and M. Fischer, "Parallel prefix computation", J. ACM 27(4),
  1980), for ``k = 0..ceil(log2 n)``: depth ``ceil(log2 n) + k`` and size below ``2(1 + 2^-k) n``.
  ``P_0(n)`` runs ``P_1`` on the lower half (a power of two) and ``P_0`` on the upper half, then fans
  the lower half's last output into the upper half; ``P_k(n)``, ``k >= 1``, combines adjacent pairs,
  runs ``P_{k-1}`` on the pairs and fixes the even positions with one node each.  (Not the
  "ladner_fischer" of Harris' taxonomy in ``CLASSICAL``, which is sparse-2 Sklansky.)

Not implemented: Sergeev's minimum-size circuits of depth log2 n (ECCC TR13-041).
"""

from __future__ import annotations

import math
from functools import cache

from archgym.errors import ConfigError

Node = tuple[int, int]


# ---- zero-deficiency circuits ----------------------------------------------------------------------
@cache
def _tree_capacity(depth: int, root: int, base: int) -> tuple[int, int]:
    """(most leaves, best left-subtree root bound) of a slice tree: root depth <= ``root``, the output
    just below the tree at depth ``base``, every output in the tree at depth <= ``depth``.  A left child
    ``A`` gives its last bit's output ``A o below`` at depth ``max(root_A, base) + 1``, the base of its
    right sibling; right children leave their last output to an ancestor."""
    best, split = 1, -1  # a single leaf: the input itself
    for left_root in range(root):
        right_base = max(left_root, base) + 1
        if right_base > depth:
            continue
        leaves = _tree_capacity(depth, left_root, base)[0] + _tree_capacity(depth, root - 1, right_base)[0]
        if leaves > best:
            best, split = leaves, left_root
    return best, split


def _slice_capacities(depth: int) -> list[int]:
    """Leaves of slice k = 1..depth of the widest zero-deficiency circuit of that depth."""
    return [_tree_capacity(depth, k - 1, k - 1)[0] for k in range(1, depth + 1)]


def max_zero_deficiency_width(depth: int) -> int:
    """The most inputs a zero-deficiency prefix circuit of this depth has (F(depth + 3) - 1)."""
    return 1 + sum(_slice_capacities(depth))


def min_zero_deficiency_depth(n: int) -> int:
    """The smallest depth at which an ``n``-input zero-deficiency circuit exists."""
    d = 1
    while max_zero_deficiency_width(d) < n:
        d += 1
    return d


def _tree(depth: int, root: int, base: int, lo: int, leaves: int, nodes: list[Node]) -> int:
    """Append the nodes of a slice tree with ``leaves`` leaves on bits ``lo..``; returns its top bit."""
    if leaves == 1:
        return lo
    capacity, left_root = _tree_capacity(depth, root, base)
    assert leaves <= capacity and left_root >= 0
    right_base = max(left_root, base) + 1
    left_cap = _tree_capacity(depth, left_root, base)[0]
    left_leaves = min(left_cap, leaves - 1)
    top_left = _tree(depth, left_root, base, lo, left_leaves, nodes)
    nodes.append((top_left, 0))  # the left child's last output: (its root) o (output below it)
    top = _tree(depth, root - 1, right_base, lo + left_leaves, leaves - left_leaves, nodes)
    nodes.append((top, lo))  # the root of this (sub)tree
    return top


def zero_deficiency_nodes(n: int, depth: int | None = None) -> list[Node]:
    """A zero-deficiency prefix circuit of ``n`` inputs and the given depth (default: the smallest that
    admits ``n``); its size is ``2n - 2 - depth``.  ``depth`` must be in [min depth, n - 1]."""
    d_min = min_zero_deficiency_depth(n)
    d = d_min if depth is None else int(depth)
    if not d_min <= d <= n - 1:
        raise ConfigError("depth", f"a zero-deficiency circuit of {n} inputs has depth in [{d_min}, {n - 1}], "
                                   f"got {d}")
    caps = _slice_capacities(d)
    leaves = [1] * d  # every slice takes one leaf (the spine has length d), the rest fill the capacities
    spare = n - 1 - d
    for k in range(d - 1, -1, -1):
        extra = min(spare, caps[k] - 1)
        leaves[k] += extra
        spare -= extra
    assert spare == 0
    nodes: list[Node] = []
    below = 0  # e_{k-1}: the spine's top bit so far
    for k in range(1, d + 1):
        top = _tree(d, k - 1, k - 1, below + 1, leaves[k - 1], nodes)
        nodes.append((top, 0))  # spine node s_k = (tree root) o s_{k-1}, at depth k
        below = top
    return nodes


# ---- Ladner-Fischer P_k ----------------------------------------------------------------------------
def _ladner_fischer(blocks: list[tuple[int, int]], k: int, nodes: list[Node]) -> None:
    """Append the nodes of P_k over ``blocks`` (contiguous (lo, hi) bit ranges whose own node exists):
    the prefixes (hi_I, lo_0) of every block I >= 1."""
    m = len(blocks)
    if m == 1:
        return
    if k == 0:
        half = 1 << (math.ceil(math.log2(m)) - 1)  # a power of two: its last output is not a "fix" node
        lower, upper = blocks[:half], blocks[half:]
        _ladner_fischer(lower, 1, nodes)
        _ladner_fischer(upper, 0, nodes)
        nodes.extend((hi, lower[0][0]) for _, hi in upper)
        return
    pairs = [(blocks[i][0], blocks[i + 1][1]) for i in range(0, m - 1, 2)]
    nodes.extend((hi, lo) for lo, hi in pairs)  # each pair's node: block 2i+1 o block 2i
    if m % 2:
        pairs.append(blocks[-1])
    _ladner_fischer(pairs, k - 1, nodes)
    nodes.extend((blocks[i][1], blocks[0][0]) for i in range(2, m - (m % 2), 2))


def ladner_fischer_nodes(n: int, k: int) -> list[Node]:
    """Ladner and Fischer's P_k of ``n`` inputs: depth ceil(log2 n) + k (k <= ceil(log2 n))."""
    nodes: list[Node] = []
    _ladner_fischer([(i, i) for i in range(n)], int(k), nodes)
    return nodes


# ---- as named baselines -----------------------------------------------------------------------------
#: the names ``frontier_constructions`` builds: ``zero_deficiency`` (at the smallest depth that admits n),
#: ``zero_deficiency_d<D>`` (at depth D) and ``lf_p<k>`` (Ladner-Fischer P_k)
MAX_LF_K = 11  # ceil(log2(MAX_WIDTH))


def frontier_constructions(n: int, depth_bound: int | None = None) -> dict[str, list[Node]]:
    """The theory's constructions for ``n`` inputs, by name: zero-deficiency at its smallest depth (and at
    ``depth_bound`` when that admits a smaller one), and Ladner-Fischer P_k for k = 0..ceil(log2 n)
    (without the k at which P_k stops changing)."""
    out = {"zero_deficiency": zero_deficiency_nodes(n)}
    d_min = min_zero_deficiency_depth(n)
    if depth_bound is not None and d_min < min(depth_bound, n - 1):
        d = min(depth_bound, n - 1)
        out[f"zero_deficiency_d{d}"] = zero_deficiency_nodes(n, d)
    previous: set[Node] | None = None
    for k in range(math.ceil(math.log2(n)) + 1):
        nodes = ladner_fischer_nodes(n, k)
        if set(nodes) != previous:
            out[f"lf_p{k}"] = nodes
        previous = set(nodes)
    return out


def frontier_nodes(name: str, n: int) -> list[Node]:
    """The nodes of one construction named as in :func:`frontier_constructions` (e.g. a ``start`` design)."""
    if name == "zero_deficiency":
        return zero_deficiency_nodes(n)
    if name.startswith("zero_deficiency_d") and name[len("zero_deficiency_d"):].isdigit():
        return zero_deficiency_nodes(n, int(name[len("zero_deficiency_d"):]))
    if name.startswith("lf_p") and name[4:].isdigit() and int(name[4:]) <= MAX_LF_K:
        return ladner_fischer_nodes(n, int(name[4:]))
    raise ValueError(f"no construction named {name!r}")
