"""Which two versions of the project a command compares, and how their
files are named to the user.

A version is a ``Snapshot`` (path -> bytes) read from git (a revision, the
index, the working tree), from the snapshot lockfile, or from two folders or
files given on the command line; errors and findings are then told in the
user's terms (which version, which path).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence

from workflow_lint import git, warmup
from workflow_lint import snapshot as lockfile
from workflow_lint.config import SNAPSHOT_BASE
from workflow_lint.diagnostics import Code, Finding, Span
from workflow_lint.errors import SourceError, UsageError
from workflow_lint.revision import Snapshot


def python_file(path: str) -> bool:
    return path.endswith(".py")


# --- where the two versions come from ----------------------------------------


@dataclasses.dataclass(frozen=True)
class Side:
    """One version of the project and how to name its files to the user."""

    snapshot: Snapshot
    where: str | None
    """Which version, for messages about it: "base revision HEAD" (None when
    the file's name already says it)."""
    display: Callable[[str], str] = str
    """Snapshot path -> the path the user knows the file by."""


PathFilter = Callable[[str], bool]


def cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        raise UsageError("the current folder no longer exists") from None


def old_side(
    root: str, base: str | None, keep: PathFilter, empty_before_first: bool
) -> Side:
    """The base revision; before the first commit (when ``empty_before_first``)
    nothing is deployed, so nothing is in flight: an empty version."""
    rev = "HEAD" if base is None else base
    if empty_before_first and base is None and not git.has_commits(root):
        old_files: dict[str, bytes] = {}
    else:
        commit = git.verify_revision(root, rev)
        old_files = git.read_revision(root, commit, keep)
    return Side(Snapshot(rev, old_files), f"base revision {rev}")


def new_side(
    root: str,
    staged: bool,
    keep: PathFilter,
    overrides: Mapping[str, bytes] | None = None,
) -> Side:
    if staged:
        return Side(Snapshot("index", git.read_index(root, keep)), "the index")
    files = git.read_worktree(root, keep)
    if overrides:
        files.update(overrides)
    return Side(Snapshot("working tree", files), "the working tree")


def git_sides(
    base: str | None, staged: bool, keep: PathFilter = python_file
) -> tuple[Side, Side, str]:
    root = git.repo_root(cwd())
    new = new_side(root, staged, keep)  # first: the base reuses what it read
    return old_side(root, base, keep, empty_before_first=staged), new, root


def is_snapshot(base: str | None) -> bool:
    return base is not None and (
        base == SNAPSHOT_BASE or base.startswith(SNAPSHOT_BASE + ":")
    )


def recorded_sides(root: str, base: str, keep: PathFilter) -> list[tuple[str, Side]]:
    """The versions ``base`` (``snapshot`` or ``snapshot:ID``) names, newest
    first."""
    path = lockfile.lock_path(root)
    if not os.path.exists(path):
        raise UsageError(
            f"--base {base}: no {lockfile.LOCK_NAME} in {root}; record each "
            "deployed version with `workflow-lint snapshot`"
        )
    lock = lockfile.read_lock(path)
    versions = list(reversed(lock.versions))
    if base != SNAPSHOT_BASE:
        wanted = base[len(SNAPSHOT_BASE) + 1 :]
        found = lock.get(wanted)
        if found is None:
            known = ", ".join(v.id for v in versions) or "none"
            raise UsageError(
                f"--base {base}: no version {wanted!r} in {lockfile.LOCK_NAME} "
                f"(recorded: {known})"
            )
        versions = [found]
    return [
        (
            v.id,
            Side(
                Snapshot(
                    f"recorded version {v.id}",
                    {p: data for p, data in v.files.items() if keep(p)},
                ),
                f"recorded version {v.id}",
            ),
        )
        for v in versions
    ]


def read_argument(path: str, shown: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise SourceError(f"{shown}: cannot read: {exc.strerror or exc}") from None


def folder_files(path: str) -> dict[str, bytes]:
    if not os.path.isdir(path):
        if os.path.exists(path):
            raise UsageError(f"{path}: not a regular file or folder")
        raise UsageError(f"{path}: no such file or folder")
    files: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and d != "__pycache__"
        )
        for filename in sorted(filenames):
            full = os.path.join(dirpath, filename)
            if python_file(filename) and os.path.isfile(full):
                rel = os.path.relpath(full, path).replace(os.sep, "/")
                files[rel] = read_argument(full, os.path.join(path, rel))
    return files


def file_display(arg: str, name: str) -> Callable[[str], str]:
    return lambda p: arg if p == name else p


def folder_display(arg: str) -> Callable[[str], str]:
    return lambda p: os.path.normpath(os.path.join(arg, p))


def compare_sides(
    old_arg: str, new_arg: str, keep: PathFilter = python_file
) -> tuple[Side, Side]:
    """Two files, or two folders; paths are shown as the user gave them."""
    # Two single files are compared as the same module (the new file's name),
    # so module names and imports agree on both sides.
    as_name = os.path.basename(new_arg) if os.path.isfile(new_arg) else None
    sides: list[Side] = []
    for arg, label in ((old_arg, "old"), (new_arg, "new")):
        if os.path.isfile(arg):
            name = as_name or os.path.basename(arg)
            snapshot = Snapshot(label, {name: read_argument(arg, arg)})
            display = file_display(arg, name)
        else:
            files = folder_files(arg)
            snapshot = Snapshot(label, {p: d for p, d in files.items() if keep(p)})
            display = folder_display(arg)
        sides.append(Side(snapshot, None, display))
    return sides[0], sides[1]


# --- errors that name the version they come from -----------------------------


def fails(path: str, data: bytes) -> bool:
    try:
        warmup.parse_source(path, data)
    except (SourceError, RecursionError):
        return True
    return False


def locate(exc: SourceError, old: Side, new: Side) -> SourceError:
    """Say which version (and, in ``compare``, which real file) holds the bad
    file: the engine only knows the path, which both versions share."""
    message = str(exc)
    paths = {*old.snapshot.files, *new.snapshot.files}
    hits = [p for p in paths if message == p or message.startswith(p + ":")]
    if not hits:
        return exc
    path = max(hits, key=len)
    holders = [side for side in (old, new) if path in side.snapshot.files]
    culprits = [
        side for side in holders if fails(path, side.snapshot.files[path])
    ] or holders
    # The old version is parsed first, so the message is about it if it fails.
    culprit = culprits[0]
    rest = message[len(path) :]
    wheres = [culprit.where]
    if len(culprits) == 2 and old.snapshot.files[path] == new.snapshot.files[path]:
        wheres = [side.where for side in culprits]
    suffix = f" (in {' and '.join(w for w in wheres if w)})" if all(wheres) else ""
    return SourceError(f"{culprit.display(path)}{rest}{suffix}")


# --- what gets reported -------------------------------------------------------


def in_old(f: Finding) -> bool:
    """The finding is located in the old version (a workflow that is gone)."""
    w = f.witness
    return f.code is Code.WORKFLOW_GONE or (
        w is not None and w.new_span is None and w.old_span == f.span
    )


def source_of(f: Finding, old: Side, new: Side) -> tuple[str, bytes] | None:
    """The file a finding points into, as the user names it, and its bytes
    in the version it points into (where inline suppressions are read)."""
    side = old if in_old(f) else new
    data = side.snapshot.files.get(f.span.path)
    return None if data is None else (side.display(f.span.path), data)


def relocate(findings: Sequence[Finding], old: Side, new: Side) -> list[Finding]:
    """Show each span under the name of the file it was read from.

    Witness ``old`` spans, and the location of a workflow that is gone, point
    into the old version; everything else into the new one.
    """

    def moved(span: Span, side: Side) -> Span:
        return dataclasses.replace(span, path=side.display(span.path))

    out: list[Finding] = []
    for f in findings:
        w = f.witness
        from_old = in_old(f)
        if w is not None:
            w = dataclasses.replace(
                w,
                old_span=w.old_span and moved(w.old_span, old),
                new_span=w.new_span and moved(w.new_span, new),
            )
        span = moved(f.span, old if from_old else new)
        out.append(dataclasses.replace(f, span=span, witness=w))
    return out


def wanted_paths(
    paths: Sequence[str], root: str, snapshots: Sequence[Mapping[str, bytes]]
) -> list[str]:
    """PATHS as repository-relative prefixes ("" is the whole repository)."""
    real_root = os.path.realpath(root)
    wanted: list[str] = []
    for p in paths:
        full = os.path.realpath(p)
        rel = os.path.relpath(full, real_root).replace(os.sep, "/")
        if rel == ".." or rel.startswith("../") or os.path.isabs(rel):
            raise UsageError(f"{p}: outside the repository {root}")
        rel = "" if rel == "." else rel
        known = os.path.exists(p) or any(
            f == rel or f.startswith(rel + "/") for files in snapshots for f in files
        )
        if not known:
            raise UsageError(f"{p}: no such file or folder")
        wanted.append(rel)
    return wanted


def inside(path: str, wanted: Sequence[str]) -> bool:
    """Whether ``path`` is under one of ``wanted`` (repository-relative
    prefixes, "" the whole repository); no prefixes is everything."""
    return not wanted or any(
        w == "" or path == w or path.startswith(w.rstrip("/") + "/") for w in wanted
    )


def select_findings(
    findings: Sequence[Finding], wanted: Sequence[str]
) -> list[Finding]:
    """Findings located in, or whose witness points into, one of ``wanted``."""
    selected = []
    for f in findings:
        related = [f.span.path, *f.related]
        if f.witness is not None:
            related += [s.path for s in (f.witness.old_span, f.witness.new_span) if s]
        if any(inside(p, wanted) for p in related):
            selected.append(f)
    return selected
