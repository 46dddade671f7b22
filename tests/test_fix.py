"""``fix`` before/after: each shape of change becomes the expected patch.

The fixed sources are also checked clean and fixed again (a second run must
change nothing); test_fix_dbos.py replays them with real DBOS.
"""

from __future__ import annotations

import textwrap

import pytest

from workflow_lint import Snapshot, compare
from workflow_lint.fix import fix

HEADER = """\
from dbos import DBOS

LIMIT = 2


@DBOS.step()
def a(): ...


@DBOS.step()
def b(): ...


@DBOS.step()
def c(): ...


@DBOS.step()
def x(): ...


"""


def run_fix(old: str, new: str) -> str:
    before = Snapshot("old", {"app.py": (HEADER + textwrap.dedent(old)).encode()})
    after = Snapshot("new", {"app.py": (HEADER + textwrap.dedent(new)).encode()})
    result = fix(before, after)
    assert result.files, [f.message for f in result.unfixed]
    fixed = result.files["app.py"]
    assert fixed.startswith(HEADER), "bytes outside the rewritten range changed"
    fixed_snapshot = Snapshot("fixed", {"app.py": fixed.encode()})
    errors = [
        f
        for f in compare(before, fixed_snapshot).findings
        if f.severity.value == "error"
    ]
    assert not errors, errors
    assert not fix(before, fixed_snapshot).files, "second run changed something"
    return fixed[len(HEADER) :]


def dedent(text: str) -> str:
    return textwrap.dedent(text)


CASES = {
    "single statement": (
        """\
        @DBOS.workflow()
        def wf():
            a()
            # reserve first
            b()
        """,
        """\
        @DBOS.workflow()
        def wf():
            a()
            x()
            # reserve first
            b()
        """,
        """\
        @DBOS.workflow()
        def wf():
            a()
            if DBOS.patch("wf-add-x"):
                x()
            # reserve first
            b()
        """,
    ),
    "several statements replaced": (
        """\
        @DBOS.workflow()
        def wf():
            a()
            b()
            c()
        """,
        """\
        @DBOS.workflow()
        def wf():
            a()
            total = x()
            c()
        """,
        """\
        @DBOS.workflow()
        def wf():
            a()
            if DBOS.patch("wf-b-to-x"):
                total = x()
            else:
                b()
            c()
        """,
    ),
    "inside a branch": (
        """\
        @DBOS.workflow()
        def wf(flag):
            if flag:
                a()
                b()
            c()
        """,
        """\
        @DBOS.workflow()
        def wf(flag):
            if flag:
                b()
                a()
            c()
        """,
        """\
        @DBOS.workflow()
        def wf(flag):
            if flag:
                if DBOS.patch("wf-change"):
                    b()
                    a()
                else:
                    a()
                    b()
            c()
        """,
    ),
    "inside a loop": (
        """\
        @DBOS.workflow()
        def wf(n):
            for i in range(n):
                a()
            c()
        """,
        """\
        @DBOS.workflow()
        def wf(n):
            for i in range(n):
                a()
                DBOS.set_event("progress", i)
            c()
        """,
        """\
        @DBOS.workflow()
        def wf(n):
            for i in range(n):
                a()
                if DBOS.patch("wf-add-set-event"):
                    DBOS.set_event("progress", i)
            c()
        """,
    ),
    "loop bound from a constant": (
        """\
        @DBOS.workflow()
        def wf():
            for i in range(LIMIT):
                a()
            c()
        """,
        """\
        @DBOS.workflow()
        def wf():
            for i in range(LIMIT + 1):
                a()
            c()
        """,
        """\
        @DBOS.workflow()
        def wf():
            if DBOS.patch("wf-change"):
                for i in range(LIMIT + 1):
                    a()
            else:
                for i in range(LIMIT):
                    a()
            c()
        """,
    ),
    "inside try": (
        """\
        @DBOS.workflow()
        def wf():
            try:
                a()
            except ValueError:
                b()
            c()
        """,
        """\
        @DBOS.workflow()
        def wf():
            try:
                a()
            except ValueError:
                x()
                b()
            c()
        """,
        """\
        @DBOS.workflow()
        def wf():
            try:
                a()
            except ValueError:
                if DBOS.patch("wf-add-x"):
                    x()
                b()
            c()
        """,
    ),
    "async": (
        """\
        @DBOS.workflow()
        async def wf():
            await DBOS.sleep_async(1)
            a()
        """,
        """\
        @DBOS.workflow()
        async def wf():
            await DBOS.sleep_async(1)
            await DBOS.send_async("ops", "go")
            a()
        """,
        """\
        @DBOS.workflow()
        async def wf():
            await DBOS.sleep_async(1)
            if await DBOS.patch_async("wf-add-send-async"):
                await DBOS.send_async("ops", "go")
            a()
        """,
    ),
    "stacked on an existing patch": (
        """\
        @DBOS.workflow()
        def wf():
            if DBOS.patch("use-b"):
                b()
            else:
                a()
            c()
        """,
        """\
        @DBOS.workflow()
        def wf():
            if DBOS.patch("use-b"):
                b()
                x()
            else:
                a()
            c()
        """,
        """\
        @DBOS.workflow()
        def wf():
            if DBOS.patch("wf-add-x"):
                b()
                x()
            elif DBOS.patch("use-b"):
                b()
            else:
                a()
            c()
        """,
    ),
    "trailing step deleted": (
        """\
        @DBOS.workflow()
        def wf():
            a()
            b()
        """,
        """\
        @DBOS.workflow()
        def wf():
            a()
        """,
        """\
        @DBOS.workflow()
        def wf():
            a()
            if DBOS.patch("wf-drop-b"):
                pass
            else:
                b()
        """,
    ),
}


@pytest.mark.parametrize(("old", "new", "expected"), CASES.values(), ids=list(CASES))
def test_fix_shape(old: str, new: str, expected: str) -> None:
    assert run_fix(old, new) == dedent(expected)


def test_renamed_step_keeps_its_recorded_name() -> None:
    old = HEADER + "@DBOS.workflow()\ndef wf():\n    a()\n    b()\n"
    new = old.replace("def b()", "def bee()").replace("    b()", "    bee()")
    result = fix(
        Snapshot("old", {"app.py": old.encode()}),
        Snapshot("new", {"app.py": new.encode()}),
    )
    assert '@DBOS.step(name="b")\ndef bee()' in result.files["app.py"]


def test_renamed_workflow_is_not_rewritten() -> None:
    old = HEADER + "@DBOS.workflow()\ndef wf():\n    a()\n"
    new = old.replace("def wf()", "def flow()")
    result = fix(
        Snapshot("old", {"app.py": old.encode()}),
        Snapshot("new", {"app.py": new.encode()}),
    )
    assert not result.files
    assert [f.code.code for f in result.unfixed] == ["WFL102"]
