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

_METHOD_CALL = re.compile(r"\.(\w+)\s*\(")


def might_matter(data: bytes) -> bool:
    """Only a file that mentions DBOS can define a workflow or a step."""
    return b"dbos" in data.lower()


def changed_paths(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> set[str]:
    """Paths whose bytes differ, or that exist on one side only."""
    return {path for path in old.keys() | new.keys() if old.get(path) != new.get(path)}


class Corpus:
    """The text of many files, searched for literals; each search's answer
    is kept, as the rounds of ``importers`` ask for the same names again."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self.paths = list(files)
        self._found: dict[bytes, set[str]] = {}

    def containing(self, literal: bytes) -> set[str]:
        """Paths whose text contains ``literal``."""
        found = self._found.get(literal)
        if found is None:
            found = {p for p, data in self.files.items() if literal in data}
            self._found[literal] = found
        return found

    def mentioning_dbos(self) -> set[str]:
        return {p for p, data in self.files.items() if might_matter(data)}


def _word(word: str) -> re.Pattern[bytes]:
    return re.compile(rb"\b" + re.escape(word.encode()) + rb"\b")


def importers(corpus: Corpus, targets: Iterable[str]) -> set[str]:
    """Files that may import one of ``targets`` (paths), directly or through
    other files.  Each round adds the files whose text names a module reached
    so far: its last dotted part as a word, together with the part before it
    (``import a.b.c``, ``from a.b import c``), or alone when no other module
    has that last part (a bare ``import c`` resolves by suffix) or when the
    file imports relatively from inside the module's top package
    (``from .c import x``; ``from . import x`` for a package)."""
    names = [module_name_for(path).split(".") for path in corpus.paths]
    last_parts = Counter(parts[-1] for parts in names)
    reached = set(targets)
    frontier = set(reached)
    while frontier:
        found: set[str] = set()
        for target in frontier:
            wanted = _Wanted.of(target, last_parts)
            if wanted.package:
                found |= {
                    p
                    for p in corpus.paths
                    if p.startswith(wanted.package) and b"from ." in corpus.files[p]
                }
            for path in corpus.containing(wanted.last.encode()) - reached:
                if wanted.imported_by(path, corpus.files[path]):
                    found.add(path)
        found -= reached
        reached |= found
        frontier = found
    return reached


@dataclass(frozen=True)
class _Wanted:
    """How a module's name shows in the text of a file that imports it."""

    last: str
    word: re.Pattern[bytes]
    """``last`` as a whole word."""
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
            parent = _word(parts[-2])
        top = path.split("/", 1)[0] + "/" if "/" in path else ""
        package = path[: -len("__init__.py")] if path.endswith("__init__.py") else ""
        return cls(last, _word(last), parent, top, package)

    def imported_by(self, path: str, data: bytes) -> bool:
        if not self.word.search(data):
            return False
        if self.parent is None or self.parent.search(data):
            return True
        return path.startswith(self.top) and b"from ." in data


def defining_methods(corpus: Corpus, paths: set[str], names: Iterable[str]) -> set[str]:
    """Which of ``paths`` define an indented ``def`` (a method, mostly) of
    one of ``names``."""
    found: set[str] = set()
    for name in names:
        candidates = corpus.containing(b"def " + name.encode()) & paths
        pattern = re.compile(
            rb"^[ \t]+(?:async[ \t]+)?def[ \t]+" + re.escape(name.encode()) + rb"\b",
            re.MULTILINE,
        )
        found |= {p for p in candidates - found if pattern.search(corpus.files[p])}
    return found


def called_methods(source: str) -> set[str]:
    """Names called as ``something.name(`` in a file's text."""
    return set(_METHOD_CALL.findall(source))


def naming(corpus: Corpus, paths: set[str], names: Iterable[str]) -> set[str]:
    """Which of ``paths`` contain one of ``names`` as a word."""
    found: set[str] = set()
    for name in {n for n in names if n.isidentifier()}:
        candidates = corpus.containing(name.encode()) & paths
        pattern = _word(name)
        found |= {p for p in candidates - found if pattern.search(corpus.files[p])}
    return found
