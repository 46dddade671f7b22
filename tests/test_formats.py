"""``--format github`` and ``--format sarif``, from the real command on real
git repositories.

SARIF is validated against the published SARIF 2.1.0 schema, kept in
tests/data (see its README for where it comes from): no network at test time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import GitRepo
from tests.sample_app import APP
from workflow_lint.cli import main
from workflow_lint.diagnostics import Code, Finding, Span, Witness
from workflow_lint.report import JSON_SCHEMA, render_github, render_sarif
from workflow_lint.suppress import Notice

MakeRepo = Callable[..., GitRepo]
DATA = Path(__file__).parent / "data"
SARIF_SCHEMA_FILE = DATA / "sarif-schema-2.1.0.json"
SARIF_SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"

APP_BREAK = APP.replace(
    "    reserve(order)\n", "    reserve(order)\n    audit(order)\n"
)
BREAK_LINE = APP_BREAK.splitlines().index("    audit(order)") + 1
APP_EXTEND = APP.replace(
    "    return charged\n", "    audit(order)\n    return charged\n"
)
EXTEND_LINE = APP_EXTEND.splitlines().index("    audit(order)") + 1


@dataclass
class Result:
    status: int
    out: str
    err: str


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


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SARIF_SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def assert_valid_sarif(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    errors = sorted(sarif_validator().iter_errors(doc), key=str)
    assert not errors, "\n".join(
        f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]
    )
    return doc


# --- github ------------------------------------------------------------------

_COMMAND = re.compile(r"^::(?P<level>error|warning) (?P<props>[^:]*)::(?P<message>.*)$")


def parse_commands(out: str) -> list[dict[str, str]]:
    """Each output line as a workflow command: level, properties, message."""
    commands = []
    for line in out.splitlines():
        match = _COMMAND.match(line)
        assert match, f"not a workflow command: {line!r}"
        props = dict(p.split("=", 1) for p in match.group("props").split(","))
        commands.append(
            {"level": match.group("level"), "message": match.group("message"), **props}
        )
    return commands


def test_github_annotation_for_a_break(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_BREAK})
    result = cli(repo.path, "check", "--format", "github")
    assert (result.status, result.err) == (1, "")
    (command,) = parse_commands(result.out)
    assert command["level"] == "error"
    assert command["file"] == "app.py"
    assert (command["line"], command["col"]) == (str(BREAK_LINE), "5")
    assert command["title"] == "WFL101"
    message = command["message"]
    # One line per command: the witness follows on encoded line breaks.
    assert "audit" in message and "charge" in message
    assert "%0Ain-flight history: 1:reserve -> 2:charge" in message
    assert result.out.startswith(f"::error file=app.py,line={BREAK_LINE},col=5,")


def test_github_warning_for_an_extension(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_EXTEND})
    result = cli(repo.path, "check", "--format", "github")
    assert result.status == 0  # a warning does not fail without --strict
    (command,) = parse_commands(result.out)
    assert (command["level"], command["title"]) == ("warning", "WFL106")
    assert command["line"] == str(EXTEND_LINE)
    assert cli(repo.path, "check", "--format", "github", "--strict").status == 1


def test_github_clean_run_prints_nothing(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    result = cli(repo.path, "check", "--format", "github")
    assert (result.status, result.out, result.err) == (0, "", "")


def test_github_escapes_properties_and_message() -> None:
    finding = Finding(
        Code.OPERATION_MISMATCH,
        "100% broken,\r\nreally: yes",
        Span("dir,a:b/app.py", 3, 0),
        hints=("first\nsecond",),
    )
    (line,) = render_github([finding]).splitlines()
    assert line == (
        "::error file=dir%2Ca%3Ab/app.py,line=3,col=1,title=WFL101::"
        "100%25 broken,%0D%0Areally: yes%0Ahint: first%0Asecond"
    )


def test_github_notice_is_a_warning() -> None:
    notice = Notice(
        "WFL001", "suppression without a reason", "no reason", Span("a.py", 2, 4)
    )
    assert render_github([], [notice]) == (
        "::warning file=a.py,line=2,col=5,title=WFL001::no reason\n"
    )


# --- sarif -------------------------------------------------------------------


def test_schema_file_is_the_published_one() -> None:
    data = SARIF_SCHEMA_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SARIF_SCHEMA_SHA256
    schema = json.loads(data)
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(schema)


def test_sarif_for_a_break_is_valid(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_BREAK})
    result = cli(repo.path, "check", "--format", "sarif")
    assert (result.status, result.err) == (1, "")
    doc = assert_valid_sarif(result.out)
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "workflow-lint"
    assert {r["id"] for r in rules} >= {c.code for c in Code}
    (found,) = run["results"]
    assert found["ruleId"] == "WFL101"
    assert rules[found["ruleIndex"]]["id"] == "WFL101"
    assert found["level"] == "error"
    (location,) = found["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "app.py", "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {"startLine": BREAK_LINE, "startColumn": 5}
    related = {r["message"]["text"] for r in found["relatedLocations"]}
    assert related == {
        "recorded by: charged = charge(order)",
        "now calls: audit(order)",
    }
    assert found["properties"]["inFlightHistory"] == ["reserve", "charge"]


def test_sarif_clean_run_is_valid(git_repo: MakeRepo, cli: Any) -> None:
    repo = git_repo({"app.py": APP})
    result = cli(repo.path, "check", "--format", "sarif")
    assert result.status == 0
    doc = assert_valid_sarif(result.out)
    assert doc["runs"][0]["results"] == []


def test_sarif_warning_level_and_odd_paths(tmp_path: Path, cli: Any) -> None:
    old, new = tmp_path / "old dir", tmp_path / "new dir"
    for folder, text in ((old, APP), (new, APP_EXTEND)):
        (folder / "shop #1").mkdir(parents=True)
        (folder / "shop #1" / "app.py").write_text(text)
    result = cli(tmp_path, "compare", "old dir", "new dir", "--format", "sarif")
    assert result.status == 0
    doc = assert_valid_sarif(result.out)
    (found,) = doc["runs"][0]["results"]
    assert (found["ruleId"], found["level"]) == ("WFL106", "warning")
    uri = found["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "new%20dir/shop%20%231/app.py"
    absolute = cli(tmp_path, "compare", str(old), str(new), "--format", "sarif").out
    doc = assert_valid_sarif(absolute)
    location = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].startswith("file:///")
    assert "uriBaseId" not in location["artifactLocation"]


def test_sarif_and_json_carry_notices() -> None:
    witness = Witness("checkout", ("a", "b"), 2, "b", "c", Span("x.py", 1, 0), None)
    finding = Finding(
        Code.OPERATION_MISMATCH, "m", Span("x.py", 4, 2), "checkout", witness
    )
    notice = Notice("WFL001", "suppression without a reason", "n", Span("x.py", 3, 8))
    doc = assert_valid_sarif(render_sarif([finding], [notice]))
    results = doc["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["WFL001", "WFL101"]
    assert results[0]["level"] == "warning"
    from workflow_lint.report import render_json

    out = json.loads(render_json([finding], [notice]))
    jsonschema.Draft202012Validator(JSON_SCHEMA).validate(out)
    assert [f["code"] for f in out["findings"]] == ["WFL001", "WFL101"]
    assert out["summary"] == {"errors": 1, "warnings": 1}


def test_format_choices(cli: Any, tmp_path: Path) -> None:
    result = cli(tmp_path, "check", "--format", "xml")
    assert result.status == 2
    assert "github" in result.err and "sarif" in result.err
