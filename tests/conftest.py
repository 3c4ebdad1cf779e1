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


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL server per test session (archgym.pgserver: initdb + pg_ctl, Unix socket only).

    The PostgreSQL tests are skipped only where the server tools are missing (setup.sh installs them)."""
    from archgym.pgserver import PostgresServer, pg_bin

    if pg_bin("initdb") is None:
        pytest.skip("PostgreSQL server tools not installed (setup.sh installs them with apt-get)")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh, empty log store: a SQLite file, or a new database of the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'log.db'}"
    return request.getfixturevalue("postgres_server").new_database()
