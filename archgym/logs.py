"""The shared logging layer's store: every evaluation of every agent, one row each.

The store is addressed by a SQLAlchemy URL (``sqlite:///runs/log.db`` by default; PostgreSQL or any
other SQLAlchemy database works the same).  Two tables:

* ``runs``: one row of metadata per run (resolved config, package versions, git revision);
* ``evaluations``: one row per evaluation (run id, env, agent, seed, step, canonical design JSON
  and its hash, every raw metric as JSON, cost, feasibility, failure text, wall time).

Each evaluation is committed as soon as it is written, so a run killed with ``kill -9`` keeps every
evaluation it finished.  SQLite runs in WAL mode with ``synchronous=NORMAL``: durable against a
crashed process (not against power loss), and fast enough for hundreds of commits per second.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from archgym.errors import ArchGymError

metadata = sa.MetaData()

runs_table = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("env", sa.String(64), nullable=False),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("versions", sa.Text, nullable=False),
    sa.Column("git_revision", sa.String(64)),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("status", sa.String(16), nullable=False),
)

evaluations_table = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(128), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("env", sa.String(64), nullable=False),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("design", sa.Text, nullable=False),
    sa.Column("design_hash", sa.String(32), nullable=False, index=True),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("cost", sa.Float),  # NULL for +inf (failed / infeasible)
    sa.Column("feasible", sa.Boolean, nullable=False),
    sa.Column("failed", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("cached", sa.Boolean, nullable=False),
    sa.Column("wall_time", sa.Float, nullable=False),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.UniqueConstraint("run_id", "step", name="uq_run_step"),
)


def default_url(out_dir: str | os.PathLike) -> str:
    return f"sqlite:///{Path(out_dir).resolve() / 'log.db'}"


class StoreError(ArchGymError):
    """The log store cannot be opened, read or written: the message names the store and what to do."""


def _where(url: str) -> str:
    """The store as a user names it: a SQLite file's path, else the URL without its password."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


@contextlib.contextmanager
def store_errors(url: str) -> Iterator[None]:
    """Turn a database error of the store at ``url`` into one StoreError line (a corrupted or
    foreign SQLite file, an unreachable server); lock timeouts are retried by the callers."""
    try:
        yield
    except sa.exc.IntegrityError:
        raise
    except sa.exc.DatabaseError as exc:
        raise _store_error(url, exc) from None


def _store_error(url: str, exc: Exception) -> StoreError:
    reason = str(getattr(exc, "orig", exc)).splitlines()[0]
    if url.startswith("sqlite"):
        advice = "if it is a damaged file, move it aside and start again, or give another log= / out_dir="
    else:
        advice = "check that the server runs and the URL, user and database are right"
    return StoreError(f"log store '{_where(url)}' cannot be used ({reason}); {advice}")


def _existing_store(url: str) -> str:
    """The URL of a store to read: a bare path (a .db file or a run directory) becomes a SQLite URL;
    a SQLite file that does not exist is an error (reading must not create an empty store)."""
    if "://" not in url:
        p = Path(url)
        url = default_url(p) if p.is_dir() else f"sqlite:///{p.resolve()}"
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        raise StoreError(f"no log store at '{url[len('sqlite:///'):]}'")
    return url


def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"log store '{path}': cannot create its directory ({exc.strerror})") from None
        if path.is_dir():
            raise StoreError(f"log store '{path}' is a directory; give a file path (sqlite:///dir/log.db)")
    try:
        engine = sa.create_engine(url, connect_args={"timeout": 60} if url.startswith("sqlite") else {})
    except (sa.exc.ArgumentError, ModuleNotFoundError) as exc:
        raise ArchGymError(f"invalid log URL '{url}': {exc}") from None
    if url.startswith("sqlite"):

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every sqlite store
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    try:
        for attempt in range(5):  # processes of a comparison may race to create the tables
            try:
                metadata.create_all(engine)
                break
            except sa.exc.OperationalError as exc:
                if attempt == 4 or ("locked" not in str(exc) and "already exists" not in str(exc)):
                    raise
                time.sleep(0.2 * (attempt + 1))
    except sa.exc.DatabaseError as exc:
        engine.dispose()
        raise _store_error(url, exc) from None
    return engine


@dataclass
class RunInfo:
    """One run row of the log store: id, env, agent, seed, resolved config, package versions, git revision."""

    run_id: str
    env: str
    agent: str
    seed: int
    config: dict[str, Any]
    versions: dict[str, str]
    git_revision: str | None


class LogStore:
    """Append-only writer/reader of one store URL."""

    def __init__(self, url: str):
        self.url = url
        self.engine = _engine(url)
        with store_errors(url):
            self._conn = self.engine.connect()

    def close(self) -> None:
        self._conn.close()
        self.engine.dispose()

    # ---- runs -------------------------------------------------------------------------
    def run_exists(self, run_id: str) -> bool:
        q = sa.select(runs_table.c.run_id).where(runs_table.c.run_id == run_id)
        with store_errors(self.url):
            return self._conn.execute(q).first() is not None

    def _write(self, statement: Any, what: str) -> None:
        """Execute one write and commit it; a row that another process wrote first is a StoreError."""
        try:
            with store_errors(self.url):
                self._conn.execute(statement)
                self._conn.commit()
        except sa.exc.IntegrityError:
            self._conn.rollback()
            raise StoreError(f"log store '{_where(self.url)}': {what} was already written by another process; "
                             f"two processes are writing one run; let one finish, then resume=true") from None

    def start_run(self, info: RunInfo) -> None:
        self._write(
            runs_table.insert().values(
                run_id=info.run_id,
                env=info.env,
                agent=info.agent,
                seed=info.seed,
                config=json.dumps(info.config, sort_keys=True),
                versions=json.dumps(info.versions, sort_keys=True),
                git_revision=info.git_revision,
                started_at=time.time(),
                status="running",
            ),
            f"run {info.run_id}",
        )

    def set_status(self, run_id: str, status: str) -> None:
        self._write(
            runs_table.update().where(runs_table.c.run_id == run_id).values(status=status, finished_at=time.time()),
            f"the status of run {run_id}",
        )

    def run_status(self, run_id: str) -> str | None:
        q = sa.select(runs_table.c.status).where(runs_table.c.run_id == run_id)
        with store_errors(self.url):
            row = self._conn.execute(q).first()
        return None if row is None else row[0]

    # ---- evaluations --------------------------------------------------------------------
    def append(self, row: dict[str, Any]) -> None:
        """Insert one evaluation row and commit it at once."""
        values = dict(row)
        cost = values.get("cost")
        values["cost"] = None if cost is None or not math.isfinite(cost) else float(cost)
        values["metrics"] = json.dumps(values["metrics"], sort_keys=True, default=float)
        self._write(evaluations_table.insert().values(**values), f"step {values['step']} of run {values['run_id']}")

    def evaluations(self, run_id: str) -> list[dict[str, Any]]:
        t = evaluations_table
        q = sa.select(t).where(t.c.run_id == run_id).order_by(t.c.step)
        with store_errors(self.url):
            return [dict(r._mapping) for r in self._conn.execute(q)]

    def delete_evaluations_from(self, run_id: str, step: int) -> None:
        t = evaluations_table
        self._write(t.delete().where((t.c.run_id == run_id) & (t.c.step >= step)), f"run {run_id}")


def load(url: str, run: str | None = None, expand_metrics: bool = True) -> pd.DataFrame:
    """All evaluations in a store (or one run's) as a DataFrame, one column per metric."""
    url = _existing_store(url)
    engine = _engine(url)
    t = evaluations_table
    q = sa.select(t).order_by(t.c.run_id, t.c.step)
    if run is not None:
        q = q.where(t.c.run_id == run)
    with store_errors(url), engine.connect() as conn:
        df = pd.read_sql(q, conn)
    engine.dispose()
    df["cost"] = df["cost"].astype(float).fillna(math.inf)
    if expand_metrics and len(df):
        metrics = pd.DataFrame([json.loads(m) for m in df["metrics"]], index=df.index)
        metrics = metrics.add_prefix("metric.")
        df = pd.concat([df.drop(columns=["metrics"]), metrics], axis=1)
    return df


def load_runs(url: str) -> pd.DataFrame:
    """The run-metadata table as a DataFrame."""
    url = _existing_store(url)
    engine = _engine(url)
    with store_errors(url), engine.connect() as conn:
        df = pd.read_sql(sa.select(runs_table), conn)
    engine.dispose()
    return df


def export(url: str, path: str | os.PathLike, run: str | None = None) -> Path:
    """Write a store's evaluations to CSV or Parquet (chosen by the file extension)."""
    path = Path(path)
    df = load(url, run=run)
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix in (".parquet", ".pq"):
        df.to_parquet(path, index=False)
    else:
        raise ArchGymError(f"export path '{path}': use a .csv or .parquet extension")
    return path
