"""Heterogeneous NPU (several sub-accelerators sharing a workload): system model and env."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from archgym.config import build_problem
from archgym.envs.base import DesignEnv, ParameterEnv
from archgym.errors import ConfigError, DesignError
from archgym.runner import RunSpec, execute
from archgym.simulators.npu import model as npu
from archgym.simulators.npu import system as npu_system
from archgym.simulators.npu.model import NPUDesign
from archgym.simulators.npu.system import NPUSystem
from archgym.simulators.npu.workloads import load_workload

# three fast ResNet-18 layers: Conv3_s and FC run best input-stationary, Conv5_s weight-stationary
TOPOLOGY = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
            "Conv3_s,56,56,1,1,64,128,2,\nConv5_s,14,14,1,1,256,512,2,\nFC,1,1,1,1,512,1000,1,\n")
IS = NPUDesign(rows=64, cols=16, dataflow="is", dram_bw=5)
WS = NPUDesign(rows=32, cols=32, dataflow="ws", dram_bw=5)


@pytest.fixture()
def workload(tmp_path) -> str:
    path = tmp_path / "three.csv"
    path.write_text(TOPOLOGY)
    return str(path)


def problem(workload: str, **kw):
    return build_problem("npu_hetero", {"workload": workload, **kw})


def test_one_array_system_is_the_single_array_model(workload):
    layers = load_workload(workload)
    single = npu.evaluate(WS, layers)
    system = npu_system.evaluate_system(NPUSystem((WS,), (0, 0, 0)), layers)
    for k in ("cycles", "energy_pj", "area_mm2", "dram_ifmap_reads", "macs"):
        assert system[k] == pytest.approx(single[k]), k
    assert system["latency_cycles"] == system["cycles"] and system["load_balance"] == 1.0


def test_two_arrays_pipeline_and_add_up(workload):
    layers = load_workload(workload)
    s = NPUSystem((IS, WS), (0, 1, 1))
    r = npu_system.evaluate_system(s, layers)
    a = npu.evaluate(IS, layers[:1])
    b = npu.evaluate(WS, layers[1:])
    assert r["cycles"] == max(a["cycles"], b["cycles"])  # steady state: the busiest array
    assert r["latency_cycles"] == a["cycles"] + b["cycles"]  # one inference alone
    assert r["energy_pj"] == pytest.approx(a["energy_pj"] + b["energy_pj"])
    assert r["area_mm2"] == pytest.approx(a["area_mm2"] + b["area_mm2"])
    assert r["dram_bw_words_per_cycle"] == 3 * (IS.dram_bw + WS.dram_bw)
    assert [x["layers"] for x in r["arrays"]] == [["Conv3_s"], ["Conv5_s", "FC"]]
    # an idle array costs its area and nothing else
    idle = npu_system.evaluate_system(NPUSystem((IS, WS), (1, 1, 1)), layers)
    assert idle["area_mm2"] == pytest.approx(r["area_mm2"])
    assert idle["energy_pj"] == pytest.approx(npu.evaluate(WS, layers)["energy_pj"])
    assert idle["arrays"][0]["busy_cycles"] == 0.0


def test_system_validation(workload):
    layers = load_workload(workload)
    with pytest.raises(ConfigError, match=r"assignment\[1\]"):
        NPUSystem((IS,), (0, 1, 0))
    with pytest.raises(ConfigError, match="arrays"):
        NPUSystem((), ())
    with pytest.raises(DesignError, match="3 layers"):
        npu_system.evaluate_system(NPUSystem((IS,), (0, 0)), layers)


def test_json_round_trip_and_errors(workload):
    p = problem(workload)
    d = p.decode(p.space().sample(np.random.default_rng(1)))
    assert len(d.arrays) == 2 and len(d.assignment) == 3
    assert p.from_json(json.loads(json.dumps(p.to_json(d)))) == d
    data = p.to_json(d)
    with pytest.raises(DesignError, match="assignment"):
        p.from_json({**data, "assignment": [0, 1]})
    with pytest.raises(DesignError, match=r"assignment\[0\]"):
        p.from_json({**data, "assignment": [5, 0, 0]})
    with pytest.raises(DesignError, match=r"arrays\[1\].*'dataflow'"):
        p.from_json({**data, "arrays": [data["arrays"][0], {**data["arrays"][1], "dataflow": "xs"}]})
    with pytest.raises(DesignError, match="1 to 2"):
        p.from_json({**data, "arrays": data["arrays"] * 2})
    with pytest.raises(ConfigError, match="sub_accelerators"):
        problem(workload, sub_accelerators=0)


def test_baselines_match_the_single_array_env(workload):
    p, single = problem(workload), build_problem("npu", {"workload": workload})
    for name, system in p.baselines().items():
        assert system.arrays == (single.baseline(name),)
        e, f = p.evaluate(system), single.evaluate(single.baseline(name))
        assert (e.cost, e.feasible) == (f.cost, f.feasible)
    assert p.evaluate(p.baseline("scalesim_scale")).cost == 1.0


def test_heterogeneous_mapping_beats_each_homogeneous_half(workload):
    """Each layer on the array whose dataflow suits it beats both arrays taking every layer."""
    layers = load_workload(workload)
    best = [min((0, 1), key=lambda i: npu.evaluate((IS, WS)[i], [lay])["cycles"]) for lay in layers]
    assert best == [0, 1, 0]
    mixed = npu_system.evaluate_system(NPUSystem((IS, WS), tuple(best)), layers)
    for i in (0, 1):
        alone = npu_system.evaluate_system(NPUSystem((IS, WS), (i,) * 3), layers)
        assert mixed["latency_cycles"] <= alone["latency_cycles"]
        assert mixed["cycles"] < alone["cycles"]


def test_sequential_face(workload):
    p = problem(workload)
    d = p.initial_design()
    scale = p.baseline("scalesim_scale").arrays[0]
    assert d.arrays == (replace(scale, dram_bw=5),) * 2 and d.assignment == (0, 0, 0)  # 2 x 5 = 10 words/cycle
    assert p.evaluate(d).feasible
    n_knob = 2 * 8
    assert p.num_actions() == 2 * n_knob + 3
    moved = p.apply_action(d, 2 * n_knob + 1)  # layer 1 to the next array
    assert moved.assignment == (0, 1, 0) and p.apply_action(moved, 2 * n_knob + 1).assignment == (0, 0, 0)
    rows_down = p.apply_action(d, n_knob + 1)  # array 1: rows to the next smaller choice
    assert rows_down.arrays[0] == d.arrays[0] and rows_down.arrays[1].rows == 16
    mask = p.action_mask(p.baseline("scalesim_scale"))  # a one-array baseline pads to two
    assert mask.shape == (p.num_actions(),) and mask[-3:].all()
    obs = p.observe(moved)
    assert obs.shape == p.observation_space().shape and obs[-2] == 1.0


@pytest.mark.parametrize("face", [ParameterEnv, DesignEnv])
def test_check_env(face, workload):
    check_env(face(problem(workload)), skip_render_check=True)


def test_gymnasium_make(workload):
    from archgym.gym_registration import register_envs

    register_envs()
    env = gymnasium.make("archgym/NPUHetero-v0", workload=workload, sub_accelerators=3)
    env.reset(seed=0)
    _, reward, *_ = env.step(env.action_space.sample())
    assert math.isfinite(reward) and len(env.action_space.nvec) == 3 * 8 + 3


@pytest.mark.parametrize("agent", ["tpe", "ga", "ppo"])
def test_agents_search_it(agent, workload, tmp_path):
    s = execute(RunSpec(env="npu_hetero", agent=agent, budget=24, env_config={"workload": workload, "objective": "edp"},
                        out_dir=str(tmp_path), progress=False))
    assert s["evaluations"] == 24 and s["best"] is not None and math.isfinite(s["best"]["cost"])


def test_a_batch_of_systems_in_worker_processes_equals_one_process():
    """env.jobs > 1: each system's (layer, array) pairs are evaluated in the workers, with the same figures."""
    cfg = {"workload": "resnet18", "sub_accelerators": 2}
    one, two = (build_problem("npu_hetero", {**cfg, "jobs": jobs}) for jobs in (1, 2))
    space, rng = one.space(), np.random.default_rng(0)
    systems = [one.decode(space.sample(rng)) for _ in range(4)]
    assert one.simulator.metrics_batch(systems) == two.simulator.metrics_batch(systems)
