"""The scratchpad env: both Gymnasium faces, exact JSON replay, baselines vs the simulator, the
completion semantics of partial designs, and a short registry-agent run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from archgym.config import build_problem
from archgym.envs.base import DesignEnv, ParameterEnv
from archgym.errors import ConfigError, DesignError
from archgym.simulators.scratchpad import model as sp

SMALL = {"graph": "random_dag", "ops": 12, "seed": 3, "capacity": "m_r"}


def problem(**over):
    return build_problem("scratchpad", {**SMALL, **over})


def random_episode(p, rng: np.random.Generator, steps: int | None = None):
    d = p.initial_design()
    n = 0
    while not p.is_terminal(d) and (steps is None or n < steps):
        d = p.apply_action(d, int(rng.choice(np.flatnonzero(p.action_mask(d)))))
        n += 1
    return d


def test_check_env_both_faces():
    p = problem()
    check_env(DesignEnv(p), skip_render_check=True)
    check_env(ParameterEnv(p), skip_render_check=True)


@pytest.mark.parametrize("allocator", ["first_fit", "best_fit", "ideal"])
def test_baselines_match_simulate(allocator):
    p = problem(allocator=allocator)
    for name, policy, order in (("topo_belady", "belady", sp.default_order(p.g)),
                                ("minpeak_belady", "belady", p.min_peak_order), ("topo_lru", "lru", sp.default_order(p.g))):
        ref = sp.simulate(p.g, p.capacity, order, policy, allocator)
        ev = p.evaluate(p.baseline(name))
        assert ev.cost == ref.non_compulsory and ev.metrics["compulsory"] == ref.compulsory
        assert ev.metrics["peak"] == ref.peak


@pytest.mark.parametrize("allocator", ["first_fit", "best_fit", "hinted"])
def test_random_episode_is_complete_feasible_and_replays(allocator):
    p = problem(allocator=allocator, capacity="m_r")
    rng = np.random.default_rng(0)
    for _ in range(5):
        d = random_episode(p, rng)
        assert len(d.order) == p.n_ops and sorted(d.order) == sorted(p.g.ops)
        ev = p.evaluate(d)
        assert ev.feasible
        if allocator != "hinted":  # the sequential face places with hints 0 = the plain allocator
            ref = sp.simulate(p.g, p.capacity, list(d.order), list(d.evictions), allocator)
            assert ref.feasible and ev.cost == ref.non_compulsory
        text = json.dumps(p.to_json(d))
        d2 = p.from_json(json.loads(text))
        assert p.to_json(d2) == p.to_json(d) and p.evaluate(d2).cost == ev.cost


def test_partial_design_cost_is_its_default_completion():
    """A partial design costs what the sequential face reaches by continuing with the default policy
    (next op of the min-peak completion, Belady victims), and JSON replays partial designs too."""
    p = problem(capacity="m_r", allocator="first_fit")
    rng = np.random.default_rng(1)
    for steps in (0, 3, 7, 11):
        d = random_episode(p, rng, steps)
        cost = p.evaluate(d).cost
        d2 = p.from_json(json.loads(json.dumps(p.to_json(d))))
        assert p.evaluate(d2).cost == cost
        while not p.is_terminal(d):
            sim = p.replay.state(d)
            if sim.pending is not None:
                action = p.n_ops + sp.belady(sim, sim.candidate_indices())
            else:
                action = p.g.op_index[p.completion(d.order)[len(d.order)]]
            d = p.apply_action(d, action)
        assert p.evaluate(d).cost == cost


def test_decoded_points_replay_exactly():
    p = problem(capacity="m_h")
    space, rng = p.space(), np.random.default_rng(2)
    for _ in range(20):
        d = p.decode(space.sample(rng))
        ev = p.evaluate(d)
        d2 = p.from_json(json.loads(json.dumps(p.to_json(d))))
        assert p.to_json(d2) == p.to_json(d) and p.evaluate(d2).metrics == ev.metrics


def test_reference_orders_are_points_of_the_space():
    p = problem(allocator="best_fit")
    space = p.space()
    point = space.from_indices([0] * len(space))  # reference=min_peak, mix=0, victim=belady
    assert p.to_json(p.decode(point)) == p.to_json(p.baseline("minpeak_belady"))


def test_hinted_allocator_extremes_match_first_fit_and_two_sided():
    p = problem(capacity="m_r")
    order, k = p.min_peak_order, p.n_tensors
    ff = sp.run_order(sp.ScratchpadSim(p.g, p.capacity, "first_fit"), order, sp.belady)
    h0 = sp.run_order(sp.ScratchpadSim(p.g, p.capacity, "hinted", hint=np.zeros(k)), order, sp.belady)
    assert (h0.non_compulsory, h0.evictions) == (ff.non_compulsory, ff.evictions)
    high = np.arange(k) % 2 == 1
    ts = sp.run_order(sp.ScratchpadSim(p.g, p.capacity, "two_sided", high=high), order, sp.belady)
    h1 = sp.run_order(sp.ScratchpadSim(p.g, p.capacity, "hinted", hint=high.astype(float)), order, sp.belady)
    assert (h1.non_compulsory, h1.evictions) == (ts.non_compulsory, ts.evictions)


@pytest.mark.parametrize("field,value", [("capacity", "huge"), ("capacity", "10"), ("graph", "nope"),
                                         ("allocator", "explicit"), ("ops", 0)])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        problem(**{field: value})


def test_bad_designs_name_the_field():
    p = problem()
    good = p.to_json(p.baseline("topo_belady"))
    for key, bad in (("order", list(reversed(good["order"]))), ("evictions", ["image"] * 50),
                     ("capacity", 1), ("graph", "resnet18"), ("placement", {"op1": 2.0})):
        with pytest.raises(DesignError, match=key):
            p.from_json({**good, key: bad})


def _ga_run(tmp_path, name):
    from archgym.runner import RunSpec, execute

    return execute(RunSpec(env="scratchpad", agent="ga", env_config={**SMALL, "capacity": "m_h"}, budget=300,
                           seed=4, out_dir=str(tmp_path / name), progress=False, verify=False))


def test_ga_run_beats_baseline_and_is_deterministic(tmp_path):
    a, b = _ga_run(tmp_path, "a"), _ga_run(tmp_path, "b")
    assert a["best"]["cost"] <= a["baselines"]["topo_belady"]["cost"]
    assert a["best"]["design"] == b["best"]["design"] and a["best"]["cost"] == b["best"]["cost"]
    p = problem(capacity="m_h")
    assert p.evaluate(p.from_json(a["best"]["design"])).cost == a["best"]["cost"]


def test_gymnasium_make_builds_the_sequential_face():
    import gymnasium

    from archgym.gym_registration import register_envs

    register_envs()
    env = gymnasium.make("archgym/Scratchpad-v0", **SMALL)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs) and info["cost"] == problem().evaluate(problem().initial_design()).cost
    done, rng = False, np.random.default_rng(5)
    while not done:
        obs, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(env.unwrapped.action_masks()))))
        done = terminated or truncated
    assert terminated and len(env.unwrapped.design.order) == 12


def _default_continuation(p, d):
    """Finish a partial design by the default policy: min-peak completion, Belady victims, hint level 0
    (pinned: the last placement action, the packed layout's address)."""
    while not p.is_terminal(d):
        sim = p.replay.state(d)
        if sim.placing:
            action = p.n_ops + p.n_tensors + (p.placement_levels if p.config.allocator == "pinned"
                                               else sim.placement_options()[0])
        elif sim.pending is not None:
            action = p.n_ops + sp.belady(sim, sim.candidate_indices())
        else:
            action = p.g.op_index[p.completion(d.order)[len(d.order)]]
        d = p.apply_action(d, action)
    return d


@pytest.mark.parametrize("allocator, drops", [("hinted", False), ("hinted", True), ("two_sided", True),
                                              ("pinned", False)])
def test_partial_designs_with_placement_decisions_replay_and_complete(allocator, drops):
    """Placement decisions (and early drops) are part of a design: every partial design of a random
    episode, a pending placement decision included, replays from JSON to the same state (mask and
    observation), and costs what its default continuation reaches."""
    p = problem(allocator=allocator, drops=drops, capacity="m_h")
    rng = np.random.default_rng(7)
    placing_seen = dropped = 0
    for _ in range(6):
        d = p.initial_design()
        while not p.is_terminal(d):
            sim = p.replay.state(d)
            placing_seen += sim.placing
            if sim.placing:
                mask = p.action_mask(d)
                assert mask[p.n_ops + p.n_tensors:].sum() >= 2 and not mask[: p.n_ops + p.n_tensors].any()
                assert p.observe(d)[3 * p.n_ops + 5 * p.n_tensors + sim.queue[0]] == 1.0
            again = p.from_json(json.loads(json.dumps(p.to_json(d))))
            assert p.to_json(again) == p.to_json(d)
            assert (p.action_mask(again) == p.action_mask(d)).all()
            assert (p.observe(again) == p.observe(d)).all()
            if rng.random() < 0.15:
                assert p.evaluate(_default_continuation(p, d)).cost == p.evaluate(d).cost
            d = p.apply_action(d, int(rng.choice(np.flatnonzero(p.action_mask(d)))))
        dropped += len(d.drops)
        assert p.evaluate(d).feasible
    assert placing_seen > 0 and (dropped > 0) == drops


def test_check_env_with_placement_decisions_and_drops():
    p = problem(drops=True, capacity="m_h")
    check_env(DesignEnv(p), skip_render_check=True)
    check_env(ParameterEnv(p), skip_render_check=True)


def test_bad_drops_name_the_field():
    p = problem(drops=True)
    good = p.to_json(p.baseline("topo_belady"))
    resident_never = good["order"][-1]  # the last op's output is written out and freed, never resident after
    for bad in ([["op1", 2]], [[1, "nope"]], [[True, "op1"]], "op1", [[len(good["order"]) + 1, "op1"]],
                [[len(good["order"]), resident_never]]):
        with pytest.raises(DesignError, match="drops"):
            p.from_json({**good, "drops": bad})
    with pytest.raises(DesignError, match=r"env\.drops=true"):
        problem().from_json({**good, "drops": [[1, "op0"]]})
