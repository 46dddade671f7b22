"""The command line contract, on real git repositories and real files.

Most tests call ``workflow_lint.cli.main`` in-process (fast); the cases that
need a different PATH or the installed console script use a subprocess.
Exit status: 0 clean, 1 findings, 2 bad input -- and bad input is always
exactly one ``workflow-lint: error:`` line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import GitRepo
from workflow_lint import __version__
from workflow_lint.cli import main
from workflow_lint.report import JSON_SCHEMA, JSON_SCHEMA_VERSION

MakeRepo = Callable[..., GitRepo]
PROJECT = Path(__file__).resolve().parents[1]

APP = """\
from dbos import DBOS


@DBOS.step()
def reserve(order: str) -> bool:
    return True


@DBOS.step()
def audit(order: str) -> None:
    pass


@DBOS.step()
def charge(order: str) -> str:
    return f"ch-{order}"


@DBOS.workflow()
def checkout(order: str) -> str:
    reserve(order)
    return charge(order)
"""

# A step's body is not recorded: changing it is safe for in-flight workflows.
APP_CLEAN = APP.replace("return True", "return order != ''")

# A step call inserted in the middle of the workflow: recovery of a workflow
# interrupted after reserve() meets audit() where charge() was recorded.
APP_BREAK = APP.replace(
    "    reserve(order)\n", "    reserve(order)\n    audit(order)\n"
)
BREAK_LINE = APP_BREAK.splitlines().index("    audit(order)") + 1
WORKFLOW_LINE = APP.splitlines().index("def checkout(order: str) -> str:") + 1

STEPS = """\
from dbos import DBOS


@DBOS.step()
def charge(order: str) -> str:
    return order
"""

FLOW = """\
from dbos import DBOS

from a.steps import charge


@DBOS.step()
def ship(order: str) -> str:
    return order


@DBOS.workflow()
def order_flow(order: str) -> str:
    charge(order)
    return ship(order)
"""
FLOW_CALL_LINE = FLOW.splitlines().index("    charge(order)") + 1

# The recorded name of the step changes in a/steps.py only.
STEPS_RENAMED = STEPS.replace("@DBOS.step()", '@DBOS.step(name="charge_v2")')

PLAIN = "VALUE = 1\n"


@dataclass
class Result:
    status: int
    out: str
    err: str


@pytest.fixture
def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """``run(*argv, cwd=path)``: main() in-process, with its output."""

    def invoke(*argv: str, cwd: Path | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        status = main(list(argv))
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return invoke


def assert_one_error(result: Result, *needles: str) -> str:
    """Exit 2, nothing on stdout, one ``workflow-lint: error:`` line naming
    every needle; the line is returned."""
    assert result.status == 2, result
    assert result.out == "", result
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    (line,) = lines
    assert line.startswith("workflow-lint: error: "), line
    assert "Traceback" not in result.err
    assert "internal error" not in line, line
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def finding_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if re.match(r"^.+?:\d+:\d+: WFL", line)]


# --- check: verdicts and exit status -----------------------------------------


def test_check_clean_edit_exits_0(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_CLEAN})
    result = run("check", cwd=repo.path)
    assert (result.status, result.out, result.err) == (0, "", "")


def test_check_unchanged_repository_exits_0(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP, "README.md": "hello\n"})
    assert run("check", cwd=repo.path).status == 0


def test_check_breaking_edit_text(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_BREAK})
    result = run("check", cwd=repo.path)
    assert result.status == 1
    assert result.err == ""
    lines = finding_lines(result.out)
    assert lines, result.out
    assert lines[0].startswith(f"app.py:{BREAK_LINE}:5: WFL101 [break] ")
    assert "audit" in lines[0] and "charge" in lines[0]
    assert "in-flight history: 1:reserve -> 2:charge" in result.out
    assert "1 error(s)" in result.out


def test_check_json_format(git_repo: MakeRepo, run: Callable[..., Result]) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_BREAK})
    result = run("check", "--format", "json", cwd=repo.path)
    assert result.status == 1
    doc = json.loads(result.out)
    assert doc["schema_version"] == JSON_SCHEMA_VERSION
    assert doc["tool"] == "workflow-lint"
    (finding,) = doc["findings"]
    assert finding["code"] == "WFL101"
    assert finding["verdict"] == "break"
    assert finding["severity"] == "error"
    assert finding["path"] == "app.py"
    assert (finding["line"], finding["column"]) == (BREAK_LINE, 5)
    assert finding["workflow"] == "checkout"
    witness = finding["witness"]
    assert witness["history"] == ["reserve", "charge"]
    assert witness["position"] == 2
    assert (witness["recorded"], witness["expected"]) == ("charge", "audit")
    assert witness["new"] == {"path": "app.py", "line": BREAK_LINE, "column": 5}
    assert witness["old"]["path"] == "app.py"
    assert witness["new_source"] == "audit(order)"
    assert doc["summary"] == {"errors": 1, "warnings": 0}
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(doc, JSON_SCHEMA)


def test_check_json_clean_is_an_empty_document(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    result = run("check", "--format", "json", cwd=repo.path)
    assert result.status == 0
    assert json.loads(result.out)["findings"] == []


def test_check_staged_compares_index_with_head(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_BREAK})
    # Unstaged breaking change only: the index equals HEAD.
    assert run("check", "--staged", cwd=repo.path).status == 0
    assert run("check", cwd=repo.path).status == 1
    # Staged breaking change, then a clean working tree on top of it.
    repo.stage("app.py")
    repo.write({"app.py": APP})
    staged = run("check", "--staged", cwd=repo.path)
    assert staged.status == 1
    assert finding_lines(staged.out)[0].startswith(f"app.py:{BREAK_LINE}:5: WFL101")
    assert run("check", cwd=repo.path).status == 0


def test_check_staged_first_commit_has_nothing_in_flight(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo()
    repo.write({"app.py": APP})
    repo.stage()
    result = run("check", "--staged", cwd=repo.path)
    assert (result.status, result.out, result.err) == (0, "", "")


def test_check_base_older_commit(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    first = repo.head()
    repo.commit({"app.py": APP_BREAK}, message="break")
    assert run("check", cwd=repo.path).status == 0
    for base in ("HEAD~1", first, first[:10]):
        result = run("check", "--base", base, cwd=repo.path)
        assert result.status == 1, base
        assert finding_lines(result.out)[0].startswith(f"app.py:{BREAK_LINE}:5: WFL101")
    # A tag and a branch name work as well.
    repo.git("tag", "v1", first)
    assert run("check", "--base", "v1", cwd=repo.path).status == 1
    repo.git("branch", "old", first)
    assert run("check", "--base=old", cwd=repo.path).status == 1


def test_check_base_and_staged_together(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.commit({"notes.txt": "x\n"})
    repo.write({"app.py": APP_BREAK})
    assert run("check", "--staged", "--base", "HEAD~1", cwd=repo.path).status == 0
    repo.stage()
    assert run("check", "--staged", "--base", "HEAD~1", cwd=repo.path).status == 1


def test_check_from_a_subfolder(git_repo: MakeRepo, run: Callable[..., Result]) -> None:
    repo = git_repo({"app.py": APP, "docs/index.md": "docs\n"})
    repo.write({"app.py": APP_BREAK})
    result = run("check", cwd=repo.path / "docs")
    assert result.status == 1
    # Paths are relative to the repository root, wherever the command runs.
    assert finding_lines(result.out)[0].startswith(f"app.py:{BREAK_LINE}:5:")
    assert run("check", ".", cwd=repo.path / "docs").status == 0
    assert run("check", "../app.py", cwd=repo.path / "docs").status == 1


def test_strict_makes_warnings_fail(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    # Appending a step at the end extends in-flight workflows: a warning.
    appended = APP.replace(
        "    return charge(order)\n",
        "    result = charge(order)\n    audit(order)\n    return result\n",
    )
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": appended})
    plain = run("check", cwd=repo.path)
    assert plain.status == 0
    assert "WFL106" in plain.out
    assert run("check", "--strict", cwd=repo.path).status == 1


# --- PATHS narrow the report, not the analysis -------------------------------


def test_paths_narrow_the_report(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"a/x.py": APP, "b/y.py": APP.replace("checkout", "other")})
    repo.write({"a/x.py": APP_BREAK})
    everything = run("check", cwd=repo.path)
    assert everything.status == 1
    assert finding_lines(everything.out)[0].startswith("a/x.py:")
    only_b = run("check", "b", cwd=repo.path)
    assert (only_b.status, only_b.out) == (0, "")
    for path in ("a", "a/", "a/x.py", str(repo.path / "a"), "."):
        result = run("check", path, cwd=repo.path)
        assert result.status == 1, path
        assert finding_lines(result.out)[0].startswith("a/x.py:"), path
    assert run("check", "b", "a/x.py", cwd=repo.path).status == 1


def test_paths_prefix_is_a_folder_not_a_string_prefix(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP, "ap/empty.py": PLAIN})
    repo.write({"app.py": APP_BREAK})
    assert run("check", "ap", cwd=repo.path).status == 0


def test_step_renamed_in_one_module_breaks_workflow_in_another(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"a/steps.py": STEPS, "b/flow.py": FLOW})
    repo.write({"a/steps.py": STEPS_RENAMED})
    for args in ((), ("b",), ("b/flow.py",)):
        result = run("check", *args, cwd=repo.path)
        assert result.status == 1, args
        line = finding_lines(result.out)[0]
        assert line.startswith(f"b/flow.py:{FLOW_CALL_LINE}:5: WFL101"), line
        assert "charge_v2" in line


def test_paths_naming_the_changed_module_report_the_break_it_causes(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"a/steps.py": STEPS, "b/flow.py": FLOW})
    repo.write({"a/steps.py": STEPS_RENAMED})
    assert run("check", "a/steps.py", cwd=repo.path).status == 1


def test_deleted_path_can_be_named(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP, "other.py": PLAIN})
    repo.remove("app.py")
    result = run("check", "app.py", cwd=repo.path)
    assert result.status == 1
    assert finding_lines(result.out)[0].startswith(f"app.py:{WORKFLOW_LINE}:")
    assert "WFL102" in result.out


# --- files added, deleted and renamed between revisions -----------------------


def test_workflow_moved_to_another_file_still_matches(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.git("mv", "app.py", "orders.py")
    assert run("check", cwd=repo.path).status == 0
    assert run("check", "--staged", cwd=repo.path).status == 0
    repo.commit(message="move")
    (repo.path / "pkg").mkdir()
    repo.git("mv", "orders.py", "pkg/orders.py")
    result = run("check", cwd=repo.path)
    assert (result.status, result.out) == (0, "")
    repo.commit(message="move again")
    assert run("check", "--base", "HEAD~2", cwd=repo.path).status == 0


def test_workflow_moved_and_broken_is_reported_at_its_new_place(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.remove("app.py")
    repo.write({"src/shop/orders.py": APP_BREAK})
    result = run("check", cwd=repo.path)
    assert result.status == 1
    line = finding_lines(result.out)[0]
    assert line.startswith(f"src/shop/orders.py:{BREAK_LINE}:5: WFL101"), line
    assert "recorded by  app.py:" in result.out


def test_deleted_workflow_file_strands_workflows(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP, "other.py": PLAIN})
    repo.remove("app.py")
    result = run("check", cwd=repo.path)
    assert result.status == 1
    line = finding_lines(result.out)[0]
    assert line.startswith(f"app.py:{WORKFLOW_LINE}:1: WFL102 [strand]"), line
    # Deleted only from the working tree: the index still has it.
    assert run("check", "--staged", cwd=repo.path).status == 0
    repo.git("rm", "-q", "--cached", "app.py")
    assert run("check", "--staged", cwd=repo.path).status == 1


def test_added_files_are_not_in_flight(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"other.py": PLAIN})
    repo.write(
        {
            "app.py": APP_BREAK,
            "pkg/__init__.py": "",
            "pkg/more.py": APP.replace("checkout", "more"),
        }
    )
    result = run("check", cwd=repo.path)
    assert result.status == 0, result.out
    # Untracked files are part of the working tree (but ignored ones are not).
    repo.write(
        {".gitignore": "ignored/\n", "ignored/broken.py": "import dbos\ndef (:\n"}
    )
    assert run("check", cwd=repo.path).status == 0


def test_file_that_cannot_hold_workflows_is_not_parsed(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"legacy.py": b"x = '\xff'\n", "notes.py": "def broken(:\n"})
    assert run("check", cwd=repo.path).status == 0


def test_symlinked_module_is_not_a_second_copy(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    os.symlink("app.py", repo.path / "alias.py")
    repo.commit(message="alias")
    result = run("check", cwd=repo.path)
    assert (result.status, result.out) == (0, "")


def test_unusual_file_names(git_repo: MakeRepo, run: Callable[..., Result]) -> None:
    repo = git_repo({"my app.py": APP, "café/ünï.py": APP.replace("checkout", "b")})
    repo.write(
        {"my app.py": APP_BREAK, "café/ünï.py": APP_BREAK.replace("checkout", "b")}
    )
    result = run("check", cwd=repo.path)
    assert result.status == 1
    paths = sorted(line.split(":")[0] for line in finding_lines(result.out))
    assert paths == ["café/ünï.py", "my app.py"]
    assert run("check", "café", cwd=repo.path).status == 1


# --- bad input: exit 2, one line, never a traceback ---------------------------


def test_syntax_error_in_new_version(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP + "\ndef broken(:\n    pass\n"})
    assert_one_error(
        run("check", cwd=repo.path), "app.py:", "syntax error", "working tree"
    )


def test_syntax_error_in_staged_version(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP + "\ndef broken(:\n"})
    repo.stage()
    repo.write({"app.py": APP})
    assert_one_error(
        run("check", "--staged", cwd=repo.path), "app.py:", "syntax error", "the index"
    )


def test_syntax_error_in_base_version(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP + "\ndef broken(:\n"})
    repo.write({"app.py": APP})
    assert_one_error(
        run("check", cwd=repo.path), "app.py:", "syntax error", "base revision HEAD"
    )
    repo.commit(message="fixed")
    assert run("check", cwd=repo.path).status == 0
    assert_one_error(
        run("check", "--base", "HEAD~1", cwd=repo.path),
        "app.py:",
        "syntax error",
        "base revision HEAD~1",
    )


def test_syntax_error_unchanged_in_both_versions(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    """A broken file that a changed workflow calls into is read, and reported."""
    repo = git_repo({"app.py": APP, "bad.py": "import dbos\ndef broken(:\n"})
    calls_bad = APP.replace(
        "    reserve(order)\n", "    reserve(order)\n    bad.broken()\n"
    )
    repo.write({"app.py": "import bad\n" + calls_bad})
    line = assert_one_error(run("check", cwd=repo.path), "bad.py:", "syntax error")
    assert "base revision HEAD and the working tree" in line


def test_unchanged_files_out_of_reach_are_not_read(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    """A file the same in both revisions that no changed file may import
    cannot change any verdict: the check does not parse it (as a linter run
    on changed files would not), even when it is broken."""
    repo = git_repo({"app.py": APP, "bad.py": "import dbos\ndef broken(:\n"})
    repo.write({"app.py": APP_BREAK})
    result = run("check", cwd=repo.path)
    assert result.status == 1, result
    assert "WFL101" in result.out and "bad.py" not in result.out + result.err


def test_non_utf8_file(git_repo: MakeRepo, run: Callable[..., Result]) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP.encode() + b"# caf\xe9\n"})
    assert_one_error(run("check", cwd=repo.path), "app.py", "not UTF-8", "working tree")


def test_binary_file_with_py_name(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"blob.py": b"dbos\x00\x01\x02\xff" * 10})
    assert_one_error(run("check", cwd=repo.path), "blob.py", "binary")


def test_unknown_base_revision(git_repo: MakeRepo, run: Callable[..., Result]) -> None:
    repo = git_repo({"app.py": APP})
    assert_one_error(
        run("check", "--base", "no-such-branch", cwd=repo.path),
        "'no-such-branch'",
        "not a commit",
    )
    assert_one_error(run("check", "--base", "HEAD~5", cwd=repo.path), "'HEAD~5'")
    # A revision that is not a commit, and one that looks like an option.
    blob = repo.git("rev-parse", "HEAD:app.py").strip()
    assert_one_error(run("check", "--base", blob, cwd=repo.path), "not a commit")
    assert_one_error(run("check", "--base=--all", cwd=repo.path), "'--all'", "option")
    assert_one_error(run("check", "--base=", cwd=repo.path), "empty")


def test_repository_without_commits(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo()
    repo.write({"app.py": APP})
    assert_one_error(run("check", cwd=repo.path), "'HEAD'", "no commits yet")
    assert_one_error(
        run("check", "--base", "HEAD", cwd=repo.path), "'HEAD'", "no commits yet"
    )


def test_shallow_clone(
    git_repo: MakeRepo, run: Callable[..., Result], tmp_path: Path
) -> None:
    origin = git_repo({"app.py": APP}, name="origin")
    origin.commit({"app.py": APP_CLEAN}, message="second")
    clone = tmp_path / "clone"
    origin.git("clone", "-q", "--depth", "1", f"file://{origin.path}", str(clone))
    assert run("check", cwd=clone).status == 0
    for base in ("HEAD~1", origin.git("rev-parse", "HEAD~1").strip()):
        line = assert_one_error(
            run("check", "--base", base, cwd=clone), "shallow clone", "fetch-depth"
        )
        assert repr(base) in line


def test_not_a_git_repository(
    git_env: None, run: Callable[..., Result], tmp_path: Path
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "app.py").write_text(APP)
    assert_one_error(
        run("check", cwd=folder),
        str(folder.resolve()),
        "not inside a git repository",
        "compare",
    )


def test_unresolved_merge_conflict_in_index(
    git_repo: MakeRepo, run: Callable[..., Result]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.git("checkout", "-q", "-b", "side")
    side = APP.replace("    reserve(order)\n", "    reserve(order.strip())\n")
    repo.commit({"app.py": side}, message="side")
    repo.git("checkout", "-q", "-")
    repo.commit({"app.py": APP_BREAK}, message="main")
    repo.git("merge", "side", check=False)
    assert "UU app.py" in repo.git("status", "--short")
    assert_one_error(
        run("check", "--staged", cwd=repo.path), "app.py", "merge conflict"
    )


def test_unknown_option(git_repo: MakeRepo, run: Callable[..., Result]) -> None:
    repo = git_repo({"app.py": APP})
    assert_one_error(
        run("check", "--bogus", cwd=repo.path), "unrecognized arguments: --bogus"
    )
    assert_one_error(run("--bogus"))
    assert_one_error(run("lint"), "invalid choice", "'lint'")
    assert_one_error(run(), "check,compare")
    assert_one_error(run("check", "--format", "xml"), "check:", "--format", "'xml'")
    assert_one_error(run("check", "--versioning", "nope"), "--versioning")
    assert_one_error(run("compare", "only-one"), "compare:", "new")


def test_nonexistent_path_argument(
    git_repo: MakeRepo, run: Callable[..., Result], tmp_path: Path
) -> None:
    repo = git_repo({"app.py": APP})
    assert_one_error(run("check", "nothere", cwd=repo.path), "nothere", "no such file")
    assert_one_error(
        run("check", str(tmp_path), cwd=repo.path), str(tmp_path), "outside"
    )


def test_unreadable_file(git_repo: MakeRepo, run: Callable[..., Result]) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root reads every file")
    repo = git_repo({"app.py": APP})
    (repo.path / "app.py").chmod(0)
    try:
        assert_one_error(run("check", cwd=repo.path), "app.py", "cannot read")
    finally:
        (repo.path / "app.py").chmod(0o644)


def test_help_and_version(run: Callable[..., Result]) -> None:
    helped = run("--help")
    assert helped.status == 0 and "usage: workflow-lint" in helped.out
    assert run("check", "--help").status == 0
    version = run("--version")
    assert version.status == 0
    assert version.out.strip() == f"workflow-lint {__version__}"


# --- compare: two files or two folders, no git --------------------------------


def test_compare_files(tmp_path: Path, run: Callable[..., Result]) -> None:
    (tmp_path / "old.py").write_text(APP)
    (tmp_path / "new.py").write_text(APP_BREAK)
    (tmp_path / "same.py").write_text(APP_CLEAN)
    assert run("compare", "old.py", "same.py", cwd=tmp_path).status == 0
    result = run("compare", "old.py", "new.py", cwd=tmp_path)
    assert result.status == 1
    assert finding_lines(result.out)[0].startswith(f"new.py:{BREAK_LINE}:5: WFL101")
    # Old spans name the old file, new spans the new one.
    old_line = APP.splitlines().index("    return charge(order)") + 1
    assert f"recorded by  old.py:{old_line}:" in result.out
    assert f"now calls    new.py:{BREAK_LINE}:" in result.out
    doc = json.loads(run("compare", "old.py", "new.py", "--format", "json").out)
    (finding,) = doc["findings"]
    assert finding["witness"]["old"]["path"] == "old.py"
    assert finding["witness"]["new"]["path"] == "new.py"


def test_compare_files_by_path(tmp_path: Path, run: Callable[..., Result]) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    (tmp_path / "v1" / "app.py").write_text(APP)
    (tmp_path / "v2" / "app.py").write_text(APP_BREAK)
    result = run("compare", str(tmp_path / "v1/app.py"), str(tmp_path / "v2/app.py"))
    assert result.status == 1
    assert finding_lines(result.out)[0].startswith(f"{tmp_path / 'v2/app.py'}:")


def test_compare_folders(tmp_path: Path, run: Callable[..., Result]) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, content in ((old, APP), (new, APP_BREAK)):
        (folder / "pkg").mkdir(parents=True)
        (folder / "pkg" / "orders.py").write_text(content)
        (folder / "pkg" / "__init__.py").write_text("")
        (folder / "README.txt").write_text("not python")
    result = run("compare", "old", "new", cwd=tmp_path)
    assert result.status == 1
    line = finding_lines(result.out)[0]
    assert line.startswith(f"{os.path.join('new', 'pkg', 'orders.py')}:{BREAK_LINE}:5:")
    assert f"recorded by  {os.path.join('old', 'pkg', 'orders.py')}:" in result.out
    # A workflow moved to another file of the folder keeps matching by name.
    (new / "pkg" / "orders.py").unlink()
    (new / "shop.py").write_text(APP)
    moved = run("compare", "old", "new", cwd=tmp_path)
    assert (moved.status, moved.out) == (0, "")
    # Hidden folders (.venv, .git) are not part of the project.
    (new / ".venv").mkdir()
    (new / ".venv" / "dup.py").write_text(APP)
    assert run("compare", "old", "new", cwd=tmp_path).status == 0


def test_compare_workflow_removed_from_folder(
    tmp_path: Path, run: Callable[..., Result]
) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "app.py").write_text(APP)
    (tmp_path / "new" / "app.py").write_text(PLAIN)
    result = run("compare", "old", "new", cwd=tmp_path)
    assert result.status == 1
    assert finding_lines(result.out)[0].startswith(
        f"{os.path.join('old', 'app.py')}:{WORKFLOW_LINE}:1: WFL102"
    )


def test_compare_bad_input(tmp_path: Path, run: Callable[..., Result]) -> None:
    (tmp_path / "good.py").write_text(APP)
    (tmp_path / "latin.py").write_bytes(APP.encode() + b"# caf\xe9\n")
    (tmp_path / "broken.py").write_text(APP + "def broken(:\n")
    assert_one_error(
        run("compare", "missing.py", "good.py", cwd=tmp_path), "missing.py"
    )
    assert_one_error(run("compare", "good.py", "missing"), "missing")
    # The message names the file that is bad, not the name it is compared as.
    assert_one_error(run("compare", "latin.py", "good.py"), "latin.py:", "not UTF-8")
    assert_one_error(run("compare", "good.py", "latin.py"), "latin.py:", "not UTF-8")
    line = assert_one_error(
        run("compare", "broken.py", "good.py"), "broken.py:", "syntax error"
    )
    assert "good.py" not in line
    assert_one_error(run("compare", "good.py", "broken.py"), "broken.py:")


# --- subprocess: no git on PATH, and the installed console script -------------


def _env_without_git(tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "no-git-bin"
    empty.mkdir()
    env = dict(os.environ)
    env["PATH"] = str(empty)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PROJECT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


def test_git_missing_from_path(git_repo: MakeRepo, tmp_path: Path) -> None:
    repo = git_repo({"app.py": APP})
    proc = subprocess.run(
        [sys.executable, "-m", "workflow_lint", "check"],
        cwd=repo.path,
        env=_env_without_git(tmp_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2, proc
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("workflow-lint: error: git is not installed")
    assert "Traceback" not in proc.stderr


def _console_script() -> str:
    here = Path(sys.executable).parent
    for name in ("workflow-lint", "workflow-lint.exe"):
        if (here / name).exists():
            return str(here / name)
    pytest.skip("the workflow-lint console script is not installed (pip install -e .)")


def test_console_script_end_to_end(git_repo: MakeRepo) -> None:
    script = _console_script()
    repo = git_repo({"app.py": APP})

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *args],
            cwd=repo.path,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    clean = cli("check")
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "")
    repo.write({"app.py": APP_BREAK})
    broken = cli("check")
    assert broken.returncode == 1, broken.stderr
    assert re.search(rf"^app\.py:{BREAK_LINE}:5: WFL101 ", broken.stdout, re.M)
    repo.write({"app.py": b"from dbos import DBOS\n\xff\xfe\n"})
    bad = cli("check", "--format", "json")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.startswith("workflow-lint: error: app.py")
    assert len(bad.stderr.splitlines()) == 1
