"""Monte Carlo tree search over the sequential face (CLI name ``mcts``), after ArithTreeRL.

The algorithm reproduces the MCTS of ArithTreeRL (Lai et al., "Scalable and Effective Arithmetic
Tree Generation for Adder and Multiplier Designs", NeurIPS 2024; published code
FCHXWH823/ArithTreeRL, ``adder.py``), stated generically for any DesignProblem with a sequential
face.  The ideas that matter, and where they are in that code:

* **State and restricted actions.**  A tree node is a legal design; its edits are the problem's
  legal actions (``action_mask``), narrowed by the optional problem hook ``search_actions`` (see
  below).  ArithTreeRL only *deletes* nodes and only those of ``min_map`` (nodes that are nobody's
  lower parent, so legalization would not add them back): ``State.prob[1]`` /
  ``available_choice_list``.  For the adder our PrefixGraph's ``can_delete`` is exactly ``min_map``,
  and ``search_actions`` of the theoretical adder keeps the deletions only.
* **Legalization** lives in the problem (``apply_action`` returns a legal design: PrefixGraph adds
  missing lower parents like ``State.legalize``), so the agent never sees an illegal design.
* **Non-worsening transitions = the constraint handling.**  ArithTreeRL accepts a random deletion
  only if ``next_size <= size`` and ``next_level <= level_bound`` and otherwise removes that choice
  from the state's list for good (``get_next_state_with_random_choice``).  Generically: a child must
  be feasible (the depth bound of the theoretical adder makes a design infeasible) and its cost may
  not exceed the parent's; rejected edits are dropped from the node's untried
  list.  Designs already on the current path / rollout are rejected too, so equal-cost plateau moves
  cannot cycle.  Our extension (off by default): ``tolerance`` lets *tree* edges worsen the cost a
  little, so the tree can step out of a local minimum that greedy rollouts cannot leave.
* **Rollout (default policy)**: uniformly random accepted edits until none is left (or
  ``max_rollout_steps``); the reward is the *best* cost met along the rollout (``default_policy``
  returns ``max`` of ``compute_reward() = -size``), here normalized by the root cost.
* **Selection**: ArithTreeRL's ``best_child`` scores ``0.99 * best + 0.01 * mean`` plus
  ``C * 10 * sqrt(ln N / n)`` with ``C = 1/sqrt(2)`` in units of nodes (about 0.037 of Sklansky's 192
  nodes at n = 64, hence our default ``exploration`` of 0.03 in units of the root cost); and
  ``tree_policy`` descends into an already expanded child with probability 0.2 even when the node
  still has untried edits (``random.random() > 0.8``).
* **Root moves**: every ``iterations_per_move`` iterations (2000 in ArithTreeRL's
  ``search_best_adder``) the root moves to its best child without exploration and the rest of the
  tree is dropped.  A root without children (the search is exhausted) restarts a fresh tree from
  the start design; the RNG stream differs, so the new tree explores differently.

Problem hook (optional, generic): ``problem.search_actions(design) -> Sequence[int]``, the legal
actions worth trying for a search that only accepts non-worsening edits (default: every legal
action, ``np.flatnonzero(action_mask(design))``).  It changes speed only, never which edits are
accepted.

Every design is scored through ``evaluator.evaluate`` exactly once: a transposition table keyed by
the design's hash (or its canonical digest) keeps the agent from spending budget on a design it has
already scored, and rejected (design, action) pairs are remembered so a revisited design does not
re-apply edits known to fail.  The search returns by itself when a whole fresh tree meets no new
design (the reachable space is exhausted), else it runs until the evaluator's budget is used.
Deterministic given the seed.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from archgym.agents.base import Agent, AgentConfig
from archgym.errors import ConfigError
from archgym.evaluator import Evaluator
from archgym.fields import option
from archgym.problem import DesignProblem, SequentialProblem, design_hash, with_sequential_face

STARTS = ("initial", "best_baseline")
_MAX_TABLE = 4_000_000  # transposition-table entries kept before the table is cleared
_MAX_REJECTED = 5_000_000  # remembered rejected (design, action) pairs before the set is cleared


@dataclass
class MCTSConfig(AgentConfig):
    """Hyperparameters of the MCTS agent (``agent.<field>=...``)."""

    exploration: float = option(0.03, "UCB constant, in units of the root design's |cost|", low=0.0)
    best_weight: float = option(0.99, "value = w * best reward + (1 - w) * mean reward", low=0.0, high=1.0)
    descend_prob: float = option(0.2, "descend into a partially expanded node with this probability", low=0.0,
                                 high=1.0)
    iterations_per_move: int = option(2000, "iterations before the root moves to its best child", integer=True,
                                     low=1)
    max_rollout_steps: int = option(10_000, "rollout edits at most", integer=True, low=0)
    tolerance: float = option(0.0, "tree edges may worsen the cost by tolerance * |root cost|", low=0.0)
    start: str = "initial"  # root design: problem.initial_design, or the best feasible baseline


class _Node:
    """A tree node: a design reached by accepted edits, with its MCTS statistics."""

    __slots__ = (
        "action",
        "best",
        "children",
        "cost",
        "design",
        "key",
        "parent",
        "total",
        "untried",
        "visits",
    )

    def __init__(self, design: Any, key: Hashable, cost: float, parent: _Node | None, action: int):
        self.design = design  # None for a leaf whose design was dropped (recomputed from the parent)
        self.key = key
        self.cost = cost
        self.parent = parent
        self.action = action
        self.children: list[_Node] = []
        self.untried: list[int] | None = None  # untried actions in random order, built on first expansion
        self.visits = 0
        self.total = 0.0
        self.best = -math.inf

    @property
    def exhausted(self) -> bool:
        return self.untried is not None and not self.untried


class MCTS(Agent):
    """Monte Carlo tree search with non-worsening edits and best-reward backup (ArithTreeRL)."""

    name = "mcts"
    description = "Monte Carlo tree search with non-worsening edits and best-reward backup (ArithTreeRL)"
    config_class = MCTSConfig
    faces = ("sequential",)

    def __init__(self, config: MCTSConfig, seed: int = 0, start_design: Any = None):
        super().__init__(config, seed)
        _validate(config)
        self.start_design = start_design  # optional warm start (e.g. the best design of a tighter bound)
        self._scores: dict[Hashable, float] = {}  # transposition table: key -> cost
        self._failed: set[Hashable] = set()  # keys whose evaluation failed (a simulator fault, not a bad design)
        self._rejected: set[tuple[Hashable, int]] = set()  # (design key, action) known to worsen the cost

    # ---- scoring -------------------------------------------------------------------------------
    def _key(self, problem: SequentialProblem, design: Any) -> Hashable:
        """A compact identity: the design's own hash when its type defines one, else its canonical digest.

        Only ints/digests are stored (never the designs), so the table stays small; a 64-bit hash
        collision could only misguide the search, never a logged result (those come from the evaluator).
        """
        if type(design).__hash__ not in (None, object.__hash__):
            return hash(design)
        return design_hash(problem.canonical(design))

    def _score(self, problem: SequentialProblem, evaluator: Evaluator, design: Any) -> tuple[Hashable, float]:
        """(key, cost) of a design; infeasible or failed designs cost inf.  Each design is evaluated once."""
        key = self._key(problem, design)
        cost = self._scores.get(key)
        if cost is None:
            ev = evaluator.evaluate(design)
            cost = ev.cost if ev.feasible and not ev.failed else math.inf
            if ev.failed:
                self._failed.add(key)
            if len(self._scores) >= _MAX_TABLE:
                self._scores.clear()  # bounded memory; re-scores then hit the evaluator's memo
            self._scores[key] = cost
        return key, cost

    def _actions(self, problem: SequentialProblem, design: Any) -> list[int]:
        """Candidate edits of a design in a random order (ArithTreeRL samples them without replacement)."""
        acts = np.asarray(problem.search_actions(design), dtype=np.int64)
        return acts[self.rng.permutation(len(acts))].tolist()

    # ---- the search --------------------------------------------------------------------------
    def search(self, problem: DesignProblem, evaluator: Evaluator) -> None:
        self.face_for(problem)
        problem = with_sequential_face(problem)
        start = self._start(problem, evaluator)
        key, cost = self._score(problem, evaluator, start)
        for _ in range(_MAX_TABLE):
            if math.isfinite(cost):
                break
            if key not in self._failed:
                raise ConfigError("start", "the start design of MCTS is infeasible; choose a feasible start")
            # the cost model failed on it (a simulator fault, logged as a failed row): walk on by random legal
            # edits until a design scores, so a crashing or timing-out tool ends nothing but that evaluation
            actions = self._actions(problem, start) or list(np.flatnonzero(problem.action_mask(start)))
            if not actions:
                return
            start = problem.apply_action(start, int(actions[0]))
            key, cost = self._score(problem, evaluator, start)
        else:
            return
        self._scale = abs(cost) if cost != 0 else 1.0
        self._tol = self.config.tolerance * self._scale
        while True:  # each pass is one tree; an exhausted tree restarts from the start design
            known = len(self._scores)
            self._tree(problem, evaluator, _Node(start, key, cost, None, -1))
            if len(self._scores) == known:
                return  # a whole tree met no new design: the reachable space is exhausted

    def _start(self, problem: SequentialProblem, evaluator: Evaluator) -> Any:
        if self.start_design is not None:
            return self.start_design
        initial = problem.initial_design(self.rng)
        if self.config.start == "initial":
            return initial
        best, best_cost = initial, self._score(problem, evaluator, initial)[1]
        for design in problem.baselines().values():
            c = self._score(problem, evaluator, design)[1]
            if c < best_cost:
                best, best_cost = design, c
        return best

    def _tree(self, problem: SequentialProblem, evaluator: Evaluator, root: _Node) -> None:
        """Iterate on one tree, moving its root every ``iterations_per_move`` iterations, until exhausted."""
        while True:
            for _ in range(self.config.iterations_per_move):
                leaf = self._select_expand(problem, evaluator, root)
                if leaf is None:
                    return  # the whole tree is exhausted
                reward = self._rollout(problem, evaluator, leaf)
                node: _Node | None = leaf
                while node is not None:
                    node.visits += 1
                    node.total += reward
                    node.best = max(node.best, reward)
                    node = node.parent
            if not root.children:
                return
            root = self._best_child(root, explore=False)
            self._design(problem, root)
            root.parent = None

    def _design(self, problem: SequentialProblem, node: _Node) -> Any:
        if node.design is None:
            assert node.parent is not None  # the root always holds its design
            node.design = problem.apply_action(self._design(problem, node.parent), node.action)
        return node.design

    def _select_expand(self, problem: SequentialProblem, evaluator: Evaluator, root: _Node) -> _Node | None:
        """Tree policy: walk down by UCB, expand one new child; None when the tree has nothing left."""
        node = root
        while True:
            if node.exhausted or (node.children and self.rng.random() < self.config.descend_prob):
                if not node.children:  # a dead end: prune it and retry from the root
                    if node is root:
                        return None
                    assert node.parent is not None
                    node.parent.children.remove(node)
                    node = root
                    continue
                node = self._best_child(node, explore=True)
                continue
            child = self._expand(problem, evaluator, node)
            if child is not None:
                return child

    def _expand(self, problem: SequentialProblem, evaluator: Evaluator, node: _Node) -> _Node | None:
        design = self._design(problem, node)
        if node.untried is None:
            node.untried = self._actions(problem, design)
        path = set()
        up: _Node | None = node
        while up is not None:
            path.add(up.key)
            up = up.parent
        while node.untried:
            action = node.untried.pop()
            step = self._try(problem, evaluator, design, node.key, node.cost, action, path, self._tol)
            if step is not None:
                new = _Node(step[0], step[1], step[2], node, action)
                node.children.append(new)
                return new
        return None

    def _try(
        self,
        problem: SequentialProblem,
        evaluator: Evaluator,
        design: Any,
        key: Hashable,
        cost: float,
        action: int,
        visited: set[Hashable],
        slack: float,
    ) -> tuple[Any, Hashable, float] | None:
        """(child, key, cost) if the edit is feasible, new on this path and worsens the cost by at most
        ``slack``, else None.

        Rejections beyond the largest slack (the tree's tolerance) are remembered per (key, action), so
        a revisited design does not re-apply edits known to fail (acceptance depends only on the costs).
        """
        if (key, action) in self._rejected:
            return None
        child = problem.apply_action(design, action)
        child_key, child_cost = self._score(problem, evaluator, child)
        if not child_cost <= cost + self._tol:  # also rejects inf (infeasible or failed)
            if len(self._rejected) >= _MAX_REJECTED:
                self._rejected.clear()  # bounded memory; only a speed-up is lost
            self._rejected.add((key, action))
            return None
        if child_cost > cost + slack:
            return None
        if child_key in visited:
            return None
        return child, child_key, child_cost

    def _rollout(self, problem: SequentialProblem, evaluator: Evaluator, leaf: _Node) -> float:
        """Default policy: random accepted edits until none is left; reward = -best cost / scale."""
        design, key, cost = leaf.design, leaf.key, leaf.cost
        best = cost
        seen = {key}
        for _ in range(self.config.max_rollout_steps):
            for action in self._actions(problem, design):
                step = self._try(problem, evaluator, design, key, cost, action, seen, 0.0)
                if step is not None:
                    design, key, cost = step
                    seen.add(key)
                    best = min(best, cost)
                    break
            else:
                break  # no edit accepted: a terminal design
        leaf.design = None  # leaves are recomputed from their parent when expanded (bounded memory)
        return -best / self._scale

    def _best_child(self, node: _Node, explore: bool) -> _Node:
        w = self.config.best_weight
        c = self.config.exploration if explore else 0.0
        log_n = math.log(max(1, node.visits))
        best_score, best_child = -math.inf, node.children[0]
        for ch in node.children:
            if ch.visits == 0:
                return ch
            score = w * ch.best + (1 - w) * ch.total / ch.visits + c * math.sqrt(log_n / ch.visits)
            if score > best_score:
                best_score, best_child = score, ch
        return best_child


def _validate(config: MCTSConfig) -> None:
    if not config.exploration >= 0:
        raise ConfigError("exploration", f"must be >= 0, got {config.exploration}")
    if not 0.0 <= config.best_weight <= 1.0:
        raise ConfigError("best_weight", f"must be in [0, 1], got {config.best_weight}")
    if not 0.0 <= config.descend_prob <= 1.0:
        raise ConfigError("descend_prob", f"must be in [0, 1], got {config.descend_prob}")
    if config.iterations_per_move < 1:
        raise ConfigError("iterations_per_move", f"must be >= 1, got {config.iterations_per_move}")
    if config.max_rollout_steps < 0:
        raise ConfigError("max_rollout_steps", f"must be >= 0, got {config.max_rollout_steps}")
    if not config.tolerance >= 0:
        raise ConfigError("tolerance", f"must be >= 0, got {config.tolerance}")
    if config.start not in STARTS:
        raise ConfigError("start", f"must be one of {', '.join(STARTS)}, got {config.start!r}")
