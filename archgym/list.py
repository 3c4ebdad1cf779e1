"""``python -m archgym.list``: the registered envs, agents, simulators and baselines;
``python -m archgym.list env=<name>``: one env's faces, cost models, baselines and config fields."""

from __future__ import annotations

import inspect
import sys
import textwrap

from archgym import registry
from archgym.config import parse_overrides, user_errors
from archgym.errors import ArchGymError


def _describe(reg, name: str) -> str:
    try:
        return getattr(reg.get(name), "description", "") or ""
    except Exception as exc:  # a broken plugin is listed with its error, not fatal
        return f"(cannot load: {exc})"


def describe_env(name: str) -> None:
    """Print one env: what it is, its faces, cost models, baselines and every config field."""
    from tabulate import tabulate

    from archgym.fields import describe

    cls = registry.envs.get(name)
    problem = cls(cls.config_class())
    faces = [f for f, ok in (("sequential", problem.has_sequential_face), ("parameter", problem.has_parameter_face))
             if ok]
    print(f"{name}  ({registry.gym_id(name)}): {cls.description}")
    if cls.__doc__:
        print(textwrap.indent(inspect.cleandoc(cls.__doc__), "  "))
    print(f"faces: {', '.join(faces) or '-'}   Verilog export: {'yes' if problem.exports_verilog else 'no'}")
    print(f"cost models: {', '.join(registry.cost_models(name)) or '-'}")
    print(f"baselines: {', '.join(problem.baselines()) or '-'}")
    rows = [(r["field"], r["type"], r["default"], r["constraint"], r["help"]) for r in describe(cls.config_class)]
    print("fields (env.<field>=...):")
    print(tabulate(rows, headers=["field", "type", "default", "allowed", "help"], maxcolwidths=[None, 14, 18, 30, 60]))


@user_errors
def main(argv: list[str] | None = None) -> None:
    top, nested = parse_overrides(sys.argv[1:] if argv is None else argv, {"env"})
    if nested:
        raise ArchGymError(f"unknown argument '{nested[0].split('=')[0]}'; this command takes env=<name>")
    if "env" in top:
        describe_env(top["env"])
        return
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
