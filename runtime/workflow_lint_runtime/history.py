"""Read the histories of pending workflows from a DBOS system database.

``workflow-lint replay`` and ``patches`` judge what recovery would do with
the workflows still in flight, so they need, for each PENDING or ENQUEUED
workflow, the names recorded at each position.  Everything is read through
dbos's own ``DBOSClient`` (``list_workflows``, ``list_workflow_steps``), so
the tables' layout stays dbos's business.  The client is handed an engine
built here, because only the engine decides whether access is read-only:

- SQLite: the file is opened with SQLite's ``mode=ro`` URI, so the library
  itself refuses every write (and never creates a missing file);
- PostgreSQL: every session starts with ``default_transaction_read_only``
  on, so the server refuses every write in every transaction.

A production database is often in use while it is read: each workflow's
steps are read in a transaction of their own, so a workflow that moves on
meanwhile is seen at some point of its progress, never torn within a read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    import sqlalchemy as sa
    from dbos import DBOSClient, StepInfo, WorkflowStatus

PENDING_STATUSES = ("PENDING", "ENQUEUED")
"""The workflows recovery or a queue worker will run again with new code."""

Progress = Callable[[int, int], None]
"""Called with (workflows read, workflows to read) as a scan goes."""

__all__ = [
    "PENDING_STATUSES",
    "HistoryDatabaseError",
    "PendingHistory",
    "Progress",
    "pending_histories",
]


class HistoryDatabaseError(Exception):
    """The database cannot be read as a DBOS system database; the message is
    one line, fit to print before exiting."""


@dataclass(frozen=True, slots=True)
class PendingHistory:
    """One pending workflow and what it recorded.

    ``rows[i]`` is the name recorded at ``function_id`` ``i + 1``, None where
    the position holds no row: an operation still waiting has none yet (a
    ``recv`` records its ``DBOS.sleep`` timer at N+1 first, its own row at N
    only when it returns).  ``created_at`` is in epoch milliseconds.
    """

    workflow_id: str
    workflow_name: str
    class_name: str | None
    config_name: str | None
    status: str
    application_version: str | None
    rows: tuple[str | None, ...]
    created_at: int | None


def pending_histories(
    db_url: str,
    *,
    progress: Progress | None = None,
    schema: str = "dbos",
    statuses: Sequence[str] = PENDING_STATUSES,
) -> list[PendingHistory]:
    """Every workflow of ``db_url`` in ``statuses``, oldest first, with its rows.

    ``db_url`` is ``sqlite:///path`` or ``postgresql://...``; ``schema`` is the
    DBOS system schema (PostgreSQL only).  Raises HistoryDatabaseError for a
    bad URL, a missing or unreachable database, a database without DBOS's
    tables, or one at an older DBOS schema version.
    """
    with _client(db_url, schema) as (client, printable):
        try:
            found = client.list_workflows(
                status=list(statuses), load_input=False, load_output=False
            )
            if progress is not None:
                progress(0, len(found))
            histories = []
            for done, status in enumerate(found, 1):
                # DBOSClient has no call for the steps of many workflows at once.
                steps = client.list_workflow_steps(
                    status.workflow_id, load_output=False
                )
                histories.append(_history(status, steps))
                if progress is not None:
                    progress(done, len(found))
            return histories
        except Exception as error:
            if isinstance(error, HistoryDatabaseError) or not _is_database(error):
                raise
            raise HistoryDatabaseError(
                f"cannot read {printable}: {_first_line(error)}"
            ) from error


def _history(status: WorkflowStatus, steps: Sequence[StepInfo]) -> PendingHistory:
    rows: list[str | None] = [None] * max((s["function_id"] for s in steps), default=0)
    for step in steps:
        rows[step["function_id"] - 1] = step["function_name"]
    return PendingHistory(
        workflow_id=status.workflow_id,
        workflow_name=status.name,
        class_name=status.class_name,
        config_name=status.config_name,
        status=str(status.status),
        application_version=status.app_version,
        rows=tuple(rows),
        created_at=status.created_at,
    )


# ------------------------------------------------------------- connection
@contextmanager
def _client(db_url: str, schema: str) -> Iterator[tuple[DBOSClient, str]]:
    """A DBOSClient over a read-only engine, after checking the schema."""
    engine, printable = _read_only_engine(db_url)
    try:
        _check_schema(engine, printable, schema)
        from dbos import DBOSClient

        # lazy: the schema check above already connected, and the client's
        # own check logs an error through dbos's logger before raising.
        client = DBOSClient(
            system_database_engine=engine,
            dbos_system_schema=schema,
            lazy=True,
            retry_connection_errors=False,
        )
        try:
            yield client, printable
        finally:
            client.destroy()
    finally:
        engine.dispose()  # the client leaves an engine it was given alone


def _read_only_engine(db_url: str) -> tuple[sa.Engine, str]:
    """The engine, and the URL to name in messages (without its password)."""
    import sqlalchemy as sa

    try:
        url = sa.make_url(db_url)
    except sa.exc.ArgumentError:
        raise HistoryDatabaseError(
            f"not a database URL: {db_url!r} "
            f"(expected sqlite:///path/to/file or postgresql://user@host/db)"
        ) from None
    backend = url.get_backend_name()
    printable = url.render_as_string(hide_password=True)
    if backend == "sqlite":
        return _sqlite_engine(url), printable
    if backend in ("postgresql", "postgres"):
        return _postgres_engine(url), printable
    raise HistoryDatabaseError(
        f"unsupported database {backend!r} in {db_url!r}: DBOS system "
        f"databases are SQLite (sqlite:///path) or PostgreSQL (postgresql://...)"
    )


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    import sqlalchemy as sa

    path = url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise HistoryDatabaseError(
            f"{url} names no SQLite file: write sqlite:///path/to/file"
        )
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise HistoryDatabaseError(f"no SQLite database file at {path}")
    # mode=ro: SQLite refuses writes itself, and never creates the file.
    # The path is percent-encoded because SQLite parses the URI ('#', '?').
    read_only = sa.URL.create(
        "sqlite",
        database="file:" + quote(path),
        query={"mode": "ro", "uri": "true"},
    )
    # timeout: wait for a running application's write lock, as DBOS does.
    return sa.create_engine(read_only, connect_args={"timeout": 30})


def _postgres_engine(url: sa.URL) -> sa.Engine:
    import sqlalchemy as sa

    given = url.query.get("options", ())
    options = [given] if isinstance(given, str) else list(given)
    options.append("-c default_transaction_read_only=on")
    connect_args: dict[str, object] = {"options": " ".join(options)}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = 10
    if "application_name" not in url.query:
        connect_args["application_name"] = "workflow-lint"
    try:
        return sa.create_engine(
            url.set(drivername="postgresql+psycopg"),
            connect_args=connect_args,
            pool_size=2,
            max_overflow=0,
        )
    except ImportError:
        raise HistoryDatabaseError(
            "reading PostgreSQL needs psycopg: pip install 'psycopg[binary]'"
        ) from None


def _check_schema(engine: sa.Engine, printable: str, schema: str) -> None:
    """Refuse a database without DBOS's tables, or at an older schema.

    DBOSClient never checks (it assumes its application migrated the
    database) and has no call for the version, so this asks dbos's own
    migration module: reads only, no SQL of ours.
    """
    from dbos._migration import get_migration_versions, get_sqlite_migration_versions

    try:
        if engine.dialect.name == "sqlite":
            current, latest = get_sqlite_migration_versions(engine)
            where = "dbos_migrations table"
        else:
            current, latest = get_migration_versions(engine, schema, False)
            where = f"{schema}.dbos_migrations table"
    except Exception as error:
        if not _is_database(error):
            raise
        raise HistoryDatabaseError(
            f"cannot read {printable}: {_first_line(error)}"
        ) from error
    if current == 0:
        raise HistoryDatabaseError(
            f"{printable} is not a DBOS system database (it has no {where})"
        )
    if current < latest:
        version = _dbos_version()
        raise HistoryDatabaseError(
            f"{printable} is at DBOS schema version {current}, older than the "
            f"version {latest} that dbos {version} reads: migrate it first "
            f"(`dbos migrate`, or run the application once with dbos {version})"
        )


def _is_database(error: BaseException) -> bool:
    """Errors that mean the database, not this code, is the problem."""
    import sqlalchemy as sa
    from dbos._error import DBOSException

    return isinstance(error, (sa.exc.SQLAlchemyError, DBOSException))


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def _dbos_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dbos")
    except PackageNotFoundError:
        return "(unknown version)"
