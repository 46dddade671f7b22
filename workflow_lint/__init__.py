"""workflow-lint: keeps DBOS durable workflows recoverable across code upgrades.

The stable API is ``compare``, ``Snapshot``, ``Options``, the ``Code`` catalogue
and the exception types; message wording is not.
"""

from typing import TYPE_CHECKING, Any

from workflow_lint.diagnostics import Code, Finding, Severity, Verdict, Witness
from workflow_lint.errors import GitError, SourceError, UsageError, WorkflowLintError
from workflow_lint.revision import Options, Snapshot, Versioning

if TYPE_CHECKING:
    from workflow_lint.check import Report, compare

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``compare`` and ``Report`` come with the engine, which imports LibCST:
    loaded on first use, so that ``--version`` or reading git does not wait
    for it (PEP 562)."""
    if name in ("compare", "Report"):
        from workflow_lint import check

        value = getattr(check, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Code",
    "Finding",
    "GitError",
    "Options",
    "Report",
    "Severity",
    "Snapshot",
    "SourceError",
    "UsageError",
    "Verdict",
    "Versioning",
    "Witness",
    "WorkflowLintError",
    "__version__",
    "compare",
]
