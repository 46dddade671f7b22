"""workflow-lint's runtime half: DBOS's replay rules, and tools built on them.

Importing this package imports neither libcst nor ``workflow_lint``, and dbos
only where a feature needs the real runtime, so applications can depend on it
in production.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflow_lint_runtime.history import (
        PENDING_STATUSES,
        HistoryDatabaseError,
        PendingHistory,
        pending_histories,
    )
    from workflow_lint_runtime.replay_rules import (
        EMPTY,
        END,
        Check,
        Mismatch,
        Outcome,
        PatchOutcome,
        ReplayCursor,
        marker,
        replay_deprecate,
        replay_operation,
        replay_patch,
    )
    from workflow_lint_runtime.shim import (
        ExplainedStepError,
        MismatchExplainer,
        PatchMisuseError,
        deprecate_patch,
        deprecate_patch_async,
        explain_mismatches,
        patch,
        patch_async,
    )

_HOME = {
    **dict.fromkeys(
        ("PENDING_STATUSES", "HistoryDatabaseError", "PendingHistory"), "history"
    ),
    "pending_histories": "history",
    **dict.fromkeys(
        (
            "EMPTY",
            "END",
            "Check",
            "Mismatch",
            "Outcome",
            "PatchOutcome",
            "ReplayCursor",
            "marker",
            "replay_deprecate",
            "replay_operation",
            "replay_patch",
        ),
        "replay_rules",
    ),
    **dict.fromkeys(
        (
            "ExplainedStepError",
            "MismatchExplainer",
            "PatchMisuseError",
            "deprecate_patch",
            "deprecate_patch_async",
            "explain_mismatches",
            "patch",
            "patch_async",
        ),
        "shim",
    ),
}
"""Where each public name lives.  The package imports its modules on first
use (PEP 562): the static checker needs only the replay rules, and should
not pay for the shim's asyncio and the history reader's imports on every
commit."""


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "EMPTY",
    "END",
    "PENDING_STATUSES",
    "Check",
    "ExplainedStepError",
    "HistoryDatabaseError",
    "Mismatch",
    "MismatchExplainer",
    "Outcome",
    "PatchMisuseError",
    "PatchOutcome",
    "PendingHistory",
    "ReplayCursor",
    "deprecate_patch",
    "deprecate_patch_async",
    "explain_mismatches",
    "marker",
    "patch",
    "patch_async",
    "pending_histories",
    "replay_deprecate",
    "replay_operation",
    "replay_patch",
]
