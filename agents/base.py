"""The one interface every search algorithm implements.

An agent receives a configured DesignProblem and the Evaluator (the shared logging layer) and
searches until the evaluator raises BudgetExhausted or the agent is done.  It never calls the cost
model directly.  ``faces`` says which face of the problem it searches: "sequential" (step-by-step
edits: RL, MCTS, random walk) or "parameter" (knobs: Bayesian, evolutionary, random search).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from archgym.errors import ArchGymError
from archgym.evaluator import Evaluator
from archgym.fields import validate
from archgym.problem import DesignProblem


@dataclass
class AgentConfig:
    """Fields common to all agents (subclass configs add their hyperparameters)."""


class Agent(ABC):
    """A search algorithm behind one interface: ``search(problem, evaluator)`` over the faces it declares."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    config_class: ClassVar[type] = AgentConfig
    #: faces this agent can search, in order of preference
    faces: ClassVar[tuple[str, ...]] = ("sequential",)
    multi_objective: ClassVar[bool] = False

    def __init__(self, config: AgentConfig, seed: int = 0):
        validate(config, prefix="agent.")  # the constraints declared with archgym.fields.option
        self.config = config
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        #: where the agent may write its own artifacts (SB3 learning curves); set by archgym.runner
        self.work_dir: Path | None = None

    def face_for(self, problem: DesignProblem) -> str:
        """The face used on this problem; a clear error when the problem offers none of ours."""
        available = {
            "sequential": problem.has_sequential_face,
            "parameter": problem.has_parameter_face,
        }
        for face in self.faces:
            if available[face]:
                return face
        raise ArchGymError(
            f"agent '{self.name}' needs the {' or '.join(self.faces)} face, which env '{problem.name}' "
            f"does not offer (it offers: {', '.join(f for f, ok in available.items() if ok) or 'none'})"
        )

    def summary_extras(self) -> dict[str, Any]:
        """What the agent adds to the run's ``summary.json`` (e.g. the weight-conditioned RL's front)."""
        return {}

    @abstractmethod
    def search(self, problem: DesignProblem, evaluator: Evaluator) -> None:
        """Search until the budget is used (BudgetExhausted propagates) or the agent is done."""
