"""The real DBOS runtime judges every fixture: record with old.py, replay with new.py.

Each fixture runs in a subprocess of its own because DBOS is process-global.
``expected.json`` gives the verdict the checker reports; ``dbos_verdict``
overrides it where DBOS cannot observe what the checker reports (same-named
steps receiving each other's results raise nothing), and ``"dbos": "skip"``
opts a fixture out, with its ``why``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
RUNTIME = ROOT / "runtime"
NEEDED = ("old.py", "new.py", "args.json", "expected.json")


def _fixture_params() -> list[Any]:
    params = []
    folders = sorted(FIXTURES.iterdir()) if FIXTURES.is_dir() else []
    for folder in folders:
        if not all((folder / name).is_file() for name in NEEDED):
            continue
        expected = json.loads((folder / "expected.json").read_text())
        marks = [pytest.mark.dbos]
        if expected.get("dbos") == "skip":
            marks.append(pytest.mark.skip(reason=expected.get("why", "dbos: skip")))
        params.append(pytest.param(folder, expected, id=folder.name, marks=marks))
    return params


def run_replayer(folder: Path, tmp_path: Path) -> dict[str, Any]:
    """The command line's verdict JSON for one fixture folder."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(RUNTIME), *filter(None, [env.get("PYTHONPATH")])]
    )
    db_url = "sqlite:///" + str(tmp_path / "replay.sqlite")
    command = [
        sys.executable,
        "-m",
        "workflow_lint_runtime.replayer",
        str(folder / "old.py"),
        str(folder / "new.py"),
        "--args",
        str(folder / "args.json"),
        "--db",
        db_url,
    ]
    done = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(("folder", "expected"), _fixture_params())
def test_dbos_agrees_with_fixture(
    folder: Path, expected: dict[str, Any], tmp_path: Path
) -> None:
    want = expected.get("dbos_verdict", expected["verdict"])
    result = run_replayer(folder, tmp_path)
    assert result["kind"] == want, json.dumps(result["witness"], indent=1)
