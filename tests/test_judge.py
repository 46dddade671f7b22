"""The judge on small old/new workflow bodies: which verdict each edit earns.

These pin the replay semantics of DESIGN.md §2 on tiny programs; the fixture
tests tie the same verdicts to what real DBOS does.
"""

from __future__ import annotations

import textwrap

import pytest

from workflow_lint import Snapshot, compare

HEADER = """
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

@DBOS.workflow()
def kid(): ...

@DBOS.workflow()
def wf(n, flag):
"""


def codes(old_body: str, new_body: str) -> set[str]:
    def source(body: str) -> bytes:
        return (HEADER + textwrap.indent(textwrap.dedent(body), "    ")).encode()

    report = compare(
        Snapshot("old", {"app.py": source(old_body)}),
        Snapshot("new", {"app.py": source(new_body)}),
    )
    return {f.code.code for f in report.findings}


CASES = [
    ("identical", "a()\nb()", "a()\nb()", set()),
    ("insert in the middle", "a()\nb()", "a()\nx()\nb()", {"WFL101"}),
    ("append", "a()\nb()", "a()\nb()\nx()", {"WFL106"}),
    ("delete last", "a()\nb()", "a()", {"WFL103"}),
    ("delete first", "a()\nb()", "b()", {"WFL101"}),
    ("swap", "a()\nb()", "b()\na()", {"WFL101"}),
    ("start -> direct call", "DBOS.start_workflow(kid)\na()", "kid()\na()", {"WFL104"}),
    ("direct -> start", "kid()\na()", "DBOS.start_workflow(kid)\na()", {"WFL101"}),
    (
        "get_result removed before a step",
        "h = DBOS.start_workflow(kid)\nh.get_result()\na()",
        "h = DBOS.start_workflow(kid)\na()",
        {"WFL101"},
    ),
    ("sleep to zero", "DBOS.sleep(1)\na()", "DBOS.sleep(0)\na()", {"WFL101"}),
    ("sleep longer", "DBOS.sleep(1)\na()", "DBOS.sleep(2)\na()", set()),
    (
        "correct patch",
        "a()\nb()",
        "a()\nif DBOS.patch('p'):\n    x()\nb()",
        set(),
    ),
    (
        "swapped patch",
        "a()\nb()",
        "a()\nif DBOS.patch('p'):\n    b()\nelse:\n    x()\n",
        {"WFL101"},
    ),
    (
        "stacked patch",
        "if DBOS.patch('v2'):\n    x()\nelse:\n    a()\nb()",
        "if DBOS.patch('v3'):\n    c()\n"
        "elif DBOS.patch('v2'):\n    x()\nelse:\n    a()\nb()",
        set(),
    ),
    (
        "deprecate a patch the old code had",
        "if DBOS.patch('p'):\n    x()\nelse:\n    a()\nb()",
        "DBOS.deprecate_patch('p')\nx()\nb()",
        set(),
    ),
    (
        "remove a patch still recorded",
        "if DBOS.patch('p'):\n    x()\nelse:\n    a()\nb()",
        "x()\nb()",
        {"WFL101"},
    ),
    (
        "remove a deprecated patch",
        "DBOS.deprecate_patch('p')\nx()\nb()",
        "x()\nb()",
        set(),
    ),
    (
        "unchanged branch",
        "if flag:\n    a()\nb()",
        "if flag:\n    a()\nb()\n# x",
        set(),
    ),
    (
        "condition flipped",
        "if flag:\n    a()\nb()",
        "if not flag:\n    a()\nb()",
        {"WFL101"},
    ),
    (
        "constant bound",
        "for i in range(LIMIT):\n    a()\nb()",
        "for i in range(LIMIT + 1):\n    a()\nb()",
        {"WFL101"},
    ),
    (
        "into loop",
        "for i in range(n):\n    a()\nb()",
        "for i in range(n):\n    a()\n    b()",
        {"WFL101"},
    ),
    (
        "handler gains a trailing step",
        "try:\n    a()\nexcept ValueError:\n    b()\nc()",
        "try:\n    a()\nexcept ValueError:\n    b()\n    c()\nc()",
        {"WFL106"},
    ),
    (
        "except handler gains a step",
        "try:\n    a()\nexcept ValueError:\n    b()\nc()",
        "try:\n    a()\nexcept ValueError:\n    x()\n    b()\nc()",
        {"WFL101"},
    ),
    ("early return added", "a()\nb()", "a()\nif flag:\n    return\nb()", {"WFL103"}),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [(o, n, e) for _, o, n, e in CASES],
    ids=[name for name, *_ in CASES],
)
def test_verdicts(old: str, new: str, expected: set[str]) -> None:
    assert codes(old, new) == expected


def _computed(old: str, new: str) -> set[str]:
    from workflow_lint import Options, Versioning

    report = compare(
        Snapshot("old", {"app.py": textwrap.dedent(old).encode()}),
        Snapshot("new", {"app.py": textwrap.dedent(new).encode()}),
        Options(versioning=Versioning.COMPUTED),
    )
    return {f.code.code for f in report.findings}


COMPUTED_APP = """
from dbos import DBOS

@DBOS.step()
def a(): ...

@DBOS.step()
def b(): ...

def helper():
    b()

@DBOS.workflow()
def wf():
    a()
    helper()
"""


def test_computed_version_strands_on_workflow_source_edits() -> None:
    edited = COMPUTED_APP.replace("    a()\n    helper()", "    helper()\n    a()")
    assert _computed(COMPUTED_APP, edited) == {"WFL107"}


def test_computed_version_still_replays_edits_outside_workflows() -> None:
    # the workflow's source is untouched, so the version stays and the new
    # code replays old histories: the helper's new step breaks them
    edited = COMPUTED_APP.replace(
        "def helper():\n    b()", "def helper():\n    a()\n    b()"
    )
    assert _computed(COMPUTED_APP, edited) == {"WFL101"}
    renamed = COMPUTED_APP.replace(
        "@DBOS.step()\ndef b()", '@DBOS.step(name="bee")\ndef b()'
    )
    assert _computed(COMPUTED_APP, renamed) == {"WFL101"}
    commented = COMPUTED_APP.replace("def helper():", "# a note\ndef helper():")
    assert _computed(COMPUTED_APP, commented) == set()
