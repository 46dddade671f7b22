"""The commands that change files: ``fix`` and ``patch deprecate|remove``.

They share one rule: nothing is written unless the whole result was checked,
and every file is replaced atomically (a crash mid-write leaves the old file).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence

from workflow_lint.check import Options
from workflow_lint.fix import unified_diff
from workflow_lint.lifecycle import rewrite
from workflow_lint.report import render_text
from workflow_lint.sides import inside


def write_atomically(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename, keeping its mode."""
    folder = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
    fd, tmp = tempfile.mkstemp(prefix=".workflow-lint-", suffix=".py", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def apply(
    root: str,
    files: Mapping[str, str],
    before: Mapping[str, bytes],
    show_diff: bool,
) -> None:
    for path in sorted(files):
        if show_diff:
            original = before.get(path, b"").decode("utf-8", "replace")
            sys.stdout.write(unified_diff(path, original, files[path]))
        else:
            write_atomically(os.path.join(root, path), files[path])


def run_patch(
    base_snapshot: object,
    current_snapshot: object,
    root: str,
    action: str,
    name: str,
    wanted: Sequence[str],
    options: Options,
    show_diff: bool,
) -> int:
    from workflow_lint.check import Snapshot

    assert isinstance(base_snapshot, Snapshot) and isinstance(
        current_snapshot, Snapshot
    )
    paths = {p for p in current_snapshot.files if inside(p, wanted)} if wanted else None
    result = rewrite(base_snapshot, current_snapshot, name, action, paths, options)
    if result.blocking:
        sys.stdout.write(
            f"refusing to {action} patch {name!r}: in-flight workflows recorded by "
            f"{base_snapshot.label} would fail\n"
        )
        sys.stdout.write(render_text(result.blocking))
        return 1
    apply(root, result.files, current_snapshot.files, show_diff)
    verb = "would rewrite" if show_diff else "rewrote"
    out = sys.stderr if show_diff else sys.stdout
    out.write(f"{verb} {result.sites} site(s) of patch {name!r} ({action})\n")
    return 0
