"""DBOS's missing Replayer: replay recorded workflow histories with new code.

Temporal ships a ``Replayer`` so that a test can feed recorded histories to new
workflow code and fail before a deploy strands or crashes in-flight workflows.
DBOS 3.4 has no such tool, but it has the pieces: a history is the rows of
``operation_outputs``, and ``DBOS.fork_workflow(id, k + 1)`` copies the first
``k`` rows into a new workflow and runs the *currently registered* code over
them, exactly as recovery would after a crash at that point.  So:

1. :func:`record_histories` runs the old module's workflows and reads back
   every history, child workflows included;
2. :func:`replay_histories` relaunches DBOS on the same database with the new
   module and forks every history at every prefix length ``k = 0..n``;
3. :func:`verdict` turns the outcomes into one of DESIGN.md's verdicts
   (break, strand, drift, extend, safe) with a witness;
4. :func:`assert_replays` wraps the three for a user's own tests, and
   ``python -m workflow_lint_runtime.replayer OLD NEW --args args.json``
   prints the verdict as JSON.

Conventions for the modules under test (kept small on purpose):

- each file is imported on its own as a module named ``app``, so imports of
  sibling files are not supported;
- DBOS 3.4 rejects ``Queue(...)`` and wants ``DBOS.register_queue`` after
  ``DBOS.launch()``; a module that needs queues defines ``def on_launch():``
  and registers them there: the harness calls it right after each launch;
- workflows must finish on their own (short ``recv``/``get_event`` timeouts).

DBOS is process-global: these functions destroy any DBOS instance the process
already runs and leave none behind.  Run them in a process of their own (the
command line does) when the test process launches DBOS itself.  dbos is
imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import functools
import importlib.util
import json
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from dbos import DBOSConfig, WorkflowStatus

APP_MODULE = "app"
APP_NAME = "replayapp"
# Forks go to a queue of our own: its polling interval is ours to choose, while
# DBOS's internal queue polls once a second.  It is registered while recording
# too, so the replay launch starts its worker at once instead of up to a second
# later, when the queue manager next looks for new queues.
REPLAY_QUEUE = "workflow-lint-replay"
POLL_SECONDS = 0.02
ON_LAUNCH = "on_launch"
TERMINAL = frozenset(
    {"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"}
)
COMPLETE = frozenset({"SUCCESS", "ERROR"})
UNEXPECTED_STEP = "DBOSUnexpectedStepError"
GET_RESULT = "DBOS.getResult"
_LIST_CHUNK = 500
_MAX_LISTED = 20


class ReplayerError(Exception):
    """The harness itself could not run (bad entries, a module that fails to
    load): a problem to fix before any verdict means something."""


# ------------------------------------------------------------------ values
@dataclass(frozen=True, slots=True)
class Entry:
    """A workflow of the old module and the argument lists to run it on.

    ``workflow`` is an attribute path in the module (``checkout`` or
    ``Orders.checkout`` for a static method).  Only the old code is run
    directly: replays fork recorded workflows by their recorded names, so the
    new module needs no entry of its own.
    """

    workflow: str
    candidates: Sequence[Sequence[Any]]


@dataclass(frozen=True, slots=True)
class History:
    """One recorded workflow execution, as recovery would find it.

    ``rows[i]`` is the name recorded at ``function_id`` ``i + 1``, None for a
    position that was used without a row.  ``inputs`` is a readable rendering
    of the arguments, for witnesses.
    """

    workflow_id: str
    workflow_name: str
    rows: tuple[str | None, ...]
    child: bool
    status: str
    inputs: str = ""


class ReplayOutcome(enum.Enum):
    OK = "ok"
    ERROR = "error"
    STUCK = "stuck"
    """Never finished: the queue could not start it (the workflow function is
    gone), or it was still waiting when the harness stopped waiting."""


@dataclass(frozen=True, slots=True)
class Failure:
    """The exception a replay ended with; for ``DBOSUnexpectedStepError`` also
    the position and both names, which is what a user needs to fix it."""

    type: str
    message: str
    step_id: int | None = None
    recorded: str | None = None
    expected: str | None = None


@dataclass(frozen=True, slots=True)
class Replay:
    """The new code run over the first ``k`` rows of a history.

    ``consumed`` is the position counter when the workflow finished (None when
    it never ran): fewer than ``k`` means recorded rows were skipped.
    ``recorded_after`` lists what the new code recorded past the prefix.
    ``silent_positions`` are prefix positions where ``handle.get_result()``
    met a row of another name; DBOS never name-checks that insert, so the
    recorded row is silently ignored.
    """

    history_id: str
    k: int
    fork_id: str
    outcome: ReplayOutcome
    failure: Failure | None = None
    consumed: int | None = None
    recorded_after: tuple[str, ...] = ()
    silent_positions: tuple[int, ...] = ()


class VerdictKind(enum.Enum):
    """DESIGN.md section 2, worst first."""

    BREAK = "break"
    STRAND = "strand"
    DRIFT = "drift"
    EXTEND = "extend"
    SAFE = "safe"

    @property
    def severity(self) -> int:
        return _SEVERITY.index(self)


_SEVERITY = list(VerdictKind)
FAILING = frozenset({VerdictKind.BREAK, VerdictKind.STRAND, VerdictKind.DRIFT})


@dataclass(frozen=True, slots=True)
class Finding:
    """One replay that is not plainly safe, and why."""

    kind: VerdictKind
    history: History
    replay: Replay
    reason: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The worst finding decides ``kind``; ``witness`` is its shortest prefix."""

    kind: VerdictKind
    witness: Finding | None
    findings: tuple[Finding, ...]
    histories: int
    replays: int


# ----------------------------------------------------------------- entries
def parse_entries(data: object) -> list[Entry]:
    """Entries from the ``args.json`` shape shared with the evaluation cases.

    An entry without ``old`` is a workflow the new code adds: it has no old
    histories, so it is dropped.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("entries"), list):
        raise ReplayerError('expected {"entries": [...]}')
    entries = []
    for raw in data["entries"]:
        if not isinstance(raw, Mapping):
            raise ReplayerError(f"entry is not an object: {raw!r}")
        old = raw.get("old")
        candidates = raw.get("candidates", [[]])
        if not old:
            continue
        if not isinstance(old, str) or not isinstance(candidates, list):
            raise ReplayerError(f"entry needs a symbol and candidates: {raw!r}")
        if not all(isinstance(args, list) for args in candidates):
            raise ReplayerError(f"each candidate is a list of arguments: {raw!r}")
        entries.append(Entry(old, tuple(tuple(args) for args in candidates)))
    return entries


def load_entries(path: str | Path) -> list[Entry]:
    return parse_entries(json.loads(Path(path).read_text()))


# ------------------------------------------------------------ observation
class _Observer:
    """Wraps three DBOS internals to see what the database does not keep.

    The final position counter of a workflow is only in memory; a replay whose
    workflow function is gone fails inside the queue worker, which only logs
    it; and an ignored ``DBOS.getResult`` insert leaves no trace.  Each wrapper
    records and then calls the original with the same arguments, so DBOS
    behaves exactly as without them.
    """

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}
        self._start_errors: dict[str, BaseException] = {}
        self._silent: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def counter(self, workflow_id: str) -> int | None:
        with self._lock:
            return self._counters.get(workflow_id)

    def start_error(self, workflow_id: str) -> BaseException | None:
        with self._lock:
            return self._start_errors.get(workflow_id)

    def unstartable(self) -> set[str]:
        with self._lock:
            return set(self._start_errors)

    def silent_positions(self, workflow_id: str) -> tuple[int, ...]:
        with self._lock:
            return tuple(sorted(set(self._silent.get(workflow_id, ()))))

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Observer]:
        import dbos._queue as queue_module
        from dbos._sys_db import SystemDatabase

        patches = [
            (SystemDatabase, "update_workflow_outcome", self._wrap_outcome),
            (SystemDatabase, "record_get_result", self._wrap_get_result),
            (queue_module, "execute_dequeued_workflow", self._wrap_dequeued),
        ]
        originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
        try:
            for owner, name, wrap in patches:
                setattr(owner, name, wrap(getattr(owner, name)))
            yield self
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)

    def _wrap_outcome(self, original: Callable[..., Any]) -> Callable[..., Any]:
        from dbos._context import get_local_dbos_context

        @functools.wraps(original)
        def outcome(sys_db: Any, workflow_id: str, *args: Any, **kwargs: Any) -> Any:
            ctx = get_local_dbos_context()
            if ctx is not None and ctx.workflow_id == workflow_id:
                with self._lock:
                    self._counters[workflow_id] = ctx.function_id
            return original(sys_db, workflow_id, *args, **kwargs)

        return outcome

    def _wrap_get_result(self, original: Callable[..., Any]) -> Callable[..., Any]:
        from dbos._context import get_local_dbos_context

        @functools.wraps(original)
        def get_result(sys_db: Any, *args: Any, **kwargs: Any) -> Any:
            # DBOS passes the caller's context (already advanced) for a direct
            # child call, and none for a handle, which advances it inside.
            given = kwargs.get("ctx", args[4] if len(args) > 4 else None)
            ctx = given if given is not None else get_local_dbos_context()
            if ctx is not None and ctx.is_workflow():
                position = ctx.function_id + (0 if given is not None else 1)
                with contextlib.suppress(Exception):  # observing must never fail
                    recorded = sys_db.get_checkpoint_name(
                        workflow_id=ctx.workflow_id, function_id=position
                    )
                    if recorded is not None and recorded != GET_RESULT:
                        with self._lock:
                            silent = self._silent.setdefault(ctx.workflow_id, [])
                            silent.append(position)
            return original(sys_db, *args, **kwargs)

        return get_result

    def _wrap_dequeued(self, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def dequeued(dbos: Any, status: Mapping[str, Any], *args: Any) -> Any:
            try:
                return original(dbos, status, *args)
            except Exception as error:
                with self._lock:
                    self._start_errors[status["workflow_uuid"]] = error
                raise

        return dequeued


# ------------------------------------------------------------ DBOS session
def _config(db_url: str) -> DBOSConfig:
    return {
        "name": APP_NAME,
        "system_database_url": db_url,
        "notification_listener_polling_interval_sec": 0.01,
        "log_level": "ERROR",
    }


def _import_app(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(APP_MODULE, path)
    if spec is None or spec.loader is None:
        raise ReplayerError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as a normal import would: DBOS and pickle
    # look classes up by module name.
    sys.modules[APP_MODULE] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ReplayerError(f"{path} failed to import: {error!r}") from error
    return module


@contextlib.contextmanager
def _launched(module_path: Path, db_url: str) -> Iterator[ModuleType]:
    """DBOS running ``module_path`` as ``app``; afterwards, no DBOS at all and
    whatever ``app`` module the process had before."""
    from dbos import DBOS

    DBOS.destroy(destroy_registry=True)
    saved = sys.modules.get(APP_MODULE)
    try:
        DBOS(config=_config(db_url))
        module = _import_app(module_path)
        DBOS.launch()
        DBOS.register_queue(
            REPLAY_QUEUE, polling_interval_sec=POLL_SECONDS, on_conflict="always_update"
        )
        on_launch = getattr(module, ON_LAUNCH, None)
        if callable(on_launch):
            on_launch()
        yield module
    finally:
        DBOS.destroy(destroy_registry=True)
        if saved is None:
            sys.modules.pop(APP_MODULE, None)
        else:
            sys.modules[APP_MODULE] = saved


def _statuses(ids: Sequence[str], *, load_output: bool) -> list[WorkflowStatus]:
    from dbos import DBOS

    found: list[WorkflowStatus] = []
    for start in range(0, len(ids), _LIST_CHUNK):
        found += DBOS.list_workflows(
            workflow_ids=list(ids[start : start + _LIST_CHUNK]),
            load_input=False,
            load_output=load_output,
        )
    return found


def _descendants(
    roots: Sequence[str], *, load_input: bool = False
) -> list[WorkflowStatus]:
    """Children, grandchildren, ... in breadth-first order."""
    from dbos import DBOS

    found: list[WorkflowStatus] = []
    frontier = list(roots)
    while frontier:
        children = DBOS.list_workflows(
            parent_workflow_id=frontier, load_input=load_input, load_output=False
        )
        found += children
        frontier = [child.workflow_id for child in children]
    return found


def _resolve(module: ModuleType, symbol: str) -> Callable[..., Any]:
    try:
        target: Any = functools.reduce(getattr, symbol.split("."), module)
    except AttributeError as error:
        raise ReplayerError(f"the old module has no workflow {symbol!r}") from error
    if not callable(target):
        raise ReplayerError(f"{symbol!r} is not callable")
    return cast(Callable[..., Any], target)


# --------------------------------------------------------------- recording
def record_histories(
    module_path: str | Path,
    entries: Iterable[Entry],
    db_url: str,
    *,
    timeout: float = 60.0,
) -> list[History]:
    """Run the old code and read back what recovery would replay.

    Each root history is followed by its descendants.  A workflow still
    running after ``timeout`` seconds is kept as it stands (``PENDING``): an
    in-flight history is exactly what the replay is about.  (If the new code
    happens to compute the same application version, DBOS's own recovery at
    the replay launch will resume such a workflow too, as a deploy would.)
    """
    from dbos import DBOS, SetWorkflowID

    token = uuid.uuid4().hex[:8]
    with _launched(Path(module_path), db_url) as module:
        roots: list[str] = []
        for e, entry in enumerate(entries):
            workflow = _resolve(module, entry.workflow)
            for c, args in enumerate(entry.candidates):
                workflow_id = f"record-{token}-{e}-{c}"
                try:
                    with SetWorkflowID(workflow_id):
                        DBOS.start_workflow(workflow, *args)
                except Exception as error:
                    raise ReplayerError(
                        f"cannot start {entry.workflow}{tuple(args)!r}: {error!r}"
                    ) from error
                roots.append(workflow_id)
        _settle(roots, time.monotonic() + timeout)
        return _collect(roots)


def _settle(roots: Sequence[str], deadline: float) -> None:
    """Wait for the roots and everything they started, fire-and-forget
    children included: their histories are read next."""
    while time.monotonic() < deadline:
        family = _statuses(roots, load_output=False) + _descendants(roots)
        if all(status.status in TERMINAL for status in family):
            return
        time.sleep(POLL_SECONDS)


def _collect(roots: Sequence[str]) -> list[History]:
    from dbos import DBOS

    by_id = {
        status.workflow_id: status
        for status in DBOS.list_workflows(
            workflow_ids=list(roots), load_input=True, load_output=False
        )
    }
    histories = []
    for root in roots:
        histories.append(_history(by_id[root], child=False))
        histories += [
            _history(s, child=True) for s in _descendants([root], load_input=True)
        ]
    return histories


def _history(status: WorkflowStatus, *, child: bool) -> History:
    from dbos import DBOS

    steps = DBOS.list_workflow_steps(status.workflow_id, load_output=False)
    rows: list[str | None] = [None] * max((s["function_id"] for s in steps), default=0)
    for step in steps:
        rows[step["function_id"] - 1] = step["function_name"]
    return History(
        workflow_id=status.workflow_id,
        workflow_name=status.name,
        rows=tuple(rows),
        child=child,
        status=str(status.status),
        inputs=_render_inputs(status.input),
    )


def _render_inputs(inputs: Mapping[str, Any] | None) -> str:
    if not inputs:
        return ""
    parts = [repr(arg) for arg in inputs.get("args", ())]
    parts += [f"{key}={value!r}" for key, value in inputs.get("kwargs", {}).items()]
    return ", ".join(parts)


# --------------------------------------------------------------- replaying
def replay_histories(
    module_path: str | Path,
    histories: Sequence[History],
    db_url: str,
    *,
    timeout: float = 30.0,
) -> list[Replay]:
    """Replay every prefix of every history with the new module.

    All forks are started at once and awaited together; a fork that has not
    finished ``timeout`` seconds later is reported stuck.  Forks carry the
    running application version explicitly: without one, a worker dequeues
    them only while it runs the *latest* version, and two versions registered
    in the same second can tie, leaving every fork enqueued for ever.
    """
    from dbos import DBOS, SetWorkflowID

    token = uuid.uuid4().hex[:8]
    observer = _Observer()
    with observer.installed(), _launched(Path(module_path), db_url):
        version = DBOS.application_version
        planned: list[tuple[History, int, str]] = []
        for h, history in enumerate(histories):
            for k in range(len(history.rows) + 1):
                fork_id = f"replay-{token}-{h}-{k}"
                with SetWorkflowID(fork_id):
                    DBOS.fork_workflow(
                        history.workflow_id,
                        k + 1,
                        application_version=version,
                        queue_name=REPLAY_QUEUE,
                    )
                planned.append((history, k, fork_id))
        fork_ids = [fork_id for _, _, fork_id in planned]
        finished = _await_forks(fork_ids, observer, time.monotonic() + timeout)
        return [
            _observe(history, k, fork_id, finished.get(fork_id), observer)
            for history, k, fork_id in planned
        ]


def _await_forks(
    fork_ids: Sequence[str], observer: _Observer, deadline: float
) -> dict[str, WorkflowStatus]:
    """Terminal statuses by fork id; forks the queue could not start are not
    waited for, the rest until ``deadline``."""
    finished: dict[str, WorkflowStatus] = {}
    waiting = list(fork_ids)
    while waiting:
        # Read before the statuses: a start error DBOS also writes to the row
        # (bad inputs) is then seen as the terminal status it is.
        unstartable = observer.unstartable()
        for status in _statuses(waiting, load_output=True):
            if status.status in TERMINAL:
                finished[status.workflow_id] = status
        waiting = [
            fork_id
            for fork_id in waiting
            if fork_id not in finished and fork_id not in unstartable
        ]
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    return finished


def _observe(
    history: History,
    k: int,
    fork_id: str,
    status: WorkflowStatus | None,
    observer: _Observer,
) -> Replay:
    if status is None:
        start_error = observer.start_error(fork_id)
        failure = (
            _failure(start_error)
            if start_error is not None
            else Failure("Timeout", "the replay did not finish in time")
        )
        return Replay(history.workflow_id, k, fork_id, ReplayOutcome.STUCK, failure)
    ok = status.status == "SUCCESS"
    return Replay(
        history_id=history.workflow_id,
        k=k,
        fork_id=fork_id,
        outcome=ReplayOutcome.OK if ok else ReplayOutcome.ERROR,
        failure=None if status.error is None else _failure(status.error),
        consumed=observer.counter(fork_id),
        recorded_after=_recorded_after(fork_id, k),
        silent_positions=tuple(p for p in observer.silent_positions(fork_id) if p <= k),
    )


def _recorded_after(fork_id: str, k: int) -> tuple[str, ...]:
    from dbos import DBOS

    steps = DBOS.list_workflow_steps(fork_id, load_output=False)
    ordered = sorted(steps, key=lambda step: step["function_id"])
    return tuple(s["function_name"] for s in ordered if s["function_id"] > k)


def _failure(error: BaseException) -> Failure:
    inputs = getattr(error, "inputs", None)
    if type(error).__name__ == UNEXPECTED_STEP and inputs and len(inputs) == 4:
        _, step_id, expected, recorded = inputs
        return Failure(UNEXPECTED_STEP, str(error), step_id, recorded, expected)
    return Failure(type(error).__name__, str(error))


# ----------------------------------------------------------------- verdict
def fresh_errors(replays: Iterable[Replay]) -> dict[str, str | None]:
    """The exception type each history's ``k = 0`` fork raised, None if none.

    A ``k = 0`` fork replays nothing: it is the new code run fresh on the
    history's inputs, so an exception it raises too is the new code's own,
    not something the replay caused.
    """
    return {
        replay.history_id: (
            replay.failure.type
            if replay.outcome is ReplayOutcome.ERROR and replay.failure
            else None
        )
        for replay in replays
        if replay.k == 0
    }


def verdict(
    histories: Sequence[History],
    replays: Sequence[Replay],
    fresh_error_baseline: Mapping[str, str | None] | None = None,
) -> Verdict:
    """Judge the replays; the worst kind wins and its shortest prefix is the
    witness, since that is the first in-flight workflow a deploy would hurt."""
    baseline = (
        fresh_errors(replays) if fresh_error_baseline is None else fresh_error_baseline
    )
    by_id = {history.workflow_id: history for history in histories}
    order = {history.workflow_id: i for i, history in enumerate(histories)}
    findings = []
    for replay in replays:
        history = by_id[replay.history_id]
        found = _judge(history, replay, baseline.get(history.workflow_id))
        if found is not None:
            findings.append(found)
    if not findings:
        return Verdict(VerdictKind.SAFE, None, (), len(histories), len(replays))
    kind = min((f.kind for f in findings), key=lambda kind: kind.severity)
    witness = min(
        (f for f in findings if f.kind is kind),
        key=lambda f: (f.replay.k, order[f.history.workflow_id]),
    )
    return Verdict(kind, witness, tuple(findings), len(histories), len(replays))


def _judge(history: History, replay: Replay, fresh: str | None) -> Finding | None:
    kind, reason = _classify(history, replay, fresh)
    return None if kind is None else Finding(kind, history, replay, reason)


def _classify(
    history: History, replay: Replay, fresh: str | None
) -> tuple[VerdictKind | None, str]:
    failure = replay.failure
    if replay.outcome is ReplayOutcome.STUCK:
        detail = f"{failure.type}: {failure.message}" if failure else "never ran"
        return VerdictKind.STRAND, f"the replay never finishes ({detail})"
    if replay.outcome is ReplayOutcome.ERROR and failure is not None:
        if failure.type == UNEXPECTED_STEP:
            return VerdictKind.BREAK, (
                f"at step {failure.step_id} the history recorded "
                f"{failure.recorded!r} where the new code calls {failure.expected!r}"
            )
        if replay.k > 0 and failure.type != fresh:
            return VerdictKind.BREAK, (
                f"the replay raises {failure.type}: {failure.message} "
                "(a fresh run of the new code does not)"
            )
        return None, ""
    if replay.outcome is not ReplayOutcome.OK:
        return None, ""
    if replay.silent_positions:
        where = ", ".join(
            f"step {p} ({history.rows[p - 1]!r})" for p in replay.silent_positions
        )
        return VerdictKind.DRIFT, (
            f"handle.get_result() lands on the recorded {where}; "
            "DBOS ignores the row and uses the live result"
        )
    if replay.consumed is not None and replay.consumed < replay.k:
        skipped = ", ".join(
            repr(row) for row in history.rows[replay.consumed : replay.k] if row
        )
        return VerdictKind.DRIFT, (
            f"the new code consumes only {replay.consumed} of the {replay.k} "
            f"recorded operations and never replays {skipped or 'the rest'}"
        )
    complete = replay.k == len(history.rows) and history.status in COMPLETE
    if complete and replay.recorded_after:
        return VerdictKind.EXTEND, (
            "after the complete history the new code also records "
            + ", ".join(repr(name) for name in replay.recorded_after)
        )
    return None, ""


# ------------------------------------------------------- pytest-facing API
def assert_replays(
    old_path: str | Path,
    new_path: str | Path,
    entries: Iterable[Entry],
    *,
    strict: bool = False,
    timeout: float = 30.0,
) -> Verdict:
    """Fail a test when the new code would break, strand or drift in-flight
    workflows of the old code (and, with ``strict``, when it extends them).

    Uses a throw-away SQLite system database; returns the verdict otherwise.
    """
    failing = FAILING | {VerdictKind.EXTEND} if strict else FAILING
    with tempfile.TemporaryDirectory(prefix="workflow-lint-replay-") as tmp:
        db_url = "sqlite:///" + str(Path(tmp) / "replay.sqlite")
        histories = record_histories(old_path, entries, db_url)
        replays = replay_histories(new_path, histories, db_url, timeout=timeout)
    result = verdict(histories, replays)
    bad = [f for f in result.findings if f.kind in failing]
    if bad:
        raise AssertionError(_explain(bad, Path(old_path), Path(new_path)))
    return result


def describe_history(history: History) -> str:
    names = ", ".join(row or "-" for row in history.rows)
    return f"{history.workflow_name}({history.inputs}) [{names}]"


def describe_finding(finding: Finding) -> str:
    return (
        f"{finding.kind.value}: {describe_history(finding.history)} interrupted "
        f"after {finding.replay.k} operation(s): {finding.reason}"
    )


def _explain(findings: Sequence[Finding], old: Path, new: Path) -> str:
    ordered = sorted(findings, key=lambda f: (f.kind.severity, f.replay.k))
    lines = [
        f"{len(findings)} replay(s) of histories recorded by {old.name} "
        f"go wrong with {new.name}:"
    ]
    lines += ["  " + describe_finding(f) for f in ordered[:_MAX_LISTED]]
    if len(ordered) > _MAX_LISTED:
        lines.append(f"  ... and {len(ordered) - _MAX_LISTED} more")
    return "\n".join(lines)


# ------------------------------------------------------------ command line
def verdict_to_json(result: Verdict) -> dict[str, Any]:
    return {
        "kind": result.kind.value,
        "witness": None if result.witness is None else _finding_json(result.witness),
        "findings": [_finding_json(f) for f in result.findings],
        "histories": result.histories,
        "replays": result.replays,
    }


def _finding_json(finding: Finding) -> dict[str, Any]:
    history, replay, failure = finding.history, finding.replay, finding.replay.failure
    return {
        "kind": finding.kind.value,
        "workflow": history.workflow_name,
        "workflow_id": history.workflow_id,
        "child": history.child,
        "inputs": history.inputs,
        "history": list(history.rows),
        "k": replay.k,
        "outcome": replay.outcome.value,
        "error": None
        if failure is None
        else {
            "type": failure.type,
            "message": failure.message,
            "step_id": failure.step_id,
            "recorded": failure.recorded,
            "expected": failure.expected,
        },
        "consumed": replay.consumed,
        "recorded_after": list(replay.recorded_after),
        "reason": finding.reason,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workflow_lint_runtime.replayer",
        description="Replay histories recorded by OLD with NEW on real DBOS "
        "and print the verdict as JSON.",
    )
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--args", type=Path, required=True, help="args.json")
    parser.add_argument("--db", help="system database URL (default: temp SQLite)")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    try:
        entries = load_entries(args.args)
        # stdout carries the verdict alone: whatever the workflows print goes
        # to stderr.
        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.redirect_stdout(sys.stderr))
            db_url = args.db
            if db_url is None:
                tmp = stack.enter_context(tempfile.TemporaryDirectory())
                db_url = "sqlite:///" + str(Path(tmp) / "replay.sqlite")
            histories = record_histories(args.old, entries, db_url)
            replays = replay_histories(
                args.new, histories, db_url, timeout=args.timeout
            )
    except (ReplayerError, OSError, ValueError) as error:
        print(f"replayer: {error}", file=sys.stderr)
        return 2
    print(json.dumps(verdict_to_json(verdict(histories, replays)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
