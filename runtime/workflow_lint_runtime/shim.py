"""DBOS's patch API for applications, with the checks DBOS lacks.

``patch``, ``deprecate_patch`` and their async forms call DBOS's own
(``DBOS.patch`` ...) and return what it returns, so recorded histories and
replays are exactly DBOS's.  They add only what DBOS leaves to chance:

- misuse fails at the call, with what to do instead: a sync form while an
  event loop runs (an async workflow), an async form without one (a sync
  workflow) or never awaited (``if patch_async(...)`` is always true), a call
  inside a step (a step is one recorded unit: it cannot branch on a patch),
  a patch name that is not a non-empty string;
- :func:`explain_mismatches` (decorator or ``with`` block) turns DBOS's
  ``DBOSUnexpectedStepError`` into a subclass of it that also names the
  source line of the mismatched call and the patch that would fix it.

dbos is imported inside the functions: importing this module costs nothing,
and it imports neither libcst nor ``workflow_lint``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Generator
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from workflow_lint_runtime.replay_rules import Mismatch, patch_name_of

if TYPE_CHECKING:
    from dbos._error import DBOSUnexpectedStepError

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "ExplainedStepError",
    "MismatchExplainer",
    "PatchMisuseError",
    "deprecate_patch",
    "deprecate_patch_async",
    "explain_mismatches",
    "patch",
    "patch_async",
]


class PatchMisuseError(ValueError, RuntimeError):
    """A patch call that DBOS would reject late, obscurely, or not at all.

    Also a ``RuntimeError``, the type of DBOS's own check for a sync call in an
    event loop, so handlers written for DBOS's error still match.
    """


# ------------------------------------------------------------------ checks
def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _check(api: str, name: object, *, is_async: bool) -> None:
    """Raise PatchMisuseError for a call DBOS cannot record correctly."""
    if not isinstance(name, str):
        raise PatchMisuseError(
            f"{api}() needs the patch name as a string, got "
            f"{type(name).__name__} {name!r}: histories hold the marker "
            f"'DBOS.patch-<name>', so write the name as a string literal"
        )
    if not name.strip():
        raise PatchMisuseError(
            f"{api}() needs a non-empty patch name, such as "
            f'"<workflow>-<change>": it is recorded in every new history'
        )
    from dbos._context import get_local_dbos_context

    ctx = get_local_dbos_context()
    if ctx is not None and ctx.is_step():
        raise PatchMisuseError(
            f"{api}({name!r}) was called inside a step of workflow "
            f"{ctx.workflow_id}: a step is recorded as one unit and cannot "
            f"branch on a patch. Call {api}() in the workflow function and choose "
            f"the old or the new step call there (or pass its result to the step)"
        )
    sync_api = api.removesuffix("_async")
    if not is_async and _loop_running():
        raise PatchMisuseError(
            f"{api}({name!r}) was called while an event loop is running (an "
            f"async workflow), where DBOS refuses the sync form: write "
            f"`await {api}_async({name!r})`"
        )
    if is_async and not _loop_running():
        raise PatchMisuseError(
            f"{api}({name!r}) was called with no event loop running (a sync "
            f"workflow), where it can never be awaited: write `{sync_api}({name!r})`"
        )


# -------------------------------------------------------------- patch API
def patch(name: str) -> bool:
    """``DBOS.patch(name)``: True for a new execution (which records the
    marker) and for a history holding the marker; False, taking no position,
    for a history recorded before the patch existed: run the old code then."""
    _check("patch", name, is_async=False)
    from dbos import DBOS

    return DBOS.patch(name)


def deprecate_patch(name: str) -> bool:
    """``DBOS.deprecate_patch(name)``: always True; consumes the marker's
    position where a history holds it and records nothing.  Replaces
    ``patch`` once no pending workflow predates the patch."""
    _check("deprecate_patch", name, is_async=False)
    from dbos import DBOS

    return DBOS.deprecate_patch(name)


class _MustAwait(Awaitable[bool]):
    """DBOS's coroutine, refusing to be tested for truth.

    ``if patch_async("x"):`` without ``await`` tests a coroutine object, which
    is always true: every old history would silently take the new branch.
    """

    __slots__ = ("_api", "_coroutine")

    def __init__(self, api: str, coroutine: Coroutine[Any, Any, bool]) -> None:
        self._api = api
        self._coroutine = coroutine

    def __await__(self) -> Generator[Any, None, bool]:
        return self._coroutine.__await__()

    def __bool__(self) -> bool:
        self._coroutine.close()
        raise PatchMisuseError(
            f"{self._api}() was tested without await, and an awaitable is always "
            f"true: write `if await {self._api}(...)`"
        )


def patch_async(name: str) -> Awaitable[bool]:
    """``await DBOS.patch_async(name)``; see :func:`patch`.  The checks run at
    the call, before the await."""
    _check("patch_async", name, is_async=True)
    from dbos import DBOS

    return _MustAwait("patch_async", DBOS.patch_async(name))


def deprecate_patch_async(name: str) -> Awaitable[bool]:
    """``await DBOS.deprecate_patch_async(name)``; see :func:`deprecate_patch`."""
    _check("deprecate_patch_async", name, is_async=True)
    from dbos import DBOS

    return _MustAwait("deprecate_patch_async", DBOS.deprecate_patch_async(name))


# ------------------------------------------------------- explained errors
class ExplainedStepError(Exception):
    """What a ``DBOSUnexpectedStepError`` means for the code that raised it.

    Raised instances are also DBOS's ``DBOSUnexpectedStepError`` (the class is
    built on first use, so that importing this module does not import dbos):
    ``except DBOSUnexpectedStepError`` still catches them.  ``location`` is
    ``file:line`` of the mismatched call, ``workflow_location`` the line of the
    workflow function it was reached from, and ``suggested_patch`` the code
    that keeps both the old histories and new executions working.
    """

    message: str
    mismatch: Mismatch
    workflow_id: str
    workflow: str | None
    location: str | None
    workflow_location: str | None
    is_async: bool
    suggested_patch: str

    def __init__(
        self,
        workflow_id: str,
        step_id: int,
        expected_name: str,
        recorded_name: str,
        location: str | None = None,
        workflow_location: str | None = None,
        workflow: str | None = None,
        is_async: bool = False,
    ) -> None:
        super().__init__(workflow_id, step_id, expected_name, recorded_name)
        self.mismatch = Mismatch(step_id, recorded_name, expected_name)
        self.workflow_id = workflow_id
        self.workflow = workflow
        self.location = location
        self.workflow_location = workflow_location
        self.is_async = is_async
        self.suggested_patch = _suggestion(self.mismatch, workflow, is_async)
        lines = [getattr(self, "message", self.mismatch.message())]
        if location is not None:
            lines.append(f"  mismatched call: {location}")
        if workflow_location is not None and workflow_location != location:
            lines.append(f"  reached from the workflow at {workflow_location}")
        lines.append(self.suggested_patch)
        self.message = "\n".join(lines)
        self.args = (self.message,)

    def __reduce__(self) -> tuple[Any, ...]:
        # DBOS pickles a workflow's error into the system database; the class
        # is built at run time, so pickle rebuilds it through a function.
        return (
            _rebuild,
            (
                self.workflow_id,
                self.mismatch.position,
                self.mismatch.expected,
                self.mismatch.recorded,
                self.location,
                self.workflow_location,
                self.workflow,
                self.is_async,
            ),
        )


def _short(name: str) -> str:
    """The last part of a recorded name: ``Orders.ship`` -> ``ship``."""
    return name.rsplit(".", 1)[-1]


def _suggestion(mismatch: Mismatch, workflow: str | None, is_async: bool) -> str:
    """The change that lets this history and new executions both run."""
    old_patch = patch_name_of(mismatch.recorded)
    if old_patch is not None:
        call = (
            "await DBOS.deprecate_patch_async" if is_async else "DBOS.deprecate_patch"
        )
        return (
            f'  histories hold the marker of patch "{old_patch}" here: keep '
            f'`{call}("{old_patch}")` at this point until no pending workflow '
            f"holds it"
        )
    name = f"{_short(workflow or 'workflow')}-{_short(mismatch.expected)}"
    test = "await DBOS.patch_async" if is_async else "DBOS.patch"
    return (
        f"  fix: put the change behind a patch:\n"
        f'      if {test}("{name}"):\n'
        f"          ...  # new code: calls {mismatch.expected} here\n"
        f"      else:\n"
        f"          ...  # old code: called {mismatch.recorded} here"
    )


_explained: type[ExplainedStepError] | None = None


def _explained_class() -> type[ExplainedStepError]:
    global _explained
    if _explained is None:
        from dbos._error import DBOSUnexpectedStepError

        class ExplainedUnexpectedStepError(ExplainedStepError, DBOSUnexpectedStepError):
            """DBOS's step mismatch, with its source line and fix."""

        # Named as if defined at module level, in tracebacks and reprs.
        ExplainedUnexpectedStepError.__qualname__ = "ExplainedUnexpectedStepError"
        _explained = ExplainedUnexpectedStepError
    return _explained


def _rebuild(
    workflow_id: str,
    step_id: int,
    expected_name: str,
    recorded_name: str,
    location: str | None,
    workflow_location: str | None,
    workflow: str | None,
    is_async: bool,
) -> ExplainedStepError:
    return _explained_class()(
        workflow_id,
        step_id,
        expected_name,
        recorded_name,
        location,
        workflow_location,
        workflow,
        is_async,
    )


# Frames of these packages sit between a workflow's call and DBOS's raise.
_LIBRARY_MODULES = frozenset(
    {"dbos", "asyncio", "concurrent", "threading", "contextlib", "functools"}
)


def _is_user_frame(frame: FrameType) -> bool:
    module = str(frame.f_globals.get("__name__", ""))
    top = module.split(".", 1)[0]
    return module != __name__ and top not in _LIBRARY_MODULES


def _where(frame: FrameType, line: int) -> str:
    return f"{frame.f_code.co_filename}:{line}"


def _explain(
    error: DBOSUnexpectedStepError, tb: TracebackType | None, workflow: str | None
) -> ExplainedStepError | None:
    from dbos._context import get_local_dbos_context

    workflow_id, step_id, expected, recorded = error.inputs
    ctx = get_local_dbos_context()
    if ctx is not None and ctx.workflow_id and ctx.workflow_id != workflow_id:
        return None  # a child workflow's mismatch: our lines would mislead
    frames = [(f, line) for f, line in traceback.walk_tb(tb) if _is_user_frame(f)]
    if not frames:
        return None
    outer, outer_line = frames[0]
    call, call_line = frames[-1]
    code = outer.f_code
    if workflow is None:
        workflow = getattr(code, "co_qualname", code.co_name)
    return _explained_class()(
        workflow_id,
        step_id,
        expected,
        recorded,
        _where(call, call_line),
        _where(outer, outer_line),
        workflow,
        bool(code.co_flags & inspect.CO_COROUTINE),
    )


class MismatchExplainer:
    """``with`` block or decorator re-raising DBOS step mismatches explained.

    DBOS reports a mismatch with positions and names only; the code that made
    the mismatched call is in the traceback, as the deepest frame outside
    dbos.  This reads it there and raises :class:`ExplainedStepError` (a
    ``DBOSUnexpectedStepError`` too) in place of DBOS's error.
    """

    def __init__(self, workflow: str | None = None) -> None:
        self.workflow = workflow

    def __enter__(self) -> MismatchExplainer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, ExplainedStepError):
            return
        from dbos._error import DBOSUnexpectedStepError

        if isinstance(exc, DBOSUnexpectedStepError):
            explained = _explain(exc, tb, self.workflow)
            if explained is not None:
                raise explained.with_traceback(tb) from None

    def __call__(self, func: F) -> F:
        if hasattr(func, "dbos_function_name"):
            # Over DBOS's wrapper it would run only when the application calls
            # the workflow, never when recovery or a fork replays it.
            raise TypeError(
                f"explain_mismatches goes under @DBOS.workflow(), not over it "
                f"(on {func.__qualname__})"
            )
        workflow = self.workflow

        def name(wrapper: Callable[..., Any]) -> str:
            # DBOS's decorator, applied over this one, marks the function it
            # was given with the workflow's registered name.
            return workflow or str(
                getattr(wrapper, "dbos_function_name", func.__qualname__)
            )

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with MismatchExplainer(name(run_async)):
                    return await func(*args, **kwargs)

            return cast(F, run_async)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with MismatchExplainer(name(run)):
                return func(*args, **kwargs)

        return cast(F, run)


@overload
def explain_mismatches(func: F, /) -> F: ...


@overload
def explain_mismatches(*, workflow: str | None = None) -> MismatchExplainer: ...


def explain_mismatches(
    func: F | None = None, /, *, workflow: str | None = None
) -> F | MismatchExplainer:
    """Explain the step mismatches of a workflow function.

    Use as ``@explain_mismatches`` under ``@DBOS.workflow()`` (over it, it
    would not run on recovery), or as ``with explain_mismatches():`` around a
    workflow body; ``workflow`` names the workflow in suggested patch names
    (default: its registered name, or the function's name in a ``with``).
    """
    explainer = MismatchExplainer(workflow)
    return explainer if func is None else explainer(func)
