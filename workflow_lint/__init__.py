"""workflow-lint: keeps DBOS durable workflows recoverable across code upgrades.

The stable API is ``compare``, ``Snapshot``, ``Options``, the ``Code`` catalogue
and the exception types; message wording is not.
"""

from workflow_lint.check import Options, Report, Snapshot, Versioning, compare
from workflow_lint.diagnostics import Code, Finding, Severity, Verdict, Witness
from workflow_lint.errors import GitError, SourceError, UsageError, WorkflowLintError

__version__ = "0.1.0"

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
