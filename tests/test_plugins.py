"""Third-party envs and agents registered through entry points, without editing archgym."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def _install_fake_plugin(site: Path) -> None:
    """A minimal installed distribution: a module plus a dist-info with entry_points.txt."""
    shutil.copy(HERE / "toy_problem.py", site / "toy_problem.py")
    info = site / "toyplugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[archgym.envs]\ntoy = toy_problem:ToyProblem\n\n[archgym.agents]\nrandom2 = archgym.agents.random_search:RandomSearch\n"
    )


def test_entry_point_plugin_is_listed_runnable_and_gym_registered(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install_fake_plugin(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = lambda *a: subprocess.run([sys.executable, *a], capture_output=True, text=True, env=env, cwd=tmp_path,
                                     timeout=300)
    listing = run("-m", "archgym.list")
    assert listing.returncode == 0, listing.stderr
    assert "toy" in listing.stdout and "random2" in listing.stdout
    out = run("-m", "archgym.run", "env=toy", "agent=tpe", "env.target=7", "budget=25", f"out_dir={tmp_path / 'r'}")
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["best"]["design"] == {"x": 7} and summary["best"]["cost"] == 0.0
    gym = run("-c", "import archgym, gymnasium as g; e = g.make('archgym/Toy-v0'); print(type(e.unwrapped).__name__)")
    assert gym.stdout.strip() == "ParameterEnv", gym.stderr  # parameter-only family: one-step episodes
