"""Every agent on every registered env where it makes sense, through the runner and the logging layer.

Budgets are tiny: these tests check the contract (runs end exactly at the budget with one log row
per evaluation, same seed -> same designs, clear errors for unsupported pairings, multi-objective
agents produce a Pareto front), not search quality.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pytest
from toy_problem import ToyProblem

from archgym import logs, registry
from archgym.errors import ArchGymError
from archgym.metrics import pareto_front
from archgym.problem import DesignProblem, Evaluation, SequentialFace
from archgym.runner import RunSpec, execute

BUDGET = 12
#: GPSampler fits a GP per trial (>10 s each on the 17-knob edit faces of this loaded machine): one GP trial
AGENT_CONFIG = {"gp": {"n_startup_trials": BUDGET - 1}}
SEQUENTIAL_ONLY = {"dqn", "maskable_ppo", "mcts", "random_walk"}
PARAMETER_ONLY = {"tpe", "gp", "cmaes", "nsga2", "ga", "aco"}


@dataclass
class LineConfig:
    target: int = 13
    length: int = 20


class LineProblem(SequentialFace[int], DesignProblem[int]):
    """Sequential-only toy: walk x in 0..length by +1/-1 towards ``target``; 6 of the 8 actions are
    never legal, so an agent that ignores the mask mostly wastes steps (which must not end its run
    before the budget).  No baselines, hence no parameter face."""

    name = "toy_seq"
    config_class = LineConfig
    default_budget = 20

    def to_json(self, design: int) -> dict:
        return {"x": int(design)}

    def from_json(self, data: dict) -> int:
        return int(data["x"])

    def evaluate(self, design: int) -> Evaluation:
        return Evaluation({"x": float(design)}, float((design - self.config.target) ** 2))

    def initial_design(self, rng=None) -> int:
        return 0

    def num_actions(self) -> int:
        return 8

    def action_mask(self, design: int) -> np.ndarray:
        mask = np.zeros(8, dtype=bool)
        mask[0] = design < self.config.length
        mask[1] = design > 0
        return mask

    def apply_action(self, design: int, action: int) -> int:
        return design + (1 if action == 0 else -1)

    def observation_space(self):
        return gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)

    def observe(self, design: int) -> np.ndarray:
        return np.array([design / self.config.length], dtype=np.float32)


@pytest.fixture(autouse=True)
def toy_envs(monkeypatch):
    """Register the two toys for the duration of a test only."""
    monkeypatch.setitem(registry.envs._objects, "toy_param", ToyProblem)
    monkeypatch.setitem(registry.envs._objects, "toy_seq", LineProblem)


def _run(env: str, agent: str, out_dir, seed: int = 0, budget: int = BUDGET, env_config=None, agent_config=None):
    spec = RunSpec(
        env,
        agent,
        dict(registry.envs.get(env).test_config if env_config is None else env_config),
        dict(AGENT_CONFIG.get(agent, {}) if agent_config is None else agent_config),
        budget=budget,
        seed=seed,
        out_dir=str(out_dir),
        progress=False,
        verify=False,
    )
    return execute(spec)


def _rows(out_dir):
    return logs.load(str(out_dir)).sort_values("step")


#: every registered family, at its own small test_config (no opt-in list: a new family runs here too)
BUILTIN_ENVS = registry.envs.names()
AGENTS = registry.agents.names()


@pytest.mark.parametrize("env", BUILTIN_ENVS)
@pytest.mark.parametrize("agent", AGENTS)
def test_agent_runs_to_budget_on_builtin_env(env, agent, tmp_path):
    from archgym.config import build_problem

    problem = build_problem(env, dict(registry.envs.get(env).test_config))
    offered = {"sequential": problem.has_sequential_face, "parameter": problem.has_parameter_face}
    if not any(offered[f] for f in registry.agents.get(agent).faces):  # a family with one face only
        with pytest.raises(ArchGymError, match=f"agent '{agent}' needs the"):
            _run(env, agent, tmp_path)
        return
    summary = _run(env, agent, tmp_path)
    assert summary["status"] == "finished"
    assert summary["evaluations"] == BUDGET
    rows = _rows(tmp_path)
    assert rows["step"].tolist() == list(range(BUDGET))  # one row per evaluation, none lost
    assert set(rows["agent"]) == {agent}
    feasible = rows[rows["feasible"].astype(bool)]
    assert summary["best"] is not None
    assert summary["best"]["cost"] == pytest.approx(feasible["cost"].min())


@pytest.mark.parametrize("agent", sorted(set(AGENTS) - SEQUENTIAL_ONLY))
def test_parameter_face_agents_on_parameter_only_env(agent, tmp_path):
    summary = _run("toy_param", agent, tmp_path, budget=15, env_config={"target": 7})
    assert summary["evaluations"] == 15 and len(_rows(tmp_path)) == 15
    assert summary["best"]["cost"] <= 4.0  # 15 evaluations over 10 points: within 2 of the target


@pytest.mark.parametrize("agent", sorted(set(AGENTS) - PARAMETER_ONLY))
def test_sequential_face_agents_on_sequential_only_env(agent, tmp_path):
    budget = 60
    summary = _run("toy_seq", agent, tmp_path, budget=budget)
    rows = _rows(tmp_path)
    assert rows["step"].tolist() == list(range(summary["evaluations"]))
    if agent == "mcts" and summary["evaluations"] < budget:  # done early only once the tree is exhausted
        assert summary["best"]["cost"] == 0
    else:
        assert summary["evaluations"] == budget
    # every design is reachable from x = 0 by legal edits only
    xs = [int(d.split(":")[1].rstrip("}")) for d in rows["design"]]
    assert min(xs) >= 0 and max(xs) <= 20
    assert summary["best"]["cost"] < 169  # moved off the start (x = 0, cost 169)


@pytest.mark.parametrize(
    "env,agents,face",
    [("toy_param", sorted(SEQUENTIAL_ONLY), "sequential"), ("toy_seq", sorted(PARAMETER_ONLY), "parameter")],
    ids=["parameter-only-env", "sequential-only-env"],
)
def test_unsupported_pairing_is_a_clear_error_before_any_evaluation(env, agents, face, tmp_path):
    for agent in agents:
        with pytest.raises(ArchGymError, match=rf"agent '{agent}' needs the {face} face.*env '{registry.envs.get(env).name}'"):
            _run(env, agent, tmp_path / agent)
        assert not (tmp_path / agent / "log.db").exists()  # failed before any work


def test_faces_match_registered_classes():
    """The pairing sets above are the agents' declared faces (so the tests follow the code)."""
    for name in AGENTS:
        faces = set(registry.agents.get(name).faces)
        assert (name in SEQUENTIAL_ONLY) == (faces == {"sequential"}), name
        assert (name in PARAMETER_ONLY) == (faces == {"parameter"}), name


@pytest.mark.parametrize("agent", AGENTS)
def test_same_seed_same_designs(agent, tmp_path):
    env = "approx_multiplier" if agent == "gp" else "adder"  # GP trials are fast on its 3 categorical knobs
    runs = {}
    for tag, seed in (("a", 5), ("b", 5)):
        _run(env, agent, tmp_path / tag, seed=seed, budget=20, agent_config={"n_startup_trials": 8} if agent == "gp" else {})
        runs[tag] = _rows(tmp_path / tag)["design_hash"].tolist()
    assert runs["a"] == runs["b"]


@pytest.mark.parametrize("agent", ["random", "ga", "aco", "tpe", "cmaes", "nsga2"])
def test_different_seeds_different_designs(agent, tmp_path):
    hashes = []
    for seed in (1, 2):
        _run("adder", agent, tmp_path / str(seed), seed=seed, budget=20, env_config={"width": 8})
        hashes.append(_rows(tmp_path / str(seed))["design_hash"].tolist())
    assert hashes[0] != hashes[1]


def test_random_search_scores_batches_of_the_draws_one_at_a_time_would_make(tmp_path):
    """Random search hands the evaluator batches (a parallel cost model runs them at once): the logged
    designs are the draws one at a time, in order, and the budget cuts a batch exactly."""
    from archgym.agents.random_search import BATCH
    from archgym.config import build_problem
    from archgym.problem import with_parameter_face

    budget = 2 * BATCH + 5
    _run("adder", "random", tmp_path, seed=3, budget=budget, env_config={"width": 8})
    parametric = with_parameter_face(build_problem("adder", {"width": 8}))
    rng, space = np.random.default_rng(3), parametric.space()
    expected = [parametric.canonical(parametric.decode(space.sample(rng))) for _ in range(budget)]
    assert _rows(tmp_path)["design"].tolist() == expected


def test_nsga2_asks_a_generation_at_once_and_samples_what_one_at_a_time_would(tmp_path, monkeypatch):
    """NSGA-II hands the evaluator the rest of a generation per call (a parallel cost model runs it at
    once).  The logged rows are exactly those of asking one trial at a time, failed evaluations (which
    do not count towards a generation) included, and the budget cuts the last batch exactly."""
    from archgym.agents.optuna_agents import NSGA2Agent
    from archgym.envs.adder import AdderProblem
    from archgym.evaluator import Evaluator
    from archgym.problem import design_hash

    score = AdderProblem.score

    def flaky(self, design, metrics):  # a cost model that crashes on a deterministic subset of designs
        if design_hash(self.canonical(design)).endswith(("0", "1", "2")):
            raise RuntimeError("cost model crashed")
        return score(self, design, metrics)

    monkeypatch.setattr(AdderProblem, "score", flaky)
    sizes: list[int] = []
    evaluate_batch = Evaluator.evaluate_batch

    def spy(self, designs):
        sizes.append(len(designs))
        return evaluate_batch(self, designs)

    monkeypatch.setattr(Evaluator, "evaluate_batch", spy)
    config = {"width": 8}
    _run("adder", "nsga2", tmp_path / "batched", budget=45, env_config=config, agent_config={"population_size": 8})
    batched = _rows(tmp_path / "batched")
    assert sizes[0] == 8 and max(sizes) == 8 and sum(sizes) == 45
    assert any(s < 8 for s in sizes[:-1])  # a generation refilled after its failures
    assert batched["failed"].astype(bool).any()
    monkeypatch.setattr(NSGA2Agent, "batch_size", lambda self, study: 1)
    _run("adder", "nsga2", tmp_path / "single", budget=45, env_config=config, agent_config={"population_size": 8})
    single = _rows(tmp_path / "single")
    assert batched["design"].tolist() == single["design"].tolist()


def test_vectorized_ppo_uses_the_budget_exactly(tmp_path):
    summary = _run("adder", "ppo", tmp_path, budget=40, agent_config={"n_envs": 4, "n_steps": 8, "batch_size": 16})
    assert summary["evaluations"] == 40 and len(_rows(tmp_path)) == 40


def test_agent_hyperparameters_are_validated_config_fields(tmp_path):
    with pytest.raises(ArchGymError, match=r"agent.learnin_rate"):
        _run("adder", "ppo", tmp_path, agent_config={"learnin_rate": 1e-3})


@pytest.mark.parametrize("agent,extra", [("nsga2", {"population_size": 8}), ("tpe", {"multi_objective": True})])
def test_multi_objective_agents_build_the_pareto_front(agent, extra, tmp_path):
    """NSGA-II and MOTPE minimize (delay, area) jointly: the study's Pareto-optimal trials are exactly
    the non-dominated (delay, area) points of the logged feasible evaluations."""
    import optuna

    url = f"sqlite:///{tmp_path / 'study.db'}"
    _run("adder", agent, tmp_path / "run", budget=40, env_config={"width": 8},
         agent_config={**extra, "storage": url, "study_name": "mo"})
    study = optuna.load_study(study_name="mo", storage=url)
    assert len(study.directions) == 2
    assert len(study.trials) == 40  # one trial per evaluation, none left RUNNING at the budget
    assert {t.state.name for t in study.trials} <= {"COMPLETE", "FAIL"}
    rows = _rows(tmp_path / "run")
    logged = rows[rows["feasible"].astype(bool)][["metric.delay", "metric.area"]].to_numpy(float)
    expected = pareto_front(logged)
    got = pareto_front(np.array([t.values for t in study.best_trials], dtype=float))
    np.testing.assert_allclose(got, expected)
    assert len(expected) >= 2  # a real trade-off, not a single optimum
    assert all(math.isfinite(v) for t in study.best_trials for v in t.values)


def test_summary_reports_the_pareto_front(tmp_path):
    summary = _run("adder", "nsga2", tmp_path, budget=40, env_config={"width": 8}, agent_config={"population_size": 8})
    rows = _rows(tmp_path)
    logged = rows[rows["feasible"].astype(bool)][["metric.delay", "metric.area"]].to_numpy(float)
    front = summary["pareto_front"]
    got = pareto_front(np.array([[p["objectives"]["delay"], p["objectives"]["area"]] for p in front], dtype=float))
    np.testing.assert_allclose(got, pareto_front(logged))
