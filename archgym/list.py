"""``python -m archgym.list``: the registered envs, agents, simulators and baselines."""

from __future__ import annotations

from archgym import registry
from archgym.config import user_errors


def _describe(reg, name: str) -> str:
    try:
        return getattr(reg.get(name), "description", "") or ""
    except Exception as exc:  # a broken plugin is listed with its error, not fatal
        return f"(cannot load: {exc})"


@user_errors
def main() -> None:
    print("envs:")
    for name in registry.envs.names():
        try:
            cls = registry.envs.get(name)
            print(f"  {name:<18} {registry.gym_id(name):<28} {cls.description}")
            baselines = ", ".join(cls(cls.config_class()).baselines())
        except Exception as exc:  # a broken plugin is listed with its error, not fatal
            print(f"  {name:<18} (cannot load: {exc})")
            continue
        print(f"  {'':<18} baselines: {baselines or '-'}")
    print("agents:")
    for name in registry.agents.names():
        try:
            cls = registry.agents.get(name)
        except Exception as exc:
            print(f"  {name:<18} (cannot load: {exc})")
            continue
        print(f"  {name:<18} [{'/'.join(cls.faces)}] {cls.description}")
    print("simulators (env.cost_model=...):")
    for name in registry.simulators.names():
        print(f"  {name:<28} {_describe(registry.simulators, name)}")


if __name__ == "__main__":
    main()
