"""Every fixture scenario: the checker's verdict and codes match expected.json.

expected.json's verdict is what real DBOS does with the pair (see
test_fixtures_dbos.py, which replays the histories with dbos itself), so this
test ties the static verdicts to the runtime's.
"""

from __future__ import annotations

import pytest

from tests.fixture_cases import Fixture, load_fixtures
from workflow_lint import Snapshot, compare
from workflow_lint.diagnostics import Verdict

ORDER = [Verdict.BREAK, Verdict.STRAND, Verdict.DRIFT, Verdict.EXTEND]


def replay_verdict(codes: set[str]) -> str:
    from workflow_lint.diagnostics import Code

    verdicts = {Code.by_code(c).verdict for c in codes}
    for verdict in ORDER:
        if verdict in verdicts:
            return verdict.value
    return Verdict.SAFE.value


@pytest.mark.parametrize("fixture", load_fixtures(), ids=lambda f: f.name)
def test_fixture_verdict(fixture: Fixture) -> None:
    old = Snapshot("old", {"app.py": fixture.old.read_bytes()})
    new = Snapshot("new", {"app.py": fixture.new.read_bytes()})
    report = compare(old, new)
    codes = {f.code.code for f in report.findings}
    assert replay_verdict(codes) == fixture.expected["verdict"], report.findings
    assert codes == set(fixture.expected.get("codes", [])), report.findings
