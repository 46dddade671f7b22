"""Rendering findings: text for people, JSON for machines.

Renderers register by name so the CLI's ``--format`` choices and the
renderers cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from workflow_lint.diagnostics import Finding, Severity, Span

JSON_SCHEMA_VERSION = 1

Renderer = Callable[[Sequence[Finding]], str]
RENDERERS: dict[str, Renderer] = {}


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    def register(func: Renderer) -> Renderer:
        RENDERERS[name] = func
        return func

    return register


def _where(span: Span | None) -> str:
    return f"{span.path}:{span.line}" if span is not None else "?"


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
            steps = " -> ".join(f"{i}:{name}" for i, name in enumerate(w.history, 1))
            lines.append(f"    in-flight history: {steps}")
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
