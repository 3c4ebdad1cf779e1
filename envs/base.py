"""The two Gymnasium faces every design family shares.

* ``DesignEnv``: the sequential face.  Each step applies one edit (``problem.apply_action``),
  evaluates the new design through the Evaluator (so every step is logged), and rewards the
  decrease of the cost, normalized by the cost of the episode's starting design so rewards are
  O(1) for every family and width.  An edit that makes the design infeasible is rejected (the
  state stays, reward -1); an action outside the mask is a no-op with a small penalty.
  ``action_masks()`` follows sb3-contrib's MaskablePPO convention.
* ``ParameterEnv``: the parameter face as a one-step episode (action = one knob index per knob,
  MultiDiscrete), the ArchGym way of letting RL agents pick whole configurations.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from archgym.errors import ArchGymError
from archgym.evaluator import Evaluator
from archgym.problem import DesignProblem, with_parameter_face, with_sequential_face

INFEASIBLE_PENALTY = -1.0
INVALID_ACTION_PENALTY = -0.01


class DesignEnv(gym.Env):
    """The sequential face as a Gymnasium env: one edit per step, reward = relative cost decrease, ``action_masks()``."""

    metadata = {"render_modes": ["ansi"]}  # noqa: RUF012 - gymnasium.Env declares it an instance attribute

    def __init__(
        self,
        problem: DesignProblem,
        evaluator: Evaluator | None = None,
        episode_length: int | None = None,
        render_mode: str | None = None,
    ):
        if not problem.has_sequential_face:
            raise ArchGymError(f"env '{problem.name}' has no sequential face; use a parameter-face agent")
        self.problem = with_sequential_face(problem)
        self.evaluator = evaluator or Evaluator(problem, keep_history=False)
        self.episode_length = episode_length or int(getattr(problem.config, "episode_length", 0) or 64)
        self.render_mode = render_mode
        self.action_space = gym.spaces.Discrete(self.problem.num_actions())
        self.observation_space = self.problem.observation_space()
        self.design: Any = None
        self.cost = math.inf
        self._scale = 1.0
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.design = self.problem.initial_design(self.np_random)
        evaluation = self.evaluator.evaluate(self.design)
        self.cost = evaluation.cost
        self._scale = abs(self.cost) if math.isfinite(self.cost) and self.cost != 0 else 1.0
        self._t = 0
        return self.problem.observe(self.design), self._info(evaluation.metrics)

    def step(self, action):
        action = int(action)
        self._t += 1
        truncated = self._t >= self.episode_length
        if not self.problem.action_mask(self.design)[action]:
            obs = self.problem.observe(self.design)
            return obs, INVALID_ACTION_PENALTY, False, truncated, self._info({}, invalid_action=True)
        candidate = self.problem.apply_action(self.design, action)
        evaluation = self.evaluator.evaluate(candidate)
        if evaluation.feasible and math.isfinite(evaluation.cost):
            reward = (self.cost - evaluation.cost) / self._scale
            self.design, self.cost = candidate, evaluation.cost
        else:
            reward = INFEASIBLE_PENALTY
        terminated = self.problem.is_terminal(self.design)
        obs = self.problem.observe(self.design)
        return obs, float(reward), bool(terminated), bool(truncated), self._info(evaluation.metrics)

    def action_masks(self) -> np.ndarray:
        return self.problem.action_mask(self.design)

    def _info(self, metrics: dict[str, float], **extra: Any) -> dict[str, Any]:
        return {"cost": self.cost, "metrics": dict(metrics), **extra}

    def render(self):
        if self.render_mode == "ansi":
            return f"{self.problem.name}: cost={self.cost:.4g} design={self.problem.canonical(self.design)[:200]}"
        return None


class ParameterEnv(gym.Env):
    """One knob setting per episode: action = knob indices, reward = -cost / reference cost."""

    metadata = {"render_modes": []}  # noqa: RUF012 - gymnasium.Env declares it an instance attribute

    def __init__(self, problem: DesignProblem, evaluator: Evaluator | None = None):
        self.problem = with_parameter_face(problem)
        self.evaluator = evaluator or Evaluator(problem, keep_history=False)
        self.space = self.problem.space()
        self.action_space = gym.spaces.MultiDiscrete(self.space.nvec)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(len(self.space),), dtype=np.float32)
        self._last = np.zeros(len(self.space), dtype=np.float32)
        self._scale: float | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        return self._last.copy(), {}

    def step(self, action):
        idx = np.asarray(action, dtype=np.int64)
        evaluation = self.evaluator.evaluate(self.problem.decode(self.space.from_indices(idx)))
        self._last = (idx / np.maximum(self.space.nvec - 1, 1)).astype(np.float32)
        if evaluation.feasible and math.isfinite(evaluation.cost):
            if self._scale is None:
                self._scale = abs(evaluation.cost) or 1.0
            reward = -evaluation.cost / self._scale
        else:
            reward = INFEASIBLE_PENALTY * 2
        return self._last.copy(), float(reward), True, False, {"cost": evaluation.cost, "metrics": dict(evaluation.metrics)}


def make_env(env: str, **config: Any) -> gym.Env:
    """Gymnasium's entry point for every registered family (``gymnasium.make("archgym/Adder-v0", width=64)``):
    its ``default_gym_face`` (the sequential face where there is one), else the parameter face
    (one-step episodes, MultiDiscrete knobs)."""
    from archgym.config import build_problem

    problem = build_problem(env, config)
    sequential = problem.has_sequential_face and problem.default_gym_face == "sequential"
    return DesignEnv(problem) if sequential else ParameterEnv(problem)
