"""Which files a comparison has to parse.

Parsing dominates the cost of a check, and a commit usually touches a few
files of a large project.  A workflow can only behave differently if its own
file changed or a file it imports (directly or not) changed, so the files to
parse are found from the raw bytes first: the changed files, and the files
that may import them, found by the imported module's last name appearing in
their text.  The scan is deliberately generous (a name in a comment counts):
a file parsed in vain costs time, a file missed would cost a finding.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workflow_lint.index import module_name_for

_METHOD_DEF = re.compile(rb"^[ \t]+(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)
_METHOD_CALL = re.compile(r"\.(\w+)\s*\(")


def might_matter(data: bytes) -> bool:
    """Only a file that mentions DBOS can define a workflow or a step."""
    return b"dbos" in data.lower()


def changed_paths(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> set[str]:
    """Paths whose bytes differ, or that exist on one side only."""
    return {path for path in old.keys() | new.keys() if old.get(path) != new.get(path)}


class _Words:
    """A search for any of some words: ``bytes.find`` for each word first
    (fast), the regular expression for word boundaries only on a hit."""

    def __init__(self, words: Iterable[str]) -> None:
        unique = sorted({w for w in words if w.isidentifier()})
        self.literals = [w.encode() for w in unique]
        alternatives = b"|".join(re.escape(w) for w in self.literals)
        self.pattern = re.compile(rb"\b(?:" + alternatives + rb")\b")

    def search(self, data: bytes) -> bool:
        return any(w in data for w in self.literals) and bool(self.pattern.search(data))


def _words(words: Iterable[str]) -> _Words | None:
    found = _Words(words)
    return found if found.literals else None


def importers(files: Mapping[str, bytes], targets: Iterable[str]) -> set[str]:
    """Files that may import one of ``targets`` (paths), directly or through
    other files.  Each round adds the files whose text names a module reached
    so far: its last dotted part as a word, together with the part before it
    (``import a.b.c``, ``from a.b import c``), or alone when no other module
    has that last part (a bare ``import c`` resolves by suffix) or when the
    file imports relatively from inside the module's top package
    (``from .c import x``; ``from . import x`` for a package)."""
    names = [module_name_for(path).split(".") for path in files]
    last_parts = Counter(parts[-1] for parts in names)
    reached = set(targets)
    frontier = set(reached)
    while frontier:
        wanted = [_Wanted.of(path, last_parts) for path in frontier]
        pattern = _words(w.last for w in wanted)
        packages = tuple(w.package for w in wanted if w.package)
        found: set[str] = set()
        for path, data in files.items():
            if path in reached:
                continue
            if packages and path.startswith(packages) and b"from ." in data:
                found.add(path)
            elif pattern is not None and pattern.search(data):
                if any(w.imported_by(path, data) for w in wanted):
                    found.add(path)
        reached |= found
        frontier = found
    return reached


@dataclass(frozen=True)
class _Wanted:
    """How a module's name shows in the text of a file that imports it."""

    last: str
    parent: re.Pattern[bytes] | None
    """The part before ``last``; None when ``last`` alone is enough."""
    top: str
    """The top folder: a relative import can only come from inside it."""
    package: str
    """For a package's ``__init__.py``, its folder (``from . import x``)."""

    @classmethod
    def of(cls, path: str, last_parts: Mapping[str, int]) -> _Wanted:
        parts = module_name_for(path).split(".")
        last = parts[-1]
        parent = None
        if len(parts) > 1 and last_parts.get(last, 0) > 1:
            parent = re.compile(rb"\b" + re.escape(parts[-2].encode()) + rb"\b")
        top = path.split("/", 1)[0] + "/" if "/" in path else ""
        package = path[: -len("__init__.py")] if path.endswith("__init__.py") else ""
        return cls(last, parent, top, package)

    def imported_by(self, path: str, data: bytes) -> bool:
        if not re.search(rb"\b" + re.escape(self.last.encode()) + rb"\b", data):
            return False
        if self.parent is None or self.parent.search(data):
            return True
        return path.startswith(self.top) and b"from ." in data


def defined_methods(data: bytes) -> set[str]:
    """Names of indented ``def``s (methods, mostly) in a file's text."""
    return {m.decode("ascii", "replace") for m in _METHOD_DEF.findall(data)}


def called_methods(source: str) -> set[str]:
    """Names called as ``something.name(`` in a file's text."""
    return set(_METHOD_CALL.findall(source))


def naming(files: Mapping[str, bytes], names: Iterable[str]) -> set[str]:
    """Files whose text contains one of ``names`` as a word."""
    pattern = _words(names)
    if pattern is None:
        return set()
    return {path for path, data in files.items() if pattern.search(data)}
