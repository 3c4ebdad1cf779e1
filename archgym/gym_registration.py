"""Registers every archgym env with Gymnasium as ``archgym/<Name>-v0``.

``import archgym`` registers them, so ``gymnasium.make("archgym/Adder-v0", width=64)`` works after
it; ``gymnasium.make("archgym:archgym/Adder-v0")`` imports archgym by itself (Gymnasium's
"module:id" form).  Built-in ids are known without importing the env modules.
"""

from __future__ import annotations


def register_envs() -> None:
    try:
        import gymnasium
    except ImportError:  # gymnasium missing: archgym's non-gym parts still import
        return

    from archgym import registry

    for name in registry.envs.names():
        try:
            gym_id = registry.gym_id(name)
        except Exception:  # a broken third-party plugin must not break gymnasium itself
            continue
        if gym_id and gym_id not in gymnasium.registry:
            gymnasium.register(id=gym_id, entry_point="archgym.envs.base:make_env", kwargs={"env": name})
