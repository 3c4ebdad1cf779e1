"""Population-based agents on the parameter face: a genetic algorithm and ant-colony optimization.

Both work on knob indices of the env's DesignSpace (``space.nvec``), decode each individual to a
legal design and score it through the Evaluator.  Infeasible or failed designs get cost +inf, so
selection discards them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from archgym.agents.base import Agent, AgentConfig
from archgym.evaluator import Evaluator
from archgym.fields import option
from archgym.problem import DesignProblem, with_parameter_face


@dataclass
class GAConfig(AgentConfig):
    """Hyperparameters of the GA agent (``agent.<field>=...``)."""

    population_size: int = option(32, "individuals per generation", integer=True, low=2)
    crossover_rate: float = option(0.9, "probability of uniform crossover", low=0.0, high=1.0)
    mutation_rate: float | None = option(None, "per-gene mutation probability (default 1 / genes)", low=0.0,
                                        high=1.0, optional=True)
    tournament_size: int = option(3, "individuals per tournament", integer=True, low=1)
    elite: int = option(2, "best individuals kept unchanged", integer=True, low=0)


class GeneticAlgorithm(Agent):
    """Genetic algorithm: tournament selection, uniform crossover, per-gene mutation, elitism."""

    name = "ga"
    description = "genetic algorithm: tournament selection, uniform crossover, per-gene mutation, elitism"
    config_class = GAConfig
    faces = ("parameter",)

    def search(self, problem: DesignProblem, evaluator: Evaluator) -> None:
        self.face_for(problem)
        problem = with_parameter_face(problem)
        c = self.config
        space = problem.space()
        nvec = space.nvec
        genes = len(nvec)
        mutation = c.mutation_rate if c.mutation_rate is not None else 1.0 / max(1, genes)
        rng = self.rng

        def score(individuals: list[np.ndarray]) -> list[float]:
            designs = [problem.decode(space.from_indices(ind)) for ind in individuals]
            return [ev.cost if ev.feasible else math.inf for ev in evaluator.evaluate_batch(designs)]

        pop = np.stack([rng.integers(nvec) for _ in range(c.population_size)])
        fitness = np.array(score(list(pop)))
        while True:
            order = np.argsort(fitness, kind="stable")
            elite = [pop[i].copy() for i in order[: c.elite]]
            children: list[np.ndarray] = []
            while len(elite) + len(children) < c.population_size:
                a, b = self._tournament(fitness), self._tournament(fitness)
                child = pop[a].copy()
                if rng.random() < c.crossover_rate:
                    take = rng.random(genes) < 0.5
                    child[take] = pop[b][take]
                flip = rng.random(genes) < mutation
                child[flip] = rng.integers(nvec[flip])
                children.append(child)
            pop = np.stack(elite + children)
            fitness = np.concatenate([fitness[order[: c.elite]], score(children)])

    def _tournament(self, fitness: np.ndarray) -> int:
        contenders = self.rng.integers(len(fitness), size=self.config.tournament_size)
        return int(contenders[np.argmin(fitness[contenders])])


@dataclass
class ACOConfig(AgentConfig):
    """Hyperparameters of the ACO agent (``agent.<field>=...``)."""

    ants: int = option(16, "ants per generation", integer=True, low=1)
    evaporation: float = option(0.1, "pheromone evaporation per generation", low=0.0, high=1.0)
    alpha: float = option(1.0, "pheromone exponent", low=0.0)
    elite_ants: int = option(4, "ants that deposit pheromone each generation", integer=True, low=1)
    initial_pheromone: float = option(1.0, "pheromone of every choice at the start", low=1e-12)


class AntColony(Agent):
    """Ant-colony optimization over knob choices, as ArchGym's ACO agent.

    Each knob keeps a pheromone level per choice; an ant picks each knob's choice with probability
    proportional to pheromone^alpha.  After a generation, pheromone evaporates by ``evaporation``
    and the ``elite_ants`` best ants deposit on their choices in proportion to their rank.
    """

    name = "aco"
    description = "ant-colony optimization over knob choices (ArchGym's ACO)"
    config_class = ACOConfig
    faces = ("parameter",)

    def search(self, problem: DesignProblem, evaluator: Evaluator) -> None:
        self.face_for(problem)
        problem = with_parameter_face(problem)
        c = self.config
        space = problem.space()
        tau = [np.full(k, c.initial_pheromone) for k in space.nvec]
        while True:
            ants = [
                np.array([self.rng.choice(len(t), p=_normalize(t**c.alpha)) for t in tau]) for _ in range(c.ants)
            ]
            evaluations = evaluator.evaluate_batch([problem.decode(space.from_indices(a)) for a in ants])
            costs = [ev.cost if ev.feasible else math.inf for ev in evaluations]
            for t in tau:
                t *= 1.0 - c.evaporation
            order = np.argsort(costs, kind="stable")[: c.elite_ants]
            for rank, a in enumerate(order):
                if not math.isfinite(costs[a]):
                    break
                for knob, choice in enumerate(ants[a]):
                    tau[knob][choice] += (c.elite_ants - rank) / c.elite_ants


def _normalize(w: np.ndarray) -> np.ndarray:
    s = w.sum()
    return w / s if s > 0 else np.full(len(w), 1.0 / len(w))
