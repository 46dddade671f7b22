"""``fix`` on every breaking fixture, judged by real DBOS.

For each break/drift scenario: the fixed file parses and ``check`` is clean on
it; dbos 3.4.0 replays every prefix of every history the old code records
against the fixed code without error or skipped rows; and fresh runs of the
fixed code record exactly what the new code records (patch markers aside),
so the fix did not simply revert the change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixture_cases import Fixture, load_fixtures
from workflow_lint import Snapshot, compare
from workflow_lint.fix import fix

ROOT = Path(__file__).resolve().parent.parent

BREAKING = [
    f
    for f in load_fixtures()
    if f.expected["verdict"] in ("break", "drift") and f.expected.get("dbos") != "skip"
]
UNFIXABLE = {
    # a default argument decides a branch: old and new differ only in whether
    # callers passed it, which no patch can tell
    "break_default_argument_changes_branch",
    # operations reordered inside mutually recursive helpers: each level of
    # the recursion would need its own decision; fix reports it instead
    "break_recursive_helper_reordered",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "runtime"), str(ROOT)])
    return env


def _run(args: list[str], cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.dbos
@pytest.mark.parametrize("fixture", BREAKING, ids=lambda f: f.name)
def test_fix_replays_with_dbos(fixture: Fixture, tmp_path: Path) -> None:
    old = Snapshot("old", {"app.py": fixture.old.read_bytes()})
    new = Snapshot("new", {"app.py": fixture.new.read_bytes()})
    result = fix(old, new)
    if fixture.name in UNFIXABLE:
        assert not result.files and result.unfixed
        return
    assert result.files, [f.message for f in result.unfixed]
    fixed_text = result.files["app.py"]
    compile(fixed_text, "app.py", "exec")
    fixed = Snapshot("fixed", {"app.py": fixed_text.encode()})
    remaining = [f for f in compare(old, fixed).findings if f.severity.value == "error"]
    assert not [f for f in remaining if f.code.code.startswith("WFL1")], remaining
    assert not fix(old, fixed).files, "a second fix must change nothing"

    fixed_path = tmp_path / "fixed.py"
    fixed_path.write_text(fixed_text)
    args = str(fixture.folder / "args.json")
    replay = json.loads(
        _run(
            [
                "-m",
                "workflow_lint_runtime.replayer",
                str(fixture.old),
                str(fixed_path),
                "--args",
                args,
            ],
            tmp_path,
        )
    )
    assert replay["kind"] in ("safe", "extend"), replay["witness"]

    out = _run(
        [
            str(ROOT / "tests" / "fresh_traces.py"),
            str(fixture.new),
            str(fixed_path),
            args,
        ],
        tmp_path,
    )
    traces = json.loads(out.strip().splitlines()[-1])
    # A renamed step pinned to its old recorded name runs the new code under
    # the name old histories hold: map it back before comparing.
    back = {old: new for new, old in result.pinned.items()}
    fixed_traces = [
        [name, child, [back.get(row, row) for row in rows]]
        for name, child, rows in traces["b"]
    ]
    assert traces["a"] == sorted(fixed_traces, key=repr)
