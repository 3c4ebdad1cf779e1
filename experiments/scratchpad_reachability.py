"""Which ILP optima can the scratchpad env's faces express?  Counts over random tiny graphs.

For each tiny graph (``graphs.tiny_graph``, 5 to 8 operators) at four capacities between M_R and M_P,
the ILP with addresses (COSMA's contiguous allocation) gives the proven optimum.  A depth-first search
over the sequential face's actions (ops, victims, placement levels, early drops) looks for an action
sequence reaching it, per allocator and with and without ``env.drops``; a found sequence is also turned
into a parameter-face point and decoded (``tests/test_scratchpad_reachability.py`` runs the same on a
fixed set of cases).

    python -m archgym.experiments.scratchpad_reachability [--graphs 60] [--limit 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archgym.config import build_problem
from archgym.simulators.scratchpad import graphs
from archgym.simulators.scratchpad import model as sp
from archgym.simulators.scratchpad.ilp import ILPResult, solve_ilp


def sequence_reaching(problem: Any, target: float, limit: int = 100_000) -> list[int] | None:
    """Depth-first search of the sequential face for an action sequence costing <= target; branches whose
    traffic so far exceeds the target are cut (traffic only grows), and drops between two ops are taken
    in increasing tensor index (their order does not matter)."""
    nodes = 0

    def rec(design, path: list[int]) -> list[int] | None:
        nonlocal nodes
        nodes += 1
        if nodes > limit:
            raise TimeoutError(f"search limit of {limit} nodes")
        sim = problem.replay.state(design)
        if sim.failed or sim.spill + sim.reload > target:
            return None
        if problem.is_terminal(design):
            return path if problem.evaluate(design).cost <= target else None
        actions = [int(a) for a in np.flatnonzero(problem.action_mask(design))]
        if sim.pending is None and design.drops and design.drops[-1][0] == len(design.order):
            last = problem.n_ops + problem.g.tensor_index[design.drops[-1][1]]
            actions = [a for a in actions if a < problem.n_ops or a > last]
        for a in actions:
            found = rec(problem.apply_action(design, a), [*path, a])
            if found is not None:
                return found
        return None

    return rec(problem.initial_design(), [])


def sequence_of_ilp(problem: Any, ilp: ILPResult) -> list[int] | None:
    """The sequential-face actions that replay an addressed ILP schedule: its ops in order, its victims in
    turn, its early drops before the op they precede (needs ``env.drops``), and at each placement decision
    the level that puts the tensor at the ILP's address.  None where no level leads there (the face cannot
    express that placement, or the face asks a victim decision the ILP did not make).  Placements the
    face does not ask about follow the tensor's decided hint."""
    g, design, actions = problem.g, problem.initial_design(), []
    victims, order = iter(ilp.result.evictions), ilp.result.order
    while not problem.is_terminal(design):
        sim = problem.replay.state(design)
        step = len(sim.order) + 1  # 1-based step of the op being run (placing, victim) or next to run
        due = [name for s, name in ilp.drops if s == step and g.tensor_index[name] in sim.offset]
        if sim.placing:
            want = ilp.addresses[g.tensors[sim.queue[0]].name, step]
            levels = [lvl for lvl, off in sim.placement_addresses().items() if off == want]
            if not levels:
                return None
            action = problem.n_ops + problem.n_tensors + levels[0]
        elif sim.pending is not None:  # a victim decision the ILP did not make (e.g. without early drops)
            victim = next(victims, None)
            if victim is None:
                return None
            action = problem.n_ops + g.tensor_index[victim]
        elif due and problem.config.drops:
            action = problem.n_ops + g.tensor_index[due[0]]
        else:
            action = g.op_index[order[len(design.order)]]
        design = problem.apply_action(design, action)
        actions.append(action)
    return actions


def point_of_sequence(problem: Any, actions: list[int]) -> dict[str, Any]:
    """The parameter-face point of a sequential-face action sequence: priorities by position, victim picks
    ranked by Belady on the final order, each tensor's decided hint, each early drop's step."""
    design = problem.initial_design()
    for a in actions:
        design = problem.apply_action(design, a)
    order = list(design.order)
    point = {"reference": "min_peak", "mix": 1.0, "victim": "belady"}
    if "layout" in problem.space().names:
        point["layout"] = "hints"
    levels = max(32, problem.n_ops)
    point.update({f"prio.{op}": (levels - 1 - pos) / (levels - 1) for pos, op in enumerate(order)})
    point.update({f"evict.{i}": 0.0 for i in range(problem.victim_knobs)})
    point.update({f"addr.{t.name}": 0.0 for t in problem.g.tensors})
    point.update(dict((f"addr.{name}", h) for name, h in design.placement
                         if sp.split_placement_key(name)[1] == 1))
    if problem.config.drops:
        point.update({f"drop.{t.name}": 0.0 for t in problem.g.tensors})
        assert len({name for _, name in design.drops}) == len(design.drops), "a tensor dropped twice"
        point.update({f"drop.{name}": step / (problem.n_ops - 1) for step, name in design.drops})
    walk = problem.initial_design()
    for a in actions:
        sim = problem.replay.state(walk)
        if sim.pending is not None and not sim.placing:  # a victim decision: its rank under Belady
            ranking = sim.copy()
            ranking.future = [problem.g.op_index[o] for o in order]
            ranked = sp.ranked(sp.POLICIES["belady"], ranking, ranking.candidate_indices())
            r = ranked.index(a - problem.n_ops)
            point[f"evict.{len(sim.evictions)}"] = 0.0 if r == 0 else (r + 0.5) / len(ranked)
        walk = problem.apply_action(walk, a)
    return point



def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", type=int, default=60)
    ap.add_argument("--limit", type=int, default=200_000, help="search nodes per case")
    args = ap.parse_args(argv)
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.json"
        for i in range(args.graphs):
            n_ops, seed = 5 + i % 4, 100 + i
            g = graphs.tiny_graph(n_ops, seed)
            graphs.save_graph_json(g, path)
            b = sp.budgets(g)
            for cap in sorted({b.m_r, (b.m_r + b.m_p) // 2, b.m_h, max(b.m_r, b.m_p - 1)}):
                ilp = solve_ilp(g, cap, time_limit=60, addresses=True)
                optimum = ilp.result.non_compulsory
                for allocator in ("hinted", "two_sided", "first_fit", "pinned"):
                    for drops in (False, True):
                        problem = build_problem("scratchpad", {"graph": str(path), "capacity": str(cap),
                                                               "allocator": allocator, "drops": drops})
                        try:
                            # pinned: built from the ILP's own decisions (a DFS over 65 levels is too slow)
                            actions = (sequence_of_ilp(problem, ilp) if allocator == "pinned"
                                       else sequence_reaching(problem, optimum, args.limit))
                            if actions is not None and allocator == "pinned":
                                design = problem.initial_design()
                                for a in actions:
                                    design = problem.apply_action(design, a)
                                actions = actions if problem.evaluate(design).cost == optimum else None
                            outcome = "reached" if actions is not None else "out of reach"
                        except TimeoutError:
                            actions, outcome = None, "search limit"
                        if actions is not None:  # the parameter face holds it too
                            point = point_of_sequence(problem, actions)
                            if problem.evaluate(problem.decode(point)).cost != optimum:
                                outcome = "sequential only"
                        rows.append({"graph": f"tiny_{n_ops}_s{seed}", "capacity": cap, "optimum": optimum,
                                     "allocator": allocator, "drops": drops, "outcome": outcome})
    df = pd.DataFrame(rows)
    table = df.groupby(["allocator", "drops"])["outcome"].value_counts().unstack(fill_value=0)
    print(table.to_string())
    print(f"\n{len(df) // 8} cases, {time.perf_counter() - t0:.0f} s")
    missed = df[(df.allocator == "hinted") & df.drops & (df.outcome != "reached")]
    if len(missed):
        print("hinted + drops, not reached:\n" + missed.to_string(index=False))
    return df


if __name__ == "__main__":
    main()
