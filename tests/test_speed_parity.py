"""The fast paths change how much work a check does, never its answer.

``compare`` parses only what a change can reach and lowers the old revision
in a forked process; loading every file up front and lowering in one process
(the engine's plain path) must give the very same findings.  Projects here
are the benchmark's synthetic repository (workflows, shared steps, helpers,
plain code) with edits, and the fixtures merged into one project whose
workflow names collide, so that the look-up of names in files left out runs.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from workflow_lint import check
from workflow_lint.check import (
    ModuleCache,
    Options,
    Pair,
    Snapshot,
    compare,
    compare_projects,
    load_project,
)
from workflow_lint.diagnostics import Finding
from workflow_lint.index import ModuleInfo
from workflow_lint.selection import changed_paths

from .fixture_cases import load_fixtures

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import synth  # noqa: E402


def _everything(old: Snapshot, new: Snapshot) -> list[Finding]:
    """The plain path: every file that can hold workflows loaded up front,
    and a workflow touched when resolving its imports (not scanning text)
    reaches a changed file."""
    cache = ModuleCache()
    old_project, new_project = load_project(old, cache), load_project(new, cache)
    changed = changed_paths(old.files, new.files)
    memo: dict[str, bool] = {}

    def touches(info: ModuleInfo) -> bool:
        if info.path not in memo:
            memo[info.path] = False  # cycles: assume not, until shown
            memo[info.path] = info.path in changed or any(
                target is not None and target is not info and touches(target)
                for module, attr in info.imports.values()
                for target in (
                    new_project.module(f"{module}.{attr}" if attr else module),
                    new_project.module(module),
                )
            )
        return memo[info.path]

    reach = {p for p, info in list(new_project.by_path.items()) if touches(info)}
    pair = Pair(old_project, new_project, changed, reach)
    return compare_projects(pair, Options()).findings


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.py"))
    }


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapshot, Snapshot]:
    root = tmp_path_factory.mktemp("synth")
    layout = synth.generate(str(root), modules=150, seed=3, big_sizes=(300,))
    old = Snapshot("old", _files(root))
    for point in [*layout.edit_points[:4], *layout.big.values()]:
        synth.apply_edit(str(root), point)
    # A shared steps module changes too: every workflow importing it is
    # reached without its own file changing.
    common = next(p for p in sorted(old.files) if p.endswith("common_steps.py"))
    text = (root / common).read_text(encoding="utf-8")
    (root / common).write_text(
        text.replace("@DBOS.step()\ndef ", "@DBOS.step()\ndef renamed_", 1),
        encoding="utf-8",
    )
    return old, Snapshot("new", _files(root))


def test_synthetic_project_same_findings_as_a_full_load(
    synthetic: tuple[Snapshot, Snapshot],
) -> None:
    old, new = synthetic
    fast = compare(old, new).findings
    assert fast == _everything(old, new)
    assert sum(f.code.code == "WFL101" for f in fast) >= 5  # the edits were seen


def test_merged_fixtures_same_findings_as_a_full_load() -> None:
    old: dict[str, bytes] = {}
    new: dict[str, bytes] = {}
    for index, case in enumerate(load_fixtures()):
        name = f"case_{index:03d}.py"
        old[name] = case.old.read_bytes()
        # Every other case keeps its old code: unchanged files whose
        # workflow names collide with changed ones.
        new[name] = (case.new if index % 2 else case.old).read_bytes()
    old_side, new_side = Snapshot("old", old), Snapshot("new", new)
    fast = compare(old_side, new_side).findings
    assert fast == _everything(old_side, new_side)
    assert any(f.code.code == "WFL109" for f in fast)


def test_forked_lowering_gives_the_same_findings(
    synthetic: tuple[Snapshot, Snapshot], monkeypatch: pytest.MonkeyPatch
) -> None:
    if threading.active_count() > 1:
        pytest.skip("threads left by earlier tests: the engine would not fork")
    old, new = synthetic
    monkeypatch.setattr(check, "FORK_ABOVE", 10**12)
    in_process = compare(old, new).findings
    forks: list[int] = []
    real_fork = os.fork

    def counted() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(check, "FORK_ABOVE", 0)
    monkeypatch.setattr(os, "fork", counted)
    forked = compare(old, new).findings
    assert forks  # the old revision really was lowered in a child
    assert forked == in_process
    assert forked


PACKAGE_OLD = {
    "src/shop/__init__.py": "from .steps import charge, reserve\n",
    "src/shop/steps.py": (
        "from dbos import DBOS\n\n\n@DBOS.step()\ndef reserve(o): ...\n\n\n"
        "@DBOS.step()\ndef charge(o): ...\n"
    ),
    "src/shop/flows/__init__.py": "",
    "src/shop/flows/checkout.py": (
        "from dbos import DBOS\n\nfrom .. import charge, reserve\n\n\n"
        "@DBOS.workflow()\ndef checkout(o):\n    reserve(o)\n    charge(o)\n"
    ),
    "src/shop/flows/refund.py": (
        "from dbos import DBOS\n\nfrom shop import steps\n\n\n"
        "@DBOS.workflow()\ndef refund(o):\n    steps.charge(o)\n"
    ),
    "src/other/steps.py": "def charge(o): ...\n",
}


@pytest.mark.parametrize(
    "path, edit",
    [
        # Only the steps module changes: both workflows reach it, one through
        # the package's __init__ and a relative import, one absolutely.
        ("src/shop/steps.py", ("def reserve(o)", "def reserve_v2(o)")),
        # Only the package's re-exports change.
        ("src/shop/__init__.py", ("charge, reserve", "reserve as charge, reserve")),
        # An unrelated module of the same name changes: nothing is reached.
        ("src/other/steps.py", ("...", "return 1")),
    ],
)
def test_package_layouts_same_findings_as_a_full_load(
    path: str, edit: tuple[str, str]
) -> None:
    old = Snapshot("old", {p: t.encode() for p, t in PACKAGE_OLD.items()})
    changed = dict(PACKAGE_OLD)
    changed[path] = changed[path].replace(*edit)
    new = Snapshot("new", {p: t.encode() for p, t in changed.items()})
    fast = compare(old, new).findings
    assert fast == _everything(old, new)
    if path.startswith("src/shop"):
        assert any(f.code.code == "WFL101" for f in fast)


DEEP = {
    "app/flow.py": (
        "from dbos import DBOS\n\nfrom app import a\n\n\n"
        "@DBOS.workflow()\ndef flow(o):\n    a.one(o)\n"
    ),
    "app/a.py": "from app import b\n\n\ndef one(o):\n    b.two(o)\n",
    "app/b.py": "from app import c\n\n\ndef two(o):\n    c.three(o)\n",
    "app/c.py": (
        "from app.steps import s1, s2\n\n\ndef three(o):\n    s1(o)\n    s2(o)\n"
    ),
    "app/steps.py": (
        "from dbos import DBOS\n\n\n@DBOS.step()\ndef s1(o): ...\n\n\n"
        "@DBOS.step()\ndef s2(o): ...\n"
    ),
    "app/unused.py": "x = 1\n",
}


def test_a_recorded_version_holds_every_module_a_check_resolves_into() -> None:
    """Helpers three imports deep run the steps: a check resolves into them,
    so the version ``snapshot`` records must hold them too (else comparing
    against it would see the steps vanish)."""
    from workflow_lint.snapshot import workflow_files

    full = Snapshot("tree", {p: t.encode() for p, t in DEEP.items()})
    recorded = workflow_files(full)
    assert {"app/c.py", "app/steps.py"} <= set(recorded)
    assert "app/unused.py" not in recorded
    assert compare(Snapshot("recorded", recorded), full).findings == []
    swapped = dict(DEEP)
    swapped["app/c.py"] = DEEP["app/c.py"].replace(
        "    s1(o)\n    s2(o)\n", "    s2(o)\n    s1(o)\n"
    )
    new = Snapshot("new", {p: t.encode() for p, t in swapped.items()})
    codes = [f.code.code for f in compare(Snapshot("recorded", recorded), new).findings]
    assert "WFL101" in codes
