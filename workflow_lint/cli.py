"""The ``workflow-lint`` command line.

``main(argv)`` returns the exit status (0 clean, 1 findings, 2 bad input) and
never lets a traceback reach the user: everything they can get wrong is one
line on stderr starting ``workflow-lint: error:``.  An unexpected exception is
reported the same way, as an internal error (set ``WORKFLOW_LINT_DEBUG=1`` to
see its traceback).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

from workflow_lint import __version__, git, suppress, warmup
from workflow_lint import config as configuration
from workflow_lint import snapshot as lockfile
from workflow_lint.config import Config
from workflow_lint.diagnostics import Code, Finding, Severity
from workflow_lint.errors import SourceError, UsageError, WorkflowLintError
from workflow_lint.report import RENDERERS
from workflow_lint.repository_check import (
    Checked,
    Filters,
    check_repository,
    judge,
)
from workflow_lint.revision import Options, Snapshot, Versioning
from workflow_lint.sides import (
    PathFilter,
    compare_sides,
    cwd,
    folder_files,
    git_sides,
    inside,
    is_snapshot,
    locate,
    new_side,
    old_side,
    python_file,
    recorded_sides,
    source_of,
    wanted_paths,
)
from workflow_lint.suppress import Notice

PROG = "workflow-lint"
DEBUG_ENV = "WORKFLOW_LINT_DEBUG"


class _Exit(Exception):
    """argparse finished the command itself (``--help``, ``--version``)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # prog is "workflow-lint" or "workflow-lint check": keep the subcommand.
        sub = self.prog[len(PROG) :].strip() if self.prog.startswith(PROG) else ""
        where = f"{sub}: " if sub else ""
        raise UsageError(f"{where}{message} (see `{self.prog} --help`)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Find code changes that break in-flight DBOS workflows.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    sub = parser.add_subparsers(
        dest="command",
        metavar="{check,compare,fix,patch,replay,patches,snapshot}",
        required=True,
        parser_class=_Parser,
    )

    def versioning(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--versioning",
            choices=[v.value for v in Versioning],
            default=None,
            help="pinned: every deploy replays old histories (the safe default); "
            "computed: DBOS's default source-hash version",
        )

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--format", choices=sorted(RENDERERS), default="text")
        versioning(p)
        p.add_argument(
            "--strict",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="warnings (extend, rules, notices) fail too",
        )
        p.add_argument(
            "--select",
            default=None,
            metavar="CODES",
            help="report only these codes or prefixes (comma-separated)",
        )
        p.add_argument(
            "--ignore",
            default=None,
            metavar="CODES",
            help="never report these codes or prefixes (comma-separated)",
        )

    check = sub.add_parser("check", help="compare a git revision with the working tree")
    check.add_argument(
        "paths",
        nargs="*",
        metavar="PATHS",
        help="report only findings in these files or folders (the whole project "
        "is still analysed)",
    )
    check.add_argument(
        "--base",
        default=None,
        help="base revision (default HEAD); `snapshot` judges against every "
        f"version recorded in {lockfile.LOCK_NAME}, `snapshot:ID` against one",
    )
    check.add_argument(
        "--staged", action="store_true", help="compare the index with HEAD (pre-commit)"
    )
    common(check)

    cmp_ = sub.add_parser("compare", help="compare two files or folders (no git)")
    cmp_.add_argument("old")
    cmp_.add_argument("new")
    common(cmp_)

    fix = sub.add_parser(
        "fix", help="wrap each breaking change in DBOS.patch (old code from --base)"
    )
    fix.add_argument("paths", nargs="*", metavar="PATHS")
    fix.add_argument(
        "--base",
        default=None,
        help="base revision (default HEAD), or `snapshot:ID`: a recorded version",
    )
    fix.add_argument(
        "--diff", action="store_true", help="print a unified diff, write nothing"
    )
    fix.add_argument(
        "--template",
        default=None,
        help="patch name template, with {workflow} and {change} "
        "(default {workflow}-{change})",
    )
    versioning(fix)

    patch = sub.add_parser("patch", help="move a patch through its life")
    patch.add_argument("action", choices=["deprecate", "remove"])
    patch.add_argument("name", help="the patch name")
    patch.add_argument("paths", nargs="*", metavar="PATHS")
    patch.add_argument(
        "--base",
        default=None,
        help="the revision in-flight workflows run (default HEAD): the rewrite is "
        "refused if histories it records would break",
    )
    patch.add_argument("--diff", action="store_true")
    patch.add_argument(
        "--db",
        default=None,
        help="a DBOS system database URL: refuse if its pending workflows need "
        "the patch (sqlite:///path or postgresql://...)",
    )

    replay = sub.add_parser(
        "replay", help="judge a system database's pending workflows against the code"
    )
    replay.add_argument(
        "--db", required=True, help="sqlite:///path or postgresql://..."
    )
    replay.add_argument("--format", choices=["text", "json"], default="text")

    patches = sub.add_parser(
        "patches", help="which patches pending workflows still need"
    )
    patches.add_argument(
        "--db", required=True, help="sqlite:///path or postgresql://..."
    )
    patches.add_argument("--format", choices=["text", "json"], default="text")
    patches.add_argument(
        "--versioning",
        choices=[v.value for v in Versioning],
        default=Versioning.PINNED.value,
    )

    snap = sub.add_parser(
        "snapshot",
        help=f"record the deployed version's workflow code in {lockfile.LOCK_NAME}",
    )
    snap.add_argument(
        "--version-id",
        default=None,
        metavar="ID",
        help="the version's id: its application_version (default: the current "
        "git commit)",
    )
    snap.add_argument(
        "--prune",
        action="store_true",
        help="drop recorded versions instead (with --keep and/or --db)",
    )
    snap.add_argument(
        "--keep", type=int, default=None, metavar="N", help="keep the N newest"
    )
    snap.add_argument(
        "--db",
        default=None,
        help="a DBOS system database: drop versions no pending workflow runs "
        "(sqlite:///path or postgresql://...)",
    )
    return parser


def _exit_status(
    findings: Sequence[Finding], notices: Sequence[Notice], strict: bool
) -> int:
    if any(f.severity is Severity.ERROR for f in findings):
        return 1
    if strict and (findings or notices):
        return 1
    return 0


def _write(stream: TextIO, text: str) -> None:
    """Write ``text``; characters the stream cannot encode are escaped."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _patch(args: argparse.Namespace) -> int:
    from workflow_lint.rewrite_commands import run_patch

    old, new, root = git_sides(args.base, staged=False)
    wanted = wanted_paths(args.paths, root, [old.snapshot.files, new.snapshot.files])
    try:
        return run_patch(
            old.snapshot,
            new.snapshot,
            root,
            args.action,
            args.name,
            wanted,
            Options(),
            args.diff,
        )
    except SourceError as exc:
        raise locate(exc, old, new) from None


# --- check, compare, fix, snapshot: the commands [tool.workflow-lint] shapes ----


def _config() -> Config:
    return configuration.load(cwd())


def _codes(flag: str, value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    return configuration.check_codes([c for c in value.split(",") if c.strip()], flag)


def _settings(
    args: argparse.Namespace, config: Config
) -> tuple[Options, Filters, PathFilter]:
    versioning = args.versioning or (config.versioning or Versioning.PINNED).value
    options = Options(versioning=Versioning(versioning))
    filters = Filters(
        _codes("--select", getattr(args, "select", None), config.select),
        _codes("--ignore", getattr(args, "ignore", None), config.ignore),
    )
    return options, filters, _keep(config)


def _keep(config: Config) -> PathFilter:
    """Python files that include/exclude leave in the analysis."""
    wanted = configuration.path_filter(config)
    return lambda p: python_file(p) and wanted(p)


def _strict(args: argparse.Namespace, config: Config) -> bool:
    if args.strict is not None:
        return bool(args.strict)
    return bool(config.strict)


def _report(args: argparse.Namespace, config: Config, checked: Checked) -> int:
    _write(sys.stdout, RENDERERS[args.format](checked.findings, checked.notices))
    return _exit_status(checked.findings, checked.notices, _strict(args, config))


def _check(args: argparse.Namespace) -> int:
    warmup.start()
    config = _config()
    options, filters, keep = _settings(args, config)
    root = git.repo_root(cwd())
    checked = check_repository(
        root,
        args.base if args.base is not None else config.base,
        options=options,
        filters=filters,
        keep=keep,
        staged=args.staged,
        paths=args.paths,
        empty_before_first=args.staged,
    )
    return _report(args, config, checked)


def _compare(args: argparse.Namespace) -> int:
    warmup.start()
    config = _config()
    options, filters, keep = _settings(args, config)
    old, new = compare_sides(args.old, args.new, keep)
    return _report(args, config, judge(old, new, options, filters))


def _fix(args: argparse.Namespace) -> int:
    from workflow_lint.fix import DEFAULT_TEMPLATE, fix
    from workflow_lint.rewrite_commands import apply

    config = _config()
    options, filters, keep = _settings(args, config)
    if args.template is not None:
        if "{workflow}" not in args.template and "{change}" not in args.template:
            raise UsageError("--template needs {workflow} or {change}")
        template = configuration.check_template(args.template, "--template")
    else:
        template = config.patch_name_template or DEFAULT_TEMPLATE
    root = git.repo_root(cwd())
    base = args.base if args.base is not None else config.base
    new = new_side(root, False, keep)
    if base is not None and is_snapshot(base):
        olds = recorded_sides(root, base, keep)
        if len(olds) != 1:
            ids = ", ".join(version_id for version_id, _ in olds) or "none"
            raise UsageError(
                f"fix patches against one version, and {lockfile.LOCK_NAME} "
                f"records {len(olds)} ({ids}): pass --base snapshot:ID"
            )
        old = olds[0][1]
    else:
        old = old_side(root, base, keep, empty_before_first=False)
    wanted = wanted_paths(args.paths, root, [old.snapshot.files, new.snapshot.files])

    def source(f: Finding) -> tuple[str, bytes] | None:
        return source_of(f, old, new)

    def reported(f: Finding) -> bool:
        """What check would report: fix leaves alone what it would not."""
        return filters.wants(f.code.code) and bool(suppress.apply([f], source)[0])

    try:
        result = fix(old.snapshot, new.snapshot, options, template, reported)
    except SourceError as exc:
        raise locate(exc, old, new) from None
    files = {p: t for p, t in result.files.items() if inside(p, wanted)}
    apply(root, files, new.snapshot.files, args.diff)
    verb = "would patch" if args.diff else "patched"
    out = sys.stderr if args.diff else sys.stdout
    for workflow in sorted(result.fixed):
        out.write(f"{verb} workflow {workflow}\n")
    for note in result.notes:
        out.write(f"note: {note}\n")
    # What check would not report (ignored codes, suppressions) is no reason
    # for the fix hook to fail either.
    unfixed = [
        f
        for f in result.unfixed
        if inside(f.span.path, wanted) and filters.wants(f.code.code)
    ]
    unfixed, _ = suppress.apply(unfixed, source)
    if not unfixed:
        return 0
    from workflow_lint.report import render_text

    out.write("not fixed automatically:\n")
    out.write(render_text(unfixed))
    for f in unfixed:
        if f.code is Code.WORKFLOW_GONE:
            out.write(
                f"  {f.workflow}: no patch can bring back a renamed workflow; "
                f'keep its recorded name with @DBOS.workflow(name="{f.workflow}")\n'
            )
    return 1


def _snapshot(args: argparse.Namespace) -> int:
    config = _config()
    here = cwd()
    try:
        root = git.repo_root(here)
    except WorkflowLintError:
        root = None
    path = lockfile.lock_path(root or here)
    if args.prune:
        return _prune(args, path)
    if args.keep is not None or args.db is not None:
        raise UsageError("--keep and --db go with --prune")
    version_id = args.version_id
    if version_id is None:
        if root is None or not git.has_commits(root):
            raise UsageError(
                "no git commit to name the version by: pass --version-id "
                "(the application_version it is deployed as)"
            )
        version_id = git.verify_revision(root, "HEAD")
    version_id = version_id.strip()
    if not version_id or any(c in version_id for c in "\r\n"):
        raise UsageError("--version-id must be one non-empty line")
    keep = _keep(config)
    if root is not None:
        files = git.read_worktree(root, keep)
    else:
        files = {p: d for p, d in folder_files(here).items() if keep(p)}
    recorded = lockfile.workflow_files(Snapshot("working tree", files))
    lock = lockfile.record(
        lockfile.read_lock(path),
        lockfile.Version(version_id, lockfile.now(), recorded),
    )
    lockfile.write_lock(path, lock)
    _write(
        sys.stdout,
        f"recorded version {version_id}: {len(recorded)} file(s) in "
        f"{lockfile.LOCK_NAME} ({len(lock.versions)} version(s) recorded)\n",
    )
    return 0


def _prune(args: argparse.Namespace, path: str) -> int:
    if args.version_id is not None:
        raise UsageError("--version-id records a version; --prune drops them")
    if args.keep is None and args.db is None:
        raise UsageError("--prune needs --keep N, --db URL, or both")
    if args.keep is not None and args.keep < 0:
        raise UsageError(f"--keep must be 0 or more, not {args.keep}")
    if not os.path.exists(path):
        raise UsageError(f"no {lockfile.LOCK_NAME} in {os.path.dirname(path)}")
    lock = lockfile.read_lock(path)
    live: set[str] | None = None
    if args.db is not None:
        from workflow_lint import db_commands as db

        histories = db.read_pending(args.db, sys.stderr.isatty())
        live = {
            version
            for h in histories
            if isinstance(version := getattr(h, "application_version", None), str)
        }
    pruned = lockfile.prune(lock, args.keep, live)
    if pruned.dropped:
        lockfile.write_lock(path, pruned.lock)
    lines = [f"dropped version {vid}: {why}" for vid, why in pruned.dropped]
    kept = ", ".join(v.id for v in pruned.lock.versions) or "none"
    lines.append(f"{len(pruned.lock.versions)} version(s) recorded: {kept}")
    _write(sys.stdout, "\n".join(lines) + "\n")
    return 0


def _worktree() -> tuple[Snapshot, Snapshot | None, str]:
    """The working tree (and HEAD when there is one) for the database commands."""
    try:
        old, new, root = git_sides(None, staged=False)
        return new.snapshot, old.snapshot, root
    except WorkflowLintError:
        pass
    here = os.getcwd()
    try:
        root = git.repo_root(here)
        return (
            Snapshot("working tree", git.read_worktree(root, python_file)),
            None,
            root,
        )
    except WorkflowLintError:
        return Snapshot("folder", folder_files(here)), None, here


def _database(args: argparse.Namespace) -> int:
    from workflow_lint import db_commands as db

    current, head, _ = _worktree()
    histories = db.read_pending(args.db, sys.stderr.isatty())
    irs = db.lower_all(current)
    if args.command == "replay":
        judged = db.judge_pending(histories, irs)
        _write(sys.stdout, db.render_replay(judged, args.format))
        return 1 if any(j.judgement.fate.fails for j in judged) else 0
    stranded: int | None = None
    if args.versioning == Versioning.COMPUTED.value and head is not None:
        report = warmup.compare(head, current, Options(versioning=Versioning.COMPUTED))
        changed = any(f.code is Code.VERSION_CHANGED for f in report.findings)
        stranded = len(histories) if changed else 0
    reports = db.patch_reports(histories, irs)
    _write(sys.stdout, db.render_patches(reports, args.format, stranded))
    return 0


def _patch_with_db(args: argparse.Namespace) -> int:
    from workflow_lint import db_commands as db
    from workflow_lint.lifecycle import rewrite
    from workflow_lint.rewrite_commands import apply

    current, _, root = _worktree()
    wanted = wanted_paths(args.paths, root, [current.files]) if args.paths else []
    paths = (
        {
            p
            for p in current.files
            if any(p == w or p.startswith(w + "/") or not w for w in wanted)
        }
        if wanted
        else None
    )
    result = rewrite(current, current, args.name, args.action, paths)
    rewritten = dict(current.files)
    rewritten.update({p: t.encode("utf-8") for p, t in result.files.items()})
    histories = db.read_pending(args.db, sys.stderr.isatty())
    before = db.judge_pending(histories, db.lower_all(current))
    after = db.judge_pending(histories, db.lower_all(Snapshot("rewritten", rewritten)))
    stuck = db.blocking(before, after)
    if stuck:
        _write(
            sys.stdout,
            f"refusing to {args.action} patch {args.name!r}: "
            f"{len(stuck)} pending workflow(s) still need it\n"
            + db.render_replay(stuck, "text"),
        )
        return 1
    apply(root, result.files, current.files, args.diff)
    verb = "would rewrite" if args.diff else "rewrote"
    _write(
        sys.stderr if args.diff else sys.stdout,
        f"{verb} {result.sites} site(s) of patch {args.name!r} ({args.action}); "
        f"no pending workflow needs it\n",
    )
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("replay", "patches"):
        return _database(args)
    if args.command == "patch" and args.db is not None:
        return _patch_with_db(args)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "check": _check,
        "compare": _compare,
        "fix": _fix,
        "patch": _patch,
        "snapshot": _snapshot,
    }
    return commands[args.command](args)


def _error(message: str) -> int:
    _write(sys.stderr, f"{PROG}: error: {_one_line(message)}\n")
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except _Exit as done:
        return done.status
    except WorkflowLintError as exc:
        return _error(str(exc))
    except RecursionError:
        return _error("input too deeply nested to analyse")
    except BrokenPipeError:
        raise
    except MemoryError:
        return _error("out of memory")
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        return _error(
            f"internal error: {type(exc).__name__}: {exc} (please report it; "
            f"{DEBUG_ENV}=1 shows the traceback)"
        )


def _tune_gc() -> None:
    """The analysis allocates millions of small objects (LibCST nodes, IR)
    that live until the process ends, and the collector's default pace
    re-scans them over and over: a third of a large check's time.  A process
    that runs one command can afford to collect young objects less often and
    to leave what start-up imported out of every scan."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def entrypoint() -> None:
    _tune_gc()
    try:
        status = main()
        sys.stdout.flush()
        sys.stderr.flush()
    except KeyboardInterrupt:
        status = 130
    except BrokenPipeError:
        # The reader went away (`workflow-lint check | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        status = 1
    _leave(status)


def _leave(status: int) -> None:
    """Exit without tearing the heap down: freeing the parsed trees one
    object at a time costs a second on a large module, and the process is
    ending anyway.  Only static commands reach here with work of that size;
    a database command has closed its connections by the time it returns."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(status)
