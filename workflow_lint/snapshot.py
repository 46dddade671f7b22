"""Deployed versions recorded in a lock file: ``workflow-lint snapshot``.

A team whose deploys do not follow git history (a build folder, a hotfix
applied on the server, several versions live behind a queue) records the
workflow code of each deployed version in ``workflow-lint.lock`` at the
repository root, and ``check --base snapshot`` judges the working tree
against every version still recorded: each of them may have workflows in
flight.  ``snapshot --prune`` drops versions once nothing runs them.

The lock is JSON, kept in the repository.  It stores, per version, its id
(the git commit by default, or the ``application_version`` DBOS runs it as),
when it was recorded, and the files that matter for workflows: every Python
file mentioning dbos and everything those import (exactly the files the
engine loads).  File contents are stored once however many versions share
them, zlib-compressed and base64-encoded, named by their SHA-256::

    {
      "lock_version": 1,
      "generator": "workflow-lint 0.1.0",
      "versions": [
        {"id": "3f1c...", "recorded_at": "2025-01-31T12:00:00+00:00",
         "files": {"app/orders.py": "9a0b..."}}
      ],
      "blobs": {"9a0b...": "eJzLSM3JyVcozy/KSQEAGgQEXQ=="}
    }

Versions are listed oldest first; recording an id again replaces it and
makes it the newest.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from workflow_lint import __version__
from workflow_lint.diagnostics import Finding, Verdict
from workflow_lint.errors import WorkflowLintError
from workflow_lint.revision import Snapshot

LOCK_NAME = "workflow-lint.lock"
LOCK_VERSION = 1


class LockError(WorkflowLintError):
    """The lock file cannot be read, or does not hold what it should."""


@dataclass(frozen=True)
class Version:
    id: str
    recorded_at: str
    """ISO 8601, UTC."""
    files: Mapping[str, bytes]


@dataclass(frozen=True)
class Lock:
    versions: tuple[Version, ...] = ()
    """Oldest first."""

    def get(self, version_id: str) -> Version | None:
        return next((v for v in self.versions if v.id == version_id), None)


# --- the file ----------------------------------------------------------------


def lock_path(root: str) -> str:
    return os.path.join(root, LOCK_NAME)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pack(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data, 9)).decode("ascii")


def _unpack(path: str, digest: str, text: object) -> bytes:
    if not isinstance(text, str):
        raise LockError(f"{path}: blob {digest[:12]} is not a string")
    try:
        data = zlib.decompress(base64.b64decode(text.encode("ascii"), validate=True))
    except (binascii.Error, zlib.error, UnicodeEncodeError, ValueError):
        raise LockError(f"{path}: blob {digest[:12]} is corrupt") from None
    if _digest(data) != digest:
        raise LockError(f"{path}: blob {digest[:12]} does not match its hash")
    return data


def read_lock(path: str) -> Lock:
    """The versions recorded in ``path`` (an empty lock if there is no file)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return Lock()
    except OSError as exc:
        raise LockError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LockError(f"{path}: not a workflow-lint lock file: {exc}") from None
    if not isinstance(doc, dict) or doc.get("lock_version") != LOCK_VERSION:
        found = doc.get("lock_version") if isinstance(doc, dict) else None
        raise LockError(
            f"{path}: not a workflow-lint lock file of version {LOCK_VERSION} "
            f"(lock_version: {found!r}); upgrade workflow-lint or record it again"
        )
    blobs = doc.get("blobs", {})
    entries = doc.get("versions", [])
    if not isinstance(blobs, dict) or not isinstance(entries, list):
        raise LockError(f"{path}: versions must be a list and blobs an object")
    unpacked: dict[str, bytes] = {}
    versions: list[Version] = []
    for entry in entries:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("id"), str)
            and isinstance(entry.get("recorded_at"), str)
            and isinstance(entry.get("files"), dict)
        ):
            raise LockError(f"{path}: a version needs an id, recorded_at and files")
        files: dict[str, bytes] = {}
        for name, digest in entry["files"].items():
            if not isinstance(digest, str) or digest not in blobs:
                raise LockError(
                    f"{path}: version {entry['id']}: {name} names no stored blob"
                )
            if digest not in unpacked:
                unpacked[digest] = _unpack(path, digest, blobs[digest])
            files[name] = unpacked[digest]
        versions.append(Version(entry["id"], entry["recorded_at"], files))
    return Lock(tuple(versions))


def render_lock(lock: Lock) -> str:
    blobs: dict[str, str] = {}
    versions = []
    for version in lock.versions:
        names: dict[str, str] = {}
        for name, data in sorted(version.files.items()):
            digest = _digest(data)
            names[name] = digest
            if digest not in blobs:
                blobs[digest] = _pack(data)
        versions.append(
            {"id": version.id, "recorded_at": version.recorded_at, "files": names}
        )
    doc = {
        "lock_version": LOCK_VERSION,
        "generator": f"workflow-lint {__version__}",
        "versions": versions,
        "blobs": dict(sorted(blobs.items())),
    }
    return json.dumps(doc, indent=1) + "\n"


def write_lock(path: str, lock: Lock) -> None:
    """Replace ``path`` atomically (a crash mid-write leaves the old lock)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".workflow-lint-", suffix=".lock", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(render_lock(lock))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- recording and pruning ----------------------------------------------------


def workflow_files(snapshot: Snapshot) -> dict[str, bytes]:
    """The files of ``snapshot`` a check of this version can read: those
    mentioning dbos, and every module lowering its workflows resolves a name
    into (a check loads modules as names resolve into them, however deep;
    the recorded version must hold the same)."""
    from workflow_lint.check import ModuleCache, load_project, workflows_of
    from workflow_lint.lower import Lowering
    from workflow_lint.roles import RoleCache

    project = load_project(snapshot, ModuleCache())
    roles = RoleCache(project)
    lowering = Lowering(project, roles)
    for funcs in workflows_of(project, roles).values():
        for func in funcs:
            lowering.workflow(func, roles(func))
    return {path: snapshot.files[path] for path in sorted(project.by_path)}


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def record(lock: Lock, version: Version) -> Lock:
    """``lock`` with ``version`` as the newest (replacing one of the same id)."""
    kept = tuple(v for v in lock.versions if v.id != version.id)
    return Lock((*kept, version))


@dataclass(frozen=True)
class Pruned:
    lock: Lock
    dropped: tuple[tuple[str, str], ...]
    """(version id, why) of each dropped version."""


def prune(
    lock: Lock, keep: int | None = None, live: Iterable[str] | None = None
) -> Pruned:
    """Drop all but the ``keep`` newest versions, and (with ``live``, the
    application versions pending workflows run) every version no pending
    workflow runs -- except the newest: it is the one deployed now, and new
    workflows start on it at any moment."""
    live_ids = None if live is None else set(live)
    newest = lock.versions[-1].id if lock.versions else None
    kept: list[Version] = []
    dropped: list[tuple[str, str]] = []
    count = len(lock.versions)
    for i, version in enumerate(lock.versions):
        if keep is not None and count - i > keep:
            dropped.append((version.id, f"older than the {keep} newest"))
        elif (
            live_ids is not None and version.id not in live_ids and version.id != newest
        ):
            dropped.append((version.id, "no pending workflow runs it"))
        else:
            kept.append(version)
    return Pruned(Lock(tuple(kept)), tuple(dropped))


# --- judging against several versions ---------------------------------------------


def _key(finding: Finding) -> tuple[object, ...]:
    # Where the finding is in the new code; a workflow that is gone is located
    # in each old version, so it is the same finding whatever its line there.
    if finding.verdict is Verdict.STRAND and finding.workflow is not None:
        return (finding.code, finding.workflow)
    span = finding.span
    return (finding.code, finding.workflow, span.path, span.line, span.column)


def merge(per_version: Sequence[tuple[str, Sequence[Finding]]]) -> list[Finding]:
    """Each finding once, saying which recorded versions it affects.

    ``per_version`` holds (version id, findings) newest first; the newest
    version's wording (and witness) of a finding is kept.  Findings about the
    new code alone (rules, verdict ``rule``) affect no version in particular
    and are left as they are.
    """
    order: list[tuple[object, ...]] = []
    first: dict[tuple[object, ...], Finding] = {}
    versions: dict[tuple[object, ...], list[str]] = {}
    for version_id, findings in per_version:
        for finding in findings:
            key = _key(finding)
            if key not in first:
                order.append(key)
                first[key] = finding
                versions[key] = []
            if version_id not in versions[key]:
                versions[key].append(version_id)
    out: list[Finding] = []
    for key in order:
        finding = first[key]
        if finding.verdict is not Verdict.RULE:
            ids = versions[key]
            label = "recorded version" if len(ids) == 1 else "recorded versions"
            affects = f"{label} {', '.join(ids)}"
            finding = dataclasses.replace(
                finding, message=f"{finding.message} [{affects}]"
            )
        out.append(finding)
    out.sort(key=lambda f: (f.span.path, f.span.line, f.span.column, f.code.code))
    return out
