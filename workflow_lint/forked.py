"""One side of a comparison computed in a forked process.

The two revisions are lowered independently before the judge compares them,
and a machine that runs a pre-commit hook has more than one core.  A forked
child shares the parsed trees with its parent for free (copy on write), so
it can lower the old revision while the parent lowers the new one; what
comes back is the IR, which is small and plain.  Where forking is not
possible or not safe (no ``os.fork``, other threads running), or the child
fails in any way, the work is simply done in this process: the answer never
depends on whether the child ran.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_OK = b"k"


def _can_fork() -> bool:
    return (
        hasattr(os, "fork")
        and sys.platform.startswith("linux")
        and threading.active_count() == 1  # a fork copies only this thread
    )


class Pending(Generic[T]):
    """``work`` started in a child; ``result`` waits for it."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._pid = 0
        self._fd = -1
        if _can_fork():
            self._start()

    def _start(self) -> None:
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: compute, send, and leave without cleanup
            status = 1
            try:
                os.close(read)
                payload = _OK + pickle.dumps(self._work(), pickle.HIGHEST_PROTOCOL)
                view = memoryview(payload)
                while view:
                    view = view[os.write(write, view) :]
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self._pid, self._fd = pid, read

    def result(self) -> T:
        if self._pid:
            payload = self._collect()
            if payload is not None:
                value: T = pickle.loads(payload)
                return value
        return self._work()

    def _collect(self) -> bytes | None:
        chunks: list[bytes] = []
        try:
            while chunk := os.read(self._fd, 1 << 20):
                chunks.append(chunk)
        finally:
            os.close(self._fd)
            _, status = os.waitpid(self._pid, 0)
            self._pid = 0
        data = b"".join(chunks)
        if status != 0 or not data.startswith(_OK):
            return None
        return data[len(_OK) :]
