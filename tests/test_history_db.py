"""pending_histories against real system databases left by dbos 3.4.0.

A child process launches DBOS, starts workflows that block (``recv`` and
``sleep`` with hour-long timeouts), enqueues one on a queue nobody listens
to, waits until their rows are written, and exits without letting them
finish: the database then holds what a crashed application leaves behind.
PostgreSQL tests run when WFL_TEST_POSTGRES_URL names a server (``.ci/run``
sets it), each run on a database of its own.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from workflow_lint_runtime import (
    HistoryDatabaseError,
    PendingHistory,
    pending_histories,
)
from workflow_lint_runtime import history as history_module

pytestmark = pytest.mark.dbos

POSTGRES_ENV = "WFL_TEST_POSTGRES_URL"

LEAVE_PENDING = r"""
import os
import sys
import time

from dbos import DBOS, DBOSConfiguredInstance, SetWorkflowID


@DBOS.step()
def first() -> int:
    return 1


@DBOS.workflow()
def waiter() -> None:
    first()
    DBOS.recv("go", timeout_seconds=3600)


@DBOS.workflow()
def sleeper() -> None:
    if DBOS.patch("sleeper-fast"):
        first()
    DBOS.sleep(3600)


@DBOS.workflow()
def parent() -> None:
    waiter()


@DBOS.workflow()
def done() -> int:
    return first()


@DBOS.dbos_class()
class Shop(DBOSConfiguredInstance):
    def __init__(self, name: str) -> None:
        super().__init__(name)

    @DBOS.workflow()
    def wait_order(self) -> None:
        first()
        DBOS.recv("go", timeout_seconds=3600)


shop = Shop("east")
DBOS(
    config={
        "name": "shimtest",
        "system_database_url": sys.argv[1],
        "notification_listener_polling_interval_sec": 0.01,
        "log_level": "ERROR",
    }
)
DBOS.listen_queues(["elsewhere"])  # so "parked" keeps what it is given
DBOS.launch()
parked = DBOS.register_queue("parked")
with SetWorkflowID("w-done"):
    done()
for workflow_id, workflow in [
    ("w-wait", waiter),
    ("w-sleep", sleeper),
    ("w-shop", shop.wait_order),
    ("w-parent", parent),
]:
    with SetWorkflowID(workflow_id):
        DBOS.start_workflow(workflow)
with SetWorkflowID("w-queued"):
    parked.enqueue(waiter)

waiting = {"w-wait": 3, "w-sleep": 3, "w-shop": 3, "w-parent-1": 3, "w-parent": 1}
deadline = time.monotonic() + 60
while any(
    max((s["function_id"] for s in DBOS.list_workflow_steps(w)), default=0) < n
    for w, n in waiting.items()
):
    assert time.monotonic() < deadline, "workflows never reached their waits"
    time.sleep(0.02)
print("ready", DBOS.application_version, flush=True)
DBOS.destroy()
os._exit(0)  # the waiting workflows stay PENDING, as after a crash
"""

WAITING = ("first", None, "DBOS.sleep")  # recv: timer at N+1, no row at N yet
EXPECTED = {
    # workflow_id: (name, class_name, config_name, status, rows)
    "w-wait": ("waiter", None, None, "PENDING", WAITING),
    "w-sleep": (
        "sleeper",
        None,
        None,
        "PENDING",
        ("DBOS.patch-sleeper-fast", "first", "DBOS.sleep"),
    ),
    "w-shop": ("Shop.wait_order", "Shop", "east", "PENDING", WAITING),
    # A direct child call: the child's row at N; DBOS.getResult at N+1 later.
    "w-parent": ("parent", None, None, "PENDING", ("waiter",)),
    "w-parent-1": ("waiter", None, None, "PENDING", WAITING),
    "w-queued": ("waiter", None, None, "ENQUEUED", ()),
}


@dataclass(frozen=True)
class PendingDatabase:
    url: str
    version: str
    path: Path | None = None  # the SQLite file


def leave_pending(db_url: str, workdir: Path) -> str:
    """Run the child against ``db_url``; the application version it ran."""
    script = workdir / "leave_pending.py"
    script.write_text(LEAVE_PENDING)
    done = subprocess.run(
        [sys.executable, str(script), db_url],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    ready = done.stdout.split()
    assert ready[:1] == ["ready"], done.stdout
    return ready[1]


def admin_engine(url: str) -> sa.Engine:
    parsed = sa.make_url(url).set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="module")
def sqlite_pending(tmp_path_factory: pytest.TempPathFactory) -> PendingDatabase:
    workdir = tmp_path_factory.mktemp("sqlite_pending")
    path = workdir / "dbos.sqlite"
    url = f"sqlite:///{path}"
    return PendingDatabase(url, leave_pending(url, workdir), path)


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[tuple[sa.Engine, sa.URL]]:
    """An admin engine on WFL_TEST_POSTGRES_URL, and the URL to derive from."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    engine = admin_engine(url)
    try:
        yield engine, sa.make_url(url)
    finally:
        engine.dispose()


@contextmanager
def new_database(postgres: tuple[sa.Engine, sa.URL]) -> Iterator[str]:
    """The URL of a database made for this run (wfl_test_<random>), dropped
    afterwards with whatever connections are left on it."""
    engine, base = postgres
    name = f"wfl_test_{uuid.uuid4().hex[:12]}"
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def fresh_database(postgres_server: tuple[sa.Engine, sa.URL]) -> Iterator[str]:
    with new_database(postgres_server) as url:
        yield url


@pytest.fixture(scope="module")
def postgres_pending(
    postgres_server: tuple[sa.Engine, sa.URL],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PendingDatabase]:
    with new_database(postgres_server) as url:
        workdir = tmp_path_factory.mktemp("postgres_pending")
        yield PendingDatabase(url, leave_pending(url, workdir))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def pending(request: pytest.FixtureRequest) -> PendingDatabase:
    database: PendingDatabase = request.getfixturevalue(f"{request.param}_pending")
    return database


# ------------------------------------------------------------- histories
def test_reads_every_pending_history_exactly(pending: PendingDatabase) -> None:
    histories = pending_histories(pending.url)
    by_id = {h.workflow_id: h for h in histories}
    assert len(by_id) == len(histories)
    assert set(by_id) == set(EXPECTED)  # w-done finished: not listed
    for workflow_id, (name, class_name, config, status, rows) in EXPECTED.items():
        found = by_id[workflow_id]
        assert isinstance(found.created_at, int)
        assert found == PendingHistory(
            workflow_id=workflow_id,
            workflow_name=name,
            class_name=class_name,
            config_name=config,
            status=status,
            application_version=pending.version,
            rows=rows,
            created_at=found.created_at,
        )
    created = [h.created_at or 0 for h in histories]
    assert created == sorted(created)  # oldest first


def test_statuses_can_be_narrowed(sqlite_pending: PendingDatabase) -> None:
    queued = pending_histories(sqlite_pending.url, statuses=["ENQUEUED"])
    assert [h.workflow_id for h in queued] == ["w-queued"]
    done = pending_histories(sqlite_pending.url, statuses=["SUCCESS"])
    assert [(h.workflow_id, h.rows) for h in done] == [("w-done", ("first",))]


def test_progress_counts_every_workflow(sqlite_pending: PendingDatabase) -> None:
    calls: list[tuple[int, int]] = []
    pending_histories(sqlite_pending.url, progress=lambda *c: calls.append(c))
    total = len(EXPECTED)
    assert calls == [(done, total) for done in range(total + 1)]


# ------------------------------------------------------------- read-only
def test_sqlite_file_is_left_byte_for_byte(sqlite_pending: PendingDatabase) -> None:
    path = sqlite_pending.path
    assert path is not None
    before = (
        path.read_bytes(),
        path.stat().st_mtime_ns,
        sorted(os.listdir(path.parent)),
    )
    assert len(pending_histories(sqlite_pending.url)) == len(EXPECTED)
    after = (
        path.read_bytes(),
        path.stat().st_mtime_ns,
        sorted(os.listdir(path.parent)),
    )
    assert after == before  # no write, and no journal or WAL file either


def test_sqlite_engine_refuses_writes(sqlite_pending: PendingDatabase) -> None:
    engine, _ = history_module._read_only_engine(sqlite_pending.url)
    try:
        with (
            engine.connect() as connection,
            pytest.raises(sa.exc.OperationalError, match="readonly"),
        ):
            connection.exec_driver_sql("DELETE FROM workflow_status")
    finally:
        engine.dispose()


def _digest(engine: sa.Engine) -> list[object]:
    with engine.connect() as connection:
        return [
            connection.exec_driver_sql(
                f"SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} t"
            ).scalar()
            for table in ("dbos.workflow_status", "dbos.operation_outputs")
        ]


@pytest.mark.postgres
def test_postgres_sessions_are_read_only(
    postgres_pending: PendingDatabase, postgres_server: tuple[sa.Engine, sa.URL]
) -> None:
    engine, _ = history_module._read_only_engine(postgres_pending.url)
    try:
        with engine.connect() as connection:
            read_only = connection.exec_driver_sql("SHOW transaction_read_only")
            assert read_only.scalar() == "on"
            with pytest.raises(sa.exc.InternalError, match="read-only transaction"):
                connection.exec_driver_sql("DELETE FROM dbos.workflow_status")
    finally:
        engine.dispose()
    admin = admin_engine(postgres_pending.url)
    try:
        before = _digest(admin)
        assert len(pending_histories(postgres_pending.url)) == len(EXPECTED)
        assert _digest(admin) == before
    finally:
        admin.dispose()


# ---------------------------------------------------------------- errors
def one_line_error(db_url: str) -> str:
    with pytest.raises(HistoryDatabaseError) as caught:
        pending_histories(db_url)
    message = str(caught.value)
    assert "\n" not in message and message.strip() == message
    return message


@pytest.mark.parametrize(
    ("db_url", "expected"),
    [
        ("not a url", "not a database URL"),
        ("mysql://user@host/db", "unsupported database 'mysql'"),
        ("sqlite://", "names no SQLite file"),
        ("sqlite:///:memory:", "names no SQLite file"),
    ],
)
def test_bad_urls(db_url: str, expected: str) -> None:
    assert expected in one_line_error(db_url)


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nope.sqlite"
    assert f"no SQLite database file at {path}" in one_line_error(f"sqlite:///{path}")
    assert not path.exists()


def test_sqlite_without_dbos_tables(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER)")
    for path in (empty, other):
        message = one_line_error(f"sqlite:///{path}")
        assert "is not a DBOS system database" in message


def test_a_file_that_is_no_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("not a database, just text\n" * 100)
    assert "file is not a database" in one_line_error(f"sqlite:///{path}")


def test_an_older_schema(sqlite_pending: PendingDatabase, tmp_path: Path) -> None:
    assert sqlite_pending.path is not None
    older = tmp_path / "older.sqlite"
    shutil.copy(sqlite_pending.path, older)
    with sqlite3.connect(older) as connection:
        connection.execute("UPDATE dbos_migrations SET version = version - 1")
    message = one_line_error(f"sqlite:///{older}")
    assert "is at DBOS schema version" in message
    assert "older than" in message


@pytest.mark.postgres
def test_postgres_errors(
    postgres_server: tuple[sa.Engine, sa.URL], fresh_database: str
) -> None:
    _, base = postgres_server

    def url(**changes: Any) -> str:
        return base.set(**changes).render_as_string(hide_password=False)

    wrong_password = one_line_error(url(password="not-the-password"))
    assert wrong_password.startswith("cannot read postgresql")
    assert "not-the-password" not in wrong_password
    missing = f"wfl_test_missing_{uuid.uuid4().hex[:8]}"
    assert f'database "{missing}" does not exist' in one_line_error(
        url(database=missing)
    )
    assert "has no dbos.dbos_migrations table" in one_line_error(fresh_database)
