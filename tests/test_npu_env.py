"""The npu env: Gymnasium faces, design I/O, baselines, constraints, objectives, agents, determinism."""

from __future__ import annotations

import json
import math

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import archgym  # noqa: F401  (registers the gym ids)
from archgym.config import build_problem
from archgym.envs.base import DesignEnv, ParameterEnv
from archgym.errors import ConfigError, DesignError
from archgym.runner import RunSpec, execute
from archgym.simulators.npu import model as npu

ONE_LAYER = {"workload": "resnet18", "layer": "Conv4_s"}  # 28x28x128 -> 256, 1x1 stride 2: fast


def problem(**kw):
    return build_problem("npu", {**ONE_LAYER, **kw})


@pytest.mark.parametrize("face", [ParameterEnv, DesignEnv])
def test_check_env(face):
    check_env(face(problem()), skip_render_check=True)


def test_gymnasium_make_builds_the_env():
    from archgym.gym_registration import register_envs

    register_envs()
    env = gymnasium.make("archgym/NPUDataflow-v0", **ONE_LAYER)
    env.reset(seed=0)
    _, reward, *_ = env.step(env.action_space.sample())
    assert math.isfinite(reward)
    space = ParameterEnv(problem()).action_space
    assert isinstance(space, gymnasium.spaces.MultiDiscrete)
    assert list(space.nvec) == [len(npu.DESIGN_SPACE[k]) for k in ("rows", "cols", "dataflow", "ifmap_kb",
                                                                    "filter_kb", "ofmap_kb", "loop_order", "dram_bw")]


def test_json_round_trip_and_errors():
    p = problem()
    d = p.decode(p.space().sample(np.random.default_rng(3)))
    assert p.from_json(json.loads(json.dumps(p.to_json(d)))) == d
    assert p.decode({k: getattr(d, k) for k in p.space().names}) == d
    with pytest.raises(DesignError, match="'dataflow'"):
        p.from_json({**p.to_json(d), "dataflow": "xs"})
    with pytest.raises(DesignError, match="'rowz'"):
        p.from_json({**p.to_json(d), "rowz": 4})
    with pytest.raises(DesignError, match="'word_bytes'"):
        p.from_json({**p.to_json(d), "word_bytes": 2})
    for field, value in (("objective", "power"), ("layer", "Conv9"), ("area_budget_mm2", -1.0),
                         ("workload", "alexnet"), ("clock_ghz", 0.0), ("start", "tpu")):
        with pytest.raises(ConfigError, match=field):
            problem(**{field: value})
    with pytest.raises(ConfigError, match=r"choices.rows"):
        problem(choices={"rows": [0, 8]})
    with pytest.raises(ConfigError, match="objective"):  # target objective without a target
        problem(objective="target")


def test_baselines_are_scalesim_configs_under_the_same_model():
    p = problem(area_budget_mm2=None, dram_gbps=None)
    b = p.baselines()
    assert set(b) == {"scalesim_scale", "scalesim_eyeriss", "scalesim_google_tpu"}
    assert (b["scalesim_google_tpu"].rows, b["scalesim_google_tpu"].dataflow, b["scalesim_google_tpu"].ifmap_kb) \
        == (256, "os", 6144.0)
    assert (b["scalesim_eyeriss"].rows, b["scalesim_eyeriss"].cols, b["scalesim_eyeriss"].filter_kb) == (12, 14, 36.0)
    for _name, d in b.items():
        ev = p.evaluate(d)
        direct = npu.evaluate(d, p.layers)
        assert ev.feasible and ev.metrics["cycles"] == direct["cycles"] and ev.metrics["energy_pj"] == direct["energy_pj"]
        assert ev.metrics["edp"] == pytest.approx(direct["cycles"] * direct["energy_pj"])
    assert p.evaluate(b["scalesim_scale"]).cost == 1.0  # the reference of the relative objectives


def test_infeasible_reasons():
    p = problem(area_budget_mm2=0.5)
    ev = p.evaluate(p.baseline("scalesim_scale"))  # 32x32 + 3 x 64 KB = 1.43 mm2
    assert not ev.feasible and math.isinf(ev.cost) and ev.reason == "area 1.429 mm2 > budget 0.5 mm2"
    q = problem(dram_gbps=25.6)
    ev = q.evaluate(q.baseline("scalesim_scale"))  # 3 interfaces x 10 words/cycle x 1 B x 1 GHz
    assert not ev.feasible and ev.reason.startswith("DRAM bandwidth 30 GB/s") and ev.reason.endswith("> 25.6 GB/s available")
    assert problem(dram_gbps=25.6, clock_ghz=0.8).evaluate(q.baseline("scalesim_scale")).feasible  # 24 GB/s


def test_objectives():
    p_lat, p_en, p_edp = (problem(objective=o, area_budget_mm2=None) for o in ("latency", "energy", "edp"))
    d = p_lat.baseline("scalesim_eyeriss")
    ref = p_lat.metrics(p_lat.baseline("scalesim_scale"))
    m = p_lat.metrics(d)
    assert p_lat.evaluate(d).cost == pytest.approx(m["cycles"] / ref["cycles"])
    assert p_en.evaluate(d).cost == pytest.approx(m["energy_pj"] / ref["energy_pj"])
    assert p_edp.evaluate(d).cost == pytest.approx(m["edp"] / ref["edp"])
    # ArchGym distance: summed relative overshoot, 0 when every target is met
    t = problem(objective="target", target_cycles=m["cycles"] / 2, target_area_mm2=10 * m["area_mm2"])
    assert t.evaluate(d).cost == pytest.approx(1.0)
    assert problem(objective="target", target_cycles=2 * m["cycles"]).evaluate(d).cost == 0.0


def test_sequential_face_steps_knobs():
    p = problem()
    d = p.baseline("scalesim_google_tpu")  # off-grid 6144 KB buffers still have a smaller neighbour
    mask = p.action_mask(d)
    k = p.space().names.index("ifmap_kb")
    assert not mask[2 * k] and mask[2 * k + 1] and p.apply_action(d, 2 * k + 1).ifmap_kb == 1024
    r = p.space().names.index("rows")
    assert not mask[2 * r] and p.apply_action(d, 2 * r + 1).rows == 128
    with pytest.raises(DesignError, match="largest"):
        p.apply_action(d, 2 * r)
    obs = p.observe(p.baseline("scalesim_scale"))
    assert obs[r] == pytest.approx(3 / 6)  # 32 in 4..256 (log scale)


def test_one_layer_equals_that_layer_of_the_network():
    whole = build_problem("npu", {"workload": "resnet18"})
    one = problem(layer="12")
    assert one.layers == [whole.layers[12]] and one.layers[0].name == "Conv4_s"


@pytest.mark.parametrize("agent", ["tpe", "ga", "ppo"])
def test_agents_beat_the_worst_baseline(agent, tmp_path):
    cfg = {**ONE_LAYER, "objective": "edp"}
    s = execute(RunSpec(env="npu", agent=agent, budget=30, env_config=cfg, out_dir=str(tmp_path), progress=False))
    worst = max(b["cost"] for b in s["baselines"].values() if b["feasible"])
    assert s["evaluations"] == 30 and s["best"]["cost"] <= worst


def test_deterministic(tmp_path):
    cfg = {**ONE_LAYER, "objective": "latency"}
    runs = [execute(RunSpec(env="npu", agent="tpe", budget=12, env_config=cfg, seed=5, out_dir=str(tmp_path / str(i)),
                            progress=False)) for i in range(2)]
    assert runs[0]["best"] == runs[1]["best"]


def test_a_batch_evaluated_in_worker_processes_equals_one_process():
    """env.jobs > 1 evaluates a batch's new layers in spawned workers: the same figures, an invalid design
    still failing in its own slot."""
    rng = np.random.default_rng(4)
    designs = [npu.NPUDesign(rows=int(rng.choice([4, 8, 16])), cols=int(rng.choice([4, 8, 16])),
                             dataflow=str(rng.choice(["os", "ws", "is", "rs"])), ifmap_kb=int(rng.choice([1, 4, 64])),
                             dram_bw=int(rng.choice([5, 10])))
               for _ in range(6)]
    designs.insert(2, {"rows": 4, "bogus_knob": 1})  # not a design: the model refuses it
    cfg = {"workload": "resnet18", "layer": "Conv2_1a"}
    serial = problem(**cfg, jobs=1).simulator.metrics_batch(designs)
    parallel = problem(**cfg, jobs=2).simulator.metrics_batch(designs)
    assert isinstance(serial[2], ConfigError) and "bogus_knob" in str(serial[2])
    for one, two in zip(serial, parallel, strict=True):
        assert type(one) is type(two) and (one == two if isinstance(one, dict) else str(one) == str(two))


def test_choice_overrides_shape_the_space():
    p = problem(choices={"rows": [16, 8], "dataflow": ["ws"]})
    assert p.space().nvec[:3].tolist() == [2, 7, 1] and p.choices["rows"] == (8, 16)
    assert p.action_mask(p.baseline("scalesim_scale"))[:2].tolist() == [False, True]  # 32 > every rows choice
