"""Rendering findings: text for people, JSON, GitHub annotations and SARIF
for machines.

Renderers register by name so the CLI's ``--format`` choices and the
renderers cannot drift apart.  Each takes the engine's findings and the front
end's notices (a suppression without a reason), and renders both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import quote

from workflow_lint import __version__
from workflow_lint.diagnostics import Code, Finding, Severity, Span, Verdict
from workflow_lint.suppress import UNREASONED, UNREASONED_TITLE, Notice

JSON_SCHEMA_VERSION = 1

HISTORY_SHOWN = 12
"""Text output shows at most this many entries of a witness history (the
first and last ones); JSON always carries the whole history."""


class Renderer(Protocol):
    def __call__(
        self, findings: Sequence[Finding], notices: Sequence[Notice] = (), /
    ) -> str: ...


R = TypeVar("R", bound=Renderer)
RENDERERS: dict[str, Renderer] = {}


def renderer(name: str) -> Callable[[R], R]:
    def register(func: R) -> R:
        RENDERERS[name] = func
        return func

    return register


Item = Finding | Notice


def _items(findings: Sequence[Finding], notices: Sequence[Notice]) -> list[Item]:
    """Findings in their order, each notice before the first finding after it."""
    out: list[Item] = list(findings)
    for notice in sorted(notices, key=_place):
        at = next(
            (i for i, item in enumerate(out) if _place(item) > _place(notice)), len(out)
        )
        out.insert(at, notice)
    return out


def _place(item: Item) -> tuple[str, int, int]:
    return (item.span.path, item.span.line, item.span.column)


def _code(item: Item) -> str:
    return item.code if isinstance(item, Notice) else item.code.code


def _verdict(item: Item) -> Verdict:
    return Verdict.RULE if isinstance(item, Notice) else item.verdict


def _summary(items: Sequence[Item]) -> tuple[int, int]:
    errors = sum(1 for item in items if item.severity is Severity.ERROR)
    return errors, len(items) - errors


def _where(span: Span | None) -> str:
    return f"{span.path}:{span.line}" if span is not None else "?"


def _history(history: Sequence[str]) -> str:
    steps = [f"{i}:{name}" for i, name in enumerate(history, 1)]
    if len(steps) > HISTORY_SHOWN:
        head, tail = HISTORY_SHOWN // 2, HISTORY_SHOWN - HISTORY_SHOWN // 2 - 1
        hidden = len(steps) - head - tail
        steps = [*steps[:head], f"... ({hidden} more)", *steps[-tail:]]
    return " -> ".join(steps)


def _witness_lines(f: Finding) -> list[str]:
    lines: list[str] = []
    w = f.witness
    if w is not None and w.history:
        lines.append(f"in-flight history: {_history(w.history)}")
        if w.old_span is not None:
            lines.append(f"recorded by  {_where(w.old_span)}: {w.old_source}")
        if w.new_span is not None:
            lines.append(f"now calls    {_where(w.new_span)}: {w.new_source}")
    return lines


@renderer("text")
def render_text(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    items = _items(findings, notices)
    lines: list[str] = []
    for item in items:
        lines.append(
            f"{item.span.path}:{item.span.line}:{item.span.column + 1}: "
            f"{_code(item)} [{_verdict(item).value}] {item.message}"
        )
        if isinstance(item, Finding):
            lines.extend(f"    {line}" for line in _witness_lines(item))
            lines.extend(f"    hint: {hint}" for hint in item.hints)
    errors, warnings = _summary(items)
    if items:
        lines.append(f"{errors} error(s), {warnings} warning(s)")
    return "\n".join(lines) + ("\n" if lines else "")


def _span_json(span: Span | None) -> dict[str, object] | None:
    if span is None:
        return None
    return {"path": span.path, "line": span.line, "column": span.column + 1}


def finding_json(f: Finding) -> dict[str, object]:
    w = f.witness
    return {
        "code": f.code.code,
        "verdict": f.verdict.value,
        "severity": f.severity.value,
        "title": f.code.title,
        "message": f.message,
        "path": f.span.path,
        "line": f.span.line,
        "column": f.span.column + 1,
        "workflow": f.workflow,
        "witness": None
        if w is None
        else {
            "workflow": w.workflow,
            "history": list(w.history),
            "position": w.position,
            "recorded": w.recorded,
            "expected": w.expected,
            "old": _span_json(w.old_span),
            "new": _span_json(w.new_span),
            "old_source": w.old_source,
            "new_source": w.new_source,
        },
        "hints": list(f.hints),
    }


def notice_json(n: Notice) -> dict[str, object]:
    """A notice in the shape of a finding (verdict ``rule``, no witness)."""
    return {
        "code": n.code,
        "verdict": Verdict.RULE.value,
        "severity": n.severity.value,
        "title": n.title,
        "message": n.message,
        "path": n.span.path,
        "line": n.span.line,
        "column": n.span.column + 1,
        "workflow": None,
        "witness": None,
        "hints": [],
    }


@renderer("json")
def render_json(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    items = _items(findings, notices)
    errors, warnings = _summary(items)
    doc = {
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": "workflow-lint",
        "findings": [
            notice_json(i) if isinstance(i, Notice) else finding_json(i) for i in items
        ],
        "summary": {"errors": errors, "warnings": warnings},
    }
    return json.dumps(doc, indent=2) + "\n"


# --- GitHub Actions workflow commands -----------------------------------------


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


@renderer("github")
def render_github(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    """One ``::error`` or ``::warning`` workflow command per finding: GitHub
    Actions shows each as an annotation on the pull request's diff.  The
    witness and hints follow the message on lines of their own."""
    out: list[str] = []
    for item in _items(findings, notices):
        level = "error" if item.severity is Severity.ERROR else "warning"
        body = [item.message]
        if isinstance(item, Finding):
            body += _witness_lines(item)
            body += [f"hint: {hint}" for hint in item.hints]
        props = ",".join(
            f"{key}={_gh_property(str(value))}"
            for key, value in (
                ("file", item.span.path),
                ("line", item.span.line),
                ("col", item.span.column + 1),
                ("title", _code(item)),
            )
        )
        out.append(f"::{level} {props}::{_gh_data(chr(10).join(body))}\n")
    return "".join(out)


# --- SARIF 2.1.0 -------------------------------------------------------------

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
    "sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
"""Relative paths are relative to the repository root (check) or the current
folder (compare); SARIF consumers such as GitHub code scanning resolve them
against the checkout."""


def _rule_name(title: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in title).split()
    return "".join(w[:1].upper() + w[1:] for w in words)


def _rules() -> list[tuple[str, str, Severity, str]]:
    """(id, title, default severity, verdict) of every code results may use."""
    rules = [(c.code, c.title, c.severity, c.verdict.value) for c in Code]
    rules.append((UNREASONED, UNREASONED_TITLE, Severity.WARNING, Verdict.RULE.value))
    return sorted(rules)


def _sarif_level(severity: Severity) -> str:
    return "error" if severity is Severity.ERROR else "warning"


def _artifact(path: str) -> dict[str, str]:
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path.replace(os.sep, "/")), "uriBaseId": SRCROOT}


def _sarif_location(
    span: Span, message: str | None = None, ident: int | None = None
) -> dict[str, object]:
    location: dict[str, object] = {
        "physicalLocation": {
            "artifactLocation": _artifact(span.path),
            "region": {"startLine": span.line, "startColumn": span.column + 1},
        }
    }
    if ident is not None:
        location["id"] = ident
    if message is not None:
        location["message"] = {"text": message}
    return location


def _sarif_result(item: Item, index: dict[str, int]) -> dict[str, object]:
    code = _code(item)
    text = item.message
    result: dict[str, object] = {
        "ruleId": code,
        "ruleIndex": index[code],
        "level": _sarif_level(item.severity),
        "message": {"text": text},
        "locations": [_sarif_location(item.span)],
    }
    if isinstance(item, Finding):
        props: dict[str, object] = {"verdict": item.verdict.value}
        if item.workflow is not None:
            props["workflow"] = item.workflow
        w = item.witness
        related: list[dict[str, object]] = []
        if w is not None:
            if w.history:
                props["inFlightHistory"] = list(w.history)
                props["position"] = w.position
            if w.old_span is not None:
                related.append(
                    _sarif_location(
                        w.old_span, f"recorded by: {w.old_source}", len(related)
                    )
                )
            if w.new_span is not None:
                related.append(
                    _sarif_location(
                        w.new_span, f"now calls: {w.new_source}", len(related)
                    )
                )
        if related:
            result["relatedLocations"] = related
        if item.hints:
            props["hints"] = list(item.hints)
        result["properties"] = props
    return result


@renderer("sarif")
def render_sarif(findings: Sequence[Finding], notices: Sequence[Notice] = ()) -> str:
    """A SARIF 2.1.0 log with one run: every code as a rule, every finding
    as a result (witness calls as related locations)."""
    rules = _rules()
    index = {rule[0]: i for i, rule in enumerate(rules)}
    driver = {
        "name": "workflow-lint",
        "version": __version__,
        "rules": [
            {
                "id": code,
                "name": _rule_name(title),
                "shortDescription": {"text": title},
                "defaultConfiguration": {"level": _sarif_level(severity)},
                "properties": {"verdict": verdict},
            }
            for code, title, severity, verdict in rules
        ],
    }
    log = {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": driver},
                "columnKind": "unicodeCodePoints",
                "results": [
                    _sarif_result(item, index) for item in _items(findings, notices)
                ],
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


_SPAN_SCHEMA: dict[str, object] = {
    "type": ["object", "null"],
    "required": ["path", "line", "column"],
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string"},
        "line": {"type": "integer", "minimum": 1},
        "column": {"type": "integer", "minimum": 1},
    },
}

JSON_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "workflow-lint findings",
    "description": (
        "Output of `workflow-lint --format json`.  Lines and columns are "
        "1-based.  A finding's path is relative to the repository root (check) "
        "or as given on the command line (compare).  The witness, when present, "
        "is the shortest in-flight history that shows the problem: history holds "
        "the recorded names up to and including position (1-based), recorded is "
        "the name the history holds there and expected what the new code calls "
        "(null: the new code ends early); old/new locate those calls in the old "
        "and new code.  New keys may be added without a version change; removing "
        "or changing one bumps schema_version."
    ),
    "type": "object",
    "required": ["schema_version", "tool", "findings", "summary"],
    "properties": {
        "schema_version": {"const": JSON_SCHEMA_VERSION},
        "tool": {"const": "workflow-lint"},
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "code",
                    "verdict",
                    "severity",
                    "title",
                    "message",
                    "path",
                    "line",
                    "column",
                    "workflow",
                    "witness",
                    "hints",
                ],
                "properties": {
                    "code": {"type": "string", "pattern": "^WFL[0-9]{3}$"},
                    "verdict": {"enum": [v.value for v in Verdict]},
                    "severity": {"enum": [s.value for s in Severity]},
                    "title": {"type": "string"},
                    "message": {"type": "string"},
                    "path": {"type": "string"},
                    "line": {"type": "integer", "minimum": 1},
                    "column": {"type": "integer", "minimum": 1},
                    "workflow": {"type": ["string", "null"]},
                    "witness": {
                        "type": ["object", "null"],
                        "required": [
                            "workflow",
                            "history",
                            "position",
                            "recorded",
                            "expected",
                            "old",
                            "new",
                            "old_source",
                            "new_source",
                        ],
                        "properties": {
                            "workflow": {"type": "string"},
                            "history": {"type": "array", "items": {"type": "string"}},
                            "position": {"type": "integer", "minimum": 1},
                            "recorded": {"type": ["string", "null"]},
                            "expected": {"type": ["string", "null"]},
                            "old": _SPAN_SCHEMA,
                            "new": _SPAN_SCHEMA,
                            "old_source": {"type": "string"},
                            "new_source": {"type": "string"},
                        },
                    },
                    "hints": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "summary": {
            "type": "object",
            "required": ["errors", "warnings"],
            "properties": {
                "errors": {"type": "integer", "minimum": 0},
                "warnings": {"type": "integer", "minimum": 0},
            },
        },
    },
}
"""The documented shape of ``render_json``'s output (JSON Schema 2020-12)."""
