"""Judging real recorded histories (from a system database) against new code.

``check`` compares two revisions; here the old side is not code but the rows
pending workflows actually recorded, so nothing has to be assumed about
which branch they took.  The new code's branches are still unknown (its
inputs are not evaluated), so a history is "break" when every way through the
new code fails on it, and "at risk" when only some ways do.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from workflow_lint_runtime.replay_rules import (
    Check,
    Outcome,
    Row,
    marker,
    replay_operation,
)

from workflow_lint.ir import Node, PatchIf, Site, WorkflowIR
from workflow_lint.judge import LOOP_BOUND, Cont, Decisions, Event, _Machine

PATH_BUDGET = 20_000


class Fate(enum.Enum):
    OK = "ok"
    BREAK = "break"
    AT_RISK = "at risk"
    DRIFT = "drift"
    STRAND = "strand"
    UNKNOWN = "unknown"

    @property
    def fails(self) -> bool:
        return self is not Fate.OK


class PatchState(enum.Enum):
    HOLDS_MARKER = "holds its marker"
    PASSED_WITHOUT = "passed it without the marker"
    NOT_REACHED = "has not reached it"


@dataclass
class HistoryJudgement:
    fate: Fate
    position: int = 0
    recorded: str | None = None
    expected: str | None = None
    site: Site | None = None
    patches: dict[str, set[PatchState]] = field(default_factory=dict)


class _Watcher(_Machine):
    """The new-code machine, noting what each patch saw."""

    def __init__(self, bound: int) -> None:
        super().__init__(is_old=False, bound=bound)
        self.seen: dict[str, set[PatchState]] = {}

    def dispatch(
        self, node: Node, cont: Cont, dmap: Decisions, peek: Event | None
    ) -> list[tuple[Event | None, Cont, Decisions]]:
        if isinstance(node, PatchIf) and node.name is not None:
            states = self.seen.setdefault(node.name, set())
            row = _row_name(peek)
            if row is None:
                states.add(PatchState.NOT_REACHED)
            elif row == marker(node.name):
                states.add(PatchState.HOLDS_MARKER)
            else:
                states.add(PatchState.PASSED_WITHOUT)
        return super().dispatch(node, cont, dmap, peek)


def _row_name(event: Event | None) -> str | None:
    """The row a patch faces; None where DBOS finds none and so writes the
    marker: past the history, or a position without a row (the hole a ``recv``
    still waiting leaves before its timer row)."""
    if event is None or event.kind == "end" or event.unit is None:
        return None
    if event.unit.name is None and event.unit.dynamic is None:
        return None
    return event.unit.name or ""


def _event(rows: Sequence[str | None], position: int) -> Event:
    from workflow_lint.ir import Unit

    if position >= len(rows):
        return Event("end")
    return Event("unit", Unit(rows[position]))


def judge_history(
    rows: Sequence[str | None], ir: WorkflowIR, bound: int = LOOP_BOUND
) -> HistoryJudgement:
    """How the new code ``ir`` fares replaying the recorded ``rows``."""
    machine = _Watcher(bound)
    fates: set[Fate] = set()
    first: HistoryJudgement | None = None
    # (cont, decisions, position, lead row replayed)
    stack: list[tuple[Cont, Decisions, int, bool]] = [
        ((("B", ir.body, 0),), {}, 0, True)
    ]
    seen: set[object] = set()
    while stack and len(seen) < PATH_BUDGET:
        cont, dmap, position, lead = stack.pop()
        memo = (cont, frozenset(dmap.items()), position, lead)
        if memo in seen:
            continue
        seen.add(memo)
        peek = _event(rows, position)
        for event, next_cont, next_map in machine.advance(cont, dmap, peek):
            if event.kind == "end":
                # The first recorded row left unreplayed (holes skipped: a
                # waiting recv has its timer row after a position without one).
                rest = [
                    (index + 1, row)
                    for index, row in enumerate(rows)
                    if index >= position and row is not None
                ]
                fates.add(Fate.DRIFT if rest else Fate.OK)
                if rest and first is None:
                    first = HistoryJudgement(Fate.DRIFT, rest[0][0], rest[0][1], None)
                continue
            if event.kind == "opaque":
                fates.add(Fate.UNKNOWN)
                continue
            if position >= len(rows) or event.kind == "ext":
                fates.add(Fate.OK)  # past the history: new code runs freely
                continue
            if event.kind in ("patch", "deprecate"):
                stack.append((next_cont, next_map, position + 1, True))
                continue
            assert event.unit is not None
            recorded = rows[position]
            row: Row = recorded if recorded is not None else _empty()
            name = event.unit.name if event.unit.name is not None else "<dynamic>"
            outcome = replay_operation(row, name, event.unit.check, lead_replayed=lead)
            if outcome is Outcome.MISMATCH or (
                event.unit.dynamic is not None and recorded is not None
            ):
                fates.add(Fate.BREAK)
                site = event.op.site if event.op is not None else None
                candidate = HistoryJudgement(
                    Fate.BREAK, position + 1, recorded, event.unit.display(), site
                )
                if first is None or first.fate is not Fate.BREAK:
                    first = candidate
                continue
            if outcome is Outcome.SILENT:
                fates.add(Fate.DRIFT)
            replayed = (
                outcome is Outcome.REPLAYED or event.unit.check is Check.COMPANION
            )
            stack.append((next_cont, next_map, position + 1, replayed))
    if stack:
        fates.add(Fate.UNKNOWN)
    result = first or HistoryJudgement(Fate.OK)
    if Fate.BREAK in fates:
        result.fate = Fate.BREAK if fates == {Fate.BREAK} else Fate.AT_RISK
    elif Fate.DRIFT in fates:
        result.fate = Fate.DRIFT if fates == {Fate.DRIFT} else Fate.AT_RISK
    elif Fate.UNKNOWN in fates:
        result.fate = Fate.UNKNOWN
    else:
        result.fate = Fate.OK
    result.patches = machine.seen
    return result


def _empty() -> Row:
    from workflow_lint_runtime.replay_rules import EMPTY

    return EMPTY
