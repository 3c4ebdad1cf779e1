"""Every optimum is reachable: the scratchpad env's faces can express the optimum of each small case.

Allocators without hints: for tiny graphs (brute force over every order and every victim choice), the
optimum's order and victims are turned into a parameter-face point (priorities by position, explicit
victim picks) and into an action sequence of the sequential face; both must score exactly the optimum.

Allocators with address hints (hinted, the default, and two_sided): the yardstick is the ILP optimum with
addresses (COSMA's contiguous allocation, proven optimal).  A depth-first search over the sequential
face's actions (ops, victims, placement levels, early drops) finds an action sequence that reaches it,
and that sequence, turned into a parameter-face point, decodes to the same cost."""

from __future__ import annotations

import numpy as np
import pytest

from archgym.config import build_problem
from archgym.errors import ConfigError
from archgym.experiments.scratchpad_reachability import point_of_sequence, sequence_of_ilp, sequence_reaching
from archgym.simulators.scratchpad import graphs
from archgym.simulators.scratchpad import model as sp
from archgym.simulators.scratchpad.ilp import solve_ilp

CASES = [(5 + seed % 3, seed) for seed in range(8)]


def _problem(tmp_path, g, capacity: int, allocator: str, drops: bool = False):
    path = tmp_path / "g.json"
    graphs.save_graph_json(g, path)
    return build_problem("scratchpad", {"graph": str(path), "capacity": str(capacity), "allocator": allocator,
                                        "drops": drops})


def _point_for(problem, result: sp.Result) -> dict:
    """The face point of an (order, victims) schedule: mix = 1, priorities by position, victim picks."""
    space = problem.space()
    point = {k.name: k.default if hasattr(k, "default") else None for k in space.knobs}
    point.update({"reference": "min_peak", "mix": 1.0, "victim": "belady"})
    n = len(result.order)
    levels = max(32, problem.n_ops)
    for pos, op in enumerate(result.order):
        point[f"prio.{op}"] = (levels - 1 - pos) / (levels - 1)
    for i in range(problem.victim_knobs):
        point[f"evict.{i}"] = 0.0
    # replay the order, and at decision i pick the optimum's victim among the ranked candidates
    sim = sp.ScratchpadSim(problem.g, problem.capacity, problem.config.allocator)
    sim.future = [problem.g.op_index[o] for o in result.order]
    victims = iter(result.evictions)
    for op in result.order:
        status = sim.schedule(op)
        while status == "victim":
            i = len(sim.evictions)
            want = problem.g.tensor_index[next(victims)]
            ranked = sp.ranked(sp.POLICIES["belady"], sim, sim.candidate_indices())
            r = ranked.index(want)
            assert i < problem.victim_knobs
            point[f"evict.{i}"] = 0.0 if r == 0 else (r + 0.5) / len(ranked)
            status = sim.evict(problem.g.tensors[want].name)
    assert n == problem.n_ops
    return point


@pytest.mark.parametrize("allocator", ["ideal", "first_fit"])
@pytest.mark.parametrize("n_ops, seed", CASES)
def test_every_optimum_is_a_point_and_an_action_sequence(tmp_path, n_ops, seed, allocator):
    g = graphs.tiny_graph(n_ops, seed)
    b = sp.budgets(g)
    for cap in sorted({b.m_r, b.m_h, max(b.m_r, b.m_p - 3)}):
        best = sp.brute_force(g, cap, allocator)
        if not best.feasible:
            continue
        problem = _problem(tmp_path, g, cap, allocator)
        # parameter face
        point = _point_for(problem, best)
        decoded = problem.decode(point)
        assert problem.evaluate(decoded).cost == best.non_compulsory, (cap, best)
        # sequential face: run the ops, answer each victim decision with the optimum's victim
        design = problem.initial_design()
        victims = iter(best.evictions)
        steps = list(best.order)
        while not problem.is_terminal(design):
            mask = problem.action_mask(design)
            if mask[: problem.n_ops].any():
                action = problem.g.op_index[steps.pop(0)]
            else:
                action = problem.n_ops + problem.g.tensor_index[next(victims)]
            assert mask[action]
            design = problem.apply_action(design, action)
        assert problem.evaluate(design).cost == best.non_compulsory


def test_cheapest_fit_evicts_one_tensor_where_one_suffices():
    """Wherever one candidate alone covers the byte deficit, cheapest_fit's single eviction lets the op
    proceed (ideal allocator), choosing the cheapest such tensor."""
    decisions = 0
    for seed in range(30):
        g = graphs.tiny_graph(7, seed)
        b = sp.budgets(g)
        rng = np.random.default_rng(seed)
        for cap in (b.m_r, b.m_h):
            sim = sp.ScratchpadSim(g, cap, "ideal")
            order = sp.decode_order(g, rng.random(len(g.nodes)))  # a random topological order
            sim.future = [sim.g.op_index[o] for o in order]
            for op in order:
                status = sim.schedule(op)
                while status == "victim":
                    cands = sim.candidate_indices()
                    need = int(g_size(sim, sim.queue[0])) - (sim.capacity - sim.used)
                    fits = [t for t in cands if g_size(sim, t) >= need]
                    choice, placing = sp.cheapest_fit(sim, cands), sim.queue[0]
                    if fits:
                        decisions += 1
                        assert choice in fits
                    status = sim.evict(sim.g.tensors[choice].name)
                    if fits:  # the tensor being placed is placed: no second eviction for it
                        assert status != "victim" or sim.queue[0] != placing
    assert decisions > 0


def g_size(sim: sp.ScratchpadSim, t: int) -> int:
    return int(sim.g.size[t])


#: (n_ops, seed, capacity, early drops) of tiny graphs where the first-fit optimum is worse than the ILP's
#: (placement decides), and one that needs an early drop (the ILP evicts before space runs short)
ADDRESSED_CASES = [(5, 0, 12, False), (6, 1, 8, False), (7, 2, 11, False), (6, 4, 16, False),
                   (5, 6, 13, False), (7, 8, 8, False), (5, 9, 11, False), (6, 13, 12, False),
                   (7, 14, 12, False), (7, 130, 17, True)]


@pytest.mark.parametrize("allocator", ["hinted", "two_sided"])
@pytest.mark.parametrize("n_ops, seed, capacity, drops", ADDRESSED_CASES)
def test_every_ilp_optimum_is_an_action_sequence_and_a_point(tmp_path, n_ops, seed, capacity, drops, allocator):
    g = graphs.tiny_graph(n_ops, seed)
    ilp = solve_ilp(g, capacity, time_limit=30, addresses=True)
    assert ilp.optimal
    optimum = ilp.result.non_compulsory
    first_fit = sp.brute_force(g, capacity, "first_fit").non_compulsory
    assert first_fit > optimum or drops  # the case is one where addresses (or drops) matter
    problem = _problem(tmp_path, g, capacity, allocator, drops)
    if drops:  # without early drops this optimum is out of reach
        assert sequence_reaching(_problem(tmp_path, g, capacity, allocator), optimum) is None
    actions = sequence_reaching(problem, optimum)
    assert actions is not None
    design = problem.initial_design()
    for a in actions:
        design = problem.apply_action(design, a)
    assert problem.evaluate(design).cost == optimum
    # the JSON form replays to the same schedule and cost
    again = problem.from_json(problem.to_json(design))
    assert problem.to_json(again) == problem.to_json(design)
    assert problem.evaluate(again).cost == optimum
    # and the parameter face holds the same schedule
    decoded = problem.decode(point_of_sequence(problem, actions))
    assert problem.evaluate(decoded).cost == optimum


#: (n_ops, seed): tiny graphs whose ILP optima (at four capacities) include mid-hole addresses and reloads
#: at a new address, which the edge-placing allocators cannot express (tiny_7_s130 at 15 B: the best
#: hinted schedule costs 16 B, the optimum 13 B)
PINNED_CASES = [(7, 130), (6, 105), (8, 107), (7, 118), (8, 119), (7, 122), (7, 146), (5, 0)]


@pytest.mark.parametrize("n_ops, seed", PINNED_CASES)
def test_pinned_replays_every_ilp_optimum_from_its_own_decisions(tmp_path, n_ops, seed):
    """Allocator ``pinned`` with early drops: the ILP's order, victims, drops and, at each placement
    decision, the level leading to the ILP's address form an action sequence that costs exactly the
    proven optimum, at every capacity; its JSON replays to the same schedule."""
    g = graphs.tiny_graph(n_ops, seed)
    b = sp.budgets(g)
    for cap in sorted({b.m_r, (b.m_r + b.m_p) // 2, b.m_h, max(b.m_r, b.m_p - 1)}):
        ilp = solve_ilp(g, cap, time_limit=30, addresses=True)
        assert ilp.optimal
        problem = _problem(tmp_path, g, cap, "pinned", drops=True)
        actions = sequence_of_ilp(problem, ilp)
        assert actions is not None, cap
        design = problem.initial_design()
        for a in actions:
            design = problem.apply_action(design, a)
        assert problem.evaluate(design).cost == ilp.result.non_compulsory, cap
        again = problem.from_json(problem.to_json(design))
        assert problem.to_json(again) == problem.to_json(design)
        assert problem.evaluate(again).cost == ilp.result.non_compulsory


def test_the_edge_allocators_miss_an_optimum_that_pinned_reaches(tmp_path):
    g = graphs.tiny_graph(7, 130)
    ilp = solve_ilp(g, 15, time_limit=30, addresses=True)
    assert ilp.result.non_compulsory == 13
    assert sequence_reaching(_problem(tmp_path, g, 15, "hinted", drops=True), 13) is None
    assert sequence_of_ilp(_problem(tmp_path, g, 15, "pinned", drops=True), ilp) is not None


def test_pinned_places_mid_hole_and_later_hints_are_pinned_only():
    g = graphs.tiny_graph(5, 0)
    cg = sp.compile_graph(g)
    n = len(cg.tensors)
    cap = 64 + int(cg.size.max())
    hint = np.zeros(n)
    t0 = cg.tensor_index["t0"]
    hint[t0] = 0.5  # op t0's output goes to the middle of the hole above its inputs
    sim = sp.ScratchpadSim(g, cap, "pinned", hint=hint)
    sim.schedule("t0")
    assert sim.offset[t0] == round(0.5 * (cap - int(cg.size[t0])))
    assert all(o + sz < sim.offset[t0] for o, sz, t in sim.blocks if t != t0)  # a hole below it
    # a later placement with a hint of its own goes there; "x@2" is refused by the other allocators
    with pytest.raises(ConfigError):
        sp.ScratchpadSim(g, cap, "hinted", hint=hint, later_hints={(t0, 2): 0.0})


def test_pinned_forced_resets_terminate():
    """Random pinned hints on tight capacities: every order finishes (after a forced reset the working set
    is re-placed at edges, which always fits), with the traffic accounted."""
    rng = np.random.default_rng(0)
    for seed in range(40):
        g = graphs.tiny_graph(8, seed)
        b = sp.budgets(g)
        cg = sp.compile_graph(g)
        sim = sp.ScratchpadSim(g, b.m_r, "pinned", hint=rng.random(len(cg.tensors)))
        r = sp.run_order(sim, sp.decode_order(g, rng.random(len(g.nodes))), sp.POLICIES["belady"])
        assert r.feasible and r.non_compulsory >= 0
