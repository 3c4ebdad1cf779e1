from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `python -m <args>` as a user would, from a directory outside the repo."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd or REPO.parent, capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture
def cli():
    return run_cli
