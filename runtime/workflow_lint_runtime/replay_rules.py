"""DBOS 3.4's replay rules, written once.

A recovering DBOS workflow re-runs its code and, for every operation, looks at
the row recorded at the operation's position (its ``function_id``).  The
static judge in ``workflow_lint`` and the runtime shim both need the exact
rules - which rows are name-checked, which calls take no position, what
``patch`` and ``deprecate_patch`` do with a marker - so they live here, free of
libcst and of dbos, and both import them.  Facts come from dbos 3.4.0 observed
on a real system database (positions are 1-based, as ``function_id`` is).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

MARKER_PREFIX = "DBOS.patch-"
GET_RESULT = "DBOS.getResult"
TIMER = "DBOS.sleep"


def marker(patch_name: str) -> str:
    """The row name ``DBOS.patch(patch_name)`` records when it returns True."""
    return MARKER_PREFIX + patch_name


def patch_name_of(row: str) -> str | None:
    """The patch a marker row belongs to, or None for any other row."""
    return row[len(MARKER_PREFIX) :] if row.startswith(MARKER_PREFIX) else None


class _End(enum.Enum):
    END = "end of history"


class _Empty(enum.Enum):
    EMPTY = "position used without a row"


END = _End.END
"""No row at this position or after: the history ends before it."""
EMPTY = _Empty.EMPTY
"""A position that was taken but holds no row (an unrun ``reserve_step``,
``run_step`` on a ``functools.partial``, ``apply_schedules`` in a workflow)."""

Row = str | _Empty | _End


class Check(enum.Enum):
    """How DBOS treats the recorded row at an operation's position."""

    NAME = "name"
    """Compared with the name the code would record; a difference raises
    ``DBOSUnexpectedStepError`` (steps, children, sleep, send, events ...)."""
    UNCHECKED = "unchecked"
    """Never compared: ``handle.get_result()`` and the second position of a
    direct child call insert ``DBOS.getResult`` only when the id is free."""
    COMPANION = "companion"
    """The timer row after ``recv``/``get_event``: looked at only when the lead
    row is missing (a workflow interrupted while it waited)."""


class Outcome(enum.Enum):
    REPLAYED = "replayed"
    EXECUTED = "executed"
    MISMATCH = "mismatch"
    SILENT = "silent"
    """An unchecked operation landed on a row of another name: no error, but the
    recorded row is ignored and the live result used."""


def replay_operation(
    recorded: Row, name: str, check: Check = Check.NAME, lead_replayed: bool = True
) -> Outcome:
    """What DBOS does when code calls operation ``name`` where ``recorded`` is."""
    if recorded is END or recorded is EMPTY:
        return Outcome.EXECUTED
    if check is Check.UNCHECKED:
        return Outcome.REPLAYED if recorded == name else Outcome.SILENT
    if check is Check.COMPANION and lead_replayed:
        return Outcome.REPLAYED
    return Outcome.REPLAYED if recorded == name else Outcome.MISMATCH


class PatchOutcome(enum.Enum):
    MARKER_REPLAYED = "marker replayed"
    """The history holds this patch's marker: True, and the marker's id is used."""
    MARKER_WRITTEN = "marker written"
    """No row yet: a new execution; True, and the marker is recorded."""
    OLD_PATH = "old path"
    """Any other row: False, and no id is used."""

    @property
    def taken(self) -> bool:
        return self is not PatchOutcome.OLD_PATH

    @property
    def uses_position(self) -> bool:
        return self is not PatchOutcome.OLD_PATH


def replay_patch(recorded: Row, patch_name: str) -> PatchOutcome:
    """``DBOS.patch(patch_name)`` (or ``patch_async``) facing ``recorded``."""
    if recorded is END or recorded is EMPTY:
        return PatchOutcome.MARKER_WRITTEN
    if recorded == marker(patch_name):
        return PatchOutcome.MARKER_REPLAYED
    return PatchOutcome.OLD_PATH


def replay_deprecate(recorded: Row, patch_name: str) -> bool:
    """Whether ``DBOS.deprecate_patch(patch_name)`` uses the position: only when
    the history holds the marker there.  It always returns True and never
    records anything."""
    return recorded == marker(patch_name)


def sleep_positions(seconds: float) -> int:
    """``DBOS.sleep(s)`` takes a position only when ``s`` is positive."""
    return 1 if seconds > 0 else 0


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The data of a ``DBOSUnexpectedStepError``: at ``position`` the history
    holds ``recorded`` while the code now calls ``expected``."""

    position: int
    recorded: str
    expected: str

    def message(self) -> str:
        return (
            f"step {self.position}, function {self.recorded} was recorded "
            f"when {self.expected} was expected"
        )


@dataclass
class ReplayCursor:
    """Walks one recorded history the way a DBOS workflow execution does.

    ``rows[i]`` is the row at ``function_id`` ``i + 1`` (None for a position
    without a row).  Methods mirror the DBOS calls and report what DBOS would
    do; a cursor over an empty history behaves like a fresh execution and
    collects what it would record in ``written``.
    """

    rows: Sequence[str | None] = ()
    position: int = 0
    written: list[str] = field(default_factory=list)
    silent: list[int] = field(default_factory=list)

    def peek(self, offset: int = 1) -> Row:
        index = self.position + offset - 1
        if index >= len(self.rows):
            return END
        row = self.rows[index]
        return EMPTY if row is None else row

    def _advance(self, name: str, recorded: Row) -> None:
        self.position += 1
        if recorded is END:
            self.written.append(name)

    def operation(self, name: str, check: Check = Check.NAME) -> Mismatch | None:
        """An operation taking one position; returns the mismatch DBOS raises."""
        recorded = self.peek()
        outcome = replay_operation(recorded, name, check)
        self._advance(name, recorded)
        if outcome is Outcome.SILENT:
            self.silent.append(self.position)
        if outcome is Outcome.MISMATCH:
            assert isinstance(recorded, str)
            return Mismatch(self.position, recorded, name)
        return None

    def waiting_operation(self, name: str) -> Mismatch | None:
        """``recv`` / ``get_event``: the lead row, then its timer companion."""
        lead = self.peek()
        found = self.operation(name)
        if found is not None:
            return found
        recorded = self.peek()
        outcome = replay_operation(
            recorded, TIMER, Check.COMPANION, lead_replayed=isinstance(lead, str)
        )
        self._advance(TIMER, recorded)
        if outcome is Outcome.MISMATCH:
            assert isinstance(recorded, str)
            return Mismatch(self.position, recorded, TIMER)
        return None

    def patch(self, patch_name: str) -> bool:
        recorded = self.peek()
        outcome = replay_patch(recorded, patch_name)
        if outcome.uses_position:
            self._advance(marker(patch_name), recorded)
        return outcome.taken

    def deprecate_patch(self, patch_name: str) -> bool:
        if replay_deprecate(self.peek(), patch_name):
            self.position += 1
        return True

    @property
    def skipped(self) -> int:
        """Recorded rows the execution never reached: DESIGN's drift."""
        return max(0, len(self.rows) - self.position)
