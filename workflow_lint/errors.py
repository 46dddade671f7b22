"""Errors that end a command with exit status 2 and one clear line.

Everything the user can get wrong (a file that does not parse, a revision git
does not know, a bad option) is one of these, so the CLI can print the message
and never a traceback.
"""

from __future__ import annotations


class WorkflowLintError(Exception):
    """Base of every error the tool reports to the user as bad input."""


class GitError(WorkflowLintError):
    """git is missing, the folder is not a repository, or a revision is unknown."""


class SourceError(WorkflowLintError):
    """A file cannot be read as Python: not UTF-8, binary, or a syntax error."""


class ConfigError(WorkflowLintError):
    """``[tool.workflow-lint]`` holds something the tool does not understand."""


class UsageError(WorkflowLintError):
    """The command line asks for something that cannot be done."""
