"""The vector env of the SB3 agents: one ``Evaluator.evaluate_batch`` call per vector step.

SB3 steps ``n_envs`` environments per call.  ``DummyVecEnv`` steps them one after another, each scoring
its design alone; ``SubprocVecEnv`` would move each env, and with it its evaluations, into another
process.  Neither fits archgym: every evaluation must go through the run's one Evaluator (the shared
logging layer: budget, memo, log rows, resume), and the time of a step is the cost model's.
``BatchedVecEnv`` therefore asks each env for the design its action proposes, scores all proposals in
one batch (which a tool-based cost model, e.g. ``cost_model=yosys``, synthesizes in parallel on
``jobs`` workers) and lets each env finish its step with its evaluation.  So ``n_envs`` > 1 uses as
many cores as the cost model can use where it pays, and the log keeps one row per evaluation in a
deterministic order.  The analytical models (well under 10 ms a design, in-process) gain nothing from
more processes: pickling observations and masks between processes would cost about what they do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
from stable_baselines3.common.vec_env import DummyVecEnv

from archgym.evaluator import Evaluator


class BatchedVecEnv(DummyVecEnv):
    """SB3's DummyVecEnv whose step scores every env's proposed design in one ``evaluate_batch`` call."""

    def __init__(self, env_fns: list[Callable[[], gym.Env]], evaluator: Evaluator):
        super().__init__(env_fns)
        self.evaluator = evaluator

    def step_wait(self) -> Any:
        proposals = []
        for env, action in zip(self.envs, self.actions):
            inner: Any = env.unwrapped  # DesignEnv or ParameterEnv (envs/base.py)
            candidate = inner.proposal(action)
            if candidate is not None:  # None: a masked action, a no-op of the env's own step
                proposals.append((inner, action, candidate))
        if proposals:  # a lone proposal too: its env then reuses the edited design instead of editing again
            evaluations = self.evaluator.evaluate_batch([candidate for _, _, candidate in proposals])
            for (inner, action, candidate), evaluation in zip(proposals, evaluations):
                inner.prefetch(action, candidate, evaluation)
        return super().step_wait()  # each env steps with its prefetched evaluation (wrappers see a plain step)
