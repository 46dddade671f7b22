"""``[tool.workflow-lint]`` and inline suppressions, through the real command
on real git repositories.

Configuration: every key, command-line flags overriding it, where the table
is looked for, and that anything it does not understand is exit status 2
with one line.  Suppressions: ``# workflow-lint: ignore[CODE] reason`` on the
finding's line or alone on the line above; without a reason it suppresses
nothing and says so (WFL001).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GitRepo
from tests.sample_app import APP
from workflow_lint.cli import main

MakeRepo = Callable[..., GitRepo]

BREAK_CALL = "    audit(order)"
APP_BREAK = APP.replace("    reserve(order)\n", f"    reserve(order)\n{BREAK_CALL}\n")
BREAK_LINE = APP_BREAK.splitlines().index(BREAK_CALL) + 1
APP_EXTEND = APP.replace(
    "    return charged\n", "    audit(order)\n    return charged\n"
)
# A workflow body edit no operation sees: safe when pinned, a new computed
# application version otherwise.
APP_BODY_EDIT = APP.replace("    return charged\n", "    return charged.upper()\n")


def with_comment(comment: str, own_line: bool = False) -> str:
    if own_line:
        return APP_BREAK.replace(BREAK_CALL, f"    {comment}\n{BREAK_CALL}")
    return APP_BREAK.replace(BREAK_CALL, f"{BREAK_CALL}  {comment}")


@dataclass
class Result:
    status: int
    out: str
    err: str

    def codes(self) -> list[str]:
        return re.findall(r"^\S+:\d+:\d+: (WFL\d{3})", self.out, re.MULTILINE)


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    def invoke(cwd: Path, *argv: str) -> Result:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        status = main(list(argv))
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return invoke


def pyproject(body: str) -> str:
    return f'[project]\nname = "shop"\n\n[tool.workflow-lint]\n{body}\n'


def one_error(result: Result, *needles: str) -> str:
    assert result.status == 2, result
    assert result.out == ""
    (line,) = result.err.splitlines()
    assert line.startswith("workflow-lint: error: "), line
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in line, (needle, line)
    return line


# --- select / ignore ---------------------------------------------------------


def test_ignore_and_select_from_config(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_BREAK})
    assert cli(repo.path, "check").codes() == ["WFL101"]
    repo.write({"pyproject.toml": pyproject('ignore = ["WFL1"]')})
    result = cli(repo.path, "check")
    assert (result.status, result.out) == (0, "")
    repo.write({"pyproject.toml": pyproject('select = ["WFL3", "WFL4"]')})
    assert cli(repo.path, "check").status == 0
    repo.write({"pyproject.toml": pyproject('select = ["wfl101"]')})
    assert cli(repo.path, "check").codes() == ["WFL101"]


def test_command_line_codes_override_config(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.write(
        {"app.py": APP_BREAK, "pyproject.toml": pyproject('ignore = ["WFL101"]')}
    )
    assert cli(repo.path, "check").status == 0
    result = cli(repo.path, "check", "--ignore", "WFL3")
    assert (result.status, result.codes()) == (1, ["WFL101"])
    assert cli(repo.path, "check", "--ignore", "").codes() == ["WFL101"]
    repo.write({"pyproject.toml": pyproject('select = ["WFL106"]')})
    assert cli(repo.path, "check", "--select", "WFL101,WFL106").codes() == ["WFL101"]
    one_error(cli(repo.path, "check", "--select", "WFL999"), "--select", "WFL999")


# --- versioning, strict, base ------------------------------------------------


def test_versioning_from_config(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_BODY_EDIT})
    assert cli(repo.path, "check").status == 0
    repo.write({"pyproject.toml": pyproject('versioning = "computed"')})
    result = cli(repo.path, "check")
    assert (result.status, result.codes()) == (1, ["WFL107"])
    assert cli(repo.path, "check", "--versioning", "pinned").status == 0


def test_strict_from_config(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_EXTEND})
    assert cli(repo.path, "check").status == 0
    repo.write({"pyproject.toml": pyproject("strict = true")})
    result = cli(repo.path, "check")
    assert (result.status, result.codes()) == (1, ["WFL106"])
    assert cli(repo.path, "check", "--no-strict").status == 0


def test_base_from_config(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.git("tag", "deployed")
    repo.commit({"app.py": APP_BREAK})  # committed, so HEAD sees no change
    assert cli(repo.path, "check").status == 0
    repo.commit({"pyproject.toml": pyproject('base = "deployed"')})
    result = cli(repo.path, "check")
    assert (result.status, result.codes()) == (1, ["WFL101"])
    assert cli(repo.path, "check", "--base", "HEAD").status == 0
    one_error(cli(repo.path, "check", "--base", "nope"), "nope")


# --- include / exclude -------------------------------------------------------


def test_exclude_keeps_files_out_of_the_analysis(git_repo: MakeRepo, cli: Any) -> None:
    # A fixture that mentions dbos and does not parse would stop the check.
    broken = "from dbos import DBOS\ndef (:\n"
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_BREAK, "fixtures/case/new.py": broken})
    one_error(cli(repo.path, "check"), "fixtures/case/new.py")
    repo.write({"pyproject.toml": pyproject('exclude = ["fixtures"]')})
    assert cli(repo.path, "check").codes() == ["WFL101"]
    repo.write({"pyproject.toml": pyproject('exclude = ["**/new.py"]')})
    assert cli(repo.path, "check").codes() == ["WFL101"]
    repo.write({"pyproject.toml": pyproject('include = ["src/**"]')})
    assert cli(repo.path, "check").status == 0  # app.py is not analysed
    repo.write({"pyproject.toml": pyproject('include = ["*.py"]')})
    assert cli(repo.path, "check").codes() == ["WFL101"]


# --- patch-name template -------------------------------------------------------------


def test_patch_name_template_is_passed_to_fix(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.write(
        {
            "app.py": APP_BREAK,
            "pyproject.toml": pyproject('patch-name-template = "v2-{workflow}"'),
        }
    )
    result = cli(repo.path, "fix")
    assert result.status == 0, result
    fixed = (repo.path / "app.py").read_text()
    assert 'DBOS.patch("v2-checkout")' in fixed
    assert cli(repo.path, "check").status == 0


def test_template_flag_overrides_config(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.write(
        {
            "app.py": APP_BREAK,
            "pyproject.toml": pyproject('patch-name-template = "v2-{workflow}"'),
        }
    )
    result = cli(repo.path, "fix", "--diff", "--template", "hotfix-{change}")
    assert result.status == 0
    assert 'DBOS.patch("hotfix-' in result.out
    assert "v2-checkout" not in result.out


def test_fix_does_not_fail_on_what_check_would_not_report(
    git_repo: MakeRepo, cli: Any
) -> None:
    other = APP.replace("checkout", "refund")
    repo = git_repo({"app.py": APP, "refund.py": other})
    repo.remove("refund.py")  # WFL102: no patch brings a workflow back
    assert cli(repo.path, "fix").status == 1
    repo.write({"pyproject.toml": pyproject('ignore = ["WFL102"]')})
    assert cli(repo.path, "fix").status == 0
    assert cli(repo.path, "check").status == 0


# --- where the table is looked for -------------------------------------------


def test_table_found_from_a_subfolder(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP, "pkg/__init__.py": ""})
    repo.write(
        {
            "app.py": APP_BREAK,
            "pyproject.toml": pyproject('ignore = ["WFL101"]'),
            # A package's own pyproject.toml without the table hides nothing.
            "pkg/pyproject.toml": '[project]\nname = "pkg"\n',
        }
    )
    assert cli(repo.path / "pkg", "check").status == 0
    # The nearest table wins.
    repo.write({"pkg/pyproject.toml": pyproject("select = []")})
    assert cli(repo.path / "pkg", "check").status == 1


def test_lookup_stops_at_the_repository_root(
    git_repo: MakeRepo, cli: Any, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(pyproject("unknown = 1"))
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_BREAK})
    assert cli(repo.path, "check").codes() == ["WFL101"]


def test_compare_reads_the_config_of_the_current_folder(
    tmp_path: Path, cli: Any
) -> None:
    (tmp_path / "old.py").write_text(APP)
    (tmp_path / "new.py").write_text(APP_BREAK)
    assert cli(tmp_path, "compare", "old.py", "new.py").status == 1
    (tmp_path / "pyproject.toml").write_text(pyproject('ignore = ["WFL101"]'))
    assert cli(tmp_path, "compare", "old.py", "new.py").status == 0


# --- what the table must not hold --------------------------------------------


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ("bases = 'main'", ["unknown key 'bases'", "did you mean 'base'"]),
        ("patch_name_template = 'x-{workflow}'", ["patch_name_template"]),
        ("versioning = 'hashed'", ["versioning", "'pinned'", "'hashed'"]),
        ("select = ['E501']", ["select", "E501"]),
        ("ignore = 'WFL1x'", ["ignore", "WFL1x"]),
        ("include = [1]", ["include", "list of strings"]),
        ("exclude = ['']", ["exclude", "empty pattern"]),
        ("patch-name-template = 'fixed'", ["patch-name-template", "{workflow}"]),
        ("patch-name-template = '{workflow}-{oops}'", ["not a valid template"]),
        ("strict = 'yes'", ["strict", "true or false"]),
        ("base = ''", ["base", "empty"]),
        ("base = 3", ["base", "string"]),
    ],
)
def test_bad_config_is_one_line(
    git_repo: MakeRepo, cli: Any, body: str, needles: list[str]
) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"pyproject.toml": pyproject(body)})
    line = one_error(cli(repo.path, "check"), "pyproject.toml", *needles)
    assert "[tool.workflow-lint]" in line


def test_bad_toml_and_bad_table(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"pyproject.toml": "[tool.workflow-lint\nbase = 'x'\n"})
    one_error(cli(repo.path, "check"), "pyproject.toml", "not valid TOML")
    repo.write({"pyproject.toml": '[tool]\n"workflow-lint" = 3\n'})
    one_error(cli(repo.path, "check"), "must be a table")
    one_error(cli(repo.path, "fix"), "must be a table")
    one_error(cli(repo.path, "snapshot"), "must be a table")


# --- inline suppressions -----------------------------------------------------


@pytest.mark.parametrize(
    "comment",
    [
        "# workflow-lint: ignore[WFL101] no checkout was in flight at deploy",
        "# workflow-lint: ignore[WFL1] queue drained before the deploy",
        "# workflow-lint: ignore[WFL106, WFL101]: drained",
        "# noqa: E501  # workflow-lint: ignore[WFL101] drained",
    ],
)
def test_suppression_with_reason(git_repo: MakeRepo, cli: Any, comment: str) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": with_comment(comment)})
    result = cli(repo.path, "check")
    assert (result.status, result.out) == (0, ""), result


def test_fix_leaves_a_suppressed_break_alone(git_repo: MakeRepo, cli: Any) -> None:
    """A break the user accepted with a reason is not patched by ``fix``
    (nor does it fail the fix hook); the same break without it is."""
    repo = git_repo({"app.py": APP})
    comment = "# workflow-lint: ignore[WFL101] no checkout was in flight at deploy"
    accepted = with_comment(comment)
    repo.write({"app.py": accepted})
    assert cli(repo.path, "fix").status == 0
    assert (repo.path / "app.py").read_text() == accepted
    repo.write({"app.py": APP_BREAK})
    assert cli(repo.path, "fix").status == 0
    assert "DBOS.patch(" in (repo.path / "app.py").read_text()


def test_suppression_on_the_line_above(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    comment = "# workflow-lint: ignore[WFL101] drained before deploy"
    repo.write({"app.py": with_comment(comment, own_line=True)})
    assert cli(repo.path, "check").status == 0
    # Two lines above is not "above".
    repo.write(
        {"app.py": APP_BREAK.replace(BREAK_CALL, f"    {comment}\n\n{BREAK_CALL}")}
    )
    assert cli(repo.path, "check").codes() == ["WFL101"]


def test_suppression_without_reason_suppresses_nothing(
    git_repo: MakeRepo, cli: Any
) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": with_comment("# workflow-lint: ignore[WFL101]")})
    result = cli(repo.path, "check")
    assert result.status == 1
    # By place: the comment follows the call it is about.
    assert result.codes() == ["WFL101", "WFL001"]
    (notice,) = [line for line in result.out.splitlines() if " WFL001 " in line]
    assert notice.startswith(f"app.py:{BREAK_LINE}:{len(BREAK_CALL) + 3}: WFL001 ")
    assert "has no reason, so it does not suppress WFL101" in notice
    assert "1 error(s), 1 warning(s)" in result.out
    # Only a suppression that would have mattered is reported.
    result = cli(repo.path, "check", "--ignore", "WFL001")
    assert result.codes() == ["WFL101"]
    repo.write({"app.py": with_comment("# workflow-lint: ignore[WFL101] :- ")})
    assert cli(repo.path, "check").codes() == ["WFL101", "WFL001"]


def test_suppression_without_codes(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": with_comment("# workflow-lint: ignore it is fine")})
    result = cli(repo.path, "check")
    assert result.codes() == ["WFL101", "WFL001"]
    assert "names no codes" in result.out


def test_suppression_of_another_code_or_in_a_string(
    git_repo: MakeRepo, cli: Any
) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": with_comment("# workflow-lint: ignore[WFL103] drained")})
    assert cli(repo.path, "check").codes() == ["WFL101"]
    in_string = APP_BREAK.replace(
        BREAK_CALL, f'{BREAK_CALL}; _ = "# workflow-lint: ignore[WFL101] no"'
    )
    repo.write({"app.py": in_string})
    assert cli(repo.path, "check").codes() == ["WFL101"]


def test_suppressions_apply_to_every_format_and_compare(
    tmp_path: Path, cli: Any
) -> None:
    comment = "# workflow-lint: ignore[WFL101]"
    (tmp_path / "old.py").write_text(APP)
    (tmp_path / "new.py").write_text(with_comment(comment))
    result = cli(tmp_path, "compare", "old.py", "new.py", "--format", "json")
    assert '"code": "WFL001"' in result.out
    assert '"path": "new.py"' in result.out
    (tmp_path / "new.py").write_text(with_comment(comment + " drained"))
    for fmt in ("text", "json", "github", "sarif"):
        result = cli(tmp_path, "compare", "old.py", "new.py", "--format", fmt)
        assert result.status == 0
        assert "WFL101" not in result.out.replace('"id": "WFL101"', "")
