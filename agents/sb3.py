"""Reinforcement-learning agents from stable-baselines3 / sb3-contrib.

On the sequential face the env is ``archgym.envs.base.DesignEnv`` (each step = one edit = one
logged evaluation); ``ppo`` and ``maskable_ppo`` use sb3-contrib's MaskablePPO with the env's
``action_masks()``, ``dqn`` and ``a2c`` the plain algorithms (an invalid action is a no-op with a
small penalty).  On the parameter face (families without edits) the env is ``ParameterEnv``: one
step picks a whole configuration (ArchGym's setting).  Training stops when the Evaluator's budget
is used.  ``policy=auto`` picks the fully convolutional grid policy (``archgym.agents.policies``) where
the env lays its actions out on its observation grid; ``save``/``load``/``learn`` keep and reuse
policies, ``delay_weights`` conditions one policy on the delay weight (PrefixRL), and every run writes
SB3's learning curves to ``<work_dir>/sb3/progress.csv``.  torch runs single-threaded: for small MLP
policies it is several times faster than torch's default thread count on this class of machine (and it
keeps runs deterministic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from archgym.agents.base import Agent, AgentConfig
from archgym.errors import ConfigError
from archgym.evaluator import Evaluator
from archgym.fields import option
from archgym.problem import DesignProblem

POLICIES = ("auto", "mlp", "grid")


@dataclass
class SB3Config(AgentConfig):
    """Hyperparameters shared by the stable-baselines3 agents (``agent.<field>=...``)."""

    learning_rate: float = option(3e-4, "optimizer step size", low=1e-12)
    gamma: float = option(0.99, "discount factor", low=0.0, high=1.0)
    net_arch: list[int] = option(help="hidden layer widths of the policy and value networks",
                                 default_factory=lambda: [64, 64], integer=True, low=1, high=4096)
    n_envs: int = option(1, "environments stepped together; their designs are scored in one batch (in parallel "
                               "by tool-based cost models, e.g. env.cost_model=yosys)", integer=True, low=1)
    episode_length: int | None = option(None, "edits per episode; default: the env's episode_length", integer=True,
                                        low=1, optional=True)
    torch_threads: int = option(1, "torch CPU threads", integer=True, low=1)
    delay_weights: list[float] = option(help="weight-conditioned RL (PrefixRL): each episode samples one of these "
                                             "delay weights, seen by the policy; [] = off",
                                        default_factory=list, low=0.0, high=1.0)
    save: str | None = option(None, "write the trained model here (an SB3 .zip) when the run ends", optional=True)
    load: str | None = option(None, "start from this saved model (an SB3 .zip; grid policies load at any width)",
                              optional=True)
    learn: bool = option(True, "train; false: act with the (loaded) policy until the budget is used",
                         choices=(False, True))
    tensorboard: bool = option(False, "also write SB3's learning curves as TensorBoard events (needs the "
                                      "tensorboard extra); a progress.csv is always written", choices=(False, True))


@dataclass
class PPOConfig(SB3Config):
    """Hyperparameters of the PPO agent (``agent.<field>=...``)."""

    policy: str = option("auto", "auto: grid where the env's observation is a grid of its actions' cells, else "
                                 "mlp; grid: fully convolutional with per-cell logits (agents/policies.py)",
                         choices=POLICIES)
    channels: int = option(16, "grid policy: feature channels", integer=True, low=1, high=512)
    blocks: int = option(2, "grid policy: residual axial-context blocks", integer=True, low=0, high=32)
    n_steps: int = option(128, "steps per environment per update", integer=True, low=1)
    batch_size: int = option(64, "minibatch size", integer=True, low=1)
    n_epochs: int = option(4, "passes over each rollout", integer=True, low=1)
    ent_coef: float = option(0.01, "entropy bonus", low=0.0)
    clip_range: float = option(0.2, "PPO clip range", low=1e-6, high=1.0)
    gae_lambda: float = option(0.95, "GAE lambda", low=0.0, high=1.0)


@dataclass
class A2CConfig(SB3Config):
    """Hyperparameters of the A2C agent (``agent.<field>=...``)."""

    n_steps: int = option(8, "steps per environment per update", integer=True, low=1)
    ent_coef: float = option(0.01, "entropy bonus", low=0.0)
    learning_rate: float = option(7e-4, "optimizer step size", low=1e-12)


@dataclass
class DQNConfig(SB3Config):
    """Hyperparameters of the DQN agent (``agent.<field>=...``)."""

    buffer_size: int = option(20000, "replay buffer transitions", integer=True, low=1)
    learning_starts: int = option(100, "steps before learning starts", integer=True, low=0)
    batch_size: int = option(64, "minibatch size", integer=True, low=1)
    exploration_fraction: float = option(0.3, "fraction of training with decaying epsilon", low=0.0, high=1.0)
    target_update_interval: int = option(250, "steps between target-network updates", integer=True, low=1)
    train_freq: int = option(4, "steps between gradient updates", integer=True, low=1)
    learning_rate: float = option(1e-3, "optimizer step size", low=1e-12)


class SB3Agent(Agent):
    """A stable-baselines3 / sb3-contrib algorithm trained on the env's Gymnasium face until the budget ends."""

    faces: ClassVar[tuple[str, ...]] = ("sequential", "parameter")
    algorithm: ClassVar[str] = ""
    masked: ClassVar[bool] = False

    def __init__(self, config: SB3Config, seed: int = 0):
        super().__init__(config, seed)
        if config.load is not None and not Path(config.load).is_file():
            raise ConfigError("agent.load", f"no saved model at {config.load!r} (agent.save=PATH writes one)")
        if config.save is not None:
            _check_save_path(config.save)
        if not config.learn and config.load is None:
            raise ConfigError("agent.learn", "learn=false acts with a trained policy: give agent.load=PATH")
        self._front: list[dict[str, Any]] = []
        if config.tensorboard:
            try:
                import tensorboard  # noqa: F401
            except ImportError:
                raise ConfigError("agent.tensorboard", "tensorboard is not installed (pip install "
                                                       "'archgym[tensorboard]')") from None

    def algorithm_kwargs(self) -> dict[str, Any]:
        c = self.config
        return {"learning_rate": c.learning_rate, "gamma": c.gamma}

    def algorithm_class(self):
        import stable_baselines3 as sb3

        return getattr(sb3, self.algorithm)

    def make_env(self, problem: DesignProblem, evaluator: Evaluator, face: str):
        from archgym.envs.base import DesignEnv, ParameterEnv, WeightConditioned

        if face == "sequential":
            env = DesignEnv(problem, evaluator, episode_length=self.config.episode_length)
            return WeightConditioned(env, self.config.delay_weights, self.seed) if self.config.delay_weights else env
        return ParameterEnv(problem, evaluator)

    def policy_spec(self, problem: DesignProblem, face: str) -> tuple[Any, dict[str, Any]]:
        """The SB3 policy and its keyword arguments (an MLP of ``net_arch``)."""
        return "MlpPolicy", {"net_arch": list(self.config.net_arch)}

    def search(self, problem: DesignProblem, evaluator: Evaluator) -> None:
        import gymnasium as gym
        import torch
        from stable_baselines3.common.monitor import Monitor

        from archgym.agents.vector import BatchedVecEnv

        face = self.face_for(problem)
        torch.set_num_threads(max(1, int(self.config.torch_threads)))
        envs: list[Callable[[], gym.Env]] = [lambda: Monitor(self.make_env(problem, evaluator, face))
                                             for _ in range(max(1, self.config.n_envs))]
        vec_env = BatchedVecEnv(envs, evaluator)  # n_envs designs scored per batch (parallel for tools)
        algo = self.algorithm_class()
        if self.masked and face != "sequential":
            algo = _plain_ppo()
        policy, policy_kwargs = self.policy_spec(problem, face)
        model = algo(policy, vec_env, seed=self.seed, verbose=0, device="cpu", policy_kwargs=policy_kwargs,
                     **self.algorithm_kwargs())
        if self.config.load is not None:
            _load_parameters(model, self.config.load)
        if self.work_dir is not None:
            model.set_logger(_learning_curve_logger(self.work_dir / "sb3", self.config.tensorboard))
        weights = list(self.config.delay_weights) if face == "sequential" else []
        if weights and evaluator.budget is None:
            raise ConfigError("agent.delay_weights", "weight-conditioned RL needs a budget (it keeps one episode "
                                                     "per weight for the front)")
        # weight-conditioned RL keeps one greedy episode per weight for the front at the end
        reserve = len(weights) * (getattr(vec_env.envs[0].unwrapped, "episode_length", 0) + 1)
        masked = self.masked and face == "sequential"
        try:
            if self.config.learn:
                # the budget ends learning (BudgetExhausted from the env's step); steps that evaluate
                # nothing (a masked-out action for DQN/A2C) do not count, so learn again until it does
                while not evaluator.exhausted and (evaluator.remaining or 0) > reserve:
                    model.learn(total_timesteps=2 * (evaluator.remaining or 10**6) + 1024, reset_num_timesteps=False,
                                callback=_best_so_far(evaluator, reserve))
            elif not weights:
                _act(model, vec_env, masked=masked)
            for w in weights:
                self._front.append(_greedy_episode(model, vec_env.envs[0], w, masked))
        finally:
            if self.config.save is not None:
                model.save(self.config.save)

    def summary_extras(self) -> dict[str, Any]:
        """Weight-conditioned RL: per delay weight, the best design of one greedy episode at that weight."""
        return {"front_by_weight": self._front} if self._front else {}


def _greedy_episode(model: Any, env: Any, weight: float, masked: bool) -> dict[str, Any]:
    """One deterministic episode of the policy at ``weight``: its best design under that weight's cost."""
    obs, info = env.reset(options={"delay_weight": weight})
    wrapped = env.unwrapped
    problem = wrapped.problem
    best = (problem.cost_at(info["metrics"], weight), info["metrics"], problem.to_json(wrapped.design))
    done = False
    while not done:
        kwargs = {"action_masks": wrapped.action_masks()} if masked else {}
        action, _ = model.predict(obs, deterministic=True, **kwargs)
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        if info.get("accepted"):
            cost = problem.cost_at(info["metrics"], weight)
            if cost < best[0]:
                best = (cost, info["metrics"], problem.to_json(wrapped.design))
    return {"delay_weight": weight, "cost_at_weight": best[0], "metrics": best[1], "design": best[2]}


def _check_save_path(path: str) -> None:
    """Before the run, not after it: ``save`` names a file whose directory exists or can be made."""
    target = Path(path)
    if target.is_dir():
        raise ConfigError("agent.save", f"{path!r} is a directory; give a file path (e.g. {path.rstrip('/')}/ppo.zip)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("agent.save", f"cannot create the directory of {path!r}: {exc.strerror}") from None


def _load_parameters(model: Any, path: str) -> None:
    """The saved weights into ``model``; a grid policy's weights fit every width, an MLP's only its own."""
    try:
        model.set_parameters(path, exact_match=True, device="cpu")
    except (RuntimeError, ValueError, KeyError) as exc:
        detail = " ".join(str(exc).split())[:160]
        raise ConfigError("agent.load", f"{path}: its weights do not fit this env and policy ({detail}); "
                                        "an MLP policy loads only at the width it was trained at, a grid policy "
                                        "(agent.policy=grid) at any width") from None


def _act(model: Any, vec_env: Any, masked: bool) -> None:
    """Act with the policy, no training, until the budget ends the run (BudgetExhausted)."""
    from sb3_contrib.common.maskable.utils import get_action_masks

    obs = vec_env.reset()
    while True:
        if masked:
            action, _ = model.predict(obs, action_masks=get_action_masks(vec_env), deterministic=False)
        else:
            action, _ = model.predict(obs, deterministic=False)
        obs, _, _, _ = vec_env.step(action)


def _learning_curve_logger(directory: Path, tensorboard: bool) -> Any:
    """SB3's logger writing ``progress.csv`` (and TensorBoard events): returns, losses, entropy, best so far."""
    from stable_baselines3.common.logger import configure

    return configure(str(directory), ["csv", *(["tensorboard"] if tensorboard else [])])


def _best_so_far_callback_class() -> type:
    from stable_baselines3.common.callbacks import BaseCallback

    class BestSoFar(BaseCallback):
        """Records the run's best cost and evaluation count with SB3's other statistics."""

        def __init__(self, evaluator: Evaluator, reserve: int):
            super().__init__()
            self.evaluator, self.reserve = evaluator, reserve

        def _on_step(self) -> bool:
            best = self.evaluator.best
            if best is not None:
                self.logger.record("archgym/best_cost", float(best.evaluation.cost))
            self.logger.record("archgym/evaluations", int(self.evaluator.steps))
            return self.reserve == 0 or (self.evaluator.remaining or 0) > self.reserve  # False: stop learning

    return BestSoFar


def _best_so_far(evaluator: Evaluator, reserve: int = 0) -> Any:
    return _best_so_far_callback_class()(evaluator, reserve)


def _plain_ppo():
    from stable_baselines3 import PPO

    return PPO


class PPOAgent(SB3Agent):
    """PPO (MaskablePPO with action masks on the sequential face)."""

    name = "ppo"
    description = "PPO (MaskablePPO with action masks on the sequential face)"
    config_class = PPOConfig
    masked = True

    def algorithm_class(self):
        from sb3_contrib import MaskablePPO

        return MaskablePPO

    def policy_spec(self, problem: DesignProblem, face: str) -> tuple[Any, dict[str, Any]]:
        """The grid policy where the problem lays its actions out on its observation's grid (``policy=auto``)."""
        c = self.config
        cells = problem.action_cells() if face == "sequential" else None  # type: ignore[attr-defined]
        if c.policy == "grid" and cells is None:
            raise ConfigError("agent.policy", f"grid needs an env whose observation is a grid of its actions' cells "
                                              f"(sequential face); env '{problem.name}' has none: use mlp or auto")
        if c.policy == "mlp" or cells is None:
            return super().policy_spec(problem, face)
        from archgym.agents.policies import GridPolicy

        return GridPolicy, {"action_cells": cells, "channels": c.channels, "blocks": c.blocks}

    def algorithm_kwargs(self) -> dict[str, Any]:
        c = self.config
        return {
            **super().algorithm_kwargs(),
            "n_steps": c.n_steps,
            "batch_size": c.batch_size,
            "n_epochs": c.n_epochs,
            "ent_coef": c.ent_coef,
            "clip_range": c.clip_range,
            "gae_lambda": c.gae_lambda,
        }


class MaskablePPOAgent(PPOAgent):
    """sb3-contrib MaskablePPO (sequential face only)."""

    name = "maskable_ppo"
    description = "sb3-contrib MaskablePPO (sequential face only)"
    faces: ClassVar[tuple[str, ...]] = ("sequential",)


class A2CAgent(SB3Agent):
    """Stable-baselines3 A2C."""

    name = "a2c"
    description = "stable-baselines3 A2C"
    config_class = A2CConfig
    algorithm = "A2C"

    def algorithm_kwargs(self) -> dict[str, Any]:
        c = self.config
        return {**super().algorithm_kwargs(), "n_steps": c.n_steps, "ent_coef": c.ent_coef}


class DQNAgent(SB3Agent):
    """Stable-baselines3 DQN (sequential face: needs a Discrete action space)."""

    name = "dqn"
    description = "stable-baselines3 DQN (sequential face: needs a Discrete action space)"
    config_class = DQNConfig
    algorithm = "DQN"
    faces: ClassVar[tuple[str, ...]] = ("sequential",)

    def algorithm_kwargs(self) -> dict[str, Any]:
        c = self.config
        return {
            **super().algorithm_kwargs(),
            "buffer_size": c.buffer_size,
            "learning_starts": c.learning_starts,
            "batch_size": c.batch_size,
            "exploration_fraction": c.exploration_fraction,
            "target_update_interval": c.target_update_interval,
            "train_freq": c.train_freq,
        }
