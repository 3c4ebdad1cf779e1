"""Configuration: Hydra config groups built from the registries, and config -> objects.

Every env's ``config_class`` is stored as ``env/<name>`` and every agent's as ``agent/<name>`` in
Hydra's ConfigStore, so ``env.width=64`` and ``agent.learning_rate=1e-3`` are type-checked
overrides, ``env=<name>`` picks a group option, and ``-m`` sweeps work as Hydra users expect.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import sys
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

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
    check_value_types(config_class, values, kind)
    try:
        typed = OmegaConf.merge(OmegaConf.structured(config_class), {k: v for k, v in values.items() if k != "name"})
        return OmegaConf.to_object(typed)
    except Exception as exc:  # OmegaConf validation errors name the key
        raise ConfigError(kind, str(exc).splitlines()[0]) from None


def check_value_types(config_class: type, values: dict[str, Any], kind: str) -> None:
    """Values as written must have their field's type: OmegaConf would turn ``2`` into True for a bool
    field and ``4.0`` into 4 for an int field, silently."""
    hints = typing.get_type_hints(config_class)
    for name, value in values.items():
        hint = hints.get(name)
        if hint is None or value is None:
            continue
        allowed = set(typing.get_args(hint)) | {hint}
        if bool in allowed and not isinstance(value, bool) and str not in allowed:
            raise ConfigError(f"{kind}.{name}", f"must be true or false, got {value!r}")
        if int in allowed and float not in allowed and isinstance(value, float):
            raise ConfigError(f"{kind}.{name}", f"must be an integer, got {value!r}")
        if typing.get_origin(hint) is list and not isinstance(value, (list, tuple, ListConfig)):
            raise ConfigError(f"{kind}.{name}", f"must be a list, e.g. {name}=[...], got {value!r}")


def build_problem(env: str, values: dict[str, Any] | DictConfig | None = None):
    """Instantiate the DesignProblem of a registered env from config values."""
    problem_cls = registry.envs.get(env)
    with _field_prefix(problem_cls.config_class, "env"):
        return problem_cls(make_config(problem_cls.config_class, values, "env"))


def build_agent(agent: str, values: dict[str, Any] | DictConfig | None, seed: int):
    """Instantiate a registered agent from config values."""
    agent_cls = registry.agents.get(agent)
    with _field_prefix(agent_cls.config_class, "agent"):
        return agent_cls(make_config(agent_cls.config_class, values, "agent"), seed=seed)


@contextlib.contextmanager
def _field_prefix(config_class: type, kind: str) -> Iterator[None]:
    """A constructor's ConfigError about one of its config fields names it as the user wrote it (``env.width``)."""
    try:
        yield
    except ConfigError as exc:
        names = {f.name for f in dataclasses.fields(config_class)}
        if exc.field in names:
            raise ConfigError(f"{kind}.{exc.field}", exc.reason) from None
        raise


HELP_FLAGS = ("-h", "--help")


class HelpRequested(Exception):
    """``-h``/``--help`` among a command's key=value arguments: its usage is printed instead of a run."""


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ArchGymError into a one-line message on stderr and exit status 2 (no traceback); a help flag
    prints the command's usage (its module docstring) and exits 0."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except HelpRequested:
            print((sys.modules[func.__module__].__doc__ or "").strip())
            sys.exit(0)
        except ArchGymError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)

    return wrapper


def hydra_entry(main: Callable[[], Any], config_name: str, groups: tuple[str, ...]) -> None:
    """Run a ``@hydra.main`` entry point so that every user error is one line and exit status 2.

    The command line is composed once up front (Hydra's compose API) so that Hydra's own errors
    (unknown group option, unknown key, a value of the wrong type, bad override syntax) become one
    ``error:`` line naming the key instead of Hydra's multi-line report; sweeps (``-m``) and Hydra
    flags skip the check and reach Hydra as they are.
    """
    register_configs()
    argv = sys.argv[1:]
    given = {a.partition("=")[0].lstrip("+~") for a in argv}
    if any(a in HELP_FLAGS for a in argv) and not given.issuperset(groups):
        print(_usage(main, groups))  # Hydra's own help needs every group chosen: it would raise instead
        sys.exit(0)
    if not any(a.startswith("-") for a in argv):
        try:
            check_hydra_overrides(argv, config_name, groups)
        except ArchGymError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
    main()


def _usage(main: Callable[[], Any], groups: tuple[str, ...]) -> str:
    """The entry point's usage (its module docstring) with the valid choices of every group, for ``--help``."""
    doc = (sys.modules[main.__module__].__doc__ or "").strip()
    choices = [f"  {g}: {', '.join(getattr(registry, f'{g}s').names())}" for g in groups]
    example = " ".join(f"{g}=<{g}>" for g in groups)
    return "\n".join([doc, "", "Choices:", *choices, "",
                      f"Every setting of one choice, with its default: {example} --help"])


def writable_directory(path: str | Path, field: str) -> Path:
    """``path`` as a directory, created, that this process can write; else a ConfigError naming ``field``."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".archgym-write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(field, f"cannot write to the directory '{path}' ({exc.strerror or exc})") from None
    return out


def check_hydra_overrides(argv: list[str], config_name: str, groups: tuple[str, ...]) -> None:
    """Compose ``config_name`` with ``argv`` and turn any Hydra error into an ArchGymError naming the key."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException

    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep:
            raise ArchGymError(f"argument '{arg}' is not of the form key=value")
        key = key.lstrip("+~")
        if key in groups:
            getattr(registry, f"{key}s").get(value)  # unknown names list the valid ones
        if key == "out_dir" and "$" not in value:  # Hydra creates it before the run starts
            writable_directory(value, "out_dir")
    for group in groups:
        if not any(a.partition("=")[0].lstrip("+") == group for a in argv):
            raise ArchGymError(f"missing argument {group}=<name>; valid {group}s: "
                               f"{', '.join(getattr(registry, f'{group}s').names())}")
    choice = {a.partition("=")[0].lstrip("+"): a.partition("=")[2] for a in argv}
    for group in groups:
        config_class = getattr(registry, f"{group}s").get(choice[group]).config_class
        dotlist = [a.lstrip("+")[len(group) + 1:] for a in argv if a.lstrip("+").startswith(f"{group}.")]
        try:
            raw = container(OmegaConf.from_dotlist(dotlist)) if dotlist else {}
        except Exception:  # a syntax error: compose below names it
            raw = {}
        check_value_types(config_class, raw, group)
    try:
        with initialize_config_module("archgym.conf", version_base="1.3"):
            compose(config_name, overrides=argv)
    except HydraException as exc:
        raise ArchGymError(_hydra_message(exc, argv)) from None


def _hydra_message(exc: Exception, argv: list[str]) -> str:
    """One line from a Hydra composition error, naming the key."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    if isinstance(exc, OverrideParseException):
        parser = OverridesParser.create()
        for arg in argv:
            try:
                parser.parse_overrides([arg])
            except OverrideParseException as bad:
                return (f"argument '{arg}': {str(bad).splitlines()[0]} (Hydra override syntax; quote a value with "
                        f"'=', brackets or spaces: key='...')")
    text = str(exc)
    cause = exc.__cause__
    full_key = getattr(cause, "full_key", None)
    if full_key:
        reason = str(cause).splitlines()[0]
        if "not in" in reason and "Key" in reason:  # an unknown key
            return _unknown_key(str(full_key))
        return str(ConfigError(str(full_key), reason))
    unknown = re.match(r"Could not override '([^']+)'", text)
    if unknown:
        return _unknown_key(unknown.group(1))
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if len(first) <= 300 else first[:297] + "..."


def _unknown_key(key: str) -> str:
    if "." not in key:
        return f"unknown argument '{key}' (top-level keys: see the command's docstring or --help)"
    group = key.split(".")[0]
    where = {"env": "python -m archgym.list env=<name>", "agent": "python -m archgym.list"}.get(group, "--help")
    return str(ConfigError(key, f"no such field (the fields: {where})"))


def parse_overrides(argv: list[str], allowed: set[str]) -> tuple[dict[str, str], list[str]]:
    """Split ``key=value`` arguments into top-level keys and ``env.*``/``agent.*`` overrides."""
    top: dict[str, str] = {}
    nested: list[str] = []
    for arg in argv:
        if arg in HELP_FLAGS:
            raise HelpRequested
        if "=" not in arg:
            raise ArchGymError(f"argument '{arg}' is not of the form key=value")
        key, value = arg.split("=", 1)
        key = key.lstrip("+")
        if key in top or any(n.split("=", 1)[0] == key for n in nested):
            raise ArchGymError(f"argument '{key}' is given twice")
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
