"""``replay --db``, ``patches --db`` and ``patch deprecate|remove --db``, held
against what real recovery with dbos 3.4.0 does.

The story, on SQLite and on PostgreSQL (WFL_TEST_POSTGRES_URL):

- **s1**: ``OLD`` code (version pinned to ``1.0``) starts one workflow of each
  kind and is interrupted: each waits in ``DBOS.recv``, in ``DBOS.sleep``, or
  on a queue no process listens to.
- The code becomes ``NEW``: an audit step inserted in three workflows (one
  correctly patched, one with no patch, one patched right before the waiting
  ``recv``), two workflows cut short, one renamed.
- **recovered**: ``NEW`` launched on a copy of s1, every message sent: the
  real fate of each workflow ``replay`` judged on s1.
- **s2**: ``NEW`` launched on a copy of s1 (recovery runs) and a new
  ``fulfil`` started: it holds the patch marker; the pre-patch one waits on.
- **s3**: the pre-patch ``fulfil`` has finished; **s4**: with the patch
  deprecated, every ``fulfil`` has finished.
- **s2 under DEPRECATED**, **s3 under REMOVED**: what would happen if the
  refused rewrites had been deployed anyway.

The CLI runs in-process (``main``) in a git repository holding the new code,
and every call checks that the database is left exactly as it was.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import GitRepo
from tests.db_story import (
    POSTGRES_ENV,
    Backend,
    Database,
    PostgresBackend,
    SqliteBackend,
    Stage,
)
from workflow_lint.cli import main

pytestmark = pytest.mark.dbos

VERSION = "1.0"

OLD = """\
from dbos import DBOS


@DBOS.step()
def reserve(order_id: str) -> str:
    return f"reserved {order_id}"


@DBOS.step()
def audit(order_id: str) -> str:
    return f"audited {order_id}"


@DBOS.step()
def charge(order_id: str) -> str:
    return f"charged {order_id}"


@DBOS.step()
def ship(order_id: str) -> str:
    return f"shipped {order_id}"


@DBOS.workflow()
def fulfil(order_id: str) -> str:
    reserve(order_id)
    charge(order_id)
    DBOS.recv("go", timeout_seconds=3600)
    return ship(order_id)


@DBOS.workflow()
def checkout(order_id: str) -> str:
    reserve(order_id)
    DBOS.recv("go", timeout_seconds=3600)
    return charge(order_id)


@DBOS.workflow()
def gift(order_id: str) -> str:
    reserve(order_id)
    DBOS.recv("go", timeout_seconds=3600)
    return ship(order_id)


@DBOS.workflow()
def nightly(order_id: str) -> str:
    reserve(order_id)
    DBOS.sleep(3600)
    return ship(order_id)


@DBOS.workflow()
def survey(order_id: str) -> str:
    reserve(order_id)
    DBOS.recv("go", timeout_seconds=3600)
    return ship(order_id)


@DBOS.workflow()
def legacy_refund(order_id: str) -> str:
    reserve(order_id)
    DBOS.recv("go", timeout_seconds=3600)
    return "refunded"


@DBOS.workflow()
def ping(order_id: str) -> str:
    return reserve(order_id)
"""


def _edit(source: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


PATCH = "fulfil-add-audit"
# fulfil: the audit step, patched as `workflow-lint fix` writes it.
NEW = _edit(
    OLD,
    (
        "def fulfil(order_id: str) -> str:\n    reserve(order_id)\n",
        "def fulfil(order_id: str) -> str:\n    reserve(order_id)\n"
        f'    if DBOS.patch("{PATCH}"):\n        audit(order_id)\n',
    ),
    # checkout: the audit step inserted before the recv, unpatched -> break.
    (
        "def checkout(order_id: str) -> str:\n    reserve(order_id)\n",
        "def checkout(order_id: str) -> str:\n    reserve(order_id)\n"
        "    audit(order_id)\n",
    ),
    # gift: patched the way `fix` patches it, right before the recv; a
    # workflow waiting in that recv has no row there, so DBOS.patch writes
    # its marker and the audit meets the recv's timer row -> break.
    (
        "def gift(order_id: str) -> str:\n    reserve(order_id)\n",
        "def gift(order_id: str) -> str:\n    reserve(order_id)\n"
        '    if DBOS.patch("gift-add-audit"):\n        audit(order_id)\n',
    ),
    # nightly and survey now end early -> drift (recorded rows never replayed).
    (
        "    reserve(order_id)\n    DBOS.sleep(3600)\n    return ship(order_id)\n",
        "    return reserve(order_id)\n",
    ),
    (
        "def survey(order_id: str) -> str:\n    reserve(order_id)\n"
        '    DBOS.recv("go", timeout_seconds=3600)\n    return ship(order_id)\n',
        "def survey(order_id: str) -> str:\n    return reserve(order_id)\n",
    ),
    # legacy_refund renamed -> strand.
    ("def legacy_refund(", "def refund("),
)
DEPRECATED = _edit(
    NEW,
    (
        f'    if DBOS.patch("{PATCH}"):\n        audit(order_id)\n',
        f'    DBOS.deprecate_patch("{PATCH}")\n    audit(order_id)\n',
    ),
)
REMOVED = _edit(DEPRECATED, (f'    DBOS.deprecate_patch("{PATCH}")\n', ""))


def _line(source: str, text: str, after: str = "") -> int:
    """The 1-based line of ``text`` (the first one after the line ``after``)."""
    lines = source.splitlines()
    start = lines.index(after) if after else 0
    return lines.index(text, start) + 1


PATCH_LINE = _line(NEW, f'    if DBOS.patch("{PATCH}"):')
GIFT_PATCH_LINE = _line(NEW, '    if DBOS.patch("gift-add-audit"):')
DEPRECATE_LINE = _line(DEPRECATED, f'    DBOS.deprecate_patch("{PATCH}")')

# What each workflow left in s1 (OLD code), and when it is waiting.
STARTED = {
    # workflow_id: (workflow, rows once it waits)
    "f-old": ("fulfil", 4),  # reserve, charge, (recv: no row yet), DBOS.sleep
    "c-1": ("checkout", 3),
    "g-1": ("gift", 3),
    "n-1": ("nightly", 2),  # reserve, DBOS.sleep (an hour)
    "s-1": ("survey", 3),
    "r-1": ("legacy_refund", 3),
}
FINISHED = "p-1"  # ping: SUCCESS in s1, so never listed
QUEUED = "f-queued"  # fulfil, ENQUEUED on a queue no process listens to
FULFILS = ("f-old", "f-new", QUEUED)

# replay --db s1 against NEW: (fate, position, recorded, expected)
S1_VERDICTS: dict[str, tuple[str, int | None, str | None, str | None]] = {
    "f-old": ("ok", None, None, None),
    QUEUED: ("ok", None, None, None),
    "c-1": ("break", 3, "DBOS.sleep", "DBOS.recv"),
    "g-1": ("break", 3, "DBOS.sleep", "audit"),
    "n-1": ("drift", 2, "DBOS.sleep", None),
    "s-1": ("drift", 3, "DBOS.sleep", None),
    "r-1": ("strand", None, None, None),
}


def _send(*workflow_ids: str) -> list[list[str]]:
    return [[w, "go", "go"] for w in workflow_ids]


# ------------------------------------------------------------------ stages
@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    workdir = tmp_path_factory.mktemp(f"db_commands_{request.param}")
    made: Backend
    if request.param == "sqlite":
        made = SqliteBackend(workdir)
    else:
        url = os.environ.get(POSTGRES_ENV)
        if not url:
            pytest.skip(f"{POSTGRES_ENV} is not set")
        made = PostgresBackend(workdir, url)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def s1(backend: Backend) -> Stage:
    plan = {
        "version": VERSION,
        "listen": [],
        "queues": ["parked"],
        "start": [[w, name, w] for w, (name, _) in STARTED.items()]
        + [[FINISHED, "ping", FINISHED]],
        "enqueue": [["parked", QUEUED, "fulfil", QUEUED]],
        "wait": {
            **{w: ["rows", rows] for w, (_, rows) in STARTED.items()},
            FINISHED: "done",
        },
    }
    return backend.stage("s1", OLD, plan)


@pytest.fixture(scope="module")
def recovered(backend: Backend, s1: Stage) -> Stage:
    """NEW on s1, every message sent and the queue served: the real fates."""
    plan = {
        "version": VERSION,
        "listen": ["parked"],
        "queues": ["parked"],
        "send": _send(*STARTED, QUEUED),
        "wait": {
            **{w: "done" for w in S1_VERDICTS if w != "r-1"},
            "r-1": "resumed",
        },
    }
    return backend.stage("recovered", NEW, plan, source=s1.db)


@pytest.fixture(scope="module")
def s2(backend: Backend, s1: Stage) -> Stage:
    """NEW deployed on s1: recovery runs; a new fulfil takes the patch."""
    plan = {
        "version": VERSION,
        "listen": [],
        "start": [["f-new", "fulfil", "f-new"]],
        "wait": {
            # reserve, marker, audit, charge, (recv), DBOS.sleep
            "f-new": ["rows", 6],
            "f-old": "resumed",
            "r-1": "resumed",
            **{w: "done" for w in ("c-1", "g-1", "n-1", "s-1")},
        },
    }
    return backend.stage("s2", NEW, plan, source=s1.db)


@pytest.fixture(scope="module")
def s2_deprecated(backend: Backend, s2: Stage) -> Stage:
    """Had DEPRECATED been deployed on s2: every fulfil let go."""
    plan = {
        "version": VERSION,
        "listen": ["parked"],
        "queues": ["parked"],
        "send": _send(*FULFILS),
        "wait": {w: "done" for w in FULFILS},
    }
    return backend.stage("s2_deprecated", DEPRECATED, plan, source=s2.db)


@pytest.fixture(scope="module")
def s3(backend: Backend, s2: Stage) -> Stage:
    """Still NEW: the pre-patch fulfil gets its message and finishes."""
    plan = {
        "version": VERSION,
        "listen": [],
        "send": _send("f-old"),
        "wait": {"f-old": "done", "f-new": "resumed", "r-1": "resumed"},
    }
    return backend.stage("s3", NEW, plan, source=s2.db)


@pytest.fixture(scope="module")
def s3_removed(backend: Backend, s3: Stage) -> Stage:
    """Had REMOVED been deployed on s3."""
    plan = {
        "version": VERSION,
        "listen": ["parked"],
        "queues": ["parked"],
        "send": _send("f-new", QUEUED),
        "wait": {"f-new": "done", QUEUED: "done"},
    }
    return backend.stage("s3_removed", REMOVED, plan, source=s3.db)


@pytest.fixture(scope="module")
def s4(backend: Backend, s3: Stage) -> Stage:
    """DEPRECATED deployed on s3: every fulfil finishes."""
    plan = {
        "version": VERSION,
        "listen": ["parked"],
        "queues": ["parked"],
        "send": _send("f-new", QUEUED),
        "wait": {"f-new": "done", QUEUED: "done", "r-1": "resumed"},
    }
    return backend.stage("s4", DEPRECATED, plan, source=s3.db)


# --------------------------------------------------------------------- CLI
@dataclass
class Result:
    status: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.err == "", self.err
        return json.loads(self.out)


Cli = Callable[..., Result]


@pytest.fixture
def project(
    git_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], GitRepo]:
    """``project(code)``: a repository whose HEAD is OLD (what in-flight
    workflows ran) and whose working tree holds ``code``; the current folder."""

    def make(code: str) -> GitRepo:
        repo = git_repo({"app.py": OLD})
        repo.write({"app.py": code})
        monkeypatch.chdir(repo.path)
        return repo

    return make


@pytest.fixture
def read_only_sessions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``default_transaction_read_only`` of every PostgreSQL session the
    commands open, as the server reports it."""
    from workflow_lint_runtime import history

    seen: list[str] = []
    real_engine = history._postgres_engine

    def spying(url: sa.URL) -> sa.Engine:
        engine = real_engine(url)

        @sa.event.listens_for(engine, "connect")
        def connected(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("SHOW default_transaction_read_only")
            seen.append(cursor.fetchone()[0])
            cursor.close()

        return engine

    monkeypatch.setattr(history, "_postgres_engine", spying)
    return seen


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str],
    backend: Backend,
    read_only_sessions: list[str],
) -> Cli:
    """``cli(*argv, db=stage)``: main() in-process with ``--db`` appended.

    Fails the test if the command changed anything in the database: the
    SQLite file's bytes, time and folder, or every PostgreSQL table's
    contents; and on PostgreSQL if any session it opened accepts writes.
    """

    def run(*argv: str, db: Stage | Database | None = None) -> Result:
        database = db.db if isinstance(db, Stage) else db
        args = [*argv]
        before = None
        if database is not None:
            args += ["--db", database.url]
            before = backend.fingerprint(database)
        read_only_sessions.clear()
        capsys.readouterr()
        status = main(args)
        captured = capsys.readouterr()
        if database is not None:
            assert backend.fingerprint(database) == before, "the database was written"
            if isinstance(backend, PostgresBackend) and status != 2:
                assert read_only_sessions, "no session seen"
            assert set(read_only_sessions) <= {"on"}, read_only_sessions
        return Result(status, captured.out, captured.err)

    return run


def _pending(stage: Stage) -> dict[str, str]:
    return {
        w: r["status"]
        for w, r in stage.report.items()
        if r["status"] in ("PENDING", "ENQUEUED")
    }


def _mismatch(position: int, recorded: str, expected: str) -> str:
    """DBOSUnexpectedStepError's own words."""
    return (
        f"step {position}, function {recorded} was recorded when {expected} "
        f"was expected"
    )


def assert_recovery_agrees(entry: dict[str, Any], real: dict[str, Any]) -> None:
    """``entry`` (one workflow of ``replay --format json``) against what
    recovery with the new code really did to that workflow."""
    fate = entry["fate"]
    if fate == "break":
        assert real["status"] == "ERROR", real
        assert real["error_type"] == "DBOSUnexpectedStepError", real
        words = _mismatch(entry["position"], entry["recorded"], entry["expected"])
        assert words in real["error"], (words, real["error"])
    elif fate == "ok":
        assert real["status"] == "SUCCESS", real
    elif fate == "strand":
        assert real["status"] == "PENDING", real
        assert real["error"] is None, real
    elif fate == "drift":
        assert real["status"] == "SUCCESS", real
        # The row replay says is skipped is still there, at its position ...
        assert [entry["position"], entry["recorded"]] in real["steps"], real
    else:
        raise AssertionError(f"unexpected fate {fate!r}: {entry}")


# ------------------------------------------------------------ the story
def test_s1_holds_the_interrupted_workflows(s1: Stage) -> None:
    assert _pending(s1) == {**dict.fromkeys(STARTED, "PENDING"), QUEUED: "ENQUEUED"}
    assert s1.report[FINISHED]["status"] == "SUCCESS"
    # recv: its timer row at 3, none at 2 until it returns
    assert s1.report["c-1"]["steps"] == [[1, "reserve"], [3, "DBOS.sleep"]]
    assert s1.report[QUEUED]["steps"] == []


def test_replay_answers_what_recovery_does(
    project: Callable[[str], GitRepo], cli: Cli, s1: Stage, recovered: Stage
) -> None:
    project(NEW)
    result = cli("replay", "--format", "json", db=s1)
    assert result.status == 1
    doc = result.json()
    entries = {e["workflow_id"]: e for e in doc["pending"]}
    assert set(entries) == set(_pending(s1))  # the finished ping is not listed
    for workflow_id, (fate, position, recorded, expected) in S1_VERDICTS.items():
        entry = entries[workflow_id]
        assert (
            entry["fate"],
            entry["position"],
            entry["recorded"],
            entry["expected"],
        ) == (fate, position, recorded, expected), entry
        assert entry["status"] == s1.report[workflow_id]["status"]
        assert_recovery_agrees(entry, recovered.report[workflow_id])
    # drift: the new code returned without replaying the recorded wait.
    assert recovered.report["n-1"]["output"] == "reserved n-1"
    assert recovered.report["n-1"]["steps"] == [[1, "reserve"], [2, "DBOS.sleep"]]
    assert recovered.report["s-1"]["steps"] == [[1, "reserve"], [3, "DBOS.sleep"]]


def test_replay_json_shape(
    project: Callable[[str], GitRepo], cli: Cli, s1: Stage
) -> None:
    project(NEW)
    doc = cli("replay", "--format", "json", db=s1).json()
    assert set(doc) == {"schema_version", "pending", "summary"}
    assert doc["schema_version"] == 1
    assert doc["summary"] == {
        "ok": 2,
        "break": 2,
        "at risk": 0,
        "drift": 2,
        "strand": 1,
        "unknown": 0,
    }
    keys = {
        "workflow_id",
        "workflow",
        "status",
        "fate",
        "position",
        "recorded",
        "expected",
        "message",
    }
    for entry in doc["pending"]:
        assert set(entry) == keys
        assert isinstance(entry["message"], str) and entry["message"]
    by_id = {e["workflow_id"]: e for e in doc["pending"]}
    assert by_id["r-1"]["workflow"] == "legacy_refund"
    assert by_id["g-1"]["message"] == (
        f"step 3 recorded DBOS.sleep, the new code calls audit "
        f"(app.py:{GIFT_PATCH_LINE + 1})"
    )


def test_replay_text_groups_by_workflow(
    project: Callable[[str], GitRepo], cli: Cli, s1: Stage
) -> None:
    project(NEW)
    result = cli("replay", db=s1)
    assert (result.status, result.err) == (1, "")
    checkout_recv = _line(
        NEW,
        '    DBOS.recv("go", timeout_seconds=3600)',
        after="def checkout(order_id: str) -> str:",
    )
    assert result.out.splitlines() == [
        "workflow checkout: 1 pending, 1 would fail",
        f"  break    c-1 (PENDING): step 3 recorded DBOS.sleep, the new code calls "
        f"DBOS.recv (app.py:{checkout_recv})",
        "workflow fulfil: 2 pending, 0 would fail",
        "workflow gift: 1 pending, 1 would fail",
        f"  break    g-1 (PENDING): step 3 recorded DBOS.sleep, the new code calls "
        f"audit (app.py:{GIFT_PATCH_LINE + 1})",
        "workflow legacy_refund: 1 pending, 1 would fail",
        "  strand   r-1 (PENDING): its workflow is gone from the code: "
        "it stays PENDING",
        "workflow nightly: 1 pending, 1 would fail",
        "  drift    n-1 (PENDING): recorded DBOS.sleep at step 2 is never replayed",
        "workflow survey: 1 pending, 1 would fail",
        "  drift    s-1 (PENDING): recorded DBOS.sleep at step 3 is never replayed",
        "7 pending workflow(s): 2 ok, 2 break, 2 drift, 1 strand",
    ]


def test_replay_of_unchanged_code_is_clean(
    project: Callable[[str], GitRepo], cli: Cli, s1: Stage
) -> None:
    project(OLD)
    result = cli("replay", db=s1)
    assert (result.status, result.err) == (0, "")
    assert result.out.splitlines()[-1] == "7 pending workflow(s): 7 ok"


def _patches(result: Result) -> dict[str, dict[str, Any]]:
    assert result.status == 0, result
    return {p["patch"]: p for p in result.json()["patches"]}


def _counts(row: dict[str, Any]) -> tuple[str, int, int, int, str]:
    return (
        row["form"],
        row["hold_marker"],
        row["passed_without_marker"],
        row["not_reached"],
        row["verdict"],
    )


def test_patches_counts_follow_the_story(
    project: Callable[[str], GitRepo],
    cli: Cli,
    s1: Stage,
    s2: Stage,
    s3: Stage,
    s4: Stage,
) -> None:
    repo = project(NEW)
    at_s1 = _patches(cli("patches", "--format", "json", db=s1))
    assert set(at_s1) == {PATCH, "gift-add-audit"}
    # f-old passed the patch's position (it recorded charge there); f-queued
    # has not started.
    assert _counts(at_s1[PATCH]) == ("patch", 0, 1, 1, "keep")
    # g-1 has no row where the patch is (its recv is still waiting): DBOS.patch
    # will write the marker there, as for a workflow that never got so far.
    assert _counts(at_s1["gift-add-audit"]) == ("patch", 0, 0, 1, "ready to deprecate")
    # s2: f-new (started by NEW) holds the marker.
    assert "DBOS.patch-" + PATCH in [s[1] for s in s2.report["f-new"]["steps"]]
    at_s2 = _patches(cli("patches", "--format", "json", db=s2))
    assert _counts(at_s2[PATCH]) == ("patch", 1, 1, 1, "keep")
    assert _counts(at_s2["gift-add-audit"]) == ("patch", 0, 0, 0, "ready to deprecate")
    at_s3 = _patches(cli("patches", "--format", "json", db=s3))
    assert _counts(at_s3[PATCH]) == ("patch", 1, 0, 1, "ready to deprecate")
    repo.write({"app.py": DEPRECATED})
    deprecated_s3 = _patches(cli("patches", "--format", "json", db=s3))
    assert _counts(deprecated_s3[PATCH]) == ("deprecate_patch", 1, 0, 1, "keep")
    deprecated_s4 = _patches(cli("patches", "--format", "json", db=s4))
    assert _counts(deprecated_s4[PATCH]) == (
        "deprecate_patch",
        0,
        0,
        0,
        "ready to remove",
    )


def test_patches_text_and_json_shape(
    project: Callable[[str], GitRepo], cli: Cli, s2: Stage
) -> None:
    project(NEW)
    text = cli("patches", db=s2)
    assert (text.status, text.err) == (0, "")
    assert text.out.splitlines() == [
        f"app.py:{PATCH_LINE}: patch('{PATCH}') in fulfil: 1 pending hold its "
        f"marker, 1 passed it without, 1 have not reached it -> keep",
        f"app.py:{GIFT_PATCH_LINE}: patch('gift-add-audit') in gift: 0 pending hold "
        f"its marker, 0 passed it without, 0 have not reached it -> ready to "
        f"deprecate",
    ]
    doc = cli("patches", "--format", "json", db=s2).json()
    assert set(doc) == {"schema_version", "patches"}
    assert doc["schema_version"] == 1
    assert doc["patches"][0] == {
        "patch": PATCH,
        "workflow": "fulfil",
        "path": "app.py",
        "line": PATCH_LINE,
        "form": "patch",
        "hold_marker": 1,
        "passed_without_marker": 1,
        "not_reached": 1,
        "verdict": "keep",
    }


def test_patches_with_computed_versioning_counts_stranded(
    project: Callable[[str], GitRepo], cli: Cli, s2: Stage
) -> None:
    project(NEW)
    result = cli("patches", "--format", "json", "--versioning", "computed", db=s2)
    doc = result.json()
    assert doc["stranded_by_deploy"] == len(_pending(s2))
    text = cli("patches", "--versioning", "computed", db=s2)
    assert text.out.splitlines()[-1] == (
        f"a deploy of the working tree changes the computed application version: "
        f"{len(_pending(s2))} pending workflow(s) would be left to old executors"
    )


def test_patches_without_patches(
    project: Callable[[str], GitRepo], cli: Cli, s1: Stage
) -> None:
    project(OLD)
    result = cli("patches", db=s1)
    assert (result.status, result.out, result.err) == (
        0,
        "no patches in the code\n",
        "",
    )


def test_deprecate_refused_while_pre_patch_workflows_pend(
    project: Callable[[str], GitRepo],
    cli: Cli,
    s2: Stage,
    s2_deprecated: Stage,
) -> None:
    repo = project(NEW)
    result = cli("patch", "deprecate", PATCH, db=s2)
    assert (result.status, result.err) == (1, "")
    audit_line = DEPRECATE_LINE + 1
    assert result.out.splitlines() == [
        f"refusing to deprecate patch '{PATCH}': 1 pending workflow(s) still need it",
        "workflow fulfil: 1 pending, 1 would fail",
        f"  break    f-old (PENDING): step 2 recorded charge, the new code calls "
        f"audit (app.py:{audit_line})",
        "1 pending workflow(s): 1 break",
    ]
    assert (repo.path / "app.py").read_text() == NEW
    # Deployed anyway, DEPRECATED breaks f-old exactly there; the others run.
    real = s2_deprecated.report
    assert real["f-old"]["status"] == "ERROR"
    assert real["f-old"]["error_type"] == "DBOSUnexpectedStepError"
    assert _mismatch(2, "charge", "audit") in real["f-old"]["error"]
    assert real["f-new"]["status"] == real[QUEUED]["status"] == "SUCCESS"


def test_deprecate_accepted_once_they_finish(
    project: Callable[[str], GitRepo], cli: Cli, s3: Stage, s4: Stage
) -> None:
    assert s3.report["f-old"]["status"] == "SUCCESS"  # NEW let it finish
    repo = project(NEW)
    diff = cli("patch", "deprecate", PATCH, "--diff", db=s3)
    assert diff.status == 0
    assert f'+    DBOS.deprecate_patch("{PATCH}")' in diff.out
    assert (repo.path / "app.py").read_text() == NEW  # --diff writes nothing
    result = cli("patch", "deprecate", PATCH, db=s3)
    assert (result.status, result.err) == (0, "")
    assert result.out == (
        f"rewrote 1 site(s) of patch '{PATCH}' (deprecate); "
        f"no pending workflow needs it\n"
    )
    assert (repo.path / "app.py").read_text() == DEPRECATED
    # Deployed, DEPRECATED lets every pending fulfil finish.
    for workflow_id in ("f-new", QUEUED):
        assert s4.report[workflow_id]["status"] == "SUCCESS", s4.report[workflow_id]
    assert s4.report["f-new"]["output"] == "shipped f-new"


def test_remove_refused_while_a_pending_workflow_holds_the_marker(
    project: Callable[[str], GitRepo], cli: Cli, s3: Stage, s3_removed: Stage
) -> None:
    repo = project(DEPRECATED)
    result = cli("patch", "remove", PATCH, db=s3)
    assert (result.status, result.err) == (1, "")
    lines = result.out.splitlines()
    assert lines[0] == (
        f"refusing to remove patch '{PATCH}': 1 pending workflow(s) still need it"
    )
    assert lines[2].startswith(
        f"  break    f-new (PENDING): step 2 recorded DBOS.patch-{PATCH}, "
        f"the new code calls audit"
    )
    assert (repo.path / "app.py").read_text() == DEPRECATED
    real = s3_removed.report
    assert real["f-new"]["error_type"] == "DBOSUnexpectedStepError"
    assert _mismatch(2, f"DBOS.patch-{PATCH}", "audit") in real["f-new"]["error"]
    assert real[QUEUED]["status"] == "SUCCESS"  # had not reached the patch


def test_remove_accepted_once_no_one_holds_the_marker(
    project: Callable[[str], GitRepo], cli: Cli, s4: Stage
) -> None:
    repo = project(DEPRECATED)
    result = cli("patch", "remove", PATCH, db=s4)
    assert (result.status, result.err) == (0, "")
    assert result.out == (
        f"rewrote 1 site(s) of patch '{PATCH}' (remove); no pending workflow needs it\n"
    )
    assert (repo.path / "app.py").read_text() == REMOVED
    assert _pending(s4) == {"r-1": "PENDING"}  # stranded, whatever the patch


def test_patch_commands_name_a_missing_patch(
    project: Callable[[str], GitRepo], cli: Cli, s2: Stage
) -> None:
    project(NEW)
    result = cli("patch", "remove", PATCH, db=s2)  # not deprecated yet
    assert result.status == 2
    assert result.err == (
        f"workflow-lint: error: no DBOS.deprecate_patch('{PATCH}') found to remove\n"
    )


# ---------------------------------------------------------------- errors
def _one_error(result: Result, *needles: str) -> str:
    assert (result.status, result.out) == (2, ""), result
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("workflow-lint: error: "), lines
    assert "internal error" not in lines[0] and "Traceback" not in result.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def _sqlite_cases(folder: Path) -> list[tuple[str, str]]:
    missing = folder / "missing.sqlite"
    other = folder / "other.sqlite"
    connection = sqlite3.connect(other)
    with connection:
        connection.execute("CREATE TABLE orders (id INTEGER)")
    connection.close()
    text = folder / "notes.sqlite"
    text.write_text("not a database\n" * 200)
    return [
        ("not a url", "not a database URL"),
        ("mysql://user@localhost/db", "unsupported database 'mysql'"),
        ("sqlite://", "names no SQLite file"),
        (f"sqlite:///{missing}", f"no SQLite database file at {missing}"),
        (f"sqlite:///{other}", "is not a DBOS system database"),
        (f"sqlite:///{text}", "file is not a database"),
    ]


def _postgres_cases(backend: PostgresBackend) -> list[tuple[str, str]]:
    empty = backend.create(f"empty_{uuid.uuid4().hex[:6]}")
    missing = backend.base.set(database=f"{backend.prefix}_missing")
    wrong = backend.base.set(password="not-the-password")
    return [
        (empty.url, "is not a DBOS system database (it has no dbos.dbos_migrations"),
        (missing.render_as_string(hide_password=False), "does not exist"),
        (wrong.render_as_string(hide_password=False), "cannot read postgresql"),
    ]


@pytest.mark.parametrize(
    "command",
    [["replay"], ["patches"], ["patch", "deprecate", PATCH]],
    ids=lambda c: c[0],
)
def test_unreadable_databases_exit_2(
    command: list[str],
    backend: Backend,
    project: Callable[[str], GitRepo],
    cli: Cli,
    tmp_path: Path,
) -> None:
    repo = project(NEW)
    if isinstance(backend, PostgresBackend):
        cases = _postgres_cases(backend)
    else:
        cases = _sqlite_cases(tmp_path)
    files = {p: p.read_bytes() for p in tmp_path.glob("*.sqlite")}
    for url, needle in cases:
        line = _one_error(cli(*command, "--db", url), needle)
        assert "not-the-password" not in line
    assert {p: p.read_bytes() for p in tmp_path.glob("*.sqlite")} == files
    assert not (tmp_path / "missing.sqlite").exists()
    assert (repo.path / "app.py").read_text() == NEW


def test_without_a_git_repository_reads_the_current_folder(
    cli: Cli,
    s1: Stage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    git_env: None,
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "app.py").write_text(NEW)
    monkeypatch.chdir(folder)
    doc = cli("replay", "--format", "json", db=s1).json()
    assert {e["workflow_id"]: e["fate"] for e in doc["pending"]} == {
        w: v[0] for w, v in S1_VERDICTS.items()
    }


def test_mismatch_words_match_dbos() -> None:
    """_mismatch quotes DBOSUnexpectedStepError as dbos 3.4.0 words it."""
    from dbos._error import DBOSUnexpectedStepError

    error = DBOSUnexpectedStepError("wf", 3, "audit", "DBOS.sleep")
    assert re.search(re.escape(_mismatch(3, "DBOS.sleep", "audit")), str(error))
