"""Reading revisions through git itself, with one error type.

Base revisions are read with a single ``git cat-file --batch`` process so a
large repository costs one process, not one per file.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence

from workflow_lint.errors import GitError


def _git(args: Sequence[str], cwd: str, stdin: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(message[-1] if message else f"git {args[0]} failed")
    return proc.stdout


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
    return out.decode().strip()


def verify_revision(root: str, rev: str) -> str:
    """The commit id of ``rev``, or a GitError that says why there is none."""
    try:
        return (
            _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], root)
            .decode()
            .strip()
        )
    except GitError:
        pass
    shallow = _git(["rev-parse", "--is-shallow-repository"], root).decode().strip()
    if shallow == "true":
        raise GitError(
            f"base revision {rev!r} is not in this shallow clone; fetch the full "
            "history (actions/checkout: fetch-depth: 0) or pass an available --base"
        )
    try:
        _git(["rev-parse", "--verify", "--quiet", "HEAD"], root)
    except GitError:
        raise GitError(
            f"base revision {rev!r} does not exist: the repository has no commits yet"
        ) from None
    raise GitError(f"base revision {rev!r} is not a commit in this repository")


def files_at(root: str, rev: str) -> list[str]:
    out = _git(["ls-tree", "-r", "-z", "--name-only", rev], root)
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def index_files(root: str) -> list[str]:
    out = _git(["ls-files", "-z", "--cached"], root)
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def worktree_files(root: str) -> list[str]:
    out = _git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], root)
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def read_blobs(root: str, specs: Iterable[str]) -> dict[str, bytes]:
    """Contents of ``REV:path`` (or ``:path`` for the index) specs, in one process."""
    wanted = list(specs)
    if not wanted:
        return {}
    data = _git(["cat-file", "--batch"], root, ("\n".join(wanted) + "\n").encode())
    out: dict[str, bytes] = {}
    pos = 0
    for spec in wanted:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) >= 2 and header[1] == b"missing":
            continue
        size = int(header[2])
        out[spec] = data[pos : pos + size]
        pos += size + 1
    return out
