"""Optuna-based agents on the parameter face: TPE, GP (Bayesian), CMA-ES, NSGA-II.

Each agent drives an optuna study with the ask-and-tell interface: ask trials over the env's
DesignSpace distributions, decode them to designs, evaluate them through the Evaluator, tell the
costs.  NSGA-II asks the rest of a generation at once (the same trials as one at a time), so a
parallel cost model scores it as one batch.  ``storage`` takes any optuna storage URL
(``sqlite:///study.db``, PostgreSQL, ...), so several processes or machines can share one study
and optuna-dashboard can open it.

Infeasible designs are told as a penalty (twice the worst feasible cost seen so far), failed
evaluations as FAIL trials, so the samplers learn to avoid both.  NSGA-II (and TPE with
``multi_objective=true``, i.e. MOTPE) minimize the env's ``objective_names`` jointly and the
Evaluator keeps every feasible record, from which the Pareto front is computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from archgym.agents.base import Agent, AgentConfig
from archgym.evaluator import Evaluator
from archgym.fields import option
from archgym.problem import DesignProblem, with_parameter_face


@dataclass
class OptunaConfig(AgentConfig):
    """Hyperparameters shared by the optuna agents, including the study's storage and name."""

    storage: str | None = option(None, "optuna storage URL (sqlite:///study.db, postgresql://...); None = in memory",
                                 optional=True)
    study_name: str | None = option(None, "study name; default <env>-<agent>-s<seed>", optional=True)
    multi_objective: bool = option(False, "minimize the env's objective_names jointly", choices=(False, True))


@dataclass
class TPEConfig(OptunaConfig):
    """Hyperparameters of the TPE agent (``agent.<field>=...``)."""

    n_startup_trials: int = option(10, "random trials before the sampler models", integer=True, low=0)
    n_ei_candidates: int = option(24, "candidates TPE scores per trial", integer=True, low=1)
    multivariate: bool = True


@dataclass
class GPConfig(OptunaConfig):
    """Hyperparameters of the GP agent (``agent.<field>=...``)."""

    n_startup_trials: int = option(10, "random trials before the sampler models", integer=True, low=0)


@dataclass
class CMAESConfig(OptunaConfig):
    """Hyperparameters of the CMAES agent (``agent.<field>=...``)."""

    sigma0: float | None = option(None, "initial CMA-ES step size", low=1e-12, optional=True)
    popsize: int | None = option(None, "CMA-ES population", integer=True, low=2, optional=True)
    n_startup_trials: int = option(1, "random trials before the sampler models", integer=True, low=0)


@dataclass
class NSGA2Config(OptunaConfig):
    """Hyperparameters of the NSGA2 agent (``agent.<field>=...``)."""

    population_size: int = option(32, "NSGA-II population", integer=True, low=2)
    mutation_prob: float | None = option(None, "NSGA-II mutation probability", low=0.0, high=1.0, optional=True)
    crossover_prob: float = option(0.9, "NSGA-II crossover probability", low=0.0, high=1.0)
    multi_objective: bool = True


class OptunaAgent(Agent):
    """An optuna sampler searching the parameter face; every trial is one logged evaluation."""

    faces = ("parameter",)
    sampler_name: ClassVar[str] = ""

    def __init__(self, config: Any, seed: int = 0):
        super().__init__(config, seed)
        if config.storage is not None:
            _check_storage_url(config.storage)

    def make_sampler(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def search(self, problem: DesignProblem, evaluator: Evaluator) -> None:
        import optuna
        from optuna.trial import TrialState

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.face_for(problem)
        problem = with_parameter_face(problem)
        space = problem.space()
        distributions = space.optuna_distributions()
        multi = bool(self.config.multi_objective)
        directions = ["minimize"] * (len(problem.objective_names) if multi else 1)
        study = _create_study(
            storage=self.config.storage,
            study_name=self.config.study_name or f"{problem.name}-{self.name}-s{self.seed}",
            sampler=self.make_sampler(),
            directions=directions,
            load_if_exists=True,
        )
        worst = None
        while not evaluator.exhausted:  # never ask a trial the budget cannot evaluate (it would stay RUNNING)
            size = self.batch_size(study)
            if evaluator.remaining is not None:
                size = min(size, evaluator.remaining)
            trials = [study.ask(distributions) for _ in range(size)]
            evaluations = evaluator.evaluate_batch([problem.decode(trial.params) for trial in trials])
            for trial, evaluation in zip(trials, evaluations):  # told in order: as if one at a time
                if evaluation.failed:
                    study.tell(trial, state=TrialState.FAIL)
                    continue
                values: Any
                if evaluation.feasible:
                    values = problem.objectives(evaluation) if multi else evaluation.cost
                    worst = values if worst is None else _elementwise(max, worst, values)
                else:
                    values = _penalty(worst, len(directions))
                trial.set_user_attr("feasible", evaluation.feasible)
                study.tell(trial, values)

    def batch_size(self, study) -> int:
        """Trials asked before any is told.  One for the model-based samplers, which learn from
        every trial; population samplers override it."""
        return 1


def _check_storage_url(url: str) -> None:
    """``agent.storage`` is a SQLAlchemy URL of an installed driver (checked before any work is done)."""
    import sqlalchemy as sa

    from archgym.errors import ConfigError

    try:
        parsed = sa.engine.make_url(url)
        parsed.get_dialect()
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, ValueError) as exc:
        raise ConfigError("storage", f"not a usable optuna storage URL ({str(exc).splitlines()[0]}); "
                                     "e.g. sqlite:///study.db or postgresql://user@host/db") from None


def _create_study(**kwargs):
    """optuna.create_study, retried: processes starting together on one fresh SQLite storage race
    to create optuna's tables ("table studies already exists")."""
    import time

    import optuna
    import sqlalchemy.exc

    from archgym.errors import ConfigError

    for attempt in range(5):
        try:
            return optuna.create_study(**kwargs)
        except sqlalchemy.exc.OperationalError as exc:
            if attempt == 4 or ("already exists" not in str(exc) and "locked" not in str(exc)):
                reason = str(getattr(exc, "orig", exc)).splitlines()[0]
                raise ConfigError("agent.storage", f"cannot open the optuna storage ({reason})") from None
            time.sleep(0.3 * (attempt + 1))
        except (sqlalchemy.exc.DatabaseError, ImportError) as exc:
            reason = str(getattr(exc, "orig", exc)).splitlines()[0]
            raise ConfigError("agent.storage", f"cannot open the optuna storage ({reason})") from None


def _elementwise(op, a, b):
    if isinstance(a, tuple):
        return tuple(op(x, y) for x, y in zip(a, b))
    return op(a, b)


def _penalty(worst, k: int):
    if worst is None:
        return tuple([1e12] * k) if k > 1 else 1e12
    if isinstance(worst, tuple):
        return tuple(2 * abs(w) + 1 if math.isfinite(w) else 1e12 for w in worst)
    return 2 * abs(worst) + 1


class TPEAgent(OptunaAgent):
    """Optuna TPE (MOTPE with multi_objective=true)."""

    name = "tpe"
    description = "optuna TPE (MOTPE with multi_objective=true)"
    config_class = TPEConfig

    def make_sampler(self):
        import optuna

        c = self.config
        return optuna.samplers.TPESampler(
            seed=self.seed,
            n_startup_trials=c.n_startup_trials,
            n_ei_candidates=c.n_ei_candidates,
            multivariate=c.multivariate,
        )


class GPAgent(OptunaAgent):
    """Optuna Gaussian-process Bayesian optimization."""

    name = "gp"
    description = "optuna Gaussian-process Bayesian optimization"
    config_class = GPConfig

    def make_sampler(self):
        import optuna

        return optuna.samplers.GPSampler(seed=self.seed, n_startup_trials=self.config.n_startup_trials)


class CMAESAgent(OptunaAgent):
    """Optuna CMA-ES."""

    name = "cmaes"
    description = "optuna CMA-ES"
    config_class = CMAESConfig

    def make_sampler(self):
        import optuna

        c = self.config
        return optuna.samplers.CmaEsSampler(
            seed=self.seed, sigma0=c.sigma0, popsize=c.popsize, n_startup_trials=c.n_startup_trials,
            warn_independent_sampling=False,
        )


class NSGA2Agent(OptunaAgent):
    """Optuna NSGA-II, multi-objective (Pareto front of the env's objectives)."""

    name = "nsga2"
    description = "optuna NSGA-II, multi-objective (Pareto front of the env's objectives)"
    config_class = NSGA2Config
    multi_objective = True

    def batch_size(self, study) -> int:
        """The trials left in the current generation.  NSGA-II breeds a generation from the
        previous one alone, so asking them together samples exactly the trials that one at a time
        would, and a parallel cost model (synthesis, ``env.jobs``) scores the generation at once.
        A failed trial does not count towards its generation (as in optuna): the next batch
        refills it."""
        from optuna.samplers import NSGAIISampler
        from optuna.trial import TrialState

        key = NSGAIISampler._get_generation_key()
        generations = [t.system_attrs.get(key) for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        generations = [g for g in generations if g is not None]
        size = self.config.population_size
        if not generations:
            return size
        done = generations.count(max(generations))
        return size - done if done < size else size

    def make_sampler(self):
        import optuna

        c = self.config
        return optuna.samplers.NSGAIISampler(
            seed=self.seed,
            population_size=c.population_size,
            mutation_prob=c.mutation_prob,
            crossover_prob=c.crossover_prob,
        )
