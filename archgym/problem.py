"""The interface every design family implements.

A DesignProblem is one configured instance of a design family (say, a 64-bit adder scored by
a weighted delay/area cost): its config, design JSON I/O, cost and baselines.  What else it offers
is a small explicit interface mixed into the class and checked with ``isinstance`` (in the manner of
SB3's and optuna's base-class splits):

* :class:`SequentialFace` (``initial_design``, ``num_actions``, ``action_mask``, ``apply_action``,
  ``observation_space``/``observe``): step-by-step edits, for RL and tree search;
* :class:`ParameterFace` (``space``, ``decode``): a DesignSpace of knobs that decodes to a legal
  design, for Bayesian, evolutionary and random search; :class:`EditParameterFace` derives one from
  the sequential face and the baselines;
* :class:`VerilogExport` (``to_verilog``, ``verify_verilog``);
* :class:`SimulatorBacked` (``simulator``, ``score``): the cost comes from a pluggable
  :class:`Simulator`, registered as ``<family>.<name>``.

Both faces end in ``evaluate``, which is pure (no logging): agents never call it directly but go
through ``archgym.evaluator.Evaluator``, the shared logging layer.
"""

from __future__ import annotations

import hashlib
import json
import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, is_dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

import numpy as np

from archgym.errors import DesignError
from archgym.space import DesignSpace, Point

#: ``start`` value of a BaselineStart family: the lowest-cost baseline under the configured cost
BEST_BASELINE = "best_baseline"

D = TypeVar("D")


@dataclass
class Evaluation:
    """Result of scoring one design with a cost model."""

    metrics: dict[str, float]
    cost: float  # scalar to minimize; math.inf when infeasible or failed
    feasible: bool = True
    reason: str = ""  # why infeasible, or the error text of a failed evaluation
    failed: bool = False  # the simulator crashed or timed out (vs. a legal-but-infeasible design)

    @staticmethod
    def failure(reason: str) -> Evaluation:
        return Evaluation(metrics={}, cost=math.inf, feasible=False, reason=reason, failed=True)


def check_json_shape(value: Any, reference: Any, where: str) -> None:
    """``value`` has the JSON type of ``reference`` (recursively into lists and objects).

    An integer may stand for a float (JSON ``1`` for ``1.0``), not the other way round; a boolean is
    not a number; a list's elements are checked against the reference's first element; an object's
    values are checked where the reference has the same key (unknown keys are the family's to judge).
    """
    kind = _json_kind(reference)
    got = _json_kind(value)
    if kind is None or got == kind or (kind == "number" and got == "integer"):
        pass
    else:
        raise DesignError(_short(f"{where}: must be {_ARTICLE[kind]}, got {_ARTICLE[got or 'other']} ({value!r})"))
    if kind == "list" and reference:
        for i, item in enumerate(value):
            check_json_shape(item, reference[0], f"{where}[{i}]")
    elif kind == "object":
        for key, item in value.items():
            if key in reference:
                check_json_shape(item, reference[key], f"{where}.{key}")


_ARTICLE = {"integer": "an integer", "number": "a number", "boolean": "a boolean", "string": "a string",
            "list": "a list", "object": "an object", "null": "null", "other": "something else"}


def _json_kind(value: Any) -> str | None:
    if value is None:
        return None  # a null field of the reference form: any value is the family's to judge
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, np.integer)):
        return "integer"
    if isinstance(value, (float, np.floating)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "other"


def _short(message: str, limit: int = 240) -> str:
    """One short error line: a design error quotes the input, which may be megabytes long."""
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def canonical_json(data: Any) -> str:
    """Deterministic JSON text (sorted keys, no spaces): the identity of a design in logs."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if is_dataclass(o) and not isinstance(o, type):
        return asdict(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def design_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class DesignProblem(ABC, Generic[D]):
    """One configured design family instance: config, JSON I/O, cost and baselines.

    What else a family offers is declared by mixing in the faces below, checked with ``isinstance``:
    :class:`SequentialFace` (step-by-step edits), :class:`ParameterFace` (knobs; :class:`EditParameterFace`
    derives one from the sequential face and the baselines), :class:`VerilogExport` and
    :class:`SimulatorBacked` (the cost comes from a pluggable :class:`Simulator`).  Its Gymnasium id is
    declared once: in the registry for built-in families, as ``gym_id`` for plug-ins.
    """

    name: ClassVar[str] = ""
    #: metric names that multi-objective agents minimize jointly (default: just the scalar cost)
    objective_names: ClassVar[tuple[str, ...]] = ("cost",)
    #: Gymnasium id of a plug-in family, e.g. "mypkg/Cache-v0" (built-ins declare theirs in the registry)
    gym_id: ClassVar[str] = ""
    #: one-line description shown by `python -m archgym.list`
    description: ClassVar[str] = ""
    #: the config dataclass (its fields are the `env.<field>=...` overrides)
    config_class: ClassVar[type]
    #: the face `gymnasium.make` returns: "sequential" (edits) or "parameter" (MultiDiscrete knobs)
    default_gym_face: ClassVar[str] = "sequential"
    #: evaluation budget of `python -m archgym.run` when none is given
    default_budget: ClassVar[int] = 200
    #: config overrides that select the family's ground-truth cost model (``archgym.ground_truth``), if any
    ground_truth: ClassVar[dict[str, Any] | None] = None
    #: config overrides that make a small, fast instance, for `archgym.testing.check_problem`
    test_config: ClassVar[dict[str, Any]] = {}

    def __init__(self, config: Any):
        from archgym.fields import validate

        validate(config)  # the constraints declared in the config's fields (archgym.fields.option)
        self.config = config
        #: the best feasible design of the current run so far, kept up to date by the Evaluator
        #: (replayed evaluations included); families may start episodes from it
        self.incumbent: D | None = None

    def default_ground_truth_budget(self) -> int:
        """Ground-truth evaluations of ``archgym.run``'s multi-fidelity refinement (0: none)."""
        return 0

    def objectives(self, evaluation: Evaluation) -> tuple[float, ...]:
        """The objective vector multi-objective agents minimize (from the metrics)."""
        return tuple(
            evaluation.cost if n == "cost" else float(evaluation.metrics.get(n, math.inf))
            for n in self.objective_names
        )

    def cost_at(self, metrics: dict[str, float], delay_weight: float) -> float:
        """The weighted cost of ``metrics`` at another delay weight, for weight-conditioned RL
        (``archgym.envs.base.WeightConditioned``); families with a delay/area weighted cost override it."""
        raise NotImplementedError(f"env '{self.name}' has no delay/area weighted cost")

    # ---- design I/O -------------------------------------------------------------------
    @abstractmethod
    def to_json(self, design: D) -> dict[str, Any]:
        """The documented JSON form of a design."""

    @abstractmethod
    def from_json(self, data: dict[str, Any]) -> D:
        """Parse (and validate) the JSON form; raise DesignError naming the field on bad input."""

    def canonical(self, design: D) -> str:
        return canonical_json(self.to_json(design))

    #: keys of the design JSON that may be left out (``from_json`` fills them in)
    optional_design_keys: ClassVar[frozenset[str]] = frozenset()

    def load_design(self, data: Any) -> D:
        """``from_json`` behind the one design-JSON policy of every family: a JSON object whose keys
        are those of the family's JSON form (unknown keys rejected, missing keys named), whose values
        have the JSON types of that form (an integer field takes no ``4.0``, a list no string), and
        one short error line naming the place (``design.nodes[3]``).  The form is read off
        ``to_json`` of the first baseline, so a family states it once, in ``to_json``."""
        if not isinstance(data, dict):
            raise DesignError(f"design: a {self.name} design must be a JSON object, got {type(data).__name__}")
        reference = self._reference_json()
        if reference is not None:
            unknown = sorted(set(data) - set(reference) - self.optional_design_keys)
            if unknown:
                raise DesignError(_short(f"design.{unknown[0]}: unknown key; the keys of a {self.name} design: "
                                         f"{', '.join(sorted(set(reference) | self.optional_design_keys))}"))
            missing = sorted(set(reference) - set(data) - self.optional_design_keys)
            if missing:
                raise DesignError(f"design.{missing[0]}: missing")
            for key, value in data.items():
                if key in reference:
                    check_json_shape(value, reference[key], f"design.{key}")
        try:
            return self.from_json(data)
        except DesignError as exc:
            raise DesignError(_short(str(exc))) from None

    def _reference_json(self) -> dict[str, Any] | None:
        """``to_json`` of the first baseline: the family's JSON form (None: the family has no baseline)."""
        if "_design_form" not in self.__dict__:
            try:
                first = next(iter(self.baselines().values()), None)
            except Exception:  # a plug-in whose baselines cannot be built here: its from_json checks alone
                first = None
            self.__dict__["_design_form"] = None if first is None else self.to_json(first)
        return self.__dict__["_design_form"]

    # ---- cost model -------------------------------------------------------------------
    @abstractmethod
    def evaluate(self, design: D) -> Evaluation:
        """Score a design (pure; may raise SimulationError, which the evaluator logs as failed)."""

    def evaluate_batch(self, designs: list[D]) -> list[Evaluation | Exception]:
        """Score several designs; a design that fails gets its exception in its slot, the others still
        count.  :class:`SimulatorBacked` families batch through their simulator (in parallel for tools)."""
        return [_catching(self.evaluate, d) for d in designs]

    def baselines(self) -> dict[str, D]:
        """Classical designs of this family, by name, under the current config."""
        return {}

    def baseline(self, name: str) -> D:
        from archgym.errors import UnknownNameError

        table = self.baselines()
        if name not in table:
            raise UnknownNameError("baseline", name, list(table))
        return table[name]

    # ---- capabilities -----------------------------------------------------------------
    @property
    def has_sequential_face(self) -> bool:
        return isinstance(self, SequentialFace)

    @property
    def has_parameter_face(self) -> bool:
        return isinstance(self, ParameterFace) and self.parameter_face_available()

    @property
    def exports_verilog(self) -> bool:
        return isinstance(self, VerilogExport)

    def parameter_face_available(self) -> bool:
        """Whether the parameter face applies to this instance (an edit face needs baselines)."""
        return True


class SequentialFace(ABC, Generic[D]):
    """Step-by-step edits of a design, for RL and tree search (``archgym.envs.base.DesignEnv``)."""

    @abstractmethod
    def initial_design(self, rng: np.random.Generator | None = None) -> D:
        """The design an episode starts from."""

    @abstractmethod
    def num_actions(self) -> int:
        """Size of the discrete action space."""

    @abstractmethod
    def action_mask(self, design: D) -> np.ndarray:
        """Boolean mask over ``range(num_actions())``: which edits are legal from ``design``."""

    @abstractmethod
    def apply_action(self, design: D, action: int) -> D:
        """Return the legal design reached by one edit (the input design is not modified)."""

    @abstractmethod
    def observation_space(self) -> Any:  # gymnasium.spaces.Space
        """The Gymnasium space of ``observe``'s values."""

    @abstractmethod
    def observe(self, design: D) -> Any:
        """The observation of a design (an element of ``observation_space()``)."""

    def action_cells(self) -> np.ndarray | None:
        """Where each action acts, for structure-aware policies (``archgym.agents.policies.GridPolicy``):
        an (num_actions, 3) array of (plane, row, col) cells of a grid the observation is laid out on
        (observation shape (C, H, W)), or None when the observation is no such grid."""
        return None

    def search_actions(self, design: D) -> np.ndarray:
        """The legal edits worth trying for a search that only accepts non-worsening edits (MCTS).

        Defaults to every legal edit; a family overrides it to prune edits that can never lower
        the cost (it changes a search's speed, never which edits it accepts)."""
        return np.flatnonzero(self.action_mask(design))

    def is_terminal(self, design: D) -> bool:
        """Whether no further edit makes sense (episode ends)."""
        return not bool(self.action_mask(design).any())


class ParameterFace(ABC, Generic[D]):
    """A DesignSpace of knobs whose every point decodes to a legal design, for black-box agents."""

    @abstractmethod
    def space(self) -> DesignSpace:
        """The knobs."""

    @abstractmethod
    def decode(self, point: Point) -> D:
        """The legal design of a point of ``space()``."""


class EditParameterFace(ParameterFace[D], SequentialFace[D]):
    """The parameter face derived from a sequential face and the baselines.

    Knobs: ``start`` (a baseline design) and ``edit0..edit{K-1}`` (an action index of the sequential face,
    or 0 for "no edit", applied in order; an edit that is not legal at that point is skipped).  Every point
    decodes to a legal design, the baselines are points of the space, and any design reachable in K edits
    from a baseline is too.
    """

    #: number of edit knobs (K)
    param_edits: ClassVar[int] = 16

    def parameter_face_available(self) -> bool:
        return bool(self.baselines())  # type: ignore[attr-defined]

    def space(self) -> DesignSpace:
        from archgym.space import Categorical, Integer

        names = tuple(self.baselines())  # type: ignore[attr-defined]
        if not names:
            raise NotImplementedError(f"{self.name} has no baselines to start its edit face from")  # type: ignore[attr-defined]
        edits = [Integer(f"edit{i}", 0, self.num_actions()) for i in range(self.param_edits)]
        return DesignSpace([Categorical("start", names), *edits])

    def decode(self, point: Point) -> D:
        design = self.baseline(point["start"])  # type: ignore[attr-defined]
        for i in range(self.param_edits):
            action = int(point.get(f"edit{i}", 0)) - 1
            if action >= 0 and self.action_mask(design)[action]:
                design = self.apply_action(design, action)
        return design


class BaselineStart(SequentialFace[D]):
    """Where the sequential face's episodes start, shared by the families with baselines.

    ``config.start`` names a design (``start_design``; ``best_baseline`` = the lowest-cost baseline under
    the configured cost).  With ``config.restart="incumbent"`` an episode starts from the run's best design
    so far (``DesignProblem.incumbent``, kept by the Evaluator, so a resumed run restarts as the original
    did), so each short episode is a policy-driven local search around the incumbent (elitist restarts, as
    in Go-Explore, Ecoffet et al., Nature 2021); ``restart="start"`` gives the stationary env."""

    def initial_design(self, rng: np.random.Generator | None = None) -> D:
        config = self.config  # type: ignore[attr-defined]
        if config.restart == "incumbent" and self.incumbent is not None:  # type: ignore[attr-defined]
            return cast(D, self.incumbent)  # type: ignore[attr-defined]
        return self._start

    def start_design(self, name: str) -> D:
        """The design ``config.start`` names (a baseline; families add named constructions)."""
        return cast(D, self.baseline(name))  # type: ignore[attr-defined]

    @cached_property
    def _start(self) -> D:
        name = self.config.start  # type: ignore[attr-defined]
        if name != BEST_BASELINE:
            return self.start_design(name)
        table = self.baselines()  # type: ignore[attr-defined]
        costs = {n: self._baseline_cost(d) for n, d in table.items()}
        feasible = {n: c for n, c in costs.items() if math.isfinite(c)}
        if not feasible:  # e.g. a simulator failing on everything: the search still starts, and logs the failures
            return cast(D, next(iter(table.values())))
        return cast(D, table[min(feasible, key=feasible.__getitem__)])  # ties: the first in table order

    def _baseline_cost(self, design: D) -> float:
        from archgym.errors import SimulationError

        try:
            return float(self.evaluate(design).cost)  # type: ignore[attr-defined]
        except SimulationError:
            return math.inf


class VerilogExport(ABC, Generic[D]):
    """A family whose designs export as Verilog and whose export can be proven correct."""

    @abstractmethod
    def to_verilog(self, design: D, module_name: str = "top") -> str:
        """The Verilog text of a design (its top module named ``module_name``)."""

    @abstractmethod
    def verify_verilog(self, design: D, verilog: str) -> str:
        """Check exported Verilog (simulation / formal); return a one-line description of what was shown,
        raise SimulationError on a mismatch."""


class SimulatorBacked(ABC, Generic[D]):
    """A family whose cost comes from a pluggable :class:`Simulator` (``env.cost_model``-style field).

    The family turns the simulator's raw metrics into an Evaluation with ``score``; ``evaluate`` and
    ``evaluate_batch`` are derived, the batch through the simulator's ``metrics_batch``."""

    simulator: Simulator[D]

    @abstractmethod
    def score(self, design: D, metrics: dict[str, float]) -> Evaluation:
        """The cost of a design from its cost model's raw metrics."""

    def evaluate(self, design: D) -> Evaluation:
        return self.score(design, self.simulator.metrics(design))

    def evaluate_batch(self, designs: list[D]) -> list[Evaluation | Exception]:
        metrics = self.simulator.metrics_batch(designs)
        return [m if isinstance(m, Exception) else _catching(self.score, d, m) for d, m in zip(designs, metrics)]


if TYPE_CHECKING:  # static types of "a problem with this face" (concrete families inherit both)

    class SequentialProblem(SequentialFace[Any], DesignProblem[Any]):
        """A DesignProblem with the sequential face."""

    class ParametricProblem(ParameterFace[Any], DesignProblem[Any]):
        """A DesignProblem with the parameter face."""

else:
    SequentialProblem = ParametricProblem = DesignProblem


def with_sequential_face(problem: DesignProblem[Any]) -> SequentialProblem:
    """The problem, typed as having the sequential face; an ArchGymError when it has none."""
    if not isinstance(problem, SequentialFace):
        from archgym.errors import ArchGymError

        raise ArchGymError(f"env '{problem.name}' has no sequential face")
    return cast("SequentialProblem", problem)


def with_parameter_face(problem: DesignProblem[Any]) -> ParametricProblem:
    """The problem, typed as having the parameter face; an ArchGymError when it has none."""
    if not problem.has_parameter_face:
        from archgym.errors import ArchGymError

        raise ArchGymError(f"env '{problem.name}' has no parameter face")
    return cast("ParametricProblem", problem)


class Simulator(ABC, Generic[D]):
    """A cost model of one design family: design -> raw metrics.

    Registered as '<family>.<name>' in ``archgym.registry.simulators`` and selected by the env's
    ``cost_model`` config field, so a user can plug a new cost model into an existing family.
    """

    family: ClassVar[str] = ""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, config: Any):
        self.config = config

    @abstractmethod
    def metrics(self, design: D) -> dict[str, float]:
        """Raw metrics of a design; raise SimulationError when the tool fails."""

    def metrics_batch(self, designs: list[D]) -> list[dict[str, float] | Exception]:
        """Metrics of several designs, a failure in its own slot; tool-based models run them in parallel."""
        return [_catching(self.metrics, d) for d in designs]


def _catching(func: Any, *args: Any) -> Any:
    """``func(*args)``, or the exception it raised: one failing design must not sink a batch."""
    try:
        return func(*args)
    except Exception as exc:
        return exc
