"""``workflow-lint snapshot`` and ``check --base snapshot``, end to end: the
real command on real git repositories, and for ``--prune --db`` a real
system database left by dbos 3.4.0 with a workflow still pending.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo
from workflow_lint.cli import main
from workflow_lint.snapshot import LOCK_NAME, read_lock

MakeRepo = Callable[..., GitRepo]

STEPS = """\
from dbos import DBOS


@DBOS.step()
def screen(order: str) -> None:
    pass


@DBOS.step()
def reserve(order: str) -> bool:
    return True


@DBOS.step()
def audit(order: str) -> None:
    pass


@DBOS.step()
def charge(order: str) -> str:
    return f"ch-{order}"
"""

V1 = """\
from dbos import DBOS

from shop.steps import audit, charge, reserve, screen


@DBOS.workflow()
def checkout(order: str) -> str:
    reserve(order)
    return charge(order)


@DBOS.workflow()
def refund(order: str) -> str:
    return charge(order)
"""
# The next deploy: audit inserted (unpatched: v1 workflows were drained).
V2 = V1.replace(
    "    reserve(order)\n    return", "    reserve(order)\n    audit(order)\n    return"
)
AUDIT_LINE = V2.splitlines().index("    audit(order)") + 1
# Work in progress: a screening step first, which breaks both.
WIP = V2.replace("    reserve(order)\n", "    screen(order)\n    reserve(order)\n")
SCREEN_LINE = WIP.splitlines().index("    screen(order)") + 1

FILES = {
    "shop/__init__.py": "",
    "shop/steps.py": STEPS,
    "shop/flows.py": V1,
    "shop/util.py": "VALUE = 1\n",
    "README.md": "shop\n",
}


@dataclass
class Result:
    status: int
    out: str
    err: str

    def lines(self, code: str) -> list[str]:
        return [
            line
            for line in self.out.splitlines()
            if re.match(rf"^\S+:\d+:\d+: {code} ", line)
        ]


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    def invoke(cwd: Path, *argv: str) -> Result:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        status = main(list(argv))
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return invoke


def one_error(result: Result, *needles: str) -> None:
    assert result.status == 2, result
    (line,) = result.err.splitlines()
    assert line.startswith("workflow-lint: error: ")
    for needle in needles:
        assert needle in line, (needle, line)


@pytest.fixture
def deployed(git_repo: MakeRepo, cli: Any) -> GitRepo:
    """v1 and v2 both recorded as deployed (v2 newest); the tree holds v2."""
    repo = git_repo(FILES)
    assert cli(repo.path, "snapshot", "--version-id", "v1").status == 0
    repo.commit({"shop/flows.py": V2})
    assert cli(repo.path, "snapshot", "--version-id", "v2").status == 0
    return repo


# --- recording ---------------------------------------------------------------


def test_snapshot_records_the_workflow_files(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo(FILES)
    result = cli(repo.path, "snapshot")
    head = repo.head()
    assert result.status == 0, result
    assert result.out == (
        f"recorded version {head}: 2 file(s) in {LOCK_NAME} (1 version(s) recorded)\n"
    )
    doc = json.loads((repo.path / LOCK_NAME).read_text())
    assert doc["lock_version"] == 1
    (version,) = doc["versions"]
    assert version["id"] == head
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", version["recorded_at"]
    )
    # Files mentioning dbos and what they import; not util.py, README.md or
    # the (empty, never imported) package __init__.py.
    assert sorted(version["files"]) == ["shop/flows.py", "shop/steps.py"]
    lock = read_lock(str(repo.path / LOCK_NAME))
    assert lock.versions[0].files["shop/flows.py"] == V1.encode()
    # Stored compressed: no source text in the lock.
    assert "def checkout" not in (repo.path / LOCK_NAME).read_text()


def test_versions_share_unchanged_files(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo(FILES)
    cli(repo.path, "snapshot", "--version-id", "v1")
    cli(repo.path, "snapshot", "--version-id", "v1-hotfix")
    doc = json.loads((repo.path / LOCK_NAME).read_text())
    assert [v["id"] for v in doc["versions"]] == ["v1", "v1-hotfix"]
    assert len(doc["blobs"]) == 2
    # Recording an id again replaces it and makes it the newest.
    repo.write({"shop/flows.py": V2})
    cli(repo.path, "snapshot", "--version-id", "v1")
    doc = json.loads((repo.path / LOCK_NAME).read_text())
    assert [v["id"] for v in doc["versions"]] == ["v1-hotfix", "v1"]
    assert len(doc["blobs"]) == 3


def test_snapshot_outside_git_needs_a_version_id(tmp_path: Path, cli: Any) -> None:
    for path, text in FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    one_error(cli(tmp_path, "snapshot"), "--version-id")
    assert cli(tmp_path, "snapshot", "--version-id", "1.4.2").status == 0
    (version,) = read_lock(str(tmp_path / LOCK_NAME)).versions
    assert (version.id, sorted(version.files)) == (
        "1.4.2",
        ["shop/flows.py", "shop/steps.py"],
    )


# --- judging against every recorded version ----------------------------------


def test_check_against_every_recorded_version(deployed: GitRepo, cli: Any) -> None:
    # The tree is v2: v1's in-flight checkouts would meet audit.
    result = cli(deployed.path, "check", "--base", "snapshot")
    assert result.status == 1
    (line,) = result.lines("WFL101")
    assert line.startswith(f"shop/flows.py:{AUDIT_LINE}:5: WFL101 ")
    assert line.endswith("[recorded version v1]")
    # A change that breaks both versions is reported once, naming both.
    deployed.write({"shop/flows.py": WIP})
    result = cli(deployed.path, "check", "--base", "snapshot")
    (line,) = result.lines("WFL101")
    assert line.startswith(f"shop/flows.py:{SCREEN_LINE}:5: WFL101 ")
    assert line.endswith("[recorded versions v2, v1]")
    assert "1 error(s)" in result.out


def test_one_recorded_version(deployed: GitRepo, cli: Any) -> None:
    assert cli(deployed.path, "check", "--base", "snapshot:v2").status == 0
    result = cli(deployed.path, "check", "--base", "snapshot:v1")
    assert result.status == 1
    assert result.lines("WFL101")[0].endswith("[recorded version v1]")
    one_error(cli(deployed.path, "check", "--base", "snapshot:v9"), "v9", "v2, v1")


def test_a_workflow_gone_from_every_version_is_reported_once(
    deployed: GitRepo, cli: Any
) -> None:
    deployed.write(
        {"shop/flows.py": V2[: V2.index("\n\n@DBOS.workflow()\ndef refund")] + "\n"}
    )
    result = cli(deployed.path, "check", "--base", "snapshot", "--ignore", "WFL101")
    (line,) = result.lines("WFL102")
    assert "workflow refund is gone" in line
    assert line.endswith("[recorded versions v2, v1]")


def test_staged_and_json_against_the_lock(deployed: GitRepo, cli: Any) -> None:
    deployed.write({"shop/flows.py": WIP})
    assert (
        cli(deployed.path, "check", "--staged", "--base", "snapshot")
        .lines("WFL101")[0]
        .endswith("[recorded version v1]")
    )
    deployed.stage("shop/flows.py")
    result = cli(
        deployed.path, "check", "--staged", "--base", "snapshot", "--format", "json"
    )
    (finding,) = json.loads(result.out)["findings"]
    assert finding["message"].endswith("[recorded versions v2, v1]")


def test_base_snapshot_from_config(deployed: GitRepo, cli: Any) -> None:
    deployed.write({"pyproject.toml": '[tool.workflow-lint]\nbase = "snapshot"\n'})
    assert (
        cli(deployed.path, "check").lines("WFL101")[0].endswith("[recorded version v1]")
    )


def test_fix_against_one_recorded_version(deployed: GitRepo, cli: Any) -> None:
    one_error(cli(deployed.path, "fix", "--base", "snapshot"), "snapshot:ID", "v2, v1")
    result = cli(deployed.path, "fix", "--base", "snapshot:v1")
    assert result.status == 0, result
    assert "DBOS.patch(" in (deployed.path / "shop/flows.py").read_text()
    assert cli(deployed.path, "check", "--base", "snapshot:v1").status == 0
    # v2 recorded audit with no patch marker: the patch that keeps v1's
    # workflows on the old path sends v2's there too.  Judging against every
    # version is what shows it.
    result = cli(deployed.path, "check", "--base", "snapshot")
    (line,) = result.lines("WFL101")
    assert line.endswith("[recorded version v2]")


def test_no_lock_or_a_bad_lock(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo(FILES)
    one_error(
        cli(repo.path, "check", "--base", "snapshot"),
        LOCK_NAME,
        "workflow-lint snapshot",
    )
    (repo.path / LOCK_NAME).write_text("{not json")
    one_error(
        cli(repo.path, "check", "--base", "snapshot"),
        LOCK_NAME,
        "not a workflow-lint lock",
    )
    (repo.path / LOCK_NAME).write_text('{"lock_version": 99}')
    one_error(cli(repo.path, "snapshot"), "lock_version: 99")
    doc = {
        "lock_version": 1,
        "versions": [{"id": "a", "recorded_at": "x", "files": {"a.py": "00"}}],
        "blobs": {"00": "eJwDAAAAAAE="},
    }
    (repo.path / LOCK_NAME).write_text(json.dumps(doc))
    one_error(cli(repo.path, "check", "--base", "snapshot"), "does not match its hash")


# --- pruning -----------------------------------------------------------------


def test_prune_keeps_the_newest(deployed: GitRepo, cli: Any) -> None:
    cli(deployed.path, "snapshot", "--version-id", "v3")
    result = cli(deployed.path, "snapshot", "--prune", "--keep", "2")
    assert result.status == 0
    assert result.out == (
        "dropped version v1: older than the 2 newest\n2 version(s) recorded: v2, v3\n"
    )
    lock = read_lock(str(deployed.path / LOCK_NAME))
    assert [v.id for v in lock.versions] == ["v2", "v3"]
    doc = json.loads((deployed.path / LOCK_NAME).read_text())
    assert len(doc["blobs"]) == 2  # v1's flows.py is gone with it
    assert cli(deployed.path, "check", "--base", "snapshot").status == 0
    assert cli(deployed.path, "snapshot", "--prune", "--keep", "0").out == (
        "dropped version v2: older than the 0 newest\n"
        "dropped version v3: older than the 0 newest\n"
        "0 version(s) recorded: none\n"
    )
    # Nothing recorded, nothing in flight.
    assert cli(deployed.path, "check", "--base", "snapshot").status == 0


def test_prune_usage(deployed: GitRepo, cli: Any, tmp_path: Path) -> None:
    one_error(cli(deployed.path, "snapshot", "--prune"), "--keep", "--db")
    one_error(cli(deployed.path, "snapshot", "--keep", "1"), "--prune")
    one_error(cli(deployed.path, "snapshot", "--prune", "--keep", "-1"), "--keep")
    one_error(
        cli(deployed.path, "snapshot", "--prune", "--keep", "1", "--version-id", "x"),
        "--version-id",
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    one_error(cli(empty, "snapshot", "--prune", "--keep", "1"), LOCK_NAME)


LEAVE_PENDING = r"""
import os
import sys
import time

from dbos import DBOS, SetWorkflowID


@DBOS.step()
def reserve(order: str) -> bool:
    return True


@DBOS.workflow()
def checkout(order: str) -> None:
    reserve(order)
    DBOS.recv("paid", timeout_seconds=3600)


DBOS(
    config={
        "name": "snapshot-test",
        "system_database_url": sys.argv[1],
        "application_version": sys.argv[2],
        "log_level": "CRITICAL",
    }
)
DBOS.launch()
with SetWorkflowID("w-1"):
    DBOS.start_workflow(checkout, "o-1")
deadline = time.monotonic() + 60
while not DBOS.list_workflow_steps("w-1"):
    assert time.monotonic() < deadline, "the workflow never recorded its step"
    time.sleep(0.02)
print("ready", flush=True)
DBOS.destroy()
os._exit(0)  # the workflow stays PENDING, as after a crash
"""


@pytest.mark.dbos
def test_prune_drops_versions_no_pending_workflow_runs(
    deployed: GitRepo, cli: Any, tmp_path: Path
) -> None:
    cli(deployed.path, "snapshot", "--version-id", "v3")
    script = tmp_path / "leave_pending.py"
    script.write_text(LEAVE_PENDING)
    url = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    done = subprocess.run(
        [sys.executable, str(script), url, "v1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.split() == ["ready"], done.stderr[
        -3000:
    ]
    result = cli(deployed.path, "snapshot", "--prune", "--db", url)
    assert result.status == 0, result
    # v1 still has a pending workflow; v3 is the newest (deployed now).
    assert result.out == (
        "dropped version v2: no pending workflow runs it\n"
        "2 version(s) recorded: v1, v3\n"
    )
    one_error(
        cli(deployed.path, "snapshot", "--prune", "--db", "sqlite:///nope/x.db"), "nope"
    )


def test_flake8_against_the_lock(deployed: GitRepo) -> None:
    deployed.write({"shop/flows.py": WIP})
    done = subprocess.run(
        [
            *(sys.executable, "-m", "flake8", "--select", "WFL"),
            *("--workflow-lint-base", "snapshot", "shop"),
        ],
        cwd=deployed.path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    (line,) = done.stdout.splitlines()
    assert line.startswith(f"shop/flows.py:{SCREEN_LINE}:5: WFL101 [break] ")
    assert line.endswith("[recorded versions v2, v1]")
