"""The commands that read a DBOS system database: ``replay`` and ``patches``.

They read pending workflows through dbos's own client (read-only; see
``workflow_lint_runtime.history``) and judge what those workflows actually
recorded against the working tree's code, statically: nothing of the user's
code is imported or run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workflow_lint_runtime.replay_rules import marker

from workflow_lint.check import ModuleCache, Snapshot, load_project, workflows_of
from workflow_lint.errors import UsageError, WorkflowLintError
from workflow_lint.ir import Deprecate, Node, PatchIf, Site, WorkflowIR
from workflow_lint.lower import Lowering, _walk
from workflow_lint.pending import Fate, HistoryJudgement, PatchState, judge_history
from workflow_lint.roles import RoleCache

JSON_SCHEMA_VERSION = 1


class DatabaseError(WorkflowLintError):
    """The system database cannot be read (bad URL, missing, wrong schema)."""


@dataclass(frozen=True)
class Judged:
    workflow_id: str
    workflow: str
    status: str
    judgement: HistoryJudgement


def read_pending(url: str, show_progress: bool) -> list[object]:
    try:
        from workflow_lint_runtime.history import (
            HistoryDatabaseError,
            pending_histories,
        )
    except ImportError as exc:  # dbos is an optional dependency
        raise UsageError(
            f"reading a system database needs dbos installed ({exc.name} is missing): "
            'pip install "workflow-lint[dbos]"'
        ) from None

    def progress(done: int, total: int) -> None:
        if show_progress and total:
            sys.stderr.write(f"\rreading pending workflows: {done}/{total}")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    try:
        return list(pending_histories(url, progress=progress))
    except HistoryDatabaseError as exc:
        raise DatabaseError(str(exc)) from None


def lower_all(snapshot: Snapshot) -> dict[str, WorkflowIR]:
    project = load_project(snapshot, ModuleCache())
    roles = RoleCache(project)
    lowering = Lowering(project, roles)
    return {
        name: lowering.workflow(funcs[0], roles(funcs[0]))
        for name, funcs in workflows_of(project, roles).items()
    }


def _ir_for(history: object, irs: Mapping[str, WorkflowIR]) -> WorkflowIR | None:
    name = getattr(history, "workflow_name", "")
    if name in irs:
        return irs[name]
    class_name = getattr(history, "class_name", None)
    if class_name and f"{class_name}.{name}" in irs:
        return irs[f"{class_name}.{name}"]
    return None


def judge_pending(
    histories: Sequence[object], irs: Mapping[str, WorkflowIR]
) -> list[Judged]:
    out: list[Judged] = []
    for history in histories:
        ir = _ir_for(history, irs)
        name = getattr(history, "workflow_name", "?")
        if ir is None:
            judgement = HistoryJudgement(Fate.STRAND)
        else:
            judgement = judge_history(getattr(history, "rows", ()), ir)
        out.append(
            Judged(
                getattr(history, "workflow_id", "?"),
                name,
                getattr(history, "status", "?"),
                judgement,
            )
        )
    return out


def _where(site: Site | None) -> str:
    return f" ({site.path}:{site.line})" if site is not None and site.line else ""


def _describe(j: HistoryJudgement) -> str:
    if j.fate is Fate.STRAND:
        return "its workflow is gone from the code: it stays PENDING"
    if j.fate in (Fate.BREAK, Fate.AT_RISK):
        risk = "" if j.fate is Fate.BREAK else "on some paths "
        return (
            f"{risk}step {j.position} recorded {j.recorded}, the new code calls "
            f"{j.expected}{_where(j.site)}"
        )
    if j.fate is Fate.DRIFT:
        return f"recorded {j.recorded} at step {j.position} is never replayed"
    if j.fate is Fate.UNKNOWN:
        return "cannot be verified (code the checker cannot see through)"
    return "replays"


def render_replay(judged: Sequence[Judged], fmt: str) -> str:
    counts = {fate.value: 0 for fate in Fate}
    for j in judged:
        counts[j.judgement.fate.value] += 1
    if fmt == "json":
        doc = {
            "schema_version": JSON_SCHEMA_VERSION,
            "pending": [
                {
                    "workflow_id": j.workflow_id,
                    "workflow": j.workflow,
                    "status": j.status,
                    "fate": j.judgement.fate.value,
                    "position": j.judgement.position or None,
                    "recorded": j.judgement.recorded,
                    "expected": j.judgement.expected,
                    "message": _describe(j.judgement),
                }
                for j in judged
            ],
            "summary": counts,
        }
        return json.dumps(doc, indent=2) + "\n"
    lines: list[str] = []
    by_name: dict[str, list[Judged]] = {}
    for j in judged:
        by_name.setdefault(j.workflow, []).append(j)
    for name in sorted(by_name):
        group = by_name[name]
        bad = [j for j in group if j.judgement.fate.fails]
        lines.append(f"workflow {name}: {len(group)} pending, {len(bad)} would fail")
        for j in bad:
            lines.append(
                f"  {j.judgement.fate.value:8} {j.workflow_id} ({j.status}): "
                f"{_describe(j.judgement)}"
            )
    summary = ", ".join(f"{n} {fate}" for fate, n in counts.items() if n)
    lines.append(f"{len(judged)} pending workflow(s): {summary or 'none'}")
    return "\n".join(lines) + "\n"


@dataclass
class PatchReport:
    name: str
    workflow: str
    site: Site
    deprecated: bool
    holds: int = 0
    passed: int = 0
    not_reached: int = 0

    @property
    def verdict(self) -> str:
        if self.deprecated:
            return "keep" if self.holds else "ready to remove"
        # A live DBOS.patch is never ready to remove, even with no pending
        # workflow holding its marker: the running code writes the marker
        # into every new workflow, and those would break on the next deploy.
        # Deprecating first stops new markers (and `patch remove` only
        # removes a deprecate_patch).
        return "keep" if self.passed else "ready to deprecate"


def _patch_sites(ir: WorkflowIR) -> list[tuple[str, Site, bool]]:
    out: list[tuple[str, Site, bool]] = []
    nodes: list[Node] = list(_walk(ir.body))
    for node in nodes:
        if isinstance(node, PatchIf) and node.name is not None:
            out.append((node.name, node.site, False))
        elif isinstance(node, Deprecate) and node.name is not None:
            out.append((node.name, node.site, True))
    seen: set[tuple[str, bool]] = set()
    unique = []
    for name, site, deprecated in out:
        if (name, deprecated) not in seen:
            seen.add((name, deprecated))
            unique.append((name, site, deprecated))
    return unique


def patch_reports(
    histories: Sequence[object], irs: Mapping[str, WorkflowIR]
) -> list[PatchReport]:
    reports: list[PatchReport] = []
    for workflow, ir in sorted(irs.items()):
        sites = _patch_sites(ir)
        if not sites:
            continue
        mine = [h for h in histories if _ir_for(h, irs) is ir]
        judgements = [judge_history(getattr(h, "rows", ()), ir) for h in mine]
        for name, site, deprecated in sites:
            report = PatchReport(name, workflow, site, deprecated)
            for history, judgement in zip(mine, judgements, strict=True):
                rows = getattr(history, "rows", ())
                states = judgement.patches.get(name, set())
                if marker(name) in rows:
                    report.holds += 1
                elif PatchState.PASSED_WITHOUT in states:
                    report.passed += 1
                else:
                    report.not_reached += 1
            reports.append(report)
    return reports


def render_patches(
    reports: Sequence[PatchReport], fmt: str, stranded: int | None
) -> str:
    if fmt == "json":
        doc: dict[str, object] = {
            "schema_version": JSON_SCHEMA_VERSION,
            "patches": [
                {
                    "patch": r.name,
                    "workflow": r.workflow,
                    "path": r.site.path,
                    "line": r.site.line,
                    "form": "deprecate_patch" if r.deprecated else "patch",
                    "hold_marker": r.holds,
                    "passed_without_marker": r.passed,
                    "not_reached": r.not_reached,
                    "verdict": r.verdict,
                }
                for r in reports
            ],
        }
        if stranded is not None:
            doc["stranded_by_deploy"] = stranded
        return json.dumps(doc, indent=2) + "\n"
    lines = []
    for r in reports:
        form = "deprecate_patch" if r.deprecated else "patch"
        lines.append(
            f"{r.site.path}:{r.site.line}: {form}({r.name!r}) in {r.workflow}: "
            f"{r.holds} pending hold its marker, {r.passed} passed it without, "
            f"{r.not_reached} have not reached it -> {r.verdict}"
        )
    if not reports:
        lines.append("no patches in the code")
    if stranded is not None:
        lines.append(
            f"a deploy of the working tree changes the computed application "
            f"version: {stranded} pending workflow(s) would be left to old executors"
        )
    return "\n".join(lines) + "\n"


def blocking(before: Sequence[Judged], after: Sequence[Judged]) -> list[Judged]:
    """Pending workflows a rewrite makes fail that did not fail before."""
    failed = {j.workflow_id for j in before if j.judgement.fate.fails}
    return [j for j in after if j.judgement.fate.fails and j.workflow_id not in failed]
