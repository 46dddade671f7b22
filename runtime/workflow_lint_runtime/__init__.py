"""workflow-lint's runtime half: DBOS's replay rules, and tools built on them.

Importing this package imports neither libcst nor ``workflow_lint``, and dbos
only where a feature needs the real runtime, so applications can depend on it
in production.
"""

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
