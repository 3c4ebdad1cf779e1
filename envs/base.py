"""The two Gymnasium faces every design family shares.

* ``DesignEnv``: the sequential face.  Each step applies one edit (``problem.apply_action``),
  evaluates the new design through the Evaluator (so every step is logged), and rewards the
  decrease of the cost, normalized by the cost of the episode's starting design so rewards are
  O(1) for every family and width.  An edit that makes the design infeasible is rejected (the
  state stays, reward -1); a masked action is a no-op with a small penalty and
  ``info["invalid_action"]``; an action outside ``action_space`` (a negative or too large index,
  a non-integer) is a ValueError.
  ``action_masks()`` follows sb3-contrib's MaskablePPO convention.
* ``ParameterEnv``: the parameter face as a one-step episode (action = one knob index per knob,
  MultiDiscrete), the ArchGym way of letting RL agents pick whole configurations.

Both faces also split a step in two for vector envs (``proposal`` then ``prefetch``): the design an action
proposes, and its evaluation scored together with other envs' (``archgym.agents.vector``).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from archgym.errors import ArchGymError
from archgym.evaluator import Evaluator
from archgym.problem import DesignProblem, Evaluation, with_parameter_face, with_sequential_face

INFEASIBLE_PENALTY = -1.0
INVALID_ACTION_PENALTY = -0.01


class DesignEnv(gym.Env):
    """The sequential face as a Gymnasium env: one edit per step, reward = relative cost decrease, ``action_masks()``."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012 - gymnasium.Env declares it an instance attribute

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
        self._prefetched: tuple[int, Any, Evaluation] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._prefetched = None
        self.design = self.problem.initial_design(self.np_random)
        evaluation = self.evaluator.evaluate(self.design)
        self.cost = evaluation.cost
        self._scale = abs(self.cost) if math.isfinite(self.cost) and self.cost != 0 else 1.0
        self._t = 0
        return self.problem.observe(self.design), self._info(evaluation.metrics)

    def step(self, action):
        action = int(_discrete_action(action, self.action_space))
        self._t += 1
        truncated = self._t >= self.episode_length
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is not None and prefetched[0] == action:  # proposed and scored by a batched vector env
            _, candidate, evaluation = prefetched
        elif not self.problem.action_mask(self.design)[action]:
            obs = self.problem.observe(self.design)
            return obs, INVALID_ACTION_PENALTY, False, truncated, self._info({}, invalid_action=True)
        else:
            candidate = self.problem.apply_action(self.design, action)
            evaluation = self.evaluator.evaluate(candidate)
        if evaluation.feasible and math.isfinite(evaluation.cost):
            reward = (self.cost - evaluation.cost) / self._scale
            self.design, self.cost = candidate, evaluation.cost
        else:
            reward = INFEASIBLE_PENALTY
        terminated = self.problem.is_terminal(self.design)
        obs = self.problem.observe(self.design)
        accepted = self.design is candidate
        return obs, float(reward), bool(terminated), bool(truncated), self._info(evaluation.metrics, accepted=accepted)

    def action_masks(self) -> np.ndarray:
        return self.problem.action_mask(self.design)

    def proposal(self, action: Any) -> Any | None:
        """The design that ``step(action)`` would evaluate (None for a masked action), so that a vector env
        can score the proposals of all its envs in one ``Evaluator.evaluate_batch`` call (in parallel where
        the cost model runs tools) and hand each env its evaluation with ``prefetch``."""
        action = int(_discrete_action(action, self.action_space))
        return self.problem.apply_action(self.design, action) if self.problem.action_mask(self.design)[action] else None

    def prefetch(self, action: Any, candidate: Any, evaluation: Evaluation) -> None:
        """The evaluation of ``proposal(action)``: the next ``step(action)`` uses it instead of evaluating."""
        self._prefetched = (int(_discrete_action(action, self.action_space)), candidate, evaluation)

    def _info(self, metrics: dict[str, float], **extra: Any) -> dict[str, Any]:
        return {"cost": self.cost, "metrics": dict(metrics), **extra}

    def render(self):
        if self.render_mode == "ansi":
            return f"{self.problem.name}: cost={self.cost:.4g} design={self.problem.canonical(self.design)[:200]}"
        return None


class WeightConditioned(gym.Wrapper):
    """PrefixRL's weight-conditioned env: each episode samples a delay weight from ``weights``, the
    observation carries it (one more plane of a grid observation, one more element of a vector), and the
    reward is the decrease of the cost at that weight (``problem.cost_at``), so one policy learns the
    whole trade-off and, asked at several weights, traces a Pareto front.  The logged cost stays the
    run's own (``env.delay_weight``)."""

    def __init__(self, env: DesignEnv, weights: list[float], seed: int = 0):
        super().__init__(env)
        self.weights = [float(w) for w in weights]
        self.weight = self.weights[0]
        self._rng = np.random.default_rng(seed)
        self._cost = math.inf
        inner: tuple[int, ...] = tuple(env.observation_space.shape or ())
        shape = (inner[0] + 1, *inner[1:]) if len(inner) == 3 else (inner[0] + 1,)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=shape, dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        fixed = (options or {}).get("delay_weight")
        self.weight = float(fixed) if fixed is not None else float(self._rng.choice(self.weights))
        obs, info = self.env.reset(seed=seed, options=options)
        self._cost = self._weighted(info["metrics"])
        return self._with_weight(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if info.get("accepted"):
            cost = self._weighted(info["metrics"])
            scale = abs(self._cost) if math.isfinite(self._cost) and self._cost else 1.0
            reward = (self._cost - cost) / scale if math.isfinite(self._cost) else 0.0
            self._cost = cost
        return self._with_weight(obs), float(reward), terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        return self.env.action_masks()  # type: ignore[attr-defined]

    def _weighted(self, metrics: dict[str, float]) -> float:
        return self.env.problem.cost_at(metrics, self.weight) if metrics else math.inf  # type: ignore[attr-defined]

    def _with_weight(self, obs: np.ndarray) -> np.ndarray:
        if obs.ndim == 3:
            return np.concatenate([obs, np.full((1, *obs.shape[1:]), self.weight, dtype=np.float32)])
        return np.append(obs, np.float32(self.weight)).astype(np.float32)


def _discrete_action(action: Any, space: gym.spaces.Space) -> np.ndarray:
    """``action`` as an integer array inside ``space`` (Discrete or MultiDiscrete), else a ValueError."""
    arr = np.asarray(action)
    shown = np.array2string(arr, threshold=12) if arr.ndim else repr(action)
    shape = () if isinstance(space, gym.spaces.Discrete) else space.shape
    if arr.shape != shape and not (shape == () and arr.shape == (1,)):
        raise ValueError(f"action {shown}: expected shape {shape}, got {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
            raise ValueError(f"action {shown}: must be an integer index (of {space})")
        arr = arr.astype(np.int64)
    arr = arr.reshape(shape)
    if not space.contains(arr.astype(space.dtype)) or np.any(arr < 0):
        raise ValueError(f"action {shown} is outside the action space {space}")
    return arr


class ParameterEnv(gym.Env):
    """One knob setting per episode: action = knob indices, reward = -cost / reference cost.

    Every episode starts from the same observation (zeros: nothing chosen yet), so ``reset(seed=)``
    is reproducible; the step's observation is the chosen indices scaled to [0, 1]."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012 - gymnasium.Env declares it an instance attribute

    def __init__(self, problem: DesignProblem, evaluator: Evaluator | None = None, render_mode: str | None = None):
        self.render_mode = render_mode
        self.problem = with_parameter_face(problem)
        self.evaluator = evaluator or Evaluator(problem, keep_history=False)
        self.space = self.problem.space()
        self.action_space = gym.spaces.MultiDiscrete(self.space.nvec)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(len(self.space),), dtype=np.float32)
        self._scale: float | None = None
        self._design: Any = None
        self._cost = math.inf
        self._prefetched: tuple[tuple[int, ...], Any, Evaluation] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._prefetched = None
        return np.zeros(len(self.space), dtype=np.float32), {}

    def step(self, action):
        idx = _discrete_action(action, self.action_space).astype(np.int64)
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is not None and prefetched[0] == tuple(idx.tolist()):  # scored by a batched vector env
            _, self._design, evaluation = prefetched
        else:
            self._design = self.proposal(idx)
            evaluation = self.evaluator.evaluate(self._design)
        self._cost = evaluation.cost
        obs = (idx / np.maximum(self.space.nvec - 1, 1)).astype(np.float32)
        if evaluation.feasible and math.isfinite(evaluation.cost):
            if self._scale is None:
                self._scale = abs(evaluation.cost) or 1.0
            reward = -evaluation.cost / self._scale
        else:
            reward = INFEASIBLE_PENALTY * 2
        return obs, float(reward), True, False, {"cost": evaluation.cost, "metrics": dict(evaluation.metrics)}

    def proposal(self, action: Any) -> Any:
        """The design that ``step(action)`` evaluates (see ``DesignEnv.proposal``)."""
        idx = _discrete_action(action, self.action_space).astype(np.int64)
        return self.problem.decode(self.space.from_indices(idx))

    def prefetch(self, action: Any, candidate: Any, evaluation: Evaluation) -> None:
        """The evaluation of ``proposal(action)``, used by the next ``step(action)``."""
        self._prefetched = (tuple(_discrete_action(action, self.action_space).tolist()), candidate, evaluation)

    def render(self):
        if self.render_mode == "ansi":
            design = "-" if self._design is None else self.problem.canonical(self._design)[:200]
            return f"{self.problem.name}: cost={self._cost:.4g} design={design}"
        return None


def make_env(env: str, **config: Any) -> gym.Env:
    """Gymnasium's entry point for every registered family (``gymnasium.make("archgym/Adder-v0", width=64)``):
    its ``default_gym_face`` (the sequential face where there is one), else the parameter face
    (one-step episodes, MultiDiscrete knobs).  Episodes restart from ``start`` unless ``restart=`` is given
    (archgym's agents restart from the incumbent by default; a Gymnasium env's reset must not depend on
    earlier episodes)."""
    from archgym.config import build_problem
    from archgym.errors import ConfigError
    from archgym.fields import RestartFields
    from archgym.registry import envs

    render_mode = config.pop("render_mode", None)  # Gymnasium's keyword, not a config field of the family
    if render_mode not in (None, "ansi"):
        raise ConfigError("render_mode", f"must be None or 'ansi', got {render_mode!r}")
    if issubclass(envs.get(env).config_class, RestartFields):
        config.setdefault("restart", "start")  # Gymnasium's env is stationary: reset(seed=) alone decides the start
    problem = build_problem(env, config)
    sequential = problem.has_sequential_face and problem.default_gym_face == "sequential"
    return DesignEnv(problem, render_mode=render_mode) if sequential else ParameterEnv(problem, render_mode=render_mode)
