"""Reinforcement-learning agents from stable-baselines3 / sb3-contrib.

On the sequential face the env is ``archgym.envs.base.DesignEnv`` (each step = one edit = one
logged evaluation); ``ppo`` and ``maskable_ppo`` use sb3-contrib's MaskablePPO with the env's
``action_masks()``, ``dqn`` and ``a2c`` the plain algorithms (an invalid action is a no-op with a
small penalty).  On the parameter face (families without edits) the env is ``ParameterEnv``: one
step picks a whole configuration (ArchGym's setting).  Training stops when the Evaluator's budget
is used.  torch runs single-threaded: for small MLP policies it is several times faster than
torch's default thread count on this class of machine (and it keeps runs deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from archgym.agents.base import Agent, AgentConfig
from archgym.evaluator import Evaluator
from archgym.fields import option
from archgym.problem import DesignProblem


@dataclass
class SB3Config(AgentConfig):
    """Hyperparameters shared by the stable-baselines3 agents (``agent.<field>=...``)."""

    learning_rate: float = option(3e-4, "optimizer step size", low=1e-12)
    gamma: float = option(0.99, "discount factor", low=0.0, high=1.0)
    net_arch: list[int] = option(help="hidden layer widths of the policy and value networks",
                                 default_factory=lambda: [64, 64], integer=True, low=1, high=4096)
    n_envs: int = option(1, "parallel environments", integer=True, low=1)
    episode_length: int | None = option(None, "edits per episode; default: the env's episode_length", integer=True,
                                        low=1, optional=True)
    torch_threads: int = option(1, "torch CPU threads", integer=True, low=1)


@dataclass
class PPOConfig(SB3Config):
    """Hyperparameters of the PPO agent (``agent.<field>=...``)."""

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

    def algorithm_kwargs(self) -> dict[str, Any]:
        c = self.config
        return {"learning_rate": c.learning_rate, "gamma": c.gamma}

    def algorithm_class(self):
        import stable_baselines3 as sb3

        return getattr(sb3, self.algorithm)

    def make_env(self, problem: DesignProblem, evaluator: Evaluator, face: str):
        from archgym.envs.base import DesignEnv, ParameterEnv

        if face == "sequential":
            return DesignEnv(problem, evaluator, episode_length=self.config.episode_length)
        return ParameterEnv(problem, evaluator)

    def search(self, problem: DesignProblem, evaluator: Evaluator) -> None:
        import torch
        from stable_baselines3.common.vec_env import DummyVecEnv

        face = self.face_for(problem)
        torch.set_num_threads(max(1, int(self.config.torch_threads)))
        envs = [lambda: self.make_env(problem, evaluator, face) for _ in range(max(1, self.config.n_envs))]
        vec_env = DummyVecEnv(envs)
        algo = self.algorithm_class()
        if self.masked and face != "sequential":
            algo = _plain_ppo()
        model = algo(
            "MlpPolicy",
            vec_env,
            seed=self.seed,
            verbose=0,
            device="cpu",
            policy_kwargs={"net_arch": list(self.config.net_arch)},
            **self.algorithm_kwargs(),
        )
        # the budget ends learning (BudgetExhausted from the env's step); steps that evaluate
        # nothing (a masked-out action for DQN/A2C) do not count, so learn again until it does
        while not evaluator.exhausted:
            model.learn(total_timesteps=2 * (evaluator.remaining or 10**6) + 1024, reset_num_timesteps=False)


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
