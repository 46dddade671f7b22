"""workflow-lint's runtime half: DBOS's replay rules, and tools built on them.

Importing this package imports neither libcst nor ``workflow_lint``, and dbos
only where a feature needs the real runtime, so applications can depend on it
in production.
"""

from workflow_lint_runtime.replay_rules import (
    END,
    EMPTY,
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

__all__ = [
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
]
