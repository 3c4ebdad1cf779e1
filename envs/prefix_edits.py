"""The add/delete-node action encoding of a prefix graph, shared by every env that edits one
(the adder family, and the final adder of the multiplier family).

Action ``2c`` adds and ``2c + 1`` deletes candidate node ``c``: all (i, j) with 1 <= j < i < n
(outputs (i, 0) are always present, so they are never candidates); each edit is followed by the
graph's legalization.
"""

from __future__ import annotations

import numpy as np

from archgym.simulators.arith.prefix import PrefixGraph


class PrefixEdits:
    """The add/delete-node edits of an n-bit prefix graph (PrefixRL's action space), shared by adders and multipliers."""

    def __init__(self, n: int):
        self.n = n
        self.candidates = [(i, j) for i in range(2, n) for j in range(1, i)]
        self._index = {c: k for k, c in enumerate(self.candidates)}
        self._rows = np.array([c[0] for c in self.candidates], dtype=np.intp)
        self._cols = np.array([c[1] for c in self.candidates], dtype=np.intp)

    @property
    def num_actions(self) -> int:
        return 2 * len(self.candidates)

    def mask(self, graph: PrefixGraph) -> np.ndarray:
        arrays = graph.node_arrays()
        add, delete = arrays["add"], arrays["delete"]
        mask = np.empty(self.num_actions, dtype=bool)
        mask[0::2] = add[self._rows, self._cols]
        mask[1::2] = delete[self._rows, self._cols]
        return mask

    def apply(self, graph: PrefixGraph, action: int) -> PrefixGraph:
        i, j = self.candidates[action // 2]
        return graph.delete(i, j) if action % 2 else graph.add(i, j)

    def cells(self) -> np.ndarray:
        """(plane, row, col) of every action on the n x n node grid: plane 0 adds, plane 1 deletes."""
        k = np.arange(self.num_actions)
        return np.stack([k % 2, self._rows[k // 2], self._cols[k // 2]], axis=1)

    def action_for(self, node: tuple[int, int], delete: bool) -> int:
        return 2 * self._index[node] + int(delete)


def prefix_planes(graph: PrefixGraph) -> np.ndarray:
    """The (3, n, n) planes a structure-aware policy sees of a prefix graph: node present, its level / depth,
    its fanout / the largest fanout (PrefixRL's node-grid features)."""
    n, a = graph.n, graph.node_arrays()
    obs = np.zeros((3, n, n), dtype=np.float32)
    obs[0] = a["nodemap"]
    obs[1, a["i"], a["j"]] = a["level"] / max(1, graph.depth)
    obs[2, a["i"], a["j"]] = np.minimum(1.0, a["fanout"] / max(1, int(a["fanout"].max(initial=1))))
    return obs
