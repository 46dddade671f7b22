"""Hostile input: the static commands never run user code and never crash."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from workflow_lint import Snapshot, compare
from workflow_lint.cli import main


def _snapshot(text: str) -> Snapshot:
    return Snapshot("s", {"app.py": textwrap.dedent(text).encode()})


def test_static_commands_never_import_user_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    app = textwrap.dedent(
        f"""
        from dbos import DBOS
        open({str(marker)!r}, "w").write("user code ran")
        import sys; sys.exit(3)

        @DBOS.step()
        def a(): ...

        @DBOS.workflow()
        def wf():
            a()
        """
    )
    old, new = tmp_path / "old.py", tmp_path / "new.py"
    old.write_text(app)
    new.write_text(app.replace("    a()", "    a()\n    a()"))
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(old), str(new)]) == 0  # an appended step
    assert main(["compare", "--format", "json", str(old), str(new)]) == 0
    assert not marker.exists()


def test_workflow_defined_twice_is_a_finding() -> None:
    text = """
    from dbos import DBOS

    @DBOS.workflow(name="wf")
    def one(): ...

    @DBOS.workflow(name="wf")
    def two(): ...
    """
    old = _snapshot(text.split('    @DBOS.workflow(name="wf")\n    def two')[0])
    codes = {f.code.code for f in compare(old, _snapshot(text)).findings}
    assert codes == {"WFL109"}


def test_workflow_name_taken_by_an_unchanged_file_is_a_finding() -> None:
    """The unchanged file is not parsed for its own sake; the new workflow's
    name found in its text brings it in."""
    kept = b"from dbos import DBOS\n\n@DBOS.workflow()\ndef settle(): ...\n"
    added = b"from dbos import DBOS\n\n@DBOS.workflow(name='settle')\ndef s2(): ...\n"
    old = Snapshot("old", {"kept.py": kept})
    new = Snapshot("new", {"kept.py": kept, "added.py": added})
    (found,) = compare(old, new).findings
    assert found.code.code == "WFL109"
    assert {found.span.path, found.message.split("also ")[1][:8]} == {
        "added.py",
        "kept.py",
    }


def test_mutual_recursion_among_helpers_terminates() -> None:
    old = """
    from dbos import DBOS

    @DBOS.step()
    def visit(n): ...

    def ping(n):
        visit(n)
        if n:
            pong(n - 1)

    def pong(n):
        visit(n)
        if n:
            ping(n - 1)

    @DBOS.workflow()
    def wf(n):
        ping(n)
    """
    new = old.replace(
        "def pong(n):\n        visit(n)",
        "def pong(n):\n        visit(n)\n        visit(n)",
    )
    report = compare(_snapshot(old), _snapshot(new))
    assert any(f.code.code.startswith("WFL1") for f in report.findings)


def test_enormous_file_is_analysed() -> None:
    steps = "\n".join(f"    s{i % 50}()" for i in range(5_000))
    defs = "\n".join(f"@DBOS.step()\ndef s{i}(): ...\n" for i in range(50))
    filler = "\n".join(
        f"def plain_{i}(x):\n    return x + {i}\n" for i in range(20_000)
    )
    workflow = f"@DBOS.workflow()\ndef wf():\n{steps}\n"
    text = f"from dbos import DBOS\n{defs}\n{filler}\n{workflow}"
    edited = text.replace("    s7()\n", "    s8()\n", 1)
    report = compare(_snapshot(text), _snapshot(edited))
    assert [f.code.code for f in report.findings] == ["WFL101"]
