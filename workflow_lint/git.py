"""Reading revisions through git itself, with one error type.

Base revisions are read with a single ``git cat-file --batch`` process so a
large repository costs one process, not one per file.  Blobs are asked for by
object id, never by ``REV:path``, so no path (spaces, newlines, bytes that are
not UTF-8) can confuse the batch protocol.

Only regular files count: symbolic links and submodules are not Python source,
in any revision, so the working tree skips them too.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO, ClassVar

from workflow_lint.errors import GitError, SourceError

_REGULAR = ("100644", "100755")
"""git file modes of regular files (120000 is a symlink, 160000 a submodule)."""

PathFilter = Callable[[str], bool]


def _everything(path: str) -> bool:
    return True


def _path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _reason(stderr: bytes, fallback: str) -> str:
    """The line of git's stderr that says what went wrong.

    git puts hints after the error (``detected dubious ownership`` ends with a
    ``git config --global --add safe.directory`` line), so the ``fatal:`` or
    ``error:`` line wins over the last one.
    """
    lines = [
        line.strip()
        for line in stderr.decode("utf-8", "replace").splitlines()
        if line.strip()
    ]
    for line in lines:
        for prefix in ("fatal:", "error:"):
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
    return lines[-1] if lines else fallback


def _git(args: Sequence[str], cwd: str, stdin: bytes | None = None) -> bytes:
    """Run git; its input and output go through temporary files rather than
    pipes, so this thread only waits (without the GIL) while git works,
    instead of waking for every 64 KB: the engine is being imported on
    another thread meanwhile (``warmup``)."""
    with (
        tempfile.TemporaryFile() as given,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        given.write(stdin or b"")
        given.seek(0)
        status = _run(args, cwd, given, out, err)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if status != 0:
        raise GitError(
            f"git {args[0]} failed: " + _reason(stderr, f"exit status {status}")
        )
    return stdout


def _run(
    args: Sequence[str], cwd: str, given: IO[bytes], out: IO[bytes], err: IO[bytes]
) -> int:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, stdin=given, stdout=out, stderr=err, check=False
        ).returncode
    except FileNotFoundError:
        raise GitError(
            "git is not installed or not on PATH; install git, or use "
            "`workflow-lint compare OLD NEW` to compare two folders"
        ) from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None


def repo_root(cwd: str) -> str:
    try:
        out = _git(["rev-parse", "--show-toplevel"], cwd)
    except GitError as exc:
        if "not a git repository" in str(exc).lower():
            raise GitError(
                f"{os.path.abspath(cwd)} is not inside a git repository; "
                "use `workflow-lint compare OLD NEW` to compare folders"
            ) from None
        raise
    root = out.decode("utf-8", "surrogateescape").strip()
    if not root:
        raise GitError(
            f"{os.path.abspath(cwd)} is inside a git repository without a working "
            "tree (a bare repository); run the check in a checkout"
        )
    return root


def has_commits(root: str) -> bool:
    """False in a repository whose first commit is still being prepared."""
    try:
        _git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], root)
    except GitError:
        return False
    return True


def verify_revision(root: str, rev: str) -> str:
    """The commit id of ``rev``, or a GitError that says why there is none."""
    if not rev.strip():
        raise GitError("the base revision is empty; pass a commit, branch or tag")
    if rev.startswith("-"):
        raise GitError(
            f"base revision {rev!r} looks like an option; pass a commit, branch or tag"
        )
    try:
        commit = (
            _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], root)
            .decode()
            .strip()
        )
    except GitError:
        commit = ""
    if commit:
        return commit
    shallow = _git(["rev-parse", "--is-shallow-repository"], root).decode().strip()
    if shallow == "true":
        raise GitError(
            f"base revision {rev!r} is not in this shallow clone; fetch the full "
            "history (actions/checkout: fetch-depth: 0) or pass an available --base"
        )
    if not has_commits(root):
        raise GitError(
            f"base revision {rev!r} does not exist: the repository has no commits yet"
        )
    raise GitError(f"base revision {rev!r} is not a commit in this repository")


def _listing(out: bytes, command: str) -> list[tuple[str, str, str, str]]:
    """``ls-tree -r -z`` / ``ls-files -z --stage`` records: the three fields
    before the tab, and the path after it."""
    entries: list[tuple[str, str, str, str]] = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw = record.partition(b"\t")
        fields = meta.split()
        if len(fields) != 3 or not raw:
            raise GitError(f"unexpected output from git {command}: {record[:80]!r}")
        first, second, third = (f.decode("ascii", "replace") for f in fields)
        entries.append((first, second, third, _path(raw)))
    return entries


def _tree_entries(root: str, commit: str) -> list[tuple[str, str, str]]:
    """(mode, object id, path) of every file in ``commit``'s tree."""
    out = _git(["ls-tree", "-r", "-z", "--full-tree", commit], root)
    return [(mode, oid, p) for mode, _kind, oid, p in _listing(out, "ls-tree")]


def _index_entries(root: str) -> list[tuple[str, str, str, str]]:
    """(mode, object id, stage, path) of every entry in the index."""
    return _listing(_git(["ls-files", "-z", "--stage"], root), "ls-files")


def files_at(root: str, rev: str) -> list[str]:
    """Paths of the regular files in ``rev``'s tree."""
    return [p for mode, _, p in _tree_entries(root, rev) if mode in _REGULAR]


def index_files(root: str) -> list[str]:
    """Paths of the regular files in the index (each once)."""
    seen: dict[str, None] = {}
    for mode, _, _, p in _index_entries(root):
        if mode in _REGULAR:
            seen.setdefault(p, None)
    return list(seen)


def worktree_files(root: str) -> list[str]:
    """Tracked and untracked, not ignored, paths of the working tree."""
    out = _git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], root)
    seen: dict[str, None] = {}
    for p in out.split(b"\0"):
        if p:
            seen.setdefault(_path(p), None)
    return list(seen)


def read_blobs(root: str, specs: Iterable[str]) -> dict[str, bytes]:
    """Contents of object ids or ``REV:path`` specs, in one process.

    Specs git does not know are left out of the result.
    """
    wanted = list(dict.fromkeys(specs))
    if not wanted:
        return {}
    if any("\n" in spec for spec in wanted):
        raise GitError("cannot read a path with a newline through git cat-file")
    payload = ("\n".join(wanted) + "\n").encode("utf-8", "surrogateescape")
    data = _git(["cat-file", "--batch"], root, payload)
    out: dict[str, bytes] = {}
    pos = 0
    try:
        for spec in wanted:
            end = data.index(b"\n", pos)
            header = data[pos:end].split()
            pos = end + 1
            if len(header) != 3:  # "<spec> missing", "<spec> ambiguous"
                continue
            size = int(header[2])
            if pos + size > len(data):
                raise ValueError("short read")
            out[spec] = data[pos : pos + size]
            pos += size + 1
    except ValueError:
        raise GitError("unexpected output from git cat-file --batch") from None
    return out


class _Seen:
    """What this process already read of one repository: blobs by object id,
    and the working tree's files.  Reading both sides of a comparison then
    costs one read per distinct content: the base revision shares most of
    its blobs with the index or the working tree, and a file on disk is
    known to be a blob when its git object id matches."""

    root: ClassVar[str] = ""
    blobs: ClassVar[dict[str, bytes]] = {}
    worktree: ClassVar[dict[str, bytes]] = {}

    @classmethod
    def of(cls, root: str) -> type[_Seen]:
        if cls.root != root:
            cls.root, cls.blobs, cls.worktree = root, {}, {}
        return cls


def _object_id(data: bytes, length: int) -> str:
    digest = hashlib.sha1() if length == 40 else hashlib.sha256()
    digest.update(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def _blobs(root: str, wanted: dict[str, str]) -> dict[str, bytes]:
    """path -> content for ``wanted`` (path -> object id)."""
    seen = _Seen.of(root)
    out: dict[str, bytes] = {}
    missing: dict[str, str] = {}
    for path, oid in wanted.items():
        data = seen.blobs.get(oid)
        if data is None:
            disk = seen.worktree.get(path)
            if disk is not None and _object_id(disk, len(oid)) == oid:
                data = disk
                seen.blobs[oid] = disk
        if data is None:
            missing[path] = oid
        else:
            out[path] = data
    blobs = read_blobs(root, missing.values())
    seen.blobs.update(blobs)
    out.update({p: blobs[oid] for p, oid in missing.items() if oid in blobs})
    return {p: out[p] for p in wanted if p in out}


def read_revision(
    root: str, commit: str, keep: PathFilter = _everything
) -> dict[str, bytes]:
    """The regular files of ``commit`` whose path ``keep`` accepts."""
    wanted = {
        p: oid
        for mode, oid, p in _tree_entries(root, commit)
        if mode in _REGULAR and keep(p)
    }
    return _blobs(root, wanted)


def read_index(root: str, keep: PathFilter = _everything) -> dict[str, bytes]:
    """The regular files staged in the index whose path ``keep`` accepts.

    A path with an unresolved merge conflict has no staged content to check,
    so it is an error rather than a silently skipped file.
    """
    wanted: dict[str, str] = {}
    for mode, oid, stage, p in _index_entries(root):
        if not keep(p):
            continue
        if stage != "0":
            raise GitError(
                f"{p}: unresolved merge conflict in the index; resolve it and "
                "`git add` the file first"
            )
        if mode in _REGULAR:
            wanted[p] = oid
    return _blobs(root, wanted)


def read_worktree(root: str, keep: PathFilter = _everything) -> dict[str, bytes]:
    """The working tree's regular files (tracked, or untracked and not ignored)
    whose path ``keep`` accepts; files deleted from disk are left out."""
    files: dict[str, bytes] = {}
    for p in worktree_files(root):
        if not keep(p):
            continue
        full = os.path.join(root, p)
        if os.path.islink(full) or not os.path.isfile(full):
            continue
        try:
            with open(full, "rb") as handle:
                files[p] = handle.read()
        except OSError as exc:
            raise SourceError(f"{p}: cannot read: {exc.strerror or exc}") from None
    _Seen.of(root).worktree = files
    return files
