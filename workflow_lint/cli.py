"""The ``workflow-lint`` command line.

``main(argv)`` returns the exit status (0 clean, 1 findings, 2 bad input) and
never lets a traceback reach the user for anything they can get wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from workflow_lint import git
from workflow_lint.check import Options, Report, Snapshot, Versioning, compare
from workflow_lint.diagnostics import Finding, Severity
from workflow_lint.errors import UsageError, WorkflowLintError
from workflow_lint.report import RENDERERS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="workflow-lint",
        description="Find code changes that break in-flight DBOS workflows.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--format", choices=sorted(RENDERERS), default="text")
        p.add_argument(
            "--versioning",
            choices=[v.value for v in Versioning],
            default=Versioning.PINNED.value,
            help="pinned: every deploy replays old histories (the safe default); "
            "computed: DBOS's default source-hash version",
        )
        p.add_argument(
            "--strict", action="store_true", help="warnings (extend, rules) fail too"
        )

    check = sub.add_parser("check", help="compare a git revision with the working tree")
    check.add_argument("paths", nargs="*", help="report only findings in these paths")
    check.add_argument("--base", default=None, help="base revision (default HEAD)")
    check.add_argument(
        "--staged", action="store_true", help="compare the index with HEAD (pre-commit)"
    )
    common(check)

    cmp_ = sub.add_parser("compare", help="compare two files or folders (no git)")
    cmp_.add_argument("old")
    cmp_.add_argument("new")
    common(cmp_)
    return parser


def _py(path: str) -> bool:
    return path.endswith(".py")


def _git_snapshots(base: str | None, staged: bool) -> tuple[Snapshot, Snapshot, str]:
    root = git.repo_root(os.getcwd())
    rev = base or "HEAD"
    commit = git.verify_revision(root, rev)
    old_paths = [p for p in git.files_at(root, commit) if _py(p)]
    old_blobs = git.read_blobs(root, [f"{commit}:{p}" for p in old_paths])
    old = Snapshot(
        rev,
        {
            p: old_blobs[f"{commit}:{p}"]
            for p in old_paths
            if f"{commit}:{p}" in old_blobs
        },
    )
    if staged:
        new_paths = [p for p in git.index_files(root) if _py(p)]
        blobs = git.read_blobs(root, [f":{p}" for p in new_paths])
        new = Snapshot(
            "index", {p: blobs[f":{p}"] for p in new_paths if f":{p}" in blobs}
        )
    else:
        files: dict[str, bytes] = {}
        for p in git.worktree_files(root):
            if not _py(p):
                continue
            full = os.path.join(root, p)
            if os.path.isfile(full):
                with open(full, "rb") as handle:
                    files[p] = handle.read()
        new = Snapshot("working tree", files)
    return old, new, root


def _folder_snapshot(path: str, label: str, name_as: str | None = None) -> Snapshot:
    if os.path.isfile(path):
        with open(path, "rb") as handle:
            return Snapshot(label, {name_as or os.path.basename(path): handle.read()})
    if not os.path.isdir(path):
        raise UsageError(f"{path}: no such file or folder")
    files: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if _py(filename):
                full = os.path.join(dirpath, filename)
                rel = os.path.relpath(full, path).replace(os.sep, "/")
                with open(full, "rb") as handle:
                    files[rel] = handle.read()
    return Snapshot(label, files)


def _select(
    findings: Sequence[Finding], paths: Sequence[str], root: str
) -> list[Finding]:
    if not paths:
        return list(findings)
    wanted = []
    for p in paths:
        rel = os.path.relpath(os.path.abspath(p), root).replace(os.sep, "/")
        wanted.append("" if rel == "." else rel)

    def inside(path: str | None) -> bool:
        if path is None:
            return False
        return any(
            w == "" or path == w or path.startswith(w.rstrip("/") + "/") for w in wanted
        )

    selected = []
    for f in findings:
        related = [f.span.path]
        if f.witness is not None:
            related += [s.path for s in (f.witness.old_span, f.witness.new_span) if s]
        if any(inside(p) for p in related):
            selected.append(f)
    return selected


def _exit_status(findings: Sequence[Finding], strict: bool) -> int:
    if any(f.severity is Severity.ERROR for f in findings):
        return 1
    if strict and findings:
        return 1
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    options = Options(versioning=Versioning(args.versioning))
    if args.command == "check":
        for p in args.paths:
            if not os.path.exists(p):
                raise UsageError(f"{p}: no such file or folder")
        old, new, root = _git_snapshots(args.base, args.staged)
        report: Report = compare(old, new, options)
        findings = _select(report.findings, args.paths, root)
    else:
        name_as = os.path.basename(args.new) if os.path.isfile(args.new) else None
        old = _folder_snapshot(args.old, "old", name_as)
        new = _folder_snapshot(args.new, "new")
        findings = compare(old, new, options).findings
    sys.stdout.write(RENDERERS[args.format](findings))
    return _exit_status(findings, args.strict)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except WorkflowLintError as exc:
        print(f"workflow-lint: error: {exc}", file=sys.stderr)
        return 2
    except RecursionError:
        print(
            "workflow-lint: error: input too deeply nested to analyse", file=sys.stderr
        )
        return 2


def entrypoint() -> None:
    sys.exit(main())
