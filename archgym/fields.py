"""Declarative config fields: each field of an env's config dataclass states its help text and its
constraints once, in ``field(metadata=...)``; :func:`validate` checks them all in one place (when the
problem is built) and ``python -m archgym.list env=<name>`` prints them.

Shared bases carry the fields several families have: :class:`SequentialFields` (the sequential face's
episode) and :class:`SynthesisFields` (``env.cost_model=yosys``).  Checks that relate several fields
stay in the family's constructor.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archgym.errors import ConfigError

_MISSING: Any = dataclasses.MISSING


def option(default: Any = _MISSING, help: str = "", *, choices: Sequence[Any] | None = None,
           low: float | None = None, high: float | None = None, integer: bool = False,
           optional: bool = False, default_factory: Any = _MISSING) -> Any:
    """A config field with its help text and constraints: ``choices`` (allowed values), ``low``/``high``
    (inclusive bounds of a number), ``integer`` (must be an int), ``optional`` (None allowed)."""
    meta = {"help": help, "choices": tuple(choices) if choices is not None else None, "low": low, "high": high,
            "integer": integer, "optional": optional}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def validate(config: Any, prefix: str = "") -> None:
    """Check every declared constraint of a config dataclass; a violation is a ConfigError naming the field
    (``prefix`` + name, e.g. ``agent.population_size``)."""
    if not dataclasses.is_dataclass(config):
        return
    for f in dataclasses.fields(config):
        meta = f.metadata
        if not meta:
            continue
        name = prefix + f.name
        value = getattr(config, f.name)
        if value is None:
            if meta.get("optional"):
                continue
            if meta.get("choices") is None and meta.get("low") is None and not meta.get("integer"):
                continue
            raise ConfigError(name, "must be given (None is not allowed)")
        if isinstance(value, (list, tuple)):  # the constraints hold for every element of a list field
            for i, item in enumerate(value):
                _check_value(f"{name}[{i}]", item, meta)
        else:
            _check_value(name, value, meta)


def _check_value(name: str, value: Any, meta: Any) -> None:
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(name, f"must be one of {', '.join(map(str, choices))}, got {value!r}")
    if meta.get("integer") and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(name, f"must be an integer, got {value!r}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None or high is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(name, f"must be a finite number, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ConfigError(name, f"must be {_range(low, high)}, got {value!r}")


def _range(low: float | None, high: float | None) -> str:
    if high is None:
        return f">= {low:g}"
    if low is None:
        return f"<= {high:g}"
    return f"in [{low:g}, {high:g}]"


def describe(config_class: type) -> list[dict[str, Any]]:
    """One row per field: name, type, default, help and constraints (what ``archgym.list env=`` prints)."""
    rows = []
    for f in dataclasses.fields(config_class):
        factory: Any = f.default_factory
        default = f.default if f.default is not _MISSING else (factory() if factory is not _MISSING else None)
        meta = dict(f.metadata)
        rule = []
        if meta.get("choices") is not None:
            rule.append("one of " + ", ".join(map(str, meta["choices"])))
        if meta.get("low") is not None or meta.get("high") is not None:
            rule.append(_range(meta.get("low"), meta.get("high")))
        rows.append({"field": f.name, "type": str(f.type).replace("typing.", ""), "default": default,
                     "help": meta.get("help", ""), "constraint": "; ".join(rule)})
    return rows


@dataclass
class SequentialFields:
    """Fields of a family with a sequential face."""

    episode_length: int = option(64, "edits per episode of the sequential face", integer=True, low=1)


#: ``restart`` values of a family whose episodes start from a baseline (archgym.problem.BaselineStart)
RESTARTS = ("incumbent", "start")


@dataclass
class RestartFields:
    """Fields of a family whose sequential face starts from a baseline (``archgym.problem.BaselineStart``)."""

    restart: str = option("incumbent", "episode start: the best design scored so far, or always `start`",
                          choices=RESTARTS)


@dataclass
class SynthesisFields:
    """Fields of a family whose RTL-level cost model synthesizes Verilog (``cost_model=yosys``)."""

    cost_model: str = option("analytical", "the registered cost model: analytical (fast), yosys (synthesis: the "
                                           "ground truth) or proxy (learned from a log)")
    proxy_model: str | None = option(None, "cost_model=proxy: a proxy file (python -m archgym.simulators.arith.proxy)",
                                     optional=True)
    liberty: str | None = option(None, "cost_model=yosys: Liberty cell library (default: $ARCHGYM_LIBERTY, "
                                       "else Debian's osu018)", optional=True)
    synth_flow: str = option("structural", "cost_model=yosys: a flow of archgym.simulators.eda.synthesis.FLOWS")
    synth_targets: list[float] = option(help="cost_model=yosys: delay targets as multiples of the reference design's "
                                             "unconstrained delay; [] = one unconstrained mapping",
                                        default_factory=lambda: [1.0, 1.1, 1.25, 1.5, 2.0], low=0.01, high=100.0)
    synth_timeout: float = option(120.0, "cost_model=yosys: seconds per synthesis, then a failed evaluation",
                                  low=1e-3)
    synth_jobs: int | None = option(None, "cost_model=yosys: parallel syntheses per batch (default: the cores)",
                                    integer=True, low=1, optional=True)


@dataclass
class RunOptions:
    """The top-level keys of ``python -m archgym.run`` (checked like any config; errors name the key)."""

    budget: int | None = option(None, "evaluations; null = the env's default budget", integer=True, low=1,
                                optional=True)
    seed: int = option(0, "random seed of the agent (and of stochastic envs)", integer=True, low=0)
    resume: bool = option(False, "continue the run logged under the same config and seed", choices=(False, True))
    progress: bool = option(True, "show a progress bar", choices=(False, True))
    verify: bool = option(True, "verify the exported Verilog of the best design", choices=(False, True))
    ground_truth: bool = option(True, "re-score in ground truth after the search", choices=(False, True))
    ground_truth_budget: int | None = option(None, "ground-truth refinement evaluations; null = the env's default",
                                             integer=True, low=0, optional=True)
    ground_truth_screen: str = option("fast", "what ranks the refinement's edits: fast (the fast cost) or learned "
                                               "(a model of the ground truth refit as it goes)",
                                      choices=("learned", "fast"))


@dataclass
class CompareOptions:
    """The top-level keys of ``python -m archgym.compare`` besides env, agents and paths."""

    seeds: int = option(5, "seeds 0..seeds-1", integer=True, low=1)
    budget: int | None = option(None, "evaluations per run; null = the env's default", integer=True, low=1,
                                optional=True)
    executor: str = option("local", "local (process pool) or ray", choices=("local", "ray"))
    jobs: int | None = option(None, "worker processes; null = every core", integer=True, low=1, optional=True)
    progress: bool = option(True, "show a progress bar", choices=(False, True))
    ground_truth: bool = option(True, "re-score each run's best candidates in the family's ground truth and rank "
                                      "the agents by it", choices=(False, True))


def check_options(options_class: type, cfg: Any) -> None:
    """Validate the top-level keys of a command's config (a mapping) against an options dataclass."""
    values = {f.name: cfg[f.name] for f in dataclasses.fields(options_class) if f.name in cfg}
    validate(options_class(**values))
