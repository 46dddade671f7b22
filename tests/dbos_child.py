"""One run of an application with dbos 3.4.0, for tests/test_db_commands.py.

``python dbos_child.py APP_FILE DB_URL PLAN_JSON`` imports APP_FILE (one
version of the application's code), launches DBOS on DB_URL with a pinned
``application_version`` (so recovery replays whatever that database holds
pending), and follows the plan:

- ``start``:   ``[workflow_id, function, arg]`` started in the background;
- ``enqueue``: ``[queue, workflow_id, function, arg]``;
- ``send``:    ``[workflow_id, topic, message]`` sent from outside;
- ``listen``:  the queues this process dequeues from (DBOS's own recovery
  queue always); any other queue keeps what it is given;
- ``wait``:    ``{workflow_id: condition}`` until every one holds:
  ``"done"`` (finished), ``"resumed"`` (taken up again by this process and
  left waiting, or stranded), ``["rows", n]`` (PENDING with a row at n).

Then it prints one line, ``REPORT {json}``: every workflow's status, error
and recorded steps; and exits without letting the waiting workflows finish,
as a crashed or redeployed process would.  It imports nothing but the
standard library, dbos and the application.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from typing import Any

SETTLE_SECONDS = 0.2
"""After a resumed workflow is PENDING again: time to replay up to its wait."""


def _load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["app"] = module
    spec.loader.exec_module(module)
    return module


def _holds(dbos: Any, workflow_id: str, condition: Any, since_ms: int) -> bool:
    status = dbos.get_workflow_status(workflow_id)
    if status is None:
        return False
    if condition == "done":
        return status.status not in ("PENDING", "ENQUEUED")
    if condition == "resumed":
        dequeued = status.dequeued_at or 0
        return status.status == "PENDING" and dequeued >= since_ms
    kind, position = condition
    assert kind == "rows", condition
    steps = dbos.list_workflow_steps(workflow_id)
    reached: int = max((s["function_id"] for s in steps), default=0)
    return bool(status.status == "PENDING" and reached >= int(position))


def _report(dbos: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in dbos.list_workflows(load_input=False):
        error = status.error
        out[status.workflow_id] = {
            "name": status.name,
            "status": status.status,
            "queue": status.queue_name,
            "output": status.output,
            "error_type": type(error).__name__ if error is not None else None,
            "error": str(error) if error is not None else None,
            "steps": [
                [s["function_id"], s["function_name"]]
                for s in dbos.list_workflow_steps(status.workflow_id)
            ],
        }
    return out


def main() -> None:
    app_path, db_url, plan_text = sys.argv[1:4]
    plan = json.loads(plan_text)
    app = _load(app_path)
    from dbos import DBOS, SetWorkflowID

    DBOS(
        config={
            "name": "db-commands-test",
            "system_database_url": db_url,
            "application_version": plan["version"],
            "notification_listener_polling_interval_sec": 0.01,
            "log_level": "CRITICAL",
        }
    )
    DBOS.listen_queues(plan.get("listen", []))
    since_ms = int(time.time() * 1000)
    DBOS.launch()
    queues = {
        name: DBOS.register_queue(name, polling_interval_sec=0.05)
        for name in plan.get("queues", [])
    }
    for workflow_id, function, arg in plan.get("start", []):
        with SetWorkflowID(workflow_id):
            DBOS.start_workflow(getattr(app, function), arg)
    for queue, workflow_id, function, arg in plan.get("enqueue", []):
        with SetWorkflowID(workflow_id):
            queues[queue].enqueue(getattr(app, function), arg)
    for workflow_id, topic, message in plan.get("send", []):
        DBOS.send(workflow_id, message, topic)

    waits: dict[str, Any] = plan.get("wait", {})
    deadline = time.monotonic() + 60
    while not all(_holds(DBOS, w, c, since_ms) for w, c in waits.items()):
        if time.monotonic() > deadline:
            late = [w for w, c in waits.items() if not _holds(DBOS, w, c, since_ms)]
            print("TIMEOUT", json.dumps({"late": late, "report": _report(DBOS)}))
            sys.stdout.flush()
            os._exit(3)
        time.sleep(0.02)
    if "resumed" in waits.values():
        time.sleep(SETTLE_SECONDS)
    print("REPORT", json.dumps(_report(DBOS), default=repr), flush=True)
    DBOS.destroy()
    os._exit(0)  # waiting workflows stay as they are, as after a crash


if __name__ == "__main__":
    main()
