"""Random search (parameter face) and random walk (sequential face): the baselines every
search algorithm must beat."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archgym.agents.base import Agent, AgentConfig
from archgym.evaluator import Evaluator
from archgym.fields import option
from archgym.problem import DesignProblem, with_parameter_face, with_sequential_face


@dataclass
class RandomWalkConfig(AgentConfig):
    """Hyperparameters of the RandomWalk agent (``agent.<field>=...``)."""

    episode_length: int = option(64, "edits before restarting from the initial design", integer=True, low=1)


class RandomWalk(Agent):
    """Uniformly random legal edits, restarting every episode_length steps."""

    name = "random_walk"
    description = "uniformly random legal edits, restarting every episode_length steps"
    config_class = RandomWalkConfig
    faces = ("sequential",)

    def search(self, problem: DesignProblem, evaluator: Evaluator) -> None:
        problem = with_sequential_face(problem)
        while True:
            design = problem.initial_design(self.rng)
            evaluator.evaluate(design)
            for _ in range(self.config.episode_length):
                mask = problem.action_mask(design)
                if not mask.any():
                    break
                action = int(self.rng.choice(np.flatnonzero(mask)))
                candidate = problem.apply_action(design, action)
                if evaluator.evaluate(candidate).feasible:
                    design = candidate


#: designs drawn per ``Evaluator.evaluate_batch`` call (the log rows are those of one draw at a time)
BATCH = 16


@dataclass
class RandomSearchConfig(AgentConfig):
    """Hyperparameters of the RandomSearch agent (``agent.<field>=...``)."""

    pass


class RandomSearch(Agent):
    """Uniform random points of the parameter face (random walk where there is none)."""

    name = "random"
    description = "uniform random points of the parameter face (random walk where there is none)"
    config_class = RandomSearchConfig
    faces = ("parameter", "sequential")

    def search(self, problem: DesignProblem, evaluator: Evaluator) -> None:
        if self.face_for(problem) == "sequential":
            RandomWalk(RandomWalkConfig(), seed=self.seed).search(problem, evaluator)
            return
        parametric = with_parameter_face(problem)
        space = parametric.space()
        while True:  # the same draws as one at a time, scored as a batch a parallel cost model runs at once
            evaluator.evaluate_batch([parametric.decode(space.sample(self.rng)) for _ in range(BATCH)])
