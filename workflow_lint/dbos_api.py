"""What each DBOS 3.4 call records, in one table.

Every fact about DBOS that the analyzer relies on is here, keyed by the
method name on the ``DBOS`` class, so a new DBOS release means editing one
table (see ../shared/dbos-operations.md, observed on dbos 3.4.0).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from workflow_lint_runtime.replay_rules import GET_RESULT, Check

DBOS_MODULE = "dbos"

STEP_DECORATORS = frozenset({"step", "transaction"})
"""``DBOS.transaction`` is gone in 3.4 but still common in public code; it
recorded like a step, one position under its name."""
WORKFLOW_DECORATORS = frozenset({"workflow"})
SCHEDULED_DECORATOR = "scheduled"
CLASS_DECORATOR = "dbos_class"


class Special(enum.Enum):
    """Calls whose recording needs more than a fixed list of names."""

    SLEEP = "sleep"
    START_CHILD = "start"
    ENQUEUE_CHILD = "enqueue"
    ENQUEUE_WITH_OPTIONS = "enqueue_options"
    RUN_STEP = "run_step"
    RESERVE_STEP = "reserve_step"
    RETRIEVE = "retrieve"
    READ_STREAM = "read_stream"
    PATCH = "patch"
    DEPRECATE = "deprecate"
    EMPTY_ID = "empty"


@dataclass(frozen=True, slots=True)
class Recording:
    """The rows one call writes: names with how replay checks each."""

    units: tuple[tuple[str, Check], ...] = ()
    special: Special | None = None


def _one(name: str) -> Recording:
    return Recording(((name, Check.NAME),))


def _waiting(name: str) -> Recording:
    return Recording(((name, Check.NAME), ("DBOS.sleep", Check.COMPANION)))


_BASE: dict[str, Recording] = {
    "sleep": Recording(special=Special.SLEEP),
    "send": _one("DBOS.send"),
    "send_bulk": _one("DBOS.send_bulk"),
    "recv": _waiting("DBOS.recv"),
    "set_event": _one("DBOS.setEvent"),
    "get_event": _waiting("DBOS.getEvent"),
    "get_all_events": _one("DBOS.get_events"),
    "write_stream": _one("DBOS.writeStream"),
    "close_stream": _one("DBOS.closeStream"),
    "read_stream": Recording(special=Special.READ_STREAM),
    "read_stream_offset": _one("DBOS.readStreamOffset"),
    "asyncio_wait": _one("DBOS.asyncio_wait"),
    "cancel_workflow": _one("DBOS.cancelWorkflow"),
    "cancel_workflows": _one("DBOS.cancelWorkflow"),
    "resume_workflow": _one("DBOS.resumeWorkflow"),
    "resume_workflows": _one("DBOS.resumeWorkflow"),
    "fork_workflow": Recording(
        (("DBOS.forkWorkflow", Check.NAME), ("DBOS.getStatus", Check.NAME))
    ),
    "delete_workflow": _one("DBOS.deleteWorkflow"),
    "delete_workflows": _one("DBOS.deleteWorkflow"),
    "update_workflow_attributes": _one("DBOS.updateWorkflowAttributes"),
    "set_workflow_delay": _one("DBOS.setWorkflowDelay"),
    "rewind_workflow": _one("DBOS.rewindWorkflow"),
    "list_workflows": _one("DBOS.listWorkflows"),
    "list_queued_workflows": _one("DBOS.listQueuedWorkflows"),
    "list_workflow_steps": _one("DBOS.listWorkflowSteps"),
    "get_workflow_status": _one("DBOS.getStatus"),
    "retrieve_workflow": Recording(special=Special.RETRIEVE),
    "get_result": _one(GET_RESULT),
    "wait_first": _one("DBOS.waitFirst"),
    "create_schedule": _one("DBOS.createSchedule"),
    "list_schedules": _one("DBOS.listSchedules"),
    "get_schedule": _one("DBOS.getSchedule"),
    "delete_schedule": _one("DBOS.deleteSchedule"),
    "pause_schedule": _one("DBOS.pauseSchedule"),
    "resume_schedule": _one("DBOS.resumeSchedule"),
    "apply_schedules": Recording(special=Special.EMPTY_ID),
    "backfill_schedule": Recording(special=Special.EMPTY_ID),
    "trigger_schedule": Recording(special=Special.EMPTY_ID),
    "start_workflow": Recording(special=Special.START_CHILD),
    "enqueue_workflow": Recording(special=Special.ENQUEUE_CHILD),
    "enqueue_workflow_with_options": Recording(special=Special.ENQUEUE_WITH_OPTIONS),
    "run_step": Recording(special=Special.RUN_STEP),
    "reserve_step": Recording(special=Special.RESERVE_STEP),
    "patch": Recording(special=Special.PATCH),
    "deprecate_patch": Recording(special=Special.DEPRECATE),
}

DBOS_CALLS: dict[str, Recording] = {
    **_BASE,
    **{name + "_async": rec for name, rec in _BASE.items()},
}
"""Method name on ``DBOS`` -> what the call records.  Every ``_async`` twin
records exactly as its sync form."""

ASYNC_PATCH = frozenset({"patch_async", "deprecate_patch_async"})

HANDLE_METHODS: dict[str, Recording] = {
    "get_result": Recording(((GET_RESULT, Check.UNCHECKED),)),
    "get_status": _one("DBOS.getStatus"),
}
"""Methods of a workflow handle called inside a workflow.  The handle's
``get_result`` is never name-checked (dbos inserts the row only when the id is
free), unlike ``DBOS.get_result``."""

QUEUE_ENQUEUE = frozenset({"enqueue", "enqueue_async"})
DATASOURCE_RUN = frozenset({"run_tx_step", "run_tx_step_async"})

OPAQUE_MODULE_PREFIXES = (
    "pydantic_ai.durable_exec.dbos",
    "dbos_openai_agents",
    "dbos_google_adk",
    "dbos_crewai",
    "llama_agents",
)
"""Agent frameworks that record their own steps inside a DBOS workflow; what
they record depends on a model's answers, so the checker says so instead of
guessing."""

BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException"})

SHIM_PACKAGE = "workflow_lint_runtime"
SHIM_CALLS = frozenset(
    {"patch", "patch_async", "deprecate_patch", "deprecate_patch_async"}
)
"""workflow-lint's runtime shim wraps these with DBOS's exact semantics."""
