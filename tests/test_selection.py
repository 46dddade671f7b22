"""Which files a comparison parses: the changed ones and what may import them.

The end-to-end tests here change only a file a workflow imports, directly or
through a plain module, and require the break to be found: the selection
must not leave the workflow out.
"""

from __future__ import annotations

from workflow_lint import Snapshot, compare
from workflow_lint.check import ModuleCache, load_pair
from workflow_lint.selection import (
    Corpus,
    changed_paths,
    defining_methods,
    importers,
    might_matter,
    naming,
)


def _b(files: dict[str, str]) -> dict[str, bytes]:
    return {p: t.encode() for p, t in files.items()}


def test_changed_paths_compares_bytes_and_presence() -> None:
    old = _b({"a.py": "x", "b.py": "y", "gone.py": "z"})
    new = _b({"a.py": "x", "b.py": "y2", "new.py": "w"})
    assert changed_paths(old, new) == {"b.py", "gone.py", "new.py"}


def test_might_matter_ignores_case() -> None:
    assert might_matter(b"from dbos import DBOS")
    assert might_matter(b"import Dbos")
    assert not might_matter(b"import os")


def test_corpus_finds_literals_and_dbos_in_any_case() -> None:
    corpus = Corpus(_b({"a.py": "xx DBOS xx", "b.py": "", "c.py": "dbos dbos"}))
    assert corpus.containing(b"dbos") == {"c.py"}
    assert corpus.mentioning_dbos() == {"a.py", "c.py"}
    assert corpus.containing(b"xx") == {"a.py"}
    assert Corpus(_b({"a.py": "db", "b.py": "os"})).containing(b"dbos") == set()


def test_naming_and_defining_methods_need_whole_words() -> None:
    files = _b(
        {
            "a.py": "class K:\n    def settle(self): ...\n",
            "b.py": "def settle(): ...\n",  # not a method
            "c.py": "settlement = 1\n",
        }
    )
    corpus = Corpus(files)
    assert naming(corpus, set(files), ["settle"]) == {"a.py", "b.py"}
    assert defining_methods(corpus, set(files), ["settle"]) == {"a.py"}


def test_importers_by_absolute_from_and_relative_imports() -> None:
    files = _b(
        {
            "app/__init__.py": "",
            "app/steps.py": "from dbos import DBOS",
            "app/a.py": "import app.steps",
            "app/b.py": "from app import steps",
            "app/c.py": "from .steps import charge",
            "app/d.py": "from app.a import thing",  # through a.py
            "app/e.py": "import os  # nothing",
            "other/steps.py": "x = 1",
            "other/f.py": "from other import steps",  # the other steps module
        }
    )
    found = importers(Corpus(files), {"app/steps.py"})
    assert found == {"app/steps.py", "app/a.py", "app/b.py", "app/c.py", "app/d.py"}


def test_a_unique_module_name_alone_is_enough() -> None:
    files = _b({"src/pkg/ledger.py": "", "tool.py": "import ledger"})
    found = importers(Corpus(files), {"src/pkg/ledger.py"})
    assert found == {"src/pkg/ledger.py", "tool.py"}


def test_relative_import_from_a_package_init() -> None:
    files = _b(
        {
            "app/__init__.py": "from dbos import DBOS",
            "app/x.py": "from . import helper",
            "lib/y.py": "from . import helper",
        }
    )
    found = importers(Corpus(files), {"app/__init__.py"})
    assert found == {"app/__init__.py", "app/x.py"}


STEPS_OLD = """\
from dbos import DBOS


@DBOS.step()
def reserve(order: str) -> None: ...


@DBOS.step()
def charge(order: str) -> None: ...
"""

HELPERS = """\
from app import steps


def pay(order: str) -> None:
    steps.reserve(order)
    steps.charge(order)
"""

FLOW = """\
from dbos import DBOS

from app.helpers import pay


@DBOS.workflow()
def checkout(order: str) -> None:
    pay(order)
"""

UNRELATED = """\
from dbos import DBOS


@DBOS.workflow()
def other() -> None: ...
"""


def _snapshots(steps_new: str) -> tuple[Snapshot, Snapshot]:
    common = {
        "app/__init__.py": "",
        "app/helpers.py": HELPERS,
        "app/flow.py": FLOW,
        "app/unrelated.py": UNRELATED,
    }
    old = Snapshot("old", _b({**common, "app/steps.py": STEPS_OLD}))
    new = Snapshot("new", _b({**common, "app/steps.py": steps_new}))
    return old, new


def test_a_change_two_imports_away_still_breaks_the_workflow() -> None:
    # Only steps.py changed: reserve is now defined as reserve_v2 (and kept
    # under its old attribute name), so its recorded name, the function's
    # __qualname__, changed; an in-flight checkout meets a different step.
    renamed = STEPS_OLD.replace("def reserve(", "def reserve_v2(")
    renamed += "\n\nreserve = reserve_v2\n"
    old, new = _snapshots(renamed)
    codes = [(f.code.code, f.workflow) for f in compare(old, new).findings]
    assert ("WFL101", "checkout") in codes


def test_what_no_changed_file_reaches_is_not_parsed() -> None:
    old, new = _snapshots(STEPS_OLD.replace("-> None: ...", "-> None:\n    pass", 1))
    pair = load_pair(old, new, ModuleCache())
    assert "app/unrelated.py" not in pair.new.by_path
    assert pair.reach >= {"app/steps.py", "app/helpers.py", "app/flow.py"}
    assert compare(old, new).findings == []
