"""The package list in pyproject.toml must cover every Python folder, or a wheel would miss it."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed():
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = {v: k for k, v in cfg["package-dir"].items()}
    listed = set(cfg["packages"])
    for top, pkg in dirs.items():
        for init in (REPO / top).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / top)
            name = ".".join([pkg, *rel.parts]) if rel.parts else pkg
            assert name in listed, f"{init.parent} is not in [tool.setuptools] packages"


def test_subpackages_import_from_anywhere():
    import subprocess
    import sys

    code = "import archgym.envs.adder, archgym.agents.base, archgym.simulators.arith.cells; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
