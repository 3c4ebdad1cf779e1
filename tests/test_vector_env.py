"""The SB3 agents' vector env: one evaluate_batch per vector step, the same steps as stepping one by one."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv
from toy_problem import ToyConfig, ToyProblem

from archgym import logs
from archgym.agents.vector import BatchedVecEnv
from archgym.config import build_problem
from archgym.envs.base import DesignEnv, ParameterEnv
from archgym.evaluator import Evaluator
from archgym.runner import RunSpec, execute


def _adder_envs(vec_class, batches: list[int]):
    problem = build_problem("adder", {"width": 8})
    evaluator = Evaluator(problem)
    real = evaluator.evaluate_batch
    evaluator.evaluate_batch = lambda designs: batches.append(len(designs)) or real(designs)  # type: ignore[method-assign]
    fns = [lambda: DesignEnv(problem, evaluator, episode_length=1000) for _ in range(3)]
    vec = vec_class(fns, evaluator) if vec_class is BatchedVecEnv else vec_class(fns)
    return vec, evaluator


def _masked_actions(vec, rng) -> np.ndarray:
    return np.array([rng.choice(np.flatnonzero(env.unwrapped.action_masks())) for env in vec.envs])


def test_batched_steps_equal_one_by_one_steps_and_score_each_step_in_one_batch():
    batches: list[int] = []
    batched, ev_b = _adder_envs(BatchedVecEnv, batches)
    plain, ev_p = _adder_envs(DummyVecEnv, [])
    batched.seed(0), plain.seed(0)
    assert np.array_equal(batched.reset(), plain.reset())
    batches.clear()
    rng = np.random.default_rng(0)
    for _ in range(12):
        actions = _masked_actions(plain, rng)
        actions[1] = np.flatnonzero(~plain.envs[1].unwrapped.action_masks())[0]  # env 1 tries a masked action
        obs_b, rew_b, done_b, _ = batched.step(actions)
        obs_p, rew_p, done_p, _ = plain.step(actions)
        assert np.array_equal(obs_b, obs_p) and np.allclose(rew_b, rew_p) and np.array_equal(done_b, done_p)
    assert [r.evaluation.cost for r in ev_b.records] == [r.evaluation.cost for r in ev_p.records]
    assert batches == [2] * 12  # envs 0 and 2 proposed a design each step, scored together; env 1 a no-op


def test_parameter_face_steps_are_batched_too():
    problem = ToyProblem(ToyConfig(target=3))
    evaluator = Evaluator(problem)
    vec = BatchedVecEnv([lambda: ParameterEnv(problem, evaluator) for _ in range(2)], evaluator)
    vec.reset()
    _, _, _, infos = vec.step(np.array([[3], [7]]))
    assert [i["cost"] for i in infos] == [0.0, 16.0] and evaluator.steps == 2


@pytest.mark.parametrize("n_envs", [2, 3])
def test_vectorized_ppo_logs_every_batched_evaluation_once_and_is_deterministic(tmp_path, n_envs):
    rows = []
    for name in ("a", "b"):
        spec = RunSpec("adder", "ppo", {"width": 8}, {"n_envs": n_envs, "n_steps": 8, "batch_size": 8}, budget=30,
                       seed=0, out_dir=str(tmp_path / name), progress=False, verify=False, ground_truth=False)
        summary = execute(spec)
        frame = logs.load(str(tmp_path / name)).sort_values("step")
        assert summary["evaluations"] == 30 and frame["step"].tolist() == list(range(30))
        rows.append(frame["design_hash"].tolist())
    assert rows[0] == rows[1]
