"""The shim with real dbos 3.4.0: DBOS's patch semantics, our misuse errors,
and explained step mismatches.

Versions of a workflow are registered under fixed names (``name=``), one
launch each, on one SQLite database; ``DBOS.fork_workflow(id, k + 1)`` replays
the first ``k`` recorded rows with the code registered now, as recovery after
a crash at that point would.  DBOS is process-global: every launch is
destroyed with its registry before the next.
"""

from __future__ import annotations

import pickle
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from dbos import DBOS, SetWorkflowID
from dbos._error import DBOSException, DBOSUnexpectedStepError
from workflow_lint_runtime import shim
from workflow_lint_runtime.replay_rules import Mismatch, ReplayCursor

pytestmark = pytest.mark.dbos

T = TypeVar("T")
FORKS = "shimtest-forks"
TERMINAL = {"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"}
HERE = Path(__file__).resolve()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return "sqlite:///" + str(tmp_path / "shim.sqlite")


@contextmanager
def launched(db_url: str, define: Callable[[], T]) -> Iterator[T]:
    """DBOS running ``define``'s workflows, and nothing else, on ``db_url``."""
    DBOS.destroy(destroy_registry=True)
    defined = define()
    DBOS(
        config={
            "name": "shimtest",
            "system_database_url": db_url,
            "notification_listener_polling_interval_sec": 0.01,
            "log_level": "CRITICAL",
        }
    )
    DBOS.launch()
    # Forks go to a queue of ours: DBOS's internal queue polls once a second.
    DBOS.register_queue(FORKS, polling_interval_sec=0.01, on_conflict="always_update")
    try:
        yield defined
    finally:
        DBOS.destroy(destroy_registry=True)


def outcome(call: Callable[[], Any]) -> Any:
    """What ``call`` returns, or the exception it raises."""
    try:
        return call()
    except Exception as error:
        return error


def run(workflow: Callable[..., Any], workflow_id: str) -> Any:
    with SetWorkflowID(workflow_id):
        handle = DBOS.start_workflow(workflow)
    return outcome(handle.get_result)


def replay(workflow_id: str, k: int) -> tuple[str, Any]:
    """The running code over the first ``k`` rows of ``workflow_id``:
    (the fork's id, its result or the exception it raised).  One at a time:
    concurrent forks contend for SQLite's lock, and DBOS backs off a second."""
    fork_id = f"{workflow_id}-k{k}-{uuid.uuid4().hex[:6]}"
    with SetWorkflowID(fork_id):
        handle = DBOS.fork_workflow(
            workflow_id,
            k + 1,
            application_version=DBOS.application_version,
            queue_name=FORKS,
        )
    deadline = time.monotonic() + 30
    while handle.get_status().status not in TERMINAL:
        assert time.monotonic() < deadline, f"fork of {workflow_id} never finished"
        time.sleep(0.005)
    return fork_id, outcome(handle.get_result)


def replays(cases: list[tuple[str, int]]) -> list[tuple[str, Any]]:
    return [replay(workflow_id, k) for workflow_id, k in cases]


def rows(workflow_id: str) -> tuple[str, ...]:
    return tuple(s["function_name"] for s in DBOS.list_workflow_steps(workflow_id))


def line_of(marker: str) -> int:
    """The line of this file that ends with the comment ``marker``."""
    lines = HERE.read_text().splitlines()
    found = [n for n, text in enumerate(lines, 1) if text.endswith(marker)]
    assert len(found) == 1, marker
    return found[0]


def define_steps(is_async: bool = False) -> SimpleNamespace:
    """Steps recorded as ``a``, ``b``, ``c``, ``d``, returning 1, 10, 100, 1000."""
    steps: dict[str, Any] = {}
    for value, name in enumerate("abcd"):

        def sync(value: int = value) -> int:
            return int(10**value)

        async def async_(value: int = value) -> int:
            return int(10**value)

        steps[name] = DBOS.step(name=name)(async_ if is_async else sync)
    return SimpleNamespace(**steps)


# ------------------------------------------------ patch: v1 -> v2 replays
def checkout_v1(is_async: bool) -> Callable[[], Callable[[], Any]]:
    def define() -> Callable[[], Any]:
        s = define_steps(is_async)

        def checkout() -> str:
            s.a()
            s.c()
            return "v1"

        async def checkout_async() -> str:
            await s.a()
            await s.c()
            return "v1"

        chosen = checkout_async if is_async else checkout
        return DBOS.workflow(name="checkout")(chosen)

    return define


def checkout_v2(is_async: bool) -> Callable[[], Callable[[], Any]]:
    def define() -> Callable[[], Any]:
        s = define_steps(is_async)

        def checkout() -> str:
            s.a()
            if shim.patch("checkout-b"):
                s.b()
                s.c()
                return "new"
            s.c()
            return "old"

        async def checkout_async() -> str:
            await s.a()
            if await shim.patch_async("checkout-b"):
                await s.b()
                await s.c()
                return "new"
            await s.c()
            return "old"

        chosen = checkout_async if is_async else checkout
        return DBOS.workflow(name="checkout")(chosen)

    return define


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_patch_takes_the_old_branch_on_v1_histories(
    db_url: str, is_async: bool
) -> None:
    with launched(db_url, checkout_v1(is_async)) as checkout:
        assert run(checkout, "v1-run") == "v1"
        assert rows("v1-run") == ("a", "c")

    marker = "DBOS.patch-checkout-b"
    with launched(db_url, checkout_v2(is_async)) as checkout:
        assert run(checkout, "v2-run") == "new"
        assert rows("v2-run") == ("a", marker, "b", "c")
        cases = [("v1-run", k) for k in range(3)] + [("v2-run", k) for k in range(5)]
        seen = set()
        for (workflow_id, k), (fork_id, result) in zip(
            cases, replays(cases), strict=True
        ):
            # The shared replay rules predict the branch DBOS takes.
            cursor = ReplayCursor(rows(workflow_id)[:k])
            assert cursor.operation("a") is None
            expected = "new" if cursor.patch("checkout-b") else "old"
            assert result == expected, (workflow_id, k)
            new_rows = ("a", marker, "b", "c")
            assert rows(fork_id) == (new_rows if expected == "new" else ("a", "c"))
            seen.add(result)
        assert seen == {"old", "new"}


# ------------------- the life of a patch, with DBOS's API and with ours
def lifecycle(version: int, api: Any) -> Callable[[], Callable[[], Any]]:
    """DBOS's own patch test: v1; v2 patched; v3 stacked over v2; v4 with v3
    deprecated; v5 with the patch removed.  ``api`` is DBOS or the shim."""

    def define() -> Callable[[], Any]:
        s = define_steps()

        @DBOS.workflow(name="order")
        def order() -> int:
            total: int = s.a()
            if version == 1:
                total += s.b()
            elif version == 2:
                total += s.c() if api.patch("v2") else s.b()
            elif version == 3:
                if api.patch("v3"):
                    total += s.d()
                elif api.patch("v2"):
                    total += s.c()
                else:
                    total += s.b()
            elif version == 4:
                api.deprecate_patch("v3")
                total += s.d()
            else:
                total += s.d()
            return total

        return order

    return define


def lifecycle_table(db_url: str, api: Any) -> dict[tuple[int, int, int], object]:
    """Each version's replay of every prefix of every history recorded by it
    and before it: {(code version, history version, rows replayed): (result
    or the error's type name, rows of the replay)}."""
    table: dict[tuple[int, int, int], object] = {}
    for version in range(1, 6):
        with launched(db_url, lifecycle(version, api)) as order:
            assert run(order, f"h{version}") == 1 + 10 ** min(version, 3)
            cases = [
                (f"h{history}", k)
                for history in range(1, version + 1)
                for k in range(len(rows(f"h{history}")) + 1)
            ]
            for (workflow_id, k), (fork_id, result) in zip(
                cases, replays(cases), strict=True
            ):
                if isinstance(result, Exception):
                    result = type(result).__name__
                table[version, int(workflow_id[1:]), k] = (result, rows(fork_id))
    return table


def test_shim_matches_dbos_over_a_patch_life(tmp_path: Path) -> None:
    with_dbos = lifecycle_table("sqlite:///" + str(tmp_path / "dbos.sqlite"), DBOS)
    with_shim = lifecycle_table("sqlite:///" + str(tmp_path / "shim.sqlite"), shim)
    assert with_shim == with_dbos
    # Whole histories, as recovery replays a workflow that was interrupted
    # just before it returned:
    whole = {
        (version, history): result
        for (version, history, k), (result, replayed) in with_shim.items()
        if k == (3 if history in (2, 3) else 2)
    }
    mismatch = "DBOSUnexpectedStepError"
    assert whole == {
        (1, 1): 11,
        (2, 1): 11, (2, 2): 101,
        (3, 1): 11, (3, 2): 101, (3, 3): 1001,
        (4, 1): mismatch, (4, 2): mismatch, (4, 3): 1001, (4, 4): 1001,
        (5, 1): mismatch, (5, 2): mismatch, (5, 3): mismatch,
        (5, 4): 1001, (5, 5): 1001,
    }  # fmt: skip


# ----------------------------------------------------------------- misuse
def misuse_workflows() -> dict[str, Callable[[], Any]]:
    @DBOS.step()
    def patch_in_step() -> bool:
        return shim.patch("p")

    @DBOS.step()
    async def patch_async_in_step() -> bool:
        return await shim.patch_async("p")

    @DBOS.step()
    def deprecate_in_step() -> bool:
        return shim.deprecate_patch("p")

    @DBOS.workflow()
    async def sync_patch_in_async() -> bool:
        return shim.patch("p")

    @DBOS.workflow()
    async def sync_deprecate_in_async() -> bool:
        return shim.deprecate_patch("p")

    @DBOS.workflow()
    def async_patch_in_sync() -> object:
        return shim.patch_async("p")

    @DBOS.workflow()
    def async_deprecate_in_sync() -> object:
        return shim.deprecate_patch_async("p")

    @DBOS.workflow()
    async def unawaited() -> str:
        if shim.patch_async("p"):
            return "new"
        return "old"

    @DBOS.workflow()
    def in_step() -> bool:
        return patch_in_step()

    @DBOS.workflow()
    async def in_async_step() -> bool:
        return await patch_async_in_step()

    @DBOS.workflow()
    def deprecate_inside_step() -> bool:
        return deprecate_in_step()

    @DBOS.workflow()
    def not_a_string() -> bool:
        name: Any = 7
        return shim.patch(name)

    @DBOS.workflow()
    def empty_name() -> bool:
        return shim.patch(" ")

    return {
        name: value
        for name, value in locals().items()
        if not name.startswith(("patch_", "deprecate_in_"))
    }


MISUSE = {
    "sync_patch_in_async": "`await patch_async('p')`",
    "sync_deprecate_in_async": "`await deprecate_patch_async('p')`",
    "async_patch_in_sync": "no event loop running (a sync workflow)",
    "async_deprecate_in_sync": "write `deprecate_patch('p')`",
    "unawaited": "write `if await patch_async(...)`",
    "in_step": "inside a step of workflow",
    "in_async_step": "inside a step of workflow",
    "deprecate_inside_step": "inside a step of workflow",
    "not_a_string": "got int 7",
    "empty_name": "non-empty patch name",
}


def test_misuse_fails_fast_with_what_to_do(db_url: str) -> None:
    with launched(db_url, misuse_workflows) as workflows:
        assert set(workflows) == set(MISUSE)
        for name, fragment in MISUSE.items():
            error = run(workflows[name], f"misuse-{name}")
            assert isinstance(error, shim.PatchMisuseError), (name, error)
            assert fragment in str(error), (name, str(error))
            # DBOS's own check raises RuntimeError: handlers for it still match.
            assert isinstance(error, (ValueError, RuntimeError))
            # Nothing was recorded for the misused call (a step, at most).
            recorded = rows(f"misuse-{name}")
            assert len(recorded) <= 1, recorded
            assert not any(row.startswith("DBOS.patch") for row in recorded)


def test_names_are_checked_before_dbos_is_asked() -> None:
    bad: Any
    for bad in (None, 7, b"p", ""):
        for api in (shim.patch, shim.deprecate_patch):
            with pytest.raises(shim.PatchMisuseError):
                api(bad)
        for api_async in (shim.patch_async, shim.deprecate_patch_async):
            with pytest.raises(shim.PatchMisuseError):
                api_async(bad)
    # Outside any workflow DBOS's own error stands, as with DBOS.patch.
    with pytest.raises(DBOSException, match="must be called from a workflow"):
        shim.patch("p")


# ------------------------------------------------------ explained errors
def mismatch_v1(with_marker: bool, is_async: bool) -> Callable[[], Callable[[], Any]]:
    def define() -> Callable[[], Any]:
        s = define_steps(is_async)

        def ship() -> Any:
            total: int = s.a()
            if with_marker and DBOS.patch("ship-fast"):
                total += s.c()
            return total + s.b()

        async def ship_async() -> Any:
            total: int = await s.a()
            return total + await s.b()

        if is_async:
            return DBOS.workflow(name="ship_async")(ship_async)
        return DBOS.workflow(name="ship")(ship)

    return define


def mismatch_v2(form: str) -> Callable[[], Callable[[], Any]]:
    def define() -> Callable[[], Any]:
        s = define_steps(form == "decorated_async")

        @shim.explain_mismatches
        def decorated() -> Any:
            return s.a() + s.c()  # <- decorated call

        def helper() -> Any:
            return int(s.c())  # <- helper call

        def with_block() -> Any:
            with shim.explain_mismatches(workflow="ship"):
                return s.a() + helper()  # <- with-block call

        @shim.explain_mismatches(workflow="ship")
        async def decorated_async() -> Any:
            return await s.a() + await s.c()  # <- async call

        def removed() -> Any:
            with shim.explain_mismatches():
                return s.a() + s.b()  # <- removed call

        if form == "decorated_async":
            return DBOS.workflow(name="ship_async")(decorated_async)
        chosen = {"decorated": decorated, "with_block": with_block, "removed": removed}
        return DBOS.workflow(name="ship")(chosen[form])

    return define


@pytest.mark.parametrize(
    ("form", "line", "via", "fix"),
    [
        ("decorated", "decorated call", None, 'if DBOS.patch("ship-c"):'),
        ("with_block", "helper call", "with-block call", 'if DBOS.patch("ship-c"):'),
        ("decorated_async", "async call", None, 'if await DBOS.patch_async("ship-c")'),
        ("removed", "removed call", None, 'DBOS.deprecate_patch("ship-fast")'),
    ],
)
def test_a_mismatch_names_its_line_and_its_patch(
    db_url: str, form: str, line: str, via: str | None, fix: str
) -> None:
    with_marker = form == "removed"
    is_async = form == "decorated_async"
    with launched(db_url, mismatch_v1(with_marker, is_async)) as ship:
        assert run(ship, "old") == (111 if with_marker else 11)

    with launched(db_url, mismatch_v2(form)):
        _, error = replay("old", len(rows("old")))

    assert isinstance(error, DBOSUnexpectedStepError), error
    assert isinstance(error, shim.ExplainedStepError)
    recorded = "DBOS.patch-ship-fast" if with_marker else "b"
    expected = "b" if with_marker else "c"
    assert error.mismatch == Mismatch(2, recorded, expected)
    location = f"{HERE}:{line_of('# <- ' + line)}"
    assert error.location == location
    message = str(error)
    assert f"mismatched call: {location}" in message
    assert f"function {recorded} was recorded when {expected} was expected" in message
    assert fix in message
    if via is not None:
        assert (
            f"reached from the workflow at {HERE}:{line_of('# <- ' + via)}" in message
        )
    else:
        assert "reached from" not in message
    # DBOS stores a workflow's error pickled: the explanation survives it.
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error)
    assert str(again) == message


def test_other_errors_pass_through_unexplained() -> None:
    @shim.explain_mismatches
    def fails() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        fails()
    with pytest.raises(ZeroDivisionError), shim.explain_mismatches():
        _ = 1 / 0
