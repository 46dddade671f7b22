"""DBOS's replay rules as the shared runtime module implements them."""

from __future__ import annotations

from workflow_lint_runtime.replay_rules import (
    EMPTY,
    END,
    Check,
    Outcome,
    PatchOutcome,
    ReplayCursor,
    marker,
    replay_deprecate,
    replay_operation,
    replay_patch,
)


def test_checked_row_must_match() -> None:
    assert replay_operation("a", "a") is Outcome.REPLAYED
    assert replay_operation("a", "b") is Outcome.MISMATCH
    assert replay_operation(END, "b") is Outcome.EXECUTED
    assert replay_operation(EMPTY, "b") is Outcome.EXECUTED


def test_get_result_rows_are_never_checked() -> None:
    assert replay_operation("a", "DBOS.getResult", Check.UNCHECKED) is Outcome.SILENT
    assert (
        replay_operation("DBOS.getResult", "DBOS.getResult", Check.UNCHECKED)
        is Outcome.REPLAYED
    )


def test_patch_marker_semantics() -> None:
    assert replay_patch(END, "p") is PatchOutcome.MARKER_WRITTEN
    assert replay_patch(marker("p"), "p") is PatchOutcome.MARKER_REPLAYED
    assert replay_patch("b", "p") is PatchOutcome.OLD_PATH
    assert replay_patch(marker("q"), "p") is PatchOutcome.OLD_PATH
    assert not PatchOutcome.OLD_PATH.uses_position
    assert replay_deprecate(marker("p"), "p")
    assert not replay_deprecate("b", "p")


def test_cursor_replays_dbos_patch_test_versions() -> None:
    """v1 a,b,c; v2 patches b -> bnew; v3 deprecates; v4 removes (DESIGN §1)."""

    def v2(cursor: ReplayCursor) -> list[object]:
        errors: list[object] = [cursor.operation("a")]
        if cursor.patch("fix"):
            errors.append(cursor.operation("bnew"))
        else:
            errors.append(cursor.operation("b"))
        errors.append(cursor.operation("c"))
        return [e for e in errors if e is not None]

    def v3(cursor: ReplayCursor) -> list[object]:
        errors: list[object] = [cursor.operation("a")]
        cursor.deprecate_patch("fix")
        errors += [cursor.operation("bnew"), cursor.operation("c")]
        return [e for e in errors if e is not None]

    def v4(cursor: ReplayCursor) -> list[object]:
        errors = [cursor.operation(n) for n in ("a", "bnew", "c")]
        return [e for e in errors if e is not None]

    v1_history = ["a", "b", "c"]
    assert v2(ReplayCursor(v1_history)) == []
    fresh = ReplayCursor()
    v2(fresh)
    assert fresh.written == ["a", marker("fix"), "bnew", "c"]
    assert v2(ReplayCursor(fresh.written)) == []
    assert v3(ReplayCursor(fresh.written)) == []
    assert v3(ReplayCursor(v1_history)) != []  # deprecating too early
    fresh_v3 = ReplayCursor()
    v3(fresh_v3)
    assert v4(ReplayCursor(fresh_v3.written)) == []
    assert v4(ReplayCursor(fresh.written)) != []  # removing too early
    # a workflow sitting right before the patch takes the new branch
    assert v2(ReplayCursor(["a"])) == []


def test_waiting_operation_companion_row() -> None:
    cursor = ReplayCursor(["DBOS.recv", "DBOS.sleep"])
    assert cursor.waiting_operation("DBOS.recv") is None
    assert cursor.position == 2
    # a recv still waiting: timer row written, lead row missing
    hole = ReplayCursor([None, "DBOS.sleep"])
    assert hole.waiting_operation("DBOS.recv") is None
    wrong = ReplayCursor([None, "charge"])
    assert wrong.waiting_operation("DBOS.recv") is not None


def test_skipped_rows_are_drift() -> None:
    cursor = ReplayCursor(["a", "b", "c"])
    cursor.operation("a")
    cursor.operation("b")
    assert cursor.skipped == 1
