"""The flake8 plugin (entry point ``WFL``): ``flake8`` reports what
``workflow-lint check`` reports, file by file.

The comparison is project-wide (a step renamed in one module breaks a
workflow in another), so it is made once per repository and base revision
and each checked file picks its own findings from it.  flake8 parses its
options, and so calls ``parse_options``, in its main process before it forks
workers: the comparison is made there, and every worker inherits the result.
(Where processes are spawned instead of forked, each worker makes it once.)

The base revision is ``--workflow-lint-base`` (``workflow-lint-base =`` in
flake8's configuration), else ``base`` of ``[tool.workflow-lint]``, else
``HEAD``; the rest of ``[tool.workflow-lint]`` (versioning, select/ignore,
include/exclude) applies as it does to ``check``, and so do inline
suppressions.  flake8 itself honours ``# noqa: WFL101``.

A file outside a git repository, or without findings, reports nothing.
When the comparison cannot be made (a base revision git does not know, a
file that does not parse, a bad ``[tool.workflow-lint]``), flake8 does not
crash: one ``WFL000`` line says why, on the file the problem is in (unless
flake8 reports that file's syntax error itself), else on the first file under
flake8's targets that mentions dbos.
"""

from __future__ import annotations

import argparse
import ast
import codecs
import hashlib
import io
import logging
import os
import time
import tokenize
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from workflow_lint import __version__, git
from workflow_lint import config as configuration
from workflow_lint.check import Options, Versioning
from workflow_lint.diagnostics import Finding
from workflow_lint.errors import WorkflowLintError
from workflow_lint.suppress import Notice

ERROR_CODE = "WFL000"
"""workflow-lint could not check the project (the line says why)."""

LOG = logging.getLogger("flake8.workflow_lint")
"""A child of flake8's logger: ``flake8 -v`` shows each comparison made."""

Row = tuple[int, int, str]
"""(line, 0-based column, text starting with the code)."""


@dataclass
class _Outcome:
    rows: dict[str, list[Row]] = field(default_factory=dict)
    """Repository-relative path -> what flake8 reports there."""
    error: str | None = None
    anchors: frozenset[str] | None = None
    """Where the error is reported (None: on every file that mentions dbos)."""


_OUTCOMES: dict[tuple[str, str, str], _Outcome] = {}
"""(repository root, base, digest of files flake8 read from stdin) -> outcome."""

_ROOTS: dict[str, str | None] = {}
"""Folder -> its repository root (None: not in a repository)."""


def _repo_root(folder: str) -> str | None:
    if folder not in _ROOTS:
        try:
            _ROOTS[folder] = os.path.realpath(git.repo_root(folder))
        except Exception:
            _ROOTS[folder] = None
    return _ROOTS[folder]


def _relative(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _row(code: str, verdict: str, message: str, line: int, column: int) -> Row:
    return (line, column, f"{code} [{verdict}] {' '.join(message.split())}")


def _rows(
    findings: Sequence[Finding], notices: Sequence[Notice]
) -> dict[str, list[Row]]:
    rows: dict[str, list[Row]] = {}
    for f in findings:
        rows.setdefault(f.span.path, []).append(
            _row(f.code.code, f.verdict.value, f.message, f.span.line, f.span.column)
        )
    for n in notices:
        rows.setdefault(n.span.path, []).append(
            _row(n.code, "rule", n.message, n.span.line, n.span.column)
        )
    return rows


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _error_anchors(
    root: str, message: str, targets: Sequence[str]
) -> frozenset[str] | None:
    """Where to report a failed comparison: the file the message names, else
    the first file under flake8's targets that mentions dbos."""
    try:
        files = git.read_worktree(root, lambda p: p.endswith(".py"))
    except Exception:
        return None
    named = [p for p in files if message == p or message.startswith(p + ":")]
    if named:
        path = max(named, key=len)
        if _parses(path, files[path]):
            return frozenset([path])
        # flake8 reports the syntax error there itself (E999) and runs no
        # plugin on that file: say that the project went unchecked elsewhere.
        files = {p: data for p, data in files.items() if p != path}
    real_targets = [os.path.realpath(t) for t in targets] or [os.getcwd()]

    def under_target(p: str) -> bool:
        full = os.path.join(root, p)
        return any(
            full == t or full.startswith(t.rstrip(os.sep) + os.sep)
            for t in real_targets
        )

    candidates = sorted(
        p for p, data in files.items() if b"dbos" in data.lower() and under_target(p)
    )
    return frozenset(candidates[:1]) if candidates else None


def _parses(path: str, data: bytes) -> bool:
    try:
        compile(data, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _config_start(root: str) -> str:
    cwd = os.path.realpath(os.getcwd())
    inside = cwd == root or cwd.startswith(root.rstrip(os.sep) + os.sep)
    return cwd if inside else root


def _compute(
    root: str,
    base: str | None,
    overrides: Mapping[str, bytes] | None,
    targets: Sequence[str],
) -> _Outcome:
    from workflow_lint.repository_check import Filters, check_repository

    started = time.perf_counter()
    try:
        config = configuration.load(_config_start(root))
        base = base if base is not None else config.base
        wanted = configuration.path_filter(config)
        checked = check_repository(
            root,
            base,
            options=Options(versioning=config.versioning or Versioning.PINNED),
            filters=Filters(config.select, config.ignore),
            keep=lambda p: p.endswith(".py") and wanted(p),
            overrides=overrides,
            empty_before_first=base is None,
        )
    except Exception as exc:
        message = _first_line(exc)
        if isinstance(exc, RecursionError):
            message = "input too deeply nested to analyse"
        elif not isinstance(exc, WorkflowLintError):
            message = f"internal error: {type(exc).__name__}: {message}"
        LOG.info("workflow-lint: cannot check %s: %s", root, message)
        return _Outcome(
            error=f"{ERROR_CODE} workflow-lint could not check this project: {message}",
            anchors=_error_anchors(root, message, targets),
        )
    LOG.info(
        "workflow-lint: compared %s at %s with the working tree: %d finding(s) "
        "in %.2fs",
        root,
        base or "HEAD",
        len(checked.findings) + len(checked.notices),
        time.perf_counter() - started,
    )
    return _Outcome(rows=_rows(checked.findings, checked.notices))


def _outcome(
    root: str,
    base: str | None,
    overrides: Mapping[str, bytes] | None = None,
    targets: Sequence[str] = (),
) -> _Outcome:
    digest = ""
    if overrides:
        h = hashlib.blake2b(digest_size=16)
        for path, data in sorted(overrides.items()):
            h.update(path.encode("utf-8", "surrogateescape") + b"\0" + data + b"\0")
        digest = h.hexdigest()
    key = (root, base or "", digest)
    if key not in _OUTCOMES:
        _OUTCOMES[key] = _compute(root, base, overrides, targets)
    return _OUTCOMES[key]


def _as_read(data: bytes) -> tuple[str, str] | None:
    """(text as flake8 reads it, encoding), or None if it cannot be decoded."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = io.TextIOWrapper(io.BytesIO(data), encoding, newline=None).read()
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return None
    return text.removeprefix("\ufeff"), encoding


def _overrides(path: str, rel: str, lines: Sequence[str]) -> dict[str, bytes] | None:
    """The text flake8 checks, when it is not the file on disk (an editor
    sending its buffer on stdin with --stdin-display-name)."""
    text = "".join(lines).removeprefix("\ufeff")
    try:
        with open(path, "rb") as handle:
            disk = _as_read(handle.read())
    except OSError:
        disk = None
    if disk is not None and disk[0] == text:
        return None
    encoding = disk[1] if disk is not None else "utf-8"
    try:
        codecs.lookup(encoding)
        data = text.encode(encoding)
    except (LookupError, UnicodeEncodeError):
        data = text.encode("utf-8")
    return {rel: data}


class Plugin:
    """flake8's entry point ``WFL``."""

    name = "workflow-lint"
    version = __version__

    base: ClassVar[str | None] = None
    targets: ClassVar[tuple[str, ...]] = ()

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        self.filename = filename
        self.lines = lines

    @classmethod
    def add_options(cls, manager: Any) -> None:
        manager.add_option(
            "--workflow-lint-base",
            default=None,
            parse_from_config=True,
            metavar="REV",
            help="workflow-lint: the revision in-flight workflows run (default: "
            "base of [tool.workflow-lint], else HEAD); `snapshot` judges against "
            "the versions recorded in workflow-lint.lock",
        )

    @classmethod
    def parse_options(
        cls,
        manager: Any,
        options: argparse.Namespace,
        args: Sequence[str] | None = None,
    ) -> None:
        base = getattr(options, "workflow_lint_base", None)
        cls.base = base.strip() if isinstance(base, str) and base.strip() else None
        filenames = args if args is not None else getattr(options, "filenames", None)
        cls.targets = tuple(filenames or ())
        # The comparison is made here, before flake8 forks its workers.
        try:
            for target in cls.targets or (".",):
                if target == "-":
                    continue
                full = os.path.realpath(target)
                folder = full if os.path.isdir(full) else os.path.dirname(full)
                root = _repo_root(folder) if os.path.isdir(folder) else None
                if root is not None:
                    _outcome(root, cls.base, None, cls.targets)
        except Exception as exc:  # never let the plugin stop flake8
            LOG.info("workflow-lint: %s", _first_line(exc))

    def run(self) -> Iterator[tuple[int, int, str, type[Plugin]]]:
        try:
            rows = self._check()
        except Exception as exc:  # never let the plugin stop flake8
            rows = [
                (1, 0, f"{ERROR_CODE} workflow-lint internal error: {_first_line(exc)}")
            ]
        for line, column, text in rows:
            yield line, column, text, type(self)

    def _check(self) -> list[Row]:
        if self.filename in ("stdin", "-") or not os.path.isfile(self.filename):
            return []
        path = os.path.realpath(self.filename)
        root = _repo_root(os.path.dirname(path))
        if root is None:
            return []
        rel = _relative(path, root)
        if rel.startswith("../"):
            return []
        overrides = _overrides(path, rel, self.lines)
        outcome = _outcome(root, type(self).base, overrides, type(self).targets)
        if outcome.error is None:
            return sorted(outcome.rows.get(rel, []))
        if outcome.anchors is not None:
            return [(1, 0, outcome.error)] if rel in outcome.anchors else []
        text = "".join(self.lines)
        return [(1, 0, outcome.error)] if "dbos" in text.lower() else []
