"""The engine, imported on a thread while git reads the revisions.

Importing the engine means importing LibCST, whose 250 node classes take
about 0.13 s to create: a quarter of the pre-commit case.  Reading two
revisions from git is mostly waiting on another process, so the import runs
meanwhile.  The main thread imports nothing of the engine until it has
joined the thread, so the two never wait on each other's import locks.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_lint.check import Report
    from workflow_lint.revision import Options, Snapshot

_ENGINE = "workflow_lint.check"
_thread: threading.Thread | None = None


def _import() -> None:
    # A failure here is the main thread's to report: it imports the engine
    # again after joining, and gets the same error with its own traceback.
    with contextlib.suppress(BaseException):
        importlib.import_module(_ENGINE)


def start() -> None:
    """Begin importing the engine in the background (once per process)."""
    global _thread
    if _thread is None:
        _thread = threading.Thread(target=_import, name="wfl-import", daemon=True)
        _thread.start()


def _wait() -> None:
    if _thread is not None:
        _thread.join()


def compare(old: Snapshot, new: Snapshot, options: Options) -> Report:
    _wait()
    from workflow_lint.check import compare as run

    return run(old, new, options)


def parse_source(path: str, data: bytes) -> None:
    """Raise SourceError if ``data`` does not parse."""
    _wait()
    from workflow_lint.index import parse_source as parse

    parse(path, data)
