"""What ``check`` reports for a repository: the comparison of two versions,
narrowed to the selected codes, the paths asked about and what no inline
suppression covers.  The command line and the flake8 plugin both use it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from workflow_lint import config as configuration
from workflow_lint import snapshot as lockfile
from workflow_lint import suppress, warmup
from workflow_lint.diagnostics import Finding, Span
from workflow_lint.errors import SourceError
from workflow_lint.revision import Options
from workflow_lint.sides import (
    PathFilter,
    Side,
    is_snapshot,
    locate,
    new_side,
    old_side,
    python_file,
    recorded_sides,
    relocate,
    select_findings,
    source_of,
    wanted_paths,
)
from workflow_lint.suppress import Notice


@dataclasses.dataclass(frozen=True)
class Filters:
    """What is reported of the engine's findings."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def wants(self, code: str) -> bool:
        return configuration.wants_code(code, self.select, self.ignore)


@dataclasses.dataclass(frozen=True)
class Checked:
    findings: list[Finding]
    notices: list[Notice]


def judge(
    old: Side,
    new: Side,
    options: Options,
    filters: Filters,
    wanted: Sequence[str] = (),
) -> Checked:
    """Compare two versions, and keep what is reported: findings under
    ``wanted`` (PATHS as repository-relative prefixes), of the selected codes,
    not suppressed; paths as the user knows them."""
    try:
        report = warmup.compare(old.snapshot, new.snapshot, options)
    except SourceError as exc:
        raise locate(exc, old, new) from None
    findings = report.findings
    if wanted:
        findings = select_findings(findings, wanted)
    findings = [f for f in findings if filters.wants(f.code.code)]

    findings, notices = suppress.apply(findings, lambda f: source_of(f, old, new))
    notices = [n for n in notices if filters.wants(n.code)]
    return Checked(relocate(findings, old, new), notices)


def check_repository(
    root: str,
    base: str | None,
    *,
    options: Options,
    filters: Filters,
    keep: PathFilter = python_file,
    staged: bool = False,
    paths: Sequence[str] = (),
    overrides: Mapping[str, bytes] | None = None,
    empty_before_first: bool = False,
) -> Checked:
    """What ``check`` reports for the repository at ``root``: the index
    (``staged``) or the working tree, with ``overrides`` (path -> content)
    standing in for files on disk, judged against ``base`` (a revision,
    ``snapshot`` or ``snapshot:ID``; None is HEAD); only findings that concern
    ``paths`` when some are given."""
    new = new_side(root, staged, keep, overrides)
    if base is not None and is_snapshot(base):
        olds = recorded_sides(root, base, keep)
    else:
        olds = [("", old_side(root, base, keep, empty_before_first))]
    files = [new.snapshot.files, *(old.snapshot.files for _, old in olds)]
    wanted = wanted_paths(paths, root, files)
    if len(olds) == 1 and not olds[0][0]:
        return judge(olds[0][1], new, options, filters, wanted)
    per_version: list[tuple[str, list[Finding]]] = []
    notices: dict[tuple[str, Span, str], Notice] = {}
    for version_id, old in olds:
        checked = judge(old, new, options, filters, wanted)
        per_version.append((version_id, checked.findings))
        for n in checked.notices:
            notices.setdefault((n.code, n.span, n.message), n)
    return Checked(lockfile.merge(per_version), list(notices.values()))
