"""The catalogue of finding codes, and the finding value the engine returns.

Codes are stable: a code is never renumbered, a new one is added instead.
Messages are for people and may change.  Nothing here imports libcst, so
findings stay plain, picklable values that renderers and tests use directly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Verdict(enum.Enum):
    """What DBOS does with in-flight workflows after the change (DESIGN.md §2)."""

    BREAK = "break"
    STRAND = "strand"
    DRIFT = "drift"
    EXTEND = "extend"
    SAFE = "safe"
    RULE = "rule"
    """Not a replay verdict: a hazard in the code itself (a broad except, a
    patch misuse, code the checker cannot see through)."""


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Code(enum.Enum):
    """Every finding code: (code, verdict, severity, title)."""

    def __init__(
        self, code: str, verdict: Verdict, severity: Severity, title: str
    ) -> None:
        self.code = code
        self.verdict = verdict
        self.severity = severity
        self.title = title

    OPERATION_MISMATCH = (
        "WFL101",
        Verdict.BREAK,
        Severity.ERROR,
        "in-flight histories hit a different operation",
    )
    WORKFLOW_GONE = (
        "WFL102",
        Verdict.STRAND,
        Severity.ERROR,
        "a workflow that in-flight histories name is gone",
    )
    RECORDED_SKIPPED = (
        "WFL103",
        Verdict.DRIFT,
        Severity.ERROR,
        "recorded operations are never replayed",
    )
    RESULT_OVERWRITE = (
        "WFL104",
        Verdict.DRIFT,
        Severity.ERROR,
        "an unchecked get_result lands on another operation's row",
    )
    RESULTS_SHIFTED = (
        "WFL105",
        Verdict.DRIFT,
        Severity.ERROR,
        "same-named operations now receive each other's recorded results",
    )
    OPERATIONS_APPENDED = (
        "WFL106",
        Verdict.EXTEND,
        Severity.WARNING,
        "in-flight workflows will also run new operations",
    )
    VERSION_CHANGED = (
        "WFL107",
        Verdict.STRAND,
        Severity.ERROR,
        "workflow source changed: the computed application version changes",
    )
    DUPLICATE_WORKFLOW = (
        "WFL109",
        Verdict.RULE,
        Severity.ERROR,
        "two workflows register the same name",
    )
    PATCH_FORM = (
        "WFL201",
        Verdict.RULE,
        Severity.ERROR,
        "patch form does not match the workflow (sync vs async)",
    )
    PATCH_IN_STEP = (
        "WFL202",
        Verdict.RULE,
        Severity.ERROR,
        "patch called inside a step",
    )
    PATCH_NAME_DYNAMIC = (
        "WFL203",
        Verdict.RULE,
        Severity.ERROR,
        "patch name is not a string literal",
    )
    PATCH_NAME_DUPLICATE = (
        "WFL204",
        Verdict.RULE,
        Severity.ERROR,
        "patch name used twice in one workflow",
    )
    BROAD_EXCEPT = (
        "WFL301",
        Verdict.RULE,
        Severity.WARNING,
        "broad exception handler swallows DBOSUnexpectedStepError",
    )
    SCHEDULING_ORDER = (
        "WFL303",
        Verdict.RULE,
        Severity.WARNING,
        "operation order depends on task scheduling",
    )
    OPAQUE = (
        "WFL401",
        Verdict.RULE,
        Severity.WARNING,
        "code the checker cannot see through",
    )

    UNVERIFIABLE = (
        "WFL402",
        Verdict.RULE,
        Severity.ERROR,
        "a change the checker cannot verify",
    )

    @classmethod
    def by_code(cls, code: str) -> Code:
        for member in cls:
            if member.code == code:
                return member
        raise KeyError(code)


@dataclass(frozen=True, slots=True)
class Span:
    """A place in a file: 1-based line, 0-based column (as LibCST's CodeRange)."""

    path: str
    line: int
    column: int = 0


@dataclass(frozen=True, slots=True)
class Witness:
    """The shortest in-flight history that shows the problem.

    ``history`` holds the recorded names of the old code's run up to and
    including ``position`` (1-based), ``recorded`` is what the history holds
    there and ``expected`` what the new code now calls (None when it calls
    nothing: the new code ends early).
    """

    workflow: str
    history: tuple[str, ...]
    position: int
    recorded: str | None
    expected: str | None
    old_span: Span | None = None
    new_span: Span | None = None
    old_source: str = ""
    new_source: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    code: Code
    message: str
    span: Span
    workflow: str | None = None
    witness: Witness | None = None
    hints: tuple[str, ...] = field(default=())
    related: tuple[str, ...] = field(default=())
    """Other files the finding is about: where the steps it names are
    defined, so a report narrowed to a changed module still shows a break
    that module causes in a workflow elsewhere."""

    @property
    def severity(self) -> Severity:
        return self.code.severity

    @property
    def verdict(self) -> Verdict:
        return self.code.verdict
