"""Text and JSON rendering of findings."""

from __future__ import annotations

import json

import pytest

from workflow_lint.diagnostics import Code, Finding, Span, Witness
from workflow_lint.report import (
    HISTORY_SHOWN,
    JSON_SCHEMA,
    JSON_SCHEMA_VERSION,
    RENDERERS,
    render_json,
    render_text,
)

BREAK = Finding(
    Code.OPERATION_MISMATCH,
    "workflow checkout: a workflow interrupted after reserve (step 1) would now "
    "call audit at step 2, where charge was recorded",
    Span("app.py", 22, 4),
    workflow="checkout",
    witness=Witness(
        "checkout",
        ("reserve", "charge"),
        2,
        "charge",
        "audit",
        old_span=Span("app.py", 22, 11),
        new_span=Span("app.py", 22, 4),
        old_source="return charge(order)",
        new_source="audit(order)",
    ),
    hints=("guard the change with DBOS.patch",),
)

RULE = Finding(
    Code.BROAD_EXCEPT,
    "broad except around step calls",
    Span("pkg/flow.py", 7, 0),
)

GONE = Finding(
    Code.WORKFLOW_GONE,
    "workflow checkout is gone",
    Span("app.py", 20, 0),
    workflow="checkout",
    witness=Witness("checkout", (), 1, None, None),
)


def test_renderers_are_registered() -> None:
    assert set(RENDERERS) == {"text", "json", "github", "sarif"}
    assert RENDERERS["text"] is render_text
    assert RENDERERS["json"] is render_json


def test_text_first_line_is_path_line_column_code() -> None:
    lines = render_text([BREAK]).splitlines()
    assert lines[0] == (
        "app.py:22:5: WFL101 [break] workflow checkout: a workflow interrupted "
        "after reserve (step 1) would now call audit at step 2, where charge was "
        "recorded"
    )
    assert lines[1] == "    in-flight history: 1:reserve -> 2:charge"
    assert lines[2] == "    recorded by  app.py:22: return charge(order)"
    assert lines[3] == "    now calls    app.py:22: audit(order)"
    assert lines[4] == "    hint: guard the change with DBOS.patch"
    assert lines[5] == "1 error(s), 0 warning(s)"


def test_text_counts_errors_and_warnings() -> None:
    text = render_text([BREAK, RULE, GONE])
    assert text.endswith("2 error(s), 1 warning(s)\n")
    assert "pkg/flow.py:7:1: WFL301 [rule] broad except" in text
    # A witness without a history adds no history lines.
    gone = render_text([GONE]).splitlines()
    assert gone[0] == "app.py:20:1: WFL102 [strand] workflow checkout is gone"
    assert len(gone) == 2


def test_text_without_findings_is_empty() -> None:
    assert render_text([]) == ""


def test_text_elides_long_histories() -> None:
    history = tuple(f"step_{i}" for i in range(1, 10_001))
    long = Finding(
        Code.OPERATION_MISMATCH,
        "long",
        Span("big.py", 1, 0),
        witness=Witness("big", history, 10_000, "step_10000", "other"),
    )
    line = render_text([long]).splitlines()[1]
    shown = line.split(": ", 1)[1].split(" -> ")
    assert len(shown) == HISTORY_SHOWN
    assert shown[0] == "1:step_1"
    assert shown[-1] == "10000:step_10000"
    assert f"({10_000 - HISTORY_SHOWN + 1} more)" in line
    # JSON keeps every entry.
    doc = json.loads(render_json([long]))
    assert len(doc["findings"][0]["witness"]["history"]) == 10_000


def test_text_short_history_is_not_elided() -> None:
    history = tuple(f"s{i}" for i in range(HISTORY_SHOWN))
    finding = Finding(
        Code.OPERATION_MISMATCH,
        "m",
        Span("a.py", 1, 0),
        witness=Witness("w", history, len(history), "x", "y"),
    )
    assert "more)" not in render_text([finding])


def test_json_document() -> None:
    doc = json.loads(render_json([BREAK, RULE]))
    assert doc["schema_version"] == JSON_SCHEMA_VERSION == 1
    assert doc["tool"] == "workflow-lint"
    assert doc["summary"] == {"errors": 1, "warnings": 1}
    first, second = doc["findings"]
    assert first == {
        "code": "WFL101",
        "verdict": "break",
        "severity": "error",
        "title": Code.OPERATION_MISMATCH.title,
        "message": BREAK.message,
        "path": "app.py",
        "line": 22,
        "column": 5,
        "workflow": "checkout",
        "witness": {
            "workflow": "checkout",
            "history": ["reserve", "charge"],
            "position": 2,
            "recorded": "charge",
            "expected": "audit",
            "old": {"path": "app.py", "line": 22, "column": 12},
            "new": {"path": "app.py", "line": 22, "column": 5},
            "old_source": "return charge(order)",
            "new_source": "audit(order)",
        },
        "hints": ["guard the change with DBOS.patch"],
    }
    assert second["witness"] is None
    assert second["workflow"] is None
    assert (second["verdict"], second["severity"]) == ("rule", "warning")


def test_json_without_findings() -> None:
    doc = json.loads(render_json([]))
    assert doc["findings"] == []
    assert doc["summary"] == {"errors": 0, "warnings": 0}


def test_json_is_ascii_safe() -> None:
    finding = Finding(Code.OPAQUE, "calls café()", Span("ünï.py", 1, 0))
    out = render_json([finding])
    assert out.isascii()
    assert json.loads(out)["findings"][0]["path"] == "ünï.py"


@pytest.mark.parametrize("code", list(Code), ids=lambda c: c.code)
def test_json_matches_the_documented_schema(code: Code) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(JSON_SCHEMA)
    finding = Finding(code, "m", Span("a.py", 3, 2))
    jsonschema.validate(json.loads(render_json([finding, BREAK, GONE])), JSON_SCHEMA)
