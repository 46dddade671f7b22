"""The flake8 plugin, through the real ``flake8`` on real git repositories.

flake8 must report what ``workflow-lint check`` reports (code, line, column)
for each file it checks, honour ``# noqa``, take its base revision from
``--workflow-lint-base`` or its configuration, make the project-wide
comparison once per run, and never crash: bad input is one WFL000 line.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GitRepo

MakeRepo = Callable[..., GitRepo]

STEPS = """\
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
"""

APP = """\
from dbos import DBOS

from shop.steps import audit, charge, reserve


@DBOS.workflow()
def checkout(order: str) -> str:
    reserve(order)
    charged = charge(order)
    return charged


@DBOS.workflow()
def refund(order: str) -> str:
    reserve(order)
    return charge(order)
"""
BREAK_CALL = "    audit(order)"
APP_BREAK = APP.replace(
    "    reserve(order)\n    charged", f"    reserve(order)\n{BREAK_CALL}\n    charged"
)
BREAK_LINE = APP_BREAK.splitlines().index(BREAK_CALL) + 1
# A broad except around a step (a rule finding) and an appended step.
APP_MORE = APP_BREAK.replace(
    "    reserve(order)\n    return charge(order)\n",
    "    try:\n        reserve(order)\n    except Exception:\n        pass\n"
    "    result = charge(order)\n    audit(order)\n    return result\n",
)
OTHER = "VALUE = 1\n"

FILES = {
    "shop/__init__.py": "",
    "shop/steps.py": STEPS,
    "shop/app.py": APP,
    "shop/other.py": OTHER,
}

Row = tuple[str, int, int, str]
_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>WFL\d{3}) ")


def flake8(
    cwd: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "WFL", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rows(out: str) -> list[Row]:
    found = []
    for line in out.splitlines():
        match = _LINE.match(line)
        assert match, f"not a flake8 line: {line!r}"
        path = match.group("path").removeprefix("./")
        found.append(
            (
                path,
                int(match.group("line")),
                int(match.group("col")),
                match.group("code"),
            )
        )
    return sorted(found)


def check_rows(cwd: Path, *args: str) -> list[Row]:
    """What ``workflow-lint check`` reports, as (path, line, column, code)."""
    done = subprocess.run(
        [sys.executable, "-m", "workflow_lint", "check", "--format", "json", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads(done.stdout)
    return sorted(
        (f["path"], f["line"], f["column"], f["code"]) for f in doc["findings"]
    )


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert "Traceback" not in done.stdout, done.stdout


@pytest.fixture
def repo(git_repo: MakeRepo) -> GitRepo:
    return git_repo(FILES)


def test_flake8_reports_what_check_reports(repo: GitRepo) -> None:
    repo.write({"shop/app.py": APP_MORE})
    expected = check_rows(repo.path)
    assert {code for *_, code in expected} >= {"WFL101", "WFL301"}
    done = flake8(repo.path, "shop")
    no_traceback(done)
    assert done.returncode == 1
    assert rows(done.stdout) == expected
    assert ("shop/app.py", BREAK_LINE, 5, "WFL101") in expected
    message = next(line for line in done.stdout.splitlines() if " WFL101 " in line)
    assert "[break] workflow checkout:" in message


def test_a_step_renamed_elsewhere_is_reported_in_the_workflow_file(
    repo: GitRepo,
) -> None:
    repo.write(
        {
            "shop/steps.py": STEPS.replace(
                "@DBOS.step()\ndef charge", '@DBOS.step(name="charge_v2")\ndef charge'
            )
        }
    )
    expected = check_rows(repo.path)
    assert expected and all(path == "shop/app.py" for path, *_ in expected)
    # flake8 on the changed file alone says nothing about another file ...
    assert flake8(repo.path, "shop/steps.py").stdout == ""
    # ... and on the workflow file reports the break there.
    assert rows(flake8(repo.path, "shop/app.py").stdout) == expected


def test_noqa_is_honoured(repo: GitRepo) -> None:
    repo.write(
        {"shop/app.py": APP_BREAK.replace(BREAK_CALL, BREAK_CALL + "  # noqa: WFL101")}
    )
    done = flake8(repo.path, "shop")
    assert (done.returncode, done.stdout) == (0, "")
    repo.write(
        {"shop/app.py": APP_BREAK.replace(BREAK_CALL, BREAK_CALL + "  # noqa: E501")}
    )
    assert [code for *_, code in rows(flake8(repo.path, "shop").stdout)] == ["WFL101"]


def test_workflow_lint_suppressions_apply(repo: GitRepo) -> None:
    comment = "# workflow-lint: ignore[WFL101]"
    repo.write(
        {"shop/app.py": APP_BREAK.replace(BREAK_CALL, f"{BREAK_CALL}  {comment}")}
    )
    found = rows(flake8(repo.path, "shop").stdout)
    assert [code for *_, code in found] == ["WFL101", "WFL001"]
    assert found == check_rows(repo.path)
    repo.write(
        {
            "shop/app.py": APP_BREAK.replace(
                BREAK_CALL, f"{BREAK_CALL}  {comment} drained"
            )
        }
    )
    assert flake8(repo.path, "shop").stdout == ""


def test_base_from_the_option_and_from_flake8_config(repo: GitRepo) -> None:
    repo.git("tag", "deployed")
    repo.commit({"shop/app.py": APP_BREAK})
    # Default base: HEAD, which already holds the change.
    assert flake8(repo.path, "shop").stdout == ""
    option = rows(flake8(repo.path, "--workflow-lint-base", "deployed", "shop").stdout)
    assert option == [("shop/app.py", BREAK_LINE, 5, "WFL101")]
    repo.write({".flake8": "[flake8]\nworkflow-lint-base = deployed\n"})
    assert rows(flake8(repo.path, "shop").stdout) == option
    # The command line wins over the file.
    assert flake8(repo.path, "--workflow-lint-base", "HEAD", "shop").stdout == ""


def test_base_from_pyproject(repo: GitRepo) -> None:
    repo.git("tag", "deployed")
    repo.commit({"shop/app.py": APP_BREAK})
    repo.write(
        {
            "pyproject.toml": (
                '[tool.workflow-lint]\nbase = "deployed"\nignore = ["WFL3"]\n'
            )
        }
    )
    assert rows(flake8(repo.path, "shop").stdout) == [
        ("shop/app.py", BREAK_LINE, 5, "WFL101")
    ]


@pytest.mark.parametrize("jobs", ["1", "4"])
def test_one_comparison_per_run(repo: GitRepo, jobs: str) -> None:
    many = {
        f"shop/flow{i}.py": APP_BREAK.replace("checkout", f"checkout{i}").replace(
            "refund", f"refund{i}"
        )
        for i in range(6)
    }
    repo.commit(
        {
            p: APP.replace("checkout", f"checkout{i}").replace("refund", f"refund{i}")
            for i, p in enumerate(many)
        }
    )
    repo.write(many)
    done = flake8(repo.path, "-v", "--jobs", jobs, "shop")
    no_traceback(done)
    found = rows(done.stdout)
    assert {path for path, *_ in found} == set(many)
    assert found == check_rows(repo.path)
    comparisons = [
        line for line in done.stderr.splitlines() if "workflow-lint: compared" in line
    ]
    assert len(comparisons) == 1, done.stderr


def test_nothing_outside_a_repository_or_without_findings(
    repo: GitRepo, tmp_path: Path
) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "app.py").write_text(APP_BREAK)
    done = flake8(loose, ".")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    repo.write({"shop/other.py": OTHER + "OTHER = 2\n"})
    done = flake8(repo.path, "shop")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_first_commit_not_made_yet(git_repo: MakeRepo) -> None:
    fresh = git_repo(None, name="fresh")
    fresh.write(FILES)
    done = flake8(fresh.path, "shop")
    assert (done.returncode, done.stdout) == (0, ""), done.stderr


def test_unknown_base_is_one_wfl000_line(repo: GitRepo) -> None:
    repo.write({"shop/app.py": APP_BREAK})
    done = flake8(repo.path, "--workflow-lint-base", "no-such-branch", "shop")
    no_traceback(done)
    assert done.returncode == 1
    (line,) = done.stdout.splitlines()
    # On the first checked file that mentions dbos, not once per file.
    assert line.startswith("shop/app.py:1:1: WFL000 workflow-lint could not check")
    assert "no-such-branch" in line


def test_a_file_that_does_not_parse(repo: GitRepo) -> None:
    repo.write({"shop/steps.py": STEPS + "def broken(:\n"})
    done = flake8(repo.path, "--select", "WFL,E999", "shop")
    no_traceback(done)
    lines = done.stdout.splitlines()
    # flake8 reports the syntax error; the plugin says, once, that the
    # project went unchecked.
    assert [line.split(" ", 2)[:2] for line in lines] == [
        ["shop/app.py:1:1:", "WFL000"],
        [lines[1].split(" ")[0], "E999"],
    ]
    assert "shop/steps.py:" in lines[0] and "(in the working tree)" in lines[0]
    assert lines[1].startswith("shop/steps.py:")


def test_a_base_that_does_not_parse(repo: GitRepo) -> None:
    repo.commit({"shop/steps.py": STEPS + "def broken(:\n"})
    repo.write({"shop/steps.py": STEPS})
    done = flake8(repo.path, "shop")
    no_traceback(done)
    (line,) = done.stdout.splitlines()
    assert line.startswith("shop/steps.py:1:1: WFL000 ")
    assert "(in base revision HEAD)" in line


def test_bad_config_is_one_wfl000_line(repo: GitRepo) -> None:
    repo.write({"pyproject.toml": "[tool.workflow-lint]\nbasis = 'x'\n"})
    done = flake8(repo.path, "shop")
    no_traceback(done)
    (line,) = done.stdout.splitlines()
    assert "WFL000" in line and "unknown key 'basis'" in line


def test_stdin_buffer_is_checked_as_the_editor_sees_it(repo: GitRepo) -> None:
    # The editor's buffer has the break; the file on disk does not.
    buffer = "# a comment the file on disk does not have\n" + APP_BREAK
    done = flake8(repo.path, "--stdin-display-name", "shop/app.py", "-", stdin=buffer)
    no_traceback(done)
    assert rows(done.stdout) == [("shop/app.py", BREAK_LINE + 1, 5, "WFL101")]


def test_plugin_is_registered(repo: GitRepo) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "workflow-lint" in done.stdout, done.stdout


def test_a_workflow_that_is_gone_points_into_the_base(repo: GitRepo) -> None:
    # The finding's line is refund's line in the base revision: past the end
    # of the file now.  flake8 reports it where check does, without failing.
    gone = APP[: APP.index("\n\n@DBOS.workflow()\ndef refund")] + "\n"
    repo.write({"shop/app.py": gone})
    expected = check_rows(repo.path)
    assert [code for *_, code in expected] == ["WFL102"]
    assert expected[0][1] > len(gone.splitlines())
    done = flake8(repo.path, "--show-source", "shop")
    no_traceback(done)
    shown = [line for line in done.stdout.splitlines() if " WFL" in line]
    assert rows("\n".join(shown)) == expected
