"""Registers every archgym env with Gymnasium as ``archgym/<Name>-v0``.

``import archgym`` registers them, so ``gymnasium.make("archgym/Adder-v0", width=64)`` works after
it; ``gymnasium.make("archgym:archgym/Adder-v0")`` imports archgym by itself (Gymnasium's
"module:id" form).  Built-in ids are known without importing the env modules.
"""

from __future__ import annotations

from typing import Any


def register_envs() -> None:
    import gymnasium

    from archgym import registry

    for name in registry.envs.names():
        gym_id = registry.BUILTIN_GYM_IDS.get(name)
        if gym_id is None:
            try:
                gym_id = getattr(registry.envs.get(name), "gym_id", "")
            except Exception:  # a broken third-party plugin must not break gymnasium itself
                continue
        if gym_id and gym_id not in gymnasium.registry:
            gymnasium.register(id=gym_id, entry_point="archgym.gym_registration:make_env", kwargs={"env": name})


def make_env(env: str, **config: Any):
    """Build the Gymnasium env of a registered family from config keyword arguments: its
    ``default_gym_face`` (the sequential face where there is one), else the parameter face
    (one-step episodes, MultiDiscrete knobs)."""
    from archgym.config import build_problem
    from archgym.envs.base import DesignEnv, ParameterEnv

    problem = build_problem(env, config)
    sequential = problem.has_sequential_face and problem.default_gym_face == "sequential"
    return DesignEnv(problem) if sequential else ParameterEnv(problem)
