"""System databases for tests/test_db_commands.py: made, copied, run, fingerprinted.

A *stage* of a test story is a system database in a given state.  Each stage
is made by copying the previous one and running one version of the
application on the copy in a child process (``tests/dbos_child.py``), so every
stage stays available, unchanged, to the tests that read it.  SQLite stages
are files; PostgreSQL stages are databases of their own on the server named
by WFL_TEST_POSTGRES_URL, copied with ``CREATE DATABASE ... TEMPLATE`` and all
dropped when the test module ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

CHILD = Path(__file__).resolve().with_name("dbos_child.py")
POSTGRES_ENV = "WFL_TEST_POSTGRES_URL"

Report = dict[str, dict[str, Any]]
"""workflow_id -> status, error_type, error, steps, ... (see dbos_child)."""


@dataclass(frozen=True)
class Database:
    url: str
    path: Path | None = None  # SQLite: the file
    name: str | None = None  # PostgreSQL: the database


@dataclass(frozen=True)
class Stage:
    db: Database
    report: Report
    """What the child that made this stage saw when it left."""


class Backend:
    """Where stages live."""

    kind: str

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._runs = 0

    def create(self, stage: str) -> Database:
        raise NotImplementedError

    def copy(self, source: Database, stage: str) -> Database:
        raise NotImplementedError

    def fingerprint(self, db: Database) -> object:
        """Everything a write would change."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def run(self, app_source: str, db: Database, plan: dict[str, Any]) -> Report:
        """Run ``app_source`` with DBOS on ``db`` following ``plan``."""
        self._runs += 1
        app = self.workdir / f"app_run{self._runs}.py"
        app.write_text(app_source, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(CHILD), str(app), db.url, json.dumps(plan)],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        lines = done.stdout.splitlines()
        last = lines[-1] if lines else ""
        assert done.returncode == 0 and last.startswith("REPORT "), (
            f"child failed ({done.returncode}) on {plan}:\n{done.stdout[-3000:]}\n"
            f"{done.stderr[-3000:]}"
        )
        report: Report = json.loads(last[len("REPORT ") :])
        return report

    def stage(
        self,
        name: str,
        app_source: str,
        plan: dict[str, Any],
        source: Database | None = None,
    ) -> Stage:
        """A new stage: a copy of ``source`` (or an empty database) after a run."""
        db = self.create(name) if source is None else self.copy(source, name)
        return Stage(db, self.run(app_source, db, plan))


class SqliteBackend(Backend):
    kind = "sqlite"

    def create(self, stage: str) -> Database:
        folder = self.workdir / stage
        folder.mkdir()
        path = folder / "dbos.sqlite"
        return Database(f"sqlite:///{path}", path=path)

    def copy(self, source: Database, stage: str) -> Database:
        assert source.path is not None
        db = self.create(stage)
        assert db.path is not None
        for suffix in ("", "-journal", "-wal", "-shm"):
            extra = Path(f"{source.path}{suffix}")
            if extra.exists():
                shutil.copy2(extra, f"{db.path}{suffix}")
        return db

    def fingerprint(self, db: Database) -> object:
        assert db.path is not None
        return (
            hashlib.sha256(db.path.read_bytes()).hexdigest(),
            db.path.stat().st_mtime_ns,
            sorted(os.listdir(db.path.parent)),  # no journal or WAL left behind
        )


def admin_engine(url: str | sa.URL) -> sa.Engine:
    parsed = sa.make_url(url).set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)


class PostgresBackend(Backend):
    kind = "postgres"

    def __init__(self, workdir: Path, server_url: str) -> None:
        super().__init__(workdir)
        self.base = sa.make_url(server_url)
        self.admin = admin_engine(self.base)
        self.prefix = f"wfl_dbcmd_{uuid.uuid4().hex[:10]}"
        self.made: list[str] = []

    def _url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def create(self, stage: str, template: str | None = None) -> Database:
        name = f"{self.prefix}_{stage}"
        sql = f'CREATE DATABASE "{name}"'
        if template is not None:
            sql += f' TEMPLATE "{template}"'
        deadline = time.monotonic() + 15
        while True:
            try:
                with self.admin.connect() as connection:
                    connection.exec_driver_sql(sql)
                break
            except sa.exc.OperationalError as error:
                # The template's last sessions (a child that just exited) may
                # still be closing on the server.
                busy = "being accessed by other users" in str(error)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.made.append(name)
        return Database(self._url(name), name=name)

    def copy(self, source: Database, stage: str) -> Database:
        assert source.name is not None
        return self.create(stage, template=source.name)

    def fingerprint(self, db: Database) -> object:
        engine = admin_engine(db.url)
        try:
            with engine.connect() as connection:
                tables = connection.exec_driver_sql(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'dbos' ORDER BY table_name"
                ).scalars()
                return [
                    (
                        table,
                        connection.exec_driver_sql(
                            f"SELECT md5(coalesce(string_agg(t::text, ',' "
                            f"ORDER BY t::text), '')) FROM dbos.\"{table}\" t"
                        ).scalar(),
                    )
                    for table in list(tables)
                ]
        finally:
            engine.dispose()

    def _drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        # Each DROP DATABASE waits for a checkpoint; together they share one.
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(self._drop, self.made))
        finally:
            self.admin.dispose()
