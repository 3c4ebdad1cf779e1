"""A throwaway PostgreSQL server for tests and demos: ``initdb`` and ``pg_ctl`` on a temporary directory,
listening only on a Unix socket in it (no TCP port, no system service), removed on ``stop()``.

Debian's ``postgresql`` package provides the binaries (``setup.sh`` installs it).  PostgreSQL refuses to
run as root, so as root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from archgym.errors import ArchGymError


def pg_bin(tool: str) -> str | None:
    """The path of a PostgreSQL server tool (``initdb``, ``pg_ctl``), or None when it is not installed."""
    found = shutil.which(tool)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    return candidates[-1] if candidates else None


class PostgresServer:
    """``with PostgresServer() as pg: url = pg.new_database()``: one server, as many fresh databases as asked."""

    def __init__(self) -> None:
        if pg_bin("initdb") is None or pg_bin("pg_ctl") is None:
            raise ArchGymError("PostgreSQL server tools not found (apt-get install postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="archgym-pg-"))
        self.data = self.root / "data"
        self.user = "postgres" if os.geteuid() == 0 else None
        self._started = False

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            raise ArchGymError(f"{Path(args[0]).name} failed: {(res.stderr or res.stdout).strip()[:500]}")

    def start(self) -> PostgresServer:
        if self.user:
            shutil.chown(self.root, self.user)
        self._run(pg_bin("initdb") or "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        opts = f"-k {self.root} -c listen_addresses='' -c fsync=off -c max_connections=100"
        self._run(pg_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"),
                  "-w", "start")
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._run(pg_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database of this server (over its Unix socket)."""
        return f"postgresql://postgres@/{database}?host={self.root}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        import sqlalchemy as sa

        name = f"t_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
