"""The replay harness on real DBOS, and its verdict rules on hand-made replays.

The DBOS tests run in this process, one DBOS at a time: every harness call
launches DBOS and destroys it before returning.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from workflow_lint_runtime.replayer import (
    Entry,
    Failure,
    History,
    Replay,
    ReplayerError,
    ReplayOutcome,
    Verdict,
    VerdictKind,
    assert_replays,
    fresh_errors,
    load_entries,
    main,
    parse_entries,
    record_histories,
    replay_histories,
    verdict,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
INSERT = FIXTURES / "harness_smoke_insert_step"
APPEND = FIXTURES / "harness_smoke_append_step"
DELETE = FIXTURES / "harness_smoke_delete_last_step"
ORDER = ("reserve_stock", "charge_card", "ship_order")


@dataclass(frozen=True)
class Run:
    histories: list[History]
    replays: list[Replay]
    verdict: Verdict

    def replays_of(self, history: History) -> list[Replay]:
        return [r for r in self.replays if r.history_id == history.workflow_id]


def replay_pair(
    old: Path, new: Path, entries: list[Entry], tmp: Path, timeout: float = 30.0
) -> Run:
    db_url = "sqlite:///" + str(tmp / "replay.sqlite")
    histories = record_histories(old, entries, db_url)
    replays = replay_histories(new, histories, db_url, timeout=timeout)
    return Run(histories, replays, verdict(histories, replays))


def replay_fixture(folder: Path, tmp: Path) -> Run:
    entries = load_entries(folder / "args.json")
    return replay_pair(folder / "old.py", folder / "new.py", entries, tmp)


@pytest.fixture(scope="module")
def inserted(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return replay_fixture(INSERT, tmp_path_factory.mktemp("insert"))


@pytest.fixture(scope="module")
def appended(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return replay_fixture(APPEND, tmp_path_factory.mktemp("append"))


@pytest.fixture(scope="module")
def deleted(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return replay_fixture(DELETE, tmp_path_factory.mktemp("delete"))


def write(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source))
    return path


# ---------------------------------------------------------- real DBOS runs
@pytest.mark.dbos
def test_record_reads_one_history_per_run(inserted: Run) -> None:
    assert [
        (h.workflow_name, h.rows, h.child, h.status) for h in inserted.histories
    ] == [
        ("fulfil_order", ORDER, False, "SUCCESS"),
        ("fulfil_order", ORDER, False, "SUCCESS"),
    ]
    assert [h.inputs for h in inserted.histories] == ["'ord-1', 2", "'ord-2', 5"]


@pytest.mark.dbos
def test_every_prefix_of_every_history_is_replayed(inserted: Run) -> None:
    for history in inserted.histories:
        assert [r.k for r in inserted.replays_of(history)] == [0, 1, 2, 3]


@pytest.mark.dbos
def test_inserted_step_breaks_histories_past_the_insertion_point(
    inserted: Run,
) -> None:
    replays = inserted.replays_of(inserted.histories[0])
    assert [r.outcome for r in replays] == [
        ReplayOutcome.OK,
        ReplayOutcome.OK,
        ReplayOutcome.ERROR,
        ReplayOutcome.ERROR,
    ]
    failure = replays[2].failure
    assert failure is not None
    assert (failure.type, failure.step_id, failure.recorded, failure.expected) == (
        "DBOSUnexpectedStepError",
        2,
        "charge_card",
        "screen_for_fraud",
    )
    # A history cut after reserve_stock takes the new path: it runs 4 operations.
    assert replays[1].consumed == 4
    assert replays[1].recorded_after == (
        "screen_for_fraud",
        "charge_card",
        "ship_order",
    )
    assert inserted.verdict.kind is VerdictKind.BREAK
    witness = inserted.verdict.witness
    assert witness is not None
    assert (witness.history, witness.replay.k) == (inserted.histories[0], 2)
    assert "'charge_card'" in witness.reason and "'screen_for_fraud'" in witness.reason


@pytest.mark.dbos
def test_appended_step_extends_complete_histories(appended: Run) -> None:
    assert appended.verdict.kind is VerdictKind.EXTEND
    witness = appended.verdict.witness
    assert witness is not None
    assert witness.replay.k == 3
    assert witness.replay.consumed == 4
    assert witness.replay.recorded_after == ("email_receipt",)
    assert {f.kind for f in appended.verdict.findings} == {VerdictKind.EXTEND}


@pytest.mark.dbos
def test_deleted_last_step_drifts(deleted: Run) -> None:
    assert deleted.verdict.kind is VerdictKind.DRIFT
    witness = deleted.verdict.witness
    assert witness is not None
    assert (witness.replay.k, witness.replay.consumed) == (3, 2)
    assert witness.replay.outcome is ReplayOutcome.OK
    assert "'ship_order'" in witness.reason


@pytest.mark.dbos
def test_renamed_workflow_strands_without_waiting_for_the_timeout(
    tmp_path: Path,
) -> None:
    source = (INSERT / "old.py").read_text()
    new = tmp_path / "renamed.py"
    new.write_text(source.replace("def fulfil_order(", "def fulfill_order("))
    entries = [Entry("fulfil_order", [("ord-1", 2)])]
    started = time.monotonic()
    run = replay_pair(INSERT / "old.py", new, entries, tmp_path, timeout=20.0)
    assert time.monotonic() - started < 10.0
    assert {r.outcome for r in run.replays} == {ReplayOutcome.STUCK}
    assert {r.failure.type for r in run.replays if r.failure} == {
        "DBOSWorkflowFunctionNotFoundError"
    }
    assert run.verdict.kind is VerdictKind.STRAND


@pytest.mark.dbos
def test_get_result_on_another_steps_row_is_silent_drift(tmp_path: Path) -> None:
    common = """\
        from dbos import DBOS


        @DBOS.workflow()
        def render_invoice(invoice_id: str) -> str:
            return f"pdf-{invoice_id}"


        @DBOS.step()
        def audit(invoice_id: str) -> None:
            pass


        @DBOS.step()
        def email_invoice(invoice_id: str) -> None:
            pass
        """
    old = write(
        tmp_path / "old.py",
        common
        + """
        @DBOS.workflow()
        def send_invoice(invoice_id: str) -> None:
            DBOS.start_workflow(render_invoice, invoice_id)
            audit(invoice_id)
            email_invoice(invoice_id)
        """,
    )
    new = write(
        tmp_path / "new.py",
        common
        + """
        @DBOS.workflow()
        def send_invoice(invoice_id: str) -> None:
            handle = DBOS.start_workflow(render_invoice, invoice_id)
            handle.get_result()
            email_invoice(invoice_id)
        """,
    )
    run = replay_pair(old, new, [Entry("send_invoice", [("inv-1",)])], tmp_path)
    root = run.histories[0]
    assert root.rows == ("render_invoice", "audit", "email_invoice")
    assert [h.child for h in run.histories] == [False, True]
    assert [r.silent_positions for r in run.replays_of(root)] == [(), (), (2,), (2,)]
    assert run.verdict.kind is VerdictKind.DRIFT
    assert run.verdict.witness is not None
    assert "'audit'" in run.verdict.witness.reason


@pytest.mark.dbos
def test_assert_replays_lists_each_failing_replay() -> None:
    entries = load_entries(INSERT / "args.json")
    with pytest.raises(AssertionError) as raised:
        assert_replays(INSERT / "old.py", INSERT / "new.py", entries)
    message = str(raised.value)
    assert message.startswith(
        "4 replay(s) of histories recorded by old.py go wrong with new.py:"
    )
    assert message.count("\n  break: fulfil_order(") == 4
    assert (
        "break: fulfil_order('ord-1', 2) [reserve_stock, charge_card, ship_order] "
        "interrupted after 2 operation(s): at step 2 the history recorded "
        "'charge_card' where the new code calls 'screen_for_fraud'"
    ) in message


@pytest.mark.dbos
def test_assert_replays_accepts_an_extension_unless_strict() -> None:
    entries = load_entries(APPEND / "args.json")
    result = assert_replays(APPEND / "old.py", APPEND / "new.py", entries)
    assert result.kind is VerdictKind.EXTEND
    with pytest.raises(AssertionError, match="extend: fulfil_order"):
        assert_replays(APPEND / "old.py", APPEND / "new.py", entries, strict=True)


@pytest.mark.dbos
def test_on_launch_registers_the_module_queues(tmp_path: Path) -> None:
    old = write(
        tmp_path / "old.py",
        """\
        from dbos import DBOS

        QUEUE = "thumbnails"


        def on_launch() -> None:
            DBOS.register_queue(QUEUE, polling_interval_sec=0.05)


        @DBOS.workflow()
        def thumbnail(photo_id: str) -> str:
            return f"thumb-{photo_id}"


        @DBOS.workflow()
        def import_album(photo_ids: list[str]) -> list[str]:
            queue = DBOS.retrieve_queue(QUEUE)
            handles = [queue.enqueue(thumbnail, p) for p in photo_ids]
            return [h.get_result() for h in handles]
        """,
    )
    run = replay_pair(old, old, [Entry("import_album", [(["p1", "p2"],)])], tmp_path)
    assert run.histories[0].rows == (
        "thumbnail",
        "thumbnail",
        "DBOS.getResult",
        "DBOS.getResult",
    )
    assert [h.workflow_name for h in run.histories[1:]] == ["thumbnail", "thumbnail"]
    assert run.verdict.kind is VerdictKind.SAFE


# ------------------------------------------------- verdict rules, no DBOS
HISTORY = History("wf-1", "fulfil_order", ORDER, child=False, status="SUCCESS")
MISMATCH = Failure("DBOSUnexpectedStepError", "step 2 ...", 2, "charge_card", "x")


def ok(k: int, consumed: int, after: tuple[str, ...] = ()) -> Replay:
    return Replay("wf-1", k, f"f{k}", ReplayOutcome.OK, None, consumed, after)


def failed(k: int, failure: Failure) -> Replay:
    return Replay("wf-1", k, f"f{k}", ReplayOutcome.ERROR, failure, 1)


def judge(*replays: Replay) -> VerdictKind:
    return verdict([HISTORY], list(replays)).kind


def test_identical_replays_are_safe() -> None:
    assert judge(ok(0, 3, ORDER), ok(1, 3), ok(2, 3), ok(3, 3)) is VerdictKind.SAFE


def test_worst_kind_wins() -> None:
    stuck = Replay("wf-1", 1, "f1", ReplayOutcome.STUCK)
    assert judge(ok(3, 4, ("x",)), ok(2, 1), stuck, failed(2, MISMATCH)) is (
        VerdictKind.BREAK
    )
    assert judge(ok(3, 4, ("x",)), ok(2, 1), stuck) is VerdictKind.STRAND
    assert judge(ok(3, 4, ("x",)), ok(2, 1)) is VerdictKind.DRIFT
    assert judge(ok(3, 4, ("x",))) is VerdictKind.EXTEND


def test_witness_is_the_shortest_failing_prefix() -> None:
    result = verdict([HISTORY], [failed(3, MISMATCH), failed(2, MISMATCH)])
    assert result.witness is not None
    assert result.witness.replay.k == 2


def test_error_a_fresh_run_also_raises_is_not_a_break() -> None:
    own = Failure("ValueError", "bad quantity")
    assert judge(failed(0, own), failed(2, own)) is VerdictKind.SAFE
    assert judge(ok(0, 3), failed(2, own)) is VerdictKind.BREAK
    other = Failure("KeyError", "'sku'")
    assert judge(failed(0, own), failed(2, other)) is VerdictKind.BREAK


def test_explicit_baseline_overrides_the_k0_replays() -> None:
    own = Failure("ValueError", "bad quantity")
    replays = [ok(0, 3), failed(2, own)]
    assert fresh_errors(replays) == {"wf-1": None}
    result = verdict([HISTORY], replays, {"wf-1": "ValueError"})
    assert result.kind is VerdictKind.SAFE


def test_extension_needs_the_complete_history_of_a_finished_workflow() -> None:
    assert judge(ok(2, 4, ("ship_order", "x"))) is VerdictKind.SAFE
    pending = History("wf-1", "fulfil_order", ORDER, child=False, status="PENDING")
    assert verdict([pending], [ok(3, 4, ("x",))]).kind is VerdictKind.SAFE


# ------------------------------------------------ entries and command line
def test_parse_entries_drops_workflows_without_old_histories() -> None:
    data = {
        "entries": [
            {"old": "fulfil_order", "new": "fulfil_order", "candidates": [["o", 1]]},
            {"new": "added_later", "candidates": [[]]},
        ]
    }
    assert parse_entries(data) == [Entry("fulfil_order", (("o", 1),))]


@pytest.mark.parametrize(
    "data",
    [[], {"entries": {}}, {"entries": [{"old": "wf", "candidates": ["x"]}]}],
)
def test_parse_entries_rejects_other_shapes(data: object) -> None:
    with pytest.raises(ReplayerError):
        parse_entries(data)


def test_command_line_reports_a_bad_args_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = write(tmp_path / "args.json", '{"entries": "none"}')
    old = str(INSERT / "old.py")
    assert main([old, old, "--args", str(args)]) == 2
    assert "replayer:" in capsys.readouterr().err


def test_importing_the_replayer_imports_neither_dbos_nor_the_checker() -> None:
    code = (
        "import json, sys, workflow_lint_runtime.replayer;"
        "print(json.dumps(sorted(m for m in ('dbos', 'libcst', 'workflow_lint')"
        " if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "runtime",
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == []
