"""Rendering findings: text for people, JSON for machines.

Renderers register by name so the CLI's ``--format`` choices and the
renderers cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from workflow_lint.diagnostics import Finding, Severity, Span, Verdict

JSON_SCHEMA_VERSION = 1

HISTORY_SHOWN = 12
"""Text output shows at most this many entries of a witness history (the
first and last ones); JSON always carries the whole history."""

Renderer = Callable[[Sequence[Finding]], str]
RENDERERS: dict[str, Renderer] = {}


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    def register(func: Renderer) -> Renderer:
        RENDERERS[name] = func
        return func

    return register


def _where(span: Span | None) -> str:
    return f"{span.path}:{span.line}" if span is not None else "?"


def _history(history: Sequence[str]) -> str:
    steps = [f"{i}:{name}" for i, name in enumerate(history, 1)]
    if len(steps) > HISTORY_SHOWN:
        head, tail = HISTORY_SHOWN // 2, HISTORY_SHOWN - HISTORY_SHOWN // 2 - 1
        hidden = len(steps) - head - tail
        steps = [*steps[:head], f"... ({hidden} more)", *steps[-tail:]]
    return " -> ".join(steps)


@renderer("text")
def render_text(findings: Sequence[Finding]) -> str:
    lines: list[str] = []
    for f in findings:
        lines.append(
            f"{f.span.path}:{f.span.line}:{f.span.column + 1}: {f.code.code} "
            f"[{f.verdict.value}] {f.message}"
        )
        w = f.witness
        if w is not None and w.history:
            lines.append(f"    in-flight history: {_history(w.history)}")
            if w.old_span is not None:
                lines.append(f"    recorded by  {_where(w.old_span)}: {w.old_source}")
            if w.new_span is not None:
                lines.append(f"    now calls    {_where(w.new_span)}: {w.new_source}")
        for hint in f.hints:
            lines.append(f"    hint: {hint}")
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = len(findings) - errors
    if findings:
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


@renderer("json")
def render_json(findings: Sequence[Finding]) -> str:
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    doc = {
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": "workflow-lint",
        "findings": [finding_json(f) for f in findings],
        "summary": {"errors": errors, "warnings": len(findings) - errors},
    }
    return json.dumps(doc, indent=2) + "\n"


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
