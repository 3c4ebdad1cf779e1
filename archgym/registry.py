"""Registries of envs (design families), agents and simulators (cost models), by name.

Built-in entries are listed here as lazy "module:attribute" paths, so listing names imports
nothing heavy.  Third-party packages add their own through Python entry points, without editing
archgym:

* ``archgym.envs``       -> a DesignProblem subclass (its ``name`` is the CLI name)
* ``archgym.agents``     -> an Agent subclass
* ``archgym.simulators`` -> a Simulator subclass (a cost model for one family, selected with
  ``env.cost_model=<name>``)

Example (in the third party's pyproject.toml)::

    [project.entry-points."archgym.envs"]
    cache = "mypkg.cache_env:CacheProblem"
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from archgym.errors import ArchGymError, ConfigError, UnknownNameError

T = TypeVar("T")


def _import(path: str) -> Any:
    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Name -> object, resolved lazily; built-ins first, then entry points, then register()."""

    def __init__(self, kind: str, group: str, builtins: dict[str, str]):
        self.kind = kind
        self.group = group
        self._paths: dict[str, str] = dict(builtins)
        self._objects: dict[str, T] = {}
        self._entry_points_loaded = False

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.group):
            if ep.name not in self._paths and ep.name not in self._objects:
                self._paths[ep.name] = ep.value

    def register(self, name: str, obj: T | str) -> None:
        """Register an object (or a lazy "module:attr" path) under a name."""
        if isinstance(obj, str):
            self._paths[name] = obj
            self._objects.pop(name, None)
        else:
            self._objects[name] = obj

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(set(self._paths) | set(self._objects))

    def __contains__(self, name: str) -> bool:
        return name in self.names()

    def get(self, name: str) -> T:
        self._load_entry_points()
        if name in self._objects:
            return self._objects[name]
        if name not in self._paths:
            raise UnknownNameError(self.kind, name, self.names())
        try:
            obj = _import(self._paths[name])
        except (ImportError, AttributeError) as exc:
            raise ArchGymError(f"{self.kind} '{name}' is registered as {self._paths[name]} but cannot be loaded: {exc}") from exc
        self._objects[name] = obj
        return obj


#: built-in families: name -> (problem class, Gymnasium id).  The one place a built-in's id is declared
#: (known without importing the family); a plug-in declares its own as the class's ``gym_id``.
BUILTIN_ENVS: dict[str, tuple[str, str]] = {
    "adder": ("archgym.envs.adder:AdderProblem", "archgym/Adder-v0"),
    "approx_multiplier": ("archgym.envs.approx_multiplier:ApproxMultiplierProblem", "archgym/ApproxMultiplier-v0"),
    "multiplier": ("archgym.envs.multiplier:MultiplierProblem", "archgym/Multiplier-v0"),
    "scratchpad": ("archgym.envs.scratchpad:ScratchpadProblem", "archgym/Scratchpad-v0"),
    "npu": ("archgym.envs.npu:NPUProblem", "archgym/NPUDataflow-v0"),
    "npu_hetero": ("archgym.envs.npu_hetero:HeteroNPUProblem", "archgym/NPUHetero-v0"),
}

envs: Registry[Any] = Registry("env", "archgym.envs", {name: path for name, (path, _) in BUILTIN_ENVS.items()})


def gym_id(env: str) -> str:
    """The Gymnasium id of a registered env: the built-in table, else the plug-in class's ``gym_id``."""
    if env in BUILTIN_ENVS:
        return BUILTIN_ENVS[env][1]
    return str(getattr(envs.get(env), "gym_id", "") or "")


agents: Registry[Any] = Registry(
    "agent",
    "archgym.agents",
    {
        "random": "archgym.agents.random_search:RandomSearch",
        "random_walk": "archgym.agents.random_search:RandomWalk",
        "mcts": "archgym.agents.mcts:MCTS",
        "ppo": "archgym.agents.sb3:PPOAgent",
        "maskable_ppo": "archgym.agents.sb3:MaskablePPOAgent",
        "a2c": "archgym.agents.sb3:A2CAgent",
        "dqn": "archgym.agents.sb3:DQNAgent",
        "tpe": "archgym.agents.optuna_agents:TPEAgent",
        "gp": "archgym.agents.optuna_agents:GPAgent",
        "cmaes": "archgym.agents.optuna_agents:CMAESAgent",
        "nsga2": "archgym.agents.optuna_agents:NSGA2Agent",
        "ga": "archgym.agents.evolutionary:GeneticAlgorithm",
        "aco": "archgym.agents.evolutionary:AntColony",
    },
)

simulators: Registry[Any] = Registry(
    "simulator",
    "archgym.simulators",
    {
        "adder.analytical": "archgym.simulators.arith.cost_models:AdderAnalytical",
        "multiplier.analytical": "archgym.simulators.arith.cost_models:MultiplierAnalytical",
        "adder.yosys": "archgym.rtl.arith.cost_models:AdderYosys",
        "multiplier.yosys": "archgym.rtl.arith.cost_models:MultiplierYosys",
        "adder.proxy": "archgym.simulators.arith.proxy:AdderProxy",
        "multiplier.proxy": "archgym.simulators.arith.proxy:MultiplierProxy",
        "approx_multiplier.measured": "archgym.simulators.approx.cost_models:ApproxMeasured",
        "approx_multiplier.closed_form": "archgym.simulators.approx.cost_models:ApproxClosedForm",
        "npu.analytical": "archgym.simulators.npu.cost_models:NPUAnalytical",
        "npu.scalesim": "archgym.simulators.npu.cost_models:NPUScaleSim",
        "npu_hetero.analytical": "archgym.simulators.npu.cost_models:NPUSystemAnalytical",
        "npu_hetero.scalesim": "archgym.simulators.npu.cost_models:NPUSystemScaleSim",
        "scratchpad.replay": "archgym.simulators.scratchpad.replay:ScratchpadReplay",
    },
)


def simulator_for(family: str, cost_model: str, field: str = "cost_model") -> Any:
    """The Simulator class registered as '<family>.<cost_model>'; an unknown name is a ConfigError on
    ``field`` (the env's config field that selects the cost model) listing the valid ones."""
    name = f"{family}.{cost_model}"
    if not isinstance(cost_model, str) or name not in simulators:
        valid = sorted(n.split(".", 1)[1] for n in simulators.names() if n.startswith(family + "."))
        raise ConfigError(field, f"unknown cost model {cost_model!r} of env '{family}'; valid: {', '.join(valid)}")
    return simulators.get(name)


def cost_models(family: str) -> list[str]:
    """The cost-model names registered for a family (``env.cost_model=`` values)."""
    return sorted(n.split(".", 1)[1] for n in simulators.names() if n.startswith(family + "."))
