"""Properties over generated workflows and edits (hypothesis).

No crash; identical code is always safe; a verdict never depends on
formatting or comments; ``fix`` output always parses, checks clean and is
idempotent.  CI runs the default budget; `WFL_HYPOTHESIS_PROFILE=thorough`
runs a larger one (README records the last count).
"""

from __future__ import annotations

import os
import textwrap

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflow_lint import Snapshot, compare
from workflow_lint.fix import fix

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("WFL_HYPOTHESIS_PROFILE", "ci"))

HEADER = """\
from dbos import DBOS

LIMIT = 2


@DBOS.step()
def s0(): return 0


@DBOS.step()
def s1(): return 1


@DBOS.step()
def s2(): return 2


@DBOS.step()
def s3(): return 3


@DBOS.workflow()
def kid(): return s0()


"""

STEPS = ["s0", "s1", "s2", "s3"]

leaf = st.one_of(
    st.sampled_from(STEPS).map(lambda s: [f"{s}()"]),
    st.sampled_from(STEPS).map(lambda s: [f"x = {s}()"]),
    st.just(["DBOS.sleep(1)"]),
    st.just(['DBOS.set_event("k", 1)']),
    st.just(["kid()"]),
    st.just(["h = DBOS.start_workflow(kid)", "h.get_result()"]),
    st.just(['DBOS.recv("t", 1)']),
    st.just(["y = 1"]),
)


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def _compound(children: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    return st.one_of(
        st.tuples(st.sampled_from(["flag", "n > 1", "x"]), children, children).map(
            lambda t: [f"if {t[0]}:", *_indent(t[1]), "else:", *_indent(t[2])]
        ),
        st.tuples(st.sampled_from(["range(n)", "range(LIMIT)"]), children).map(
            lambda t: [f"for i in {t[0]}:", *_indent(t[1])]
        ),
        st.tuples(children, children).map(
            lambda t: ["try:", *_indent(t[0]), "except ValueError:", *_indent(t[1])]
        ),
    )


statement = st.recursive(
    leaf,
    lambda inner: _compound(
        st.lists(inner, min_size=1, max_size=3).map(
            lambda xs: [line for x in xs for line in x]
        )
    ),
    max_leaves=6,
)
body = st.lists(statement, min_size=1, max_size=6)


def source(statements: list[list[str]]) -> str:
    lines = ["x = None"] + [line for stmt in statements for line in stmt]
    return (
        HEADER
        + "@DBOS.workflow()\ndef wf(n, flag):\n"
        + textwrap.indent("\n".join(lines), "    ")
        + "\n"
    )


@st.composite
def edited(draw: st.DrawFn) -> tuple[str, str]:
    old = draw(body)
    new = list(old)
    kind = draw(st.sampled_from(["insert", "delete", "swap", "replace", "none"]))
    index = draw(st.integers(0, len(new) - 1))
    if kind == "insert":
        new.insert(index, draw(leaf))
    elif kind == "delete" and len(new) > 1:
        del new[index]
    elif kind == "swap" and len(new) > 1:
        other = draw(st.integers(0, len(new) - 1))
        new[index], new[other] = new[other], new[index]
    elif kind == "replace":
        new[index] = draw(statement)
    return source(old), source(new)


def reformat(text: str) -> str:
    """The same program, written differently: comments, blank lines, wrapped
    calls and a renamed local."""
    out = []
    for line in text.splitlines():
        out.append(line.replace("x = ", "value_x = ").replace("if x:", "if value_x:"))
        if line.strip() and not line.strip().startswith(("@", "def", "else", "except")):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# a comment")
    return "\n\n".join(out) + "\n"


def codes(old: str, new: str) -> set[str]:
    report = compare(
        Snapshot("old", {"app.py": old.encode()}),
        Snapshot("new", {"app.py": new.encode()}),
    )
    return {f.code.code for f in report.findings}


@given(body)
def test_identical_code_is_safe(statements: list[list[str]]) -> None:
    text = source(statements)
    assert not {c for c in codes(text, text) if c.startswith("WFL1")}
    # The same code in a file whose bytes changed (a comment at the end): not
    # skipped as unchanged, so both versions are parsed, lowered and judged.
    touched = text + "\n# the same code, saved again\n"
    assert not {c for c in codes(text, touched) if c.startswith("WFL1")}


@given(edited())
def test_verdict_ignores_formatting_and_comments(pair: tuple[str, str]) -> None:
    old, new = pair
    assert codes(old, new) == codes(reformat(old), reformat(new))


@given(edited())
def test_fix_parses_checks_clean_and_is_idempotent(pair: tuple[str, str]) -> None:
    old, new = pair
    before = Snapshot("old", {"app.py": old.encode()})
    result = fix(before, Snapshot("new", {"app.py": new.encode()}))
    if not result.files:
        return
    fixed = result.files["app.py"]
    compile(fixed, "app.py", "exec")
    after = Snapshot("fixed", {"app.py": fixed.encode()})
    if not result.unfixed:
        findings = compare(before, after).findings
        remaining = [f for f in findings if f.code.code < "WFL106"]
        assert not remaining, remaining
    assert not fix(before, after).files
