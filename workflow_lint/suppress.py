"""Inline suppressions: ``# workflow-lint: ignore[WFL101] why it is safe``.

A suppression covers the line it ends, or, written alone on its line, the
line below it.  It names the codes it suppresses (``ignore[WFL101,WFL106]``;
a prefix such as ``WFL1`` names a group) and must give a reason after the
brackets: a suppression without one suppresses nothing and becomes a notice
of its own (``WFL001``), so "it was in the way" never passes review
silently.  Comments are found with Python's tokenizer, so a ``#`` inside a
string is never mistaken for one.

The engine's catalogue (``diagnostics.Code``) holds what the engine finds;
notices are what the front end finds in its own input, with codes of their
own (``WFL001`` here, ``WFL000`` in the flake8 plugin).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from workflow_lint.diagnostics import Finding, Severity, Span

UNREASONED = "WFL001"
UNREASONED_TITLE = "suppression without a reason"

_MARKER = re.compile(
    r"#\s*workflow-lint:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?(?P<rest>[^#]*)"
)


@dataclass(frozen=True, slots=True)
class Notice:
    """A problem the front end found in its own input (not an engine finding)."""

    code: str
    title: str
    message: str
    span: Span
    severity: Severity = Severity.WARNING


@dataclass(frozen=True, slots=True)
class Suppression:
    line: int
    """Where the comment is (1-based)."""
    column: int
    """Where the comment starts (0-based)."""
    codes: tuple[str, ...]
    reason: str
    own_line: bool
    """The comment is alone on its line: it covers the line below too."""
    text: str
    """The suppression as written, for messages."""

    def covers(self, line: int) -> bool:
        return line == self.line or (self.own_line and line == self.line + 1)

    def names(self, code: str) -> bool:
        return any(code.startswith(c) for c in self.codes)


def _reason(rest: str) -> str:
    reason = rest.strip().lstrip(":-\u2013\u2014 ").strip()
    return reason if re.search(r"\w", reason) else ""


def parse_comment(
    comment: str, line: int, column: int, own_line: bool
) -> Suppression | None:
    match = _MARKER.search(comment)
    if match is None:
        return None
    codes = tuple(
        c.upper() for c in re.split(r"[\s,]+", match.group("codes") or "") if c
    )
    text = match.group(0).rstrip()
    return Suppression(
        line,
        column + match.start(),
        codes,
        _reason(match.group("rest")),
        own_line,
        text,
    )


def suppressions(data: bytes) -> list[Suppression]:
    """Every suppression comment in a Python file (none if it cannot be read)."""
    if b"workflow-lint" not in data:
        return []
    found: list[Suppression] = []
    try:
        for tok in tokenize.tokenize(io.BytesIO(data).readline):
            if tok.type != tokenize.COMMENT:
                continue
            (line, column) = tok.start
            own_line = not tok.line[:column].strip()
            parsed = parse_comment(tok.string, line, column, own_line)
            if parsed is not None:
                found.append(parsed)
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        return []
    return found


Source = Callable[[Finding], tuple[str, bytes] | None]
"""The file a finding points into: (path, content), None when unknown."""


def apply(
    findings: Sequence[Finding], source: Source
) -> tuple[list[Finding], list[Notice]]:
    """The findings no suppression with a reason covers, and a notice for each
    suppression that would cover one but cannot (no reason, or no codes)."""
    parsed: dict[tuple[str, bytes], list[Suppression]] = {}
    kept: list[Finding] = []
    bad: dict[tuple[str, int, int], tuple[Suppression, list[str]]] = {}
    for finding in findings:
        where = source(finding)
        if where is None:
            kept.append(finding)
            continue
        if where not in parsed:
            parsed[where] = suppressions(where[1])
        covering = [s for s in parsed[where] if s.covers(finding.span.line)]
        code = finding.code.code
        if any(s.reason and s.names(code) for s in covering):
            continue
        kept.append(finding)
        for s in covering:
            if s.names(code) or not s.codes:
                codes = bad.setdefault((where[0], s.line, s.column), (s, []))[1]
                if code not in codes:
                    codes.append(code)
    notices = [
        _notice(path, s, codes) for (path, _, _), (s, codes) in sorted(bad.items())
    ]
    return kept, notices


def _notice(path: str, s: Suppression, codes: Iterable[str]) -> Notice:
    named = ", ".join(codes)
    if not s.codes:
        why = (
            f"`{s.text}` names no codes, so it does not suppress {named}: "
            f"write `# workflow-lint: ignore[{named}] <reason>`"
        )
    else:
        why = (
            f"`{s.text}` has no reason, so it does not suppress {named}: say why "
            f"the change is safe after the brackets, e.g. `# workflow-lint: "
            f"ignore[{named}] no workflows were in flight when this shipped`"
        )
    return Notice(UNREASONED, UNREASONED_TITLE, why, Span(path, s.line, s.column))
