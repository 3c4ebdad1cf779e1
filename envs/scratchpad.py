"""Scratchpad scheduling family: ``env=scratchpad``, Gymnasium id ``archgym/Scratchpad-v0``.

Problem (COSMA's setting, Li et al. 2023): run a DNN operator graph on an accelerator whose on-chip
scratchpad holds ``capacity`` bytes; choose the operator order, where each tensor goes and which
resident tensor to evict when space is short, to minimise the *non-compulsory* off-chip traffic
(spill write-backs + reloads, bytes).  The exact cost model is ``archgym.simulators.scratchpad.model``.

Design: a (possibly partial) decision sequence.  JSON form::

    {"graph": "random_dag_40_s1_w8", "capacity": 412960,   # graph: env.graph (random_dag: its parameters)
     "order": ["op0", "op1", ...],        # operators run so far, a legal (dependence-respecting) prefix
     "evictions": ["op3", "op7/w", ...],  # victim of each victim decision, in order
     "placement": {"op3": 0.75, ...}}     # address hints in [0, 1] (allocator two_sided / hinted / pinned):
                                          # every tensor whose hint is decided; the others take the
                                          # default's (0; pinned: the packed layout's, key "op3@2" for
                                          # the 2nd placement of op3)
     "drops": [[3, "op1"], ...]}          # env.drops=true only: evict op1's output after 3 ops ran

A partial design is *completed* by a fixed default policy before it is scored, so every design has a
well-defined cost: the missing operators run in the min-peak order (``min_peak_order``; a topological
order, so the completion is always legal) and victim decisions beyond ``evictions`` follow Belady on
the completed order (open placements: see ``pinned`` below).  ``from_json`` replays the design and
records the victims and hints the default policy took inside the given order, so the JSON of a design
always lists every decision it contains and replays exactly.  With capacity >= M_R every complete
schedule is feasible (fragmentation that leaves no hole forces a working-set reset, counted in
``forced_resets``).

Cost (minimised): non-compulsory bytes.  Compulsory traffic (first loads of inputs and weights,
one write of each graph output) is the same for every schedule; it is reported in the metrics.

Sequential face (constructive): action ``i < n_ops`` runs operator ``i`` (legal when it is ready
and no decision is pending); action ``n_ops + k`` evicts tensor ``k`` (legal when a victim decision
is pending and ``k`` is a candidate); with allocator two_sided/hinted, action ``n_ops + n_tensors + l``
gives the tensor being placed hint level ``l`` (of 2 or 9; legal when a placement decision is pending,
one level per distinct address).  A placement decision is asked at a tensor's first placement where
the levels lead to more than one address, and its hint holds for the tensor's later placements, as
in the parameter face; so both faces express the same schedules.  The episode starts from the empty
schedule (whose completion is the min-peak + Belady baseline: hints 0, under pinned the packed layout)
and terminates when every operator has run.

Allocator ``pinned`` (the default; hint = address, each placement a decision of its own, levels 0, 1/64,
.., 1): the default policy places an open decision where the greedy-by-size packing of the completed
order's residencies puts it (``simulators/scratchpad/layout.py``, TFLite's offline arena planner), not
at hint 0: the online placements of the other allocators can split the free space for good where the
order fits in a packed layout (held-out skewed5_n16_f4_w7 at M_P: hinted 376 KB of traffic, pinned's default 0 B, the ILP's
optimum).  Its sequential face has one more placement action, the packed layout's address, and its
parameter face a ``layout`` knob (packed | hints).  It is the default since it is the allocator the agents
do best with: on the held-out benchmark (``experiments/bench_scratchpad_heldout.py``) the best agent's
median matches the ILP optimum in 18 of 18 cases and so does every agent's (random, ga, aco, mcts), against
17 of 18 under ``hinted``.

Parameter face (black-box agents): list-scheduling priorities mixed with a reference order, a victim
policy, explicit victim picks, (allocator ``two_sided``/``hinted``/``pinned``) one address hint per tensor and
(``env.drops``) one early-drop step per tensor; see ``space``.

Early drops (``env.drops=true``): between two ops, an action ``n_ops + k`` of the sequential face evicts
resident tensor ``k`` before space runs short, as an ILP schedule may (a dirty one is written back).
Off by default: it widens both faces, and the default faces already reach the addressed ILP optimum in
77 of 79 tiny cases against 78 with drops (``experiments/scratchpad_reachability.py``); allocator
``pinned`` with drops reaches all 79 through the sequential face (its hint is the address itself, and
each placement of a tensor, a reload too, is a decision: placement key ``name@k`` for the k-th).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from archgym.errors import DesignError
from archgym.fields import SequentialFields, option
from archgym.problem import DesignProblem, Evaluation, ParameterFace, SequentialFace, SimulatorBacked
from archgym.registry import simulator_for
from archgym.simulators.scratchpad import model as spm
from archgym.simulators.scratchpad.layout import packed_hints
from archgym.simulators.scratchpad.model import PLACEMENT_LEVELS, REPLACING_ALLOCATORS, Budgets, Result, placement_key
from archgym.simulators.scratchpad.replay import Replay, Schedule, graph_name
from archgym.space import Categorical, DesignSpace, Float, Point

ENV_ALLOCATORS = ("first_fit", "best_fit", "two_sided", "hinted", "pinned", "ideal")
VICTIM_POLICIES = ("belady", "belady_fit", "cheapest_fit", "lru")
#: explicit victim knobs of the parameter face: the first decisions a point can override (then the policy)
MAX_VICTIM_KNOBS = 64
REFERENCE_ORDERS = ("min_peak", "topo")
#: ``layout`` knob (allocator pinned): the offline greedy-by-size packing of the order, or the addr.* hints
LAYOUTS = ("packed", "hints")


@dataclass
class ScratchpadConfig(SequentialFields):
    """``env=scratchpad`` fields (``env.<field>=...``)."""

    graph: str = option("random_dag", "a shipped workload (simulators/scratchpad/graphs.py WORKLOADS), random_dag, "
                                      "or a path to a JSON graph")
    capacity: str = option("m_h", "m_r | m_h | m_p (COSMA's budgets) or a number of bytes")
    allocator: str = option("pinned", "address allocator of the scratchpad", choices=ENV_ALLOCATORS)
    ops: int = option(40, "graph=random_dag: number of operators", integer=True, low=1, high=400)
    seed: int = option(1, "graph=random_dag: generator seed", integer=True)
    window: int = option(8, "graph=random_dag: how far back an operator may read", integer=True, low=1)
    episode_length: int = option(4096, "sequential face: cap on steps (an episode ends when all ops ran)",
                                 integer=True, low=1)
    cost_model: str = option("replay", "the registered cost model (archgym.simulators.scratchpad.replay)")
    drops: bool = option(False, "early drops: both faces may evict a resident tensor between two ops, before space "
                                "runs short (as an ILP schedule may); off by default, since it widens the search",
                         choices=(False, True))


class ScratchpadProblem(SimulatorBacked[Schedule], ParameterFace[Schedule], SequentialFace[Schedule],
                        DesignProblem[Schedule]):
    """Scratchpad scheduling of a DNN operator graph: operator order, evictions and placement (COSMA).

    Action Space: ``Discrete(n_ops + n_tensors + placement_actions)``: ``i < n_ops`` runs operator i (when ready and no
    decision is pending), ``n_ops + k`` evicts tensor k (when a victim decision is pending and k is a
    candidate, or with ``drops`` between two ops when k is resident), ``n_ops + n_tensors + l`` places the
    pending tensor at hint level l (levels: 9 hinted, 2 two_sided, 65 pinned, 0 otherwise; pinned: level 65
    places at the packed layout's address, as the default policy does).
    Observation Space: ``Box(0, 1, (3 n_ops + 6 n_tensors + 2,))``: per op executed/ready/pending, per tensor
    resident/dirty/candidate/consumers left/size/being placed, and the fractions of ops run and of the
    scratchpad filled.
    Parameter face: a reference order, ``mix``, one priority per operator, a ``victim`` policy and address hints.
    Rewards (sequential face, ``DesignEnv``): the decrease of the cost, divided by the episode's starting
    cost; an edit to an infeasible design is rejected with -1, a masked action is a no-op with -0.01.
    Parameter face (``ParameterEnv``): -cost / (first cost seen), one step per episode.
    Episode End: terminated when every operator has run; truncated after ``episode_length`` steps.
    Arguments: ``graph``, ``capacity``, ``allocator``, ``drops``, random-DAG parameters;
    ``python -m archgym.list env=scratchpad``.
    """

    name = "scratchpad"
    description = "DNN scratchpad scheduling: operator order + eviction + placement vs off-chip traffic (COSMA)"
    config_class = ScratchpadConfig
    test_config: ClassVar[dict[str, Any]] = {"ops": 10}  # small instance for archgym.testing
    default_budget = 2000
    objective_names = ("cost",)

    def __init__(self, config: ScratchpadConfig):
        super().__init__(config)
        self.graph_name = graph_name(config.graph, config.ops, config.seed, config.window)
        self.replay = Replay.from_config(config)
        self.simulator = simulator_for(self.name, config.cost_model)(config)
        self.g, self.capacity = self.replay.g, self.replay.capacity
        self.n_ops = len(self.g.ops)
        self.n_tensors = len(self.g.tensors)
        self.reference = {"min_peak": self.min_peak_order, "topo": spm.default_order(self.g)}
        self._rank = {o: k for k, o in enumerate(self.min_peak_order)}

    # ---- design I/O -------------------------------------------------------------------
    def to_json(self, design: Schedule) -> dict[str, Any]:
        out: dict[str, Any] = {"graph": self.graph_name, "capacity": self.capacity,
                               "order": list(design.order), "evictions": list(design.evictions)}
        if self.config.allocator in PLACEMENT_LEVELS:
            out["placement"] = {k: float(v) for k, v in design.placement}
        if self.config.drops:
            out["drops"] = [[step, name] for step, name in design.drops]
        return out

    optional_design_keys = frozenset({"graph", "capacity", "evictions", "placement", "drops"})

    def from_json(self, data: dict[str, Any]) -> Schedule:
        if data.get("graph", self.graph_name) != self.graph_name:
            raise DesignError(f"field 'graph': design is for '{data.get('graph')}' but env.graph={self.graph_name}")
        if data.get("capacity", self.capacity) != self.capacity:
            raise DesignError(f"field 'capacity': design is for {data.get('capacity')} B but the env has "
                              f"{self.capacity} B")
        order, evictions = data.get("order", []), data.get("evictions", [])
        for key, value in (("order", order), ("evictions", evictions)):
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise DesignError(f"field '{key}': must be a list of names")
        for i, op in enumerate(order):
            if op not in self.g.op_index:
                raise DesignError(f"field 'order[{i}]': unknown operator {op!r} of graph {self.graph_name}")
        if len(set(order)) != len(order):
            raise DesignError("field 'order': an operator is listed twice")
        for i, tensor in enumerate(evictions):
            if tensor not in self.g.tensor_index:
                raise DesignError(f"field 'evictions[{i}]': unknown tensor {tensor!r} of graph {self.graph_name}")
        placement = data.get("placement", {}) or {}
        if not isinstance(placement, dict):
            raise DesignError("field 'placement': must be an object {tensor: hint in [0, 1]}")
        if placement and self.config.allocator not in PLACEMENT_LEVELS:
            raise DesignError(f"field 'placement': allocator '{self.config.allocator}' takes no placement hints")
        hints = []
        for name, h in sorted(placement.items()):
            if not isinstance(h, (int, float)) or isinstance(h, bool) or not 0.0 <= float(h) <= 1.0:
                raise DesignError(f"field 'placement': hint of '{name}' must be a number in [0, 1], got {h!r}")
            hints.append((name, float(h)))
        drops = data.get("drops", [])
        if drops and not self.config.drops:
            raise DesignError("field 'drops': early drops need env.drops=true")
        if not isinstance(drops, list) or not all(
                isinstance(d, list) and len(d) == 2 and isinstance(d[0], int) and not isinstance(d[0], bool)
                and isinstance(d[1], str) for d in drops):
            raise DesignError("field 'drops': must be a list of [ops run (int), tensor name] pairs")
        for i, (_, tensor) in enumerate(drops):
            if tensor not in self.g.tensor_index:
                raise DesignError(f"field 'drops[{i}]': unknown tensor {tensor!r} of graph {self.graph_name}")
        return self.replay.make(order, evictions, tuple(hints), tuple((s, t) for s, t in drops))

    # ---- cost model -------------------------------------------------------------------
    @property
    def budgets(self) -> Budgets:
        return self.replay.budgets

    @property
    def min_peak_order(self) -> list[str]:
        return self.replay.min_peak_order

    def completion(self, order: tuple[str, ...] | list[str]) -> list[str]:
        """The default completion of an order prefix: the missing ops in min-peak order."""
        return self.replay.completion(order)

    def run(self, design: Schedule) -> Result:
        """The exact traffic of the design completed by the default policy."""
        return self.replay.run(design)

    def score(self, design: Schedule, m: dict[str, float]) -> Evaluation:
        m = dict(m)
        if not m.pop("feasible", 1.0):
            return Evaluation(m, math.inf, feasible=False, reason=self.replay.run(design).reason)
        return Evaluation(m, m["non_compulsory"])

    def baselines(self) -> dict[str, Schedule]:
        return self._baselines

    @cached_property
    def _baselines(self) -> dict[str, Schedule]:
        """COSMA's comparison points under the configured allocator (no hints: lowest fit); under ``pinned`` also
        the default policy's schedule (min-peak order, Belady, the packed layout)."""
        out = {}
        for name, order, policy in (("topo_belady", self.reference["topo"], "belady"),
                                    ("minpeak_belady", self.min_peak_order, "belady"),
                                    ("topo_lru", self.reference["topo"], "lru")):
            sim = spm.ScratchpadSim(self.g, self.capacity, self.config.allocator, **self.replay.hints(()))
            r = spm.run_order(sim, order, spm.POLICIES[policy])
            out[name] = self.replay.make(r.order, r.evictions, self._zero_hints)
        if self.config.allocator in REPLACING_ALLOCATORS:  # the default policy: min-peak, Belady, packed layout
            out["minpeak_packed"] = self.replay.make(self.min_peak_order, ())
        return out

    @cached_property
    def _zero_hints(self) -> tuple[tuple[str, float], ...]:
        """Every tensor's hint decided as 0 (lowest fit), under the allocators that take hints."""
        if self.config.allocator not in PLACEMENT_LEVELS:
            return ()
        return tuple(sorted((t.name, 0.0) for t in self.g.tensors))

    # ---- sequential face ----------------------------------------------------------------
    def initial_design(self, rng: np.random.Generator | None = None) -> Schedule:
        return self.replay.make((), ())

    @property
    def placement_levels(self) -> int:
        """Hint levels of a placement decision (0: the allocator takes no hints)."""
        return PLACEMENT_LEVELS.get(self.config.allocator, 0)

    @property
    def placement_actions(self) -> int:
        """Actions of a placement decision: one per hint level, and under ``pinned`` one more (the last) that
        places as the default policy does, at the packed layout's address (``layout.packed_hints``)."""
        return self.placement_levels + (self.config.allocator in REPLACING_ALLOCATORS)

    def num_actions(self) -> int:
        return self.n_ops + self.n_tensors + self.placement_actions

    def action_mask(self, design: Schedule) -> np.ndarray:
        sim = self.replay.state(design)
        mask = np.zeros(self.num_actions(), dtype=bool)
        if sim.failed:
            return mask
        if sim.placing:
            mask[[self.n_ops + self.n_tensors + level for level in sim.placement_options()]] = True
            mask[self.n_ops + self.n_tensors + self.placement_levels:] = True  # pinned: the packed layout's address
        elif sim.pending is not None:
            mask[[self.n_ops + t for t in sim.candidate_indices()]] = True
        else:
            mask[np.flatnonzero((sim.n_pred_left == 0) & ~sim.executed)] = True
            if self.config.drops:
                mask[[self.n_ops + t for t in sim.offset]] = True
        return mask

    def apply_action(self, design: Schedule, action: int) -> Schedule:
        action = int(action)
        if not self.action_mask(design)[action]:
            raise DesignError(f"action {action} is not legal here")
        sim = self.replay.state(design).copy()
        if action < self.n_ops:
            op = self.g.ops[action]
            order = (*design.order, op)
            sim.future = [self.g.op_index[o] for o in self.completion(order)]
            sim.schedule(op)
            return replace(design, order=order, state=sim)
        if action >= self.n_ops + self.n_tensors:
            level = action - self.n_ops - self.n_tensors
            name = sim.placement_key()
            if level < self.placement_levels:
                sim.place(level)
                h = level / (self.placement_levels - 1)
            else:
                h, _ = sim.place_default(self.replay.default_hints(self.completion(design.order)))
            placement = tuple(sorted((*design.placement, (name, h))))
            return replace(design, placement=placement, state=sim)
        tensor = self.g.tensors[action - self.n_ops].name
        if sim.pending is None:  # an early drop (env.drops)
            sim.drop(tensor)
            return replace(design, drops=(*design.drops, (len(design.order), tensor)), state=sim)
        sim.evict(tensor)
        return replace(design, evictions=(*design.evictions, tensor), state=sim)

    def is_terminal(self, design: Schedule) -> bool:
        return self.replay.state(design).done

    def observation_space(self) -> gym.spaces.Box:
        return gym.spaces.Box(0.0, 1.0, shape=(3 * self.n_ops + 6 * self.n_tensors + 2,), dtype=np.float32)

    def observe(self, design: Schedule) -> np.ndarray:
        """Per op: executed, ready, pending; per tensor: resident, dirty, candidate, consumers left
        (fraction), size / capacity, being placed; global: fraction of ops run, scratchpad fill."""
        sim = self.replay.state(design)
        g = self.g
        ops = np.zeros((3, self.n_ops), dtype=np.float32)
        ops[0] = sim.executed
        ops[1] = (sim.n_pred_left == 0) & ~sim.executed & (sim.pending is None)
        if sim.pending is not None:
            ops[2, sim.pending] = 1.0
        ten = np.zeros((6, self.n_tensors), dtype=np.float32)
        resident = list(sim.offset)
        ten[0, resident] = 1.0
        ten[1, resident] = [0.0 if sim.in_dram[t] else 1.0 for t in resident]
        ten[2, sim.candidate_indices()] = 1.0
        ten[3] = sim.remaining / np.maximum(1, [len(c) for c in g.consumers])
        ten[4] = np.minimum(1.0, g.size / self.capacity)
        if sim.placing:
            ten[5, sim.queue[0]] = 1.0
        extra = np.array([len(sim.order) / self.n_ops, min(1.0, sim.used / self.capacity)], dtype=np.float32)
        return np.clip(np.concatenate([ops.ravel(), ten.ravel(), extra]), 0.0, 1.0)

    # ---- parameter face ---------------------------------------------------------------
    @property
    def victim_knobs(self) -> int:
        return min(self.n_tensors, MAX_VICTIM_KNOBS)

    def space(self) -> DesignSpace:
        """Knobs: ``reference`` (min_peak | topo), ``mix`` in [0, 1], ``prio.<op>`` in [0, 1] per op,
        ``victim`` (a policy), ``evict.<i>`` in [0, 1] for the first victim decisions, with allocator
        two_sided/hinted/pinned ``addr.<tensor>`` in [0, 1], and with pinned ``layout`` (packed | hints).

        Decoding: list scheduling runs the ready op with the largest key
        ``(1 - mix) * (1 - rank_ref(op) / n) + mix * prio.<op>``, so mix = 0 is the reference order
        itself (both baselines' orders are points of the space) and mix = 1 pure priorities (with as
        many levels as ops, so every topological order is a point).  Victim decision ``i`` evicts the
        candidate at position ``floor(evict.<i> * m)`` of the ``m`` candidates ranked by ``victim``
        (0: the policy's own choice), so every victim sequence of the first decisions is a point; later
        decisions follow ``victim``.  Each tensor's address hint is ``addr.<tensor>``; under ``pinned``,
        ``layout`` = packed ignores them and pins every placement where the greedy-by-size packing of the
        decoded order's residencies (ideal memory, the point's victims) puts it (``simulators/scratchpad/layout.py``).
        With ``env.drops``,
        ``drop.<tensor>`` in [0, 1] (n_ops levels) drops the tensor once, early, after
        ``round(drop.<tensor> * (n_ops - 1))`` ops ran if it is resident then (0: never)."""
        knobs: list[Any] = [Categorical("reference", REFERENCE_ORDERS), Float("mix", 0.0, 1.0, levels=11)]
        knobs += [Float(f"prio.{o}", 0.0, 1.0, levels=max(32, self.n_ops)) for o in self.g.ops]
        knobs.append(Categorical("victim", VICTIM_POLICIES))
        knobs += [Float(f"evict.{i}", 0.0, 1.0, levels=self.n_tensors + 1) for i in range(self.victim_knobs)]
        if self.config.allocator in PLACEMENT_LEVELS:
            levels = PLACEMENT_LEVELS[self.config.allocator]
            knobs += [Float(f"addr.{t.name}", 0.0, 1.0, levels=levels) for t in self.g.tensors]
        if self.config.allocator in REPLACING_ALLOCATORS:
            knobs.append(Categorical("layout", LAYOUTS))
        if self.config.drops:
            knobs += [Float(f"drop.{t.name}", 0.0, 1.0, levels=max(2, self.n_ops)) for t in self.g.tensors]
        return DesignSpace(knobs)

    def decode(self, point: Point) -> Schedule:
        ref = self.reference[point["reference"]]
        rank = {o: k for k, o in enumerate(ref)}
        mix = float(point["mix"])
        key = np.array([(1 - mix) * (1 - rank[o] / self.n_ops) + mix * float(point[f"prio.{o}"]) for o in self.g.ops])
        order = spm.decode_order(self.g, key)
        base = spm.POLICIES[point["victim"]]
        picks = [float(point.get(f"evict.{i}", 0.0)) for i in range(self.victim_knobs)]

        def victim(s: spm.ScratchpadSim, cands: list[int]) -> int:
            i = len(s.evictions)
            if i >= len(picks) or picks[i] <= 0.0:
                return base(s, cands)
            ranked = spm.ranked(base, s, cands)
            return ranked[min(int(picks[i] * len(ranked)), len(ranked) - 1)]

        placement = self._point_placement(point, order, victim)
        sim = spm.ScratchpadSim(self.g, self.capacity, self.config.allocator, **self.replay.hints(placement))
        drop_at = {t: round(float(point[f"drop.{self.g.tensors[t].name}"]) * (self.n_ops - 1))
                   for t in range(self.n_tensors)} if self.config.drops else {}
        drops: list[tuple[int, str]] = []

        def early_drops(s: spm.ScratchpadSim) -> None:
            for t in sorted(s.offset):
                if drop_at.get(t, 0) == len(s.order) > 0:
                    s.drop(self.g.tensors[t].name)
                    drops.append((len(s.order), self.g.tensors[t].name))

        r = spm.run_order(sim, order, victim, early_drops if drop_at else None)
        return Schedule(tuple(r.order), tuple(r.evictions), self._placed_hints(sim, placement), tuple(drops), sim)

    def _point_placement(self, point: Point, order: list[str], victim: spm.Policy) -> tuple[tuple[str, float], ...]:
        """A point's hints: ``layout`` = packed, the packed layout of the order's residencies under ideal memory
        with the point's own victims (so its evictions are in the plan); else the ``addr.*`` knobs."""
        if point.get("layout") == "packed":
            plan = packed_hints(self.g, self.capacity, order, victim)
            return tuple(sorted((placement_key(self.g.tensors[t].name, k), h) for (t, k), h in plan.items()))
        if self.config.allocator in PLACEMENT_LEVELS:
            return tuple(sorted((t.name, float(point[f"addr.{t.name}"])) for t in self.g.tensors))
        return ()

    def _placed_hints(self, sim: spm.ScratchpadSim, placement: tuple[tuple[str, float], ...]
                      ) -> tuple[tuple[str, float], ...]:
        """Under ``pinned``, the hint of every placement the decoded run made, explicitly (a tensor without a
        hint took 0, a later placement without one its previous hint), so that the design's JSON replays
        without leaving any placement to the default policy."""
        if self.config.allocator not in REPLACING_ALLOCATORS:
            return placement
        given = dict(placement)
        for t, tensor in enumerate(self.g.tensors):
            h = given.setdefault(tensor.name, 0.0)
            for k in range(2, int(sim.n_placed[t]) + 1):
                h = given.setdefault(placement_key(tensor.name, k), h)
        return tuple(sorted(given.items()))
