"""Configuration: Hydra config groups built from the registries, and config -> objects.

Every env's ``config_class`` is stored as ``env/<name>`` and every agent's as ``agent/<name>`` in
Hydra's ConfigStore, so ``env.width=64`` and ``agent.learning_rate=1e-3`` are type-checked
overrides, ``env=<name>`` picks a group option, and ``-m`` sweeps work as Hydra users expect.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from archgym import registry
from archgym.errors import ArchGymError, ConfigError


@functools.cache
def register_configs() -> None:
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    for group, reg in (("env", registry.envs), ("agent", registry.agents)):
        for name in reg.names():
            try:
                node = _node(reg.get(name).config_class, group, name)
            except ArchGymError as exc:  # a broken plugin: warn, keep the others usable
                print(f"warning: {exc}", file=sys.stderr)
                continue
            cs.store(group=group, name=name, node=node)


def _node(config_class: type, kind: str, name: str) -> DictConfig:
    node = OmegaConf.structured(config_class)
    if "name" in node:
        raise TypeError(f"{kind} '{name}': config field 'name' is reserved")
    with open_dict(node):
        node["name"] = name
    return node


def container(cfg: Any) -> dict[str, Any]:
    """An OmegaConf mapping node as a plain dict (resolved); None or an empty node is {}."""
    if cfg is None:
        return {}
    value = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    if not isinstance(value, dict):
        raise ConfigError("config", f"expected a mapping of fields, got {value!r}")
    return {str(k): v for k, v in value.items()}


def make_config(config_class: type, values: dict[str, Any] | DictConfig | None, kind: str) -> Any:
    """A typed config dataclass from override values; errors name ``<kind>.<field>``."""
    values = container(values)
    fields = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - fields - {"name"})
    if unknown:
        raise ConfigError(f"{kind}.{unknown[0]}", f"no such field; valid fields: {', '.join(sorted(fields))}")
    try:
        typed = OmegaConf.merge(OmegaConf.structured(config_class), {k: v for k, v in values.items() if k != "name"})
        return OmegaConf.to_object(typed)
    except Exception as exc:  # OmegaConf validation errors name the key
        raise ConfigError(kind, str(exc).splitlines()[0]) from None


def build_problem(env: str, values: dict[str, Any] | DictConfig | None = None):
    """Instantiate the DesignProblem of a registered env from config values."""
    problem_cls = registry.envs.get(env)
    return problem_cls(make_config(problem_cls.config_class, values, "env"))


def build_agent(agent: str, values: dict[str, Any] | DictConfig | None, seed: int):
    """Instantiate a registered agent from config values."""
    agent_cls = registry.agents.get(agent)
    return agent_cls(make_config(agent_cls.config_class, values, "agent"), seed=seed)


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ArchGymError into a one-line message on stderr and exit status 2 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ArchGymError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)

    return wrapper


def parse_overrides(argv: list[str], allowed: set[str]) -> tuple[dict[str, str], list[str]]:
    """Split ``key=value`` arguments into top-level keys and ``env.*``/``agent.*`` overrides."""
    top: dict[str, str] = {}
    nested: list[str] = []
    for arg in argv:
        if "=" not in arg:
            raise ArchGymError(f"argument '{arg}' is not of the form key=value")
        key, value = arg.split("=", 1)
        key = key.lstrip("+")
        if "." in key:
            nested.append(f"{key}={value}")
        elif key in allowed:
            top[key] = value
        else:
            raise ArchGymError(f"unknown argument '{key}'; valid: {', '.join(sorted(allowed))}, env.<field>=...")
    return top, nested


def nested_values(overrides: list[str], prefix: str) -> dict[str, Any]:
    """Parse ``env.width=64`` style overrides into {"width": 64} with YAML typing."""
    dotlist = [o[len(prefix) + 1 :] for o in overrides if o.startswith(prefix + ".")]
    other = [o for o in overrides if not o.startswith(prefix + ".")]
    if other and prefix == "env":
        raise ArchGymError(f"unknown override '{other[0]}'; this command takes env.<field>=...")
    return container(OmegaConf.from_dotlist(dotlist)) if dotlist else {}
