"""The structure-aware RL policy (agents/policies.py) and the SB3 agents' save / load / learn / learning curves."""

from __future__ import annotations

import csv

import gymnasium as gym
import numpy as np
import pytest
import torch

from archgym.agents.policies import AxialBlock, GridPolicy
from archgym.config import build_problem
from archgym.errors import ArchGymError
from archgym.runner import RunSpec, execute


def _policy(width: int, blocks: int = 2) -> tuple[GridPolicy, object]:
    problem = build_problem("adder", {"width": width})
    torch.manual_seed(0)
    policy = GridPolicy(problem.observation_space(), gym.spaces.Discrete(problem.num_actions()), lambda _: 3e-4,
                        action_cells=problem.action_cells(), blocks=blocks)
    return policy, problem


def _logits(policy: GridPolicy, obs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        features = policy.extract_features(torch.as_tensor(obs[None]))
        return policy.action_net(policy.mlp_extractor.forward_actor(features))[0].numpy()


def test_logits_are_laid_out_like_the_action_space():
    """Action 2c adds, 2c+1 deletes candidate c: each logit is read at its own cell of its own plane."""
    policy, problem = _policy(8, blocks=0)  # stem + 1x1 head only: a 3x3 receptive field
    obs = problem.observe(problem.baseline("sklansky"))
    base = _logits(policy, obs)
    assert base.shape == (problem.num_actions(),)
    i, j = 6, 2
    far = [a for a in range(problem.num_actions()) if max(abs(problem.candidates[a // 2][0] - i),
                                                            abs(problem.candidates[a // 2][1] - j)) > 1]
    near = [problem.action_for((i, j), False), problem.action_for((i, j), True)]
    bumped = obs.copy()
    bumped[:, i, j] += 0.5
    moved = _logits(policy, bumped)
    assert np.allclose(moved[far], base[far])  # cells outside the 3x3 neighbourhood: untouched
    assert not np.allclose(moved[near], base[near])


def test_axial_context_reaches_across_the_grid():
    policy, problem = _policy(8, blocks=1)
    obs = problem.observe(problem.baseline("sklansky"))
    bumped = obs.copy()
    bumped[:, 7, 0] += 0.5
    a = problem.action_for((2, 1), False)  # far from (7, 0) but it sees the grid's mean
    assert _logits(policy, bumped)[a] != pytest.approx(_logits(policy, obs)[a])


@pytest.mark.parametrize("shape", [(8, 8), (6, 10)])
def test_axial_block_equals_the_convolution_of_its_broadcast_means(shape):
    """The block mixes the means before broadcasting them; the reference convolves the (B, 5C, H, W) stack."""
    torch.manual_seed(1)
    block, x = AxialBlock(4), torch.randn(2, 4, *shape)
    h, w = shape
    row, col = x.mean(dim=3, keepdim=True).expand(-1, -1, h, w), x.mean(dim=2, keepdim=True).expand(-1, -1, h, w)
    transposed = [row.transpose(2, 3), col.transpose(2, 3)] if h == w else [row, col]
    stack = torch.cat([row, col, *transposed, x.mean(dim=(2, 3), keepdim=True).expand(-1, -1, h, w)], dim=1)
    reference = x + torch.relu(block.local(x) + block.context(stack))
    assert torch.allclose(block(x), reference, atol=1e-5)


def test_weights_do_not_depend_on_the_width():
    small, _ = _policy(8)
    large, problem = _policy(16)
    large.load_state_dict(small.state_dict(), strict=True)  # same keys, same shapes
    obs = problem.observe(problem.baseline("brent_kung"))
    assert np.isfinite(_logits(large, obs)).all()


def _run(tmp_path, name: str, width: int, budget: int, **agent_config):
    spec = RunSpec("adder", "ppo", {"width": width}, {"n_steps": 16, "batch_size": 16, **agent_config},
                   budget=budget, seed=0, out_dir=str(tmp_path / name), progress=False, verify=False,
                   ground_truth=False)
    return execute(spec)


def test_a_saved_grid_policy_acts_at_another_width_without_training(tmp_path):
    model = tmp_path / "ppo8.zip"
    trained = _run(tmp_path, "train", 8, 64, policy="grid", save=str(model), episode_length=8)
    assert trained["status"] == "finished" and model.is_file()
    curves = list((tmp_path / "train" / "by_run").glob("*/sb3/progress.csv"))
    assert len(curves) == 1
    rows = list(csv.DictReader(curves[0].open()))
    assert rows and {"archgym/best_cost", "archgym/evaluations", "rollout/ep_rew_mean"} <= set(rows[0])
    assert any(r.get("train/entropy_loss") for r in rows)  # the PPO updates' statistics are there too
    acted = _run(tmp_path, "act", 12, 40, policy="grid", load=str(model), learn=False)
    assert acted["status"] == "finished" and acted["evaluations"] == 40
    again = _run(tmp_path, "act2", 12, 40, policy="grid", load=str(model), learn=False)
    assert again["best"]["cost"] == acted["best"]["cost"]  # same seed, same loaded policy: same run


def test_loaded_policy_keeps_learning(tmp_path):
    model = tmp_path / "ppo8.zip"
    _run(tmp_path, "train", 8, 40, policy="grid", save=str(model))
    first = model.read_bytes()
    _run(tmp_path, "more", 8, 40, policy="grid", load=str(model), save=str(model))
    assert model.read_bytes() != first


def test_an_mlp_policy_does_not_load_at_another_width(tmp_path):
    model = tmp_path / "mlp8.zip"
    _run(tmp_path, "train", 8, 20, policy="mlp", save=str(model))
    with pytest.raises(ArchGymError, match=r"agent\.load.*only at the width"):
        _run(tmp_path, "other", 12, 20, policy="mlp", load=str(model))


@pytest.mark.parametrize(("config", "message"), [
    ({"learn": False}, r"agent\.learn.*agent\.load"),
    ({"load": "/no/such/model.zip"}, r"agent\.load.*no saved model"),
    ({"save": "{tmp}"}, r"agent\.save.*is a directory"),
    ({"save": "{tmp}/a_file/model.zip"}, r"agent\.save.*cannot create the directory"),
])
def test_bad_save_load_settings_are_clear_errors(tmp_path, config, message):
    (tmp_path / "a_file").write_text("not a directory")
    config = {k: v.replace("{tmp}", str(tmp_path)) if isinstance(v, str) else v for k, v in config.items()}
    with pytest.raises(ArchGymError, match=message):
        _run(tmp_path, "bad", 8, 10, **config)


def test_grid_policy_needs_a_grid_env(tmp_path):
    spec = RunSpec("multiplier", "ppo", {"width": 4}, {"policy": "grid"}, budget=10, out_dir=str(tmp_path),
                   progress=False, verify=False, ground_truth=False)  # observation=vector by default
    with pytest.raises(ArchGymError, match=r"agent\.policy.*grid"):
        execute(spec)


def test_multiplier_grid_observation_puts_every_action_at_its_cell():
    """observation=grid: tree edits of column c on the diagonal (c, c), one plane per kind; adder edits at their
    node shifted to the columns the adder spans; the planes show the column counts on each cell's row and
    column and the adder's nodes; check_env passes."""
    from gymnasium.utils.env_checker import check_env

    from archgym.envs.base import DesignEnv

    p = build_problem("multiplier", {"width": 6, "observation": "grid"})
    design = p.baseline("dadda_sklansky")
    obs = p.observe(design)
    assert obs.shape == (9, 12, 12) and p.observation_space().contains(obs)
    cells = p.action_cells()
    assert cells.shape == (p.num_actions(), 3)
    assert [tuple(cells[4 * 5 + k]) for k in range(4)] == [(2 + k, 5, 5) for k in range(4)]
    i, j = p.adder_edits.candidates[3]
    assert tuple(cells[p.tree_actions + 7]) == (1, i + p.lsb, j + p.lsb)  # action 2*3+1 deletes candidate 3
    assert np.array_equal(obs[0, p.lsb:, p.lsb:], design.adder.nodemap())
    assert np.allclose(obs[3, 7, :], design.fa[7] / 6) and np.allclose(obs[4, :, 7], design.fa[7] / 6)
    check_env(DesignEnv(p, episode_length=4), skip_render_check=True)


def test_a_grid_policy_trained_on_6_bit_multipliers_acts_on_8_bit_ones(tmp_path):
    def run(name: str, width: int, budget: int, **agent):
        return execute(RunSpec("multiplier", "ppo", {"width": width, "observation": "grid"},
                               {"n_steps": 16, "batch_size": 16, **agent}, budget=budget, seed=0,
                               out_dir=str(tmp_path / name), progress=False, verify=False, ground_truth=False))

    model = tmp_path / "mul6.zip"
    assert run("train", 6, 48, save=str(model))["status"] == "finished"  # policy=auto picks the grid policy
    acted = run("act", 8, 24, load=str(model), learn=False)
    assert acted["status"] == "finished" and acted["evaluations"] == 24


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")  # it is a wrapper, by design
def test_weight_conditioned_env_shows_the_weight_and_rewards_at_it():
    from gymnasium.utils.env_checker import check_env

    from archgym.envs.base import DesignEnv, WeightConditioned

    problem = build_problem("adder", {"width": 8, "delay_weight": 0.5})
    env = WeightConditioned(DesignEnv(problem, episode_length=6), [0.0, 1.0])
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=3, options={"delay_weight": 1.0})
    assert obs.shape == (4, 8, 8) and np.all(obs[3] == 1.0)
    before = problem.cost_at(info["metrics"], 1.0)
    legal = np.flatnonzero(env.action_masks())
    obs, reward, _, _, info = env.step(int(legal[0]))
    if info["accepted"]:  # the reward is the relative decrease of the delay-only cost
        assert reward == pytest.approx((before - problem.cost_at(info["metrics"], 1.0)) / before)
        assert problem.cost_at(info["metrics"], 1.0) == pytest.approx(info["metrics"]["delay"] / problem._reference["delay"])


def test_weight_conditioned_ppo_reports_a_front_by_weight(tmp_path):
    summary = _run(tmp_path, "morl", 8, 120, delay_weights=[0.1, 0.9], episode_length=8)
    assert summary["status"] == "finished" and summary["evaluations"] <= 120
    front = summary["front_by_weight"]
    assert [f["delay_weight"] for f in front] == [0.1, 0.9]
    problem = build_problem("adder", {"width": 8})
    for f in front:
        assert f["cost_at_weight"] == pytest.approx(problem.cost_at(f["metrics"], f["delay_weight"]))
        design = problem.from_json(f["design"])  # the reported design is the one scored
        assert problem.evaluate(design).metrics == pytest.approx(f["metrics"])


def test_compare_report_shows_the_rl_learning_curves(tmp_path):
    from archgym.compare import grid, run_grid
    from archgym.report import write_report

    specs = grid("adder", {"width": 8}, ["ppo", "random"], 1, 40, tmp_path,
                 {"ppo": {"n_steps": 8, "batch_size": 8, "episode_length": 4}})
    summaries = run_grid(specs, jobs=1, progress=False)
    report = write_report(tmp_path, "adder", summaries).read_text()
    assert "![learning curves](learning_curves.png)" in report
    assert (tmp_path / "learning_curves.png").stat().st_size > 1000


def test_tensorboard_events_are_written_when_asked(tmp_path):
    pytest.importorskip("tensorboard")
    _run(tmp_path, "tb", 8, 40, tensorboard=True, episode_length=8)
    assert list((tmp_path / "tb" / "by_run").glob("*/sb3/events.out.tfevents.*"))
