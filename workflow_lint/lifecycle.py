"""A patch's later life: ``patch deprecate NAME`` and ``patch remove NAME``.

Deprecating turns ``if DBOS.patch("p"): new else: old`` into
``DBOS.deprecate_patch("p")`` followed by ``new``; removing drops the
``deprecate_patch`` call.  Each step is only safe once no in-flight workflow
needs what it takes away, so the rewritten code is judged against the base
revision (the code in-flight workflows ran) before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from workflow_lint.check import Options, Snapshot, compare
from workflow_lint.diagnostics import Finding, Severity, Verdict
from workflow_lint.errors import UsageError
from workflow_lint.index import parse_source

PATCH_CALLS = {"patch": False, "patch_async": True}
DEPRECATE_CALLS = {"deprecate_patch": False, "deprecate_patch_async": True}


@dataclass
class LifecycleResult:
    files: dict[str, str] = field(default_factory=dict)
    blocking: list[Finding] = field(default_factory=list)
    sites: int = 0


def _patch_call(
    node: cst.BaseExpression, names: dict[str, bool]
) -> tuple[str, bool] | None:
    """(name, awaited) for ``DBOS.patch("p")`` / ``await DBOS.patch_async("p")``."""
    awaited = isinstance(node, cst.Await)
    call = node.expression if isinstance(node, cst.Await) else node
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
        return None
    if call.func.attr.value not in names or not call.args:
        return None
    arg = call.args[0].value
    if not isinstance(arg, (cst.SimpleString, cst.ConcatenatedString)):
        return None
    value = arg.evaluated_value
    if not isinstance(value, str):
        return None
    return value, awaited


def _statement_for(
    template: cst.Call, name: str, awaited: bool, method: str
) -> cst.SimpleStatementLine:
    assert isinstance(template.func, cst.Attribute)
    call = cst.Call(
        template.func.with_changes(attr=cst.Name(method)),
        [cst.Arg(cst.SimpleString(f'"{name}"'))],
    )
    expr: cst.BaseExpression = cst.Await(call) if awaited else call
    return cst.SimpleStatementLine([cst.Expr(expr)])


def _body(suite: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    assert isinstance(suite, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(list(suite.body))]


class _Deprecate(cst.CSTTransformer):
    def __init__(self, name: str) -> None:
        self.name = name
        self.sites = 0

    def leave_IndentedBlock(
        self, original: cst.IndentedBlock, updated: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        return updated.with_changes(body=self._rewrite(list(updated.body)))

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        return updated.with_changes(body=self._rewrite(list(updated.body)))

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        # `elif DBOS.patch(name): A else: B` inside a stack: the elif becomes
        # an else holding the deprecation and A.
        orelse = updated.orelse
        if isinstance(orelse, cst.If):
            found = self._match(orelse.test)
            if found is not None:
                self.sites += 1
                call, awaited = found
                body = [
                    _statement_for(call, self.name, awaited, self._method(awaited)),
                    *_body(orelse.body),
                ]
                return updated.with_changes(
                    orelse=cst.Else(
                        cst.IndentedBlock(body), leading_lines=orelse.leading_lines
                    )
                )
        return updated

    def _method(self, awaited: bool) -> str:
        return "deprecate_patch_async" if awaited else "deprecate_patch"

    def _match(self, test: cst.BaseExpression) -> tuple[cst.Call, bool] | None:
        found = _patch_call(test, PATCH_CALLS)
        if found is None or found[0] != self.name:
            return None
        call = test.expression if isinstance(test, cst.Await) else test
        assert isinstance(call, cst.Call)
        return call, found[1]

    def _rewrite(self, body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        out: list[cst.BaseStatement] = []
        for stmt in body:
            found = self._match(stmt.test) if isinstance(stmt, cst.If) else None
            if found is None or not isinstance(stmt, cst.If):
                out.append(stmt)
                continue
            self.sites += 1
            call, awaited = found
            marker = _statement_for(call, self.name, awaited, self._method(awaited))
            out.append(marker.with_changes(leading_lines=stmt.leading_lines))
            out.extend(_body(stmt.body))
        return out


class _Remove(cst.CSTTransformer):
    def __init__(self, name: str) -> None:
        self.name = name
        self.sites = 0

    def leave_IndentedBlock(
        self, original: cst.IndentedBlock, updated: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        body = self._rewrite(list(updated.body))
        return updated.with_changes(
            body=body or [cst.SimpleStatementLine([cst.Pass()])]
        )

    def _rewrite(self, body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        out: list[cst.BaseStatement] = []
        carry: tuple[cst.EmptyLine, ...] = ()
        for stmt in body:
            if (
                isinstance(stmt, cst.SimpleStatementLine)
                and len(stmt.body) == 1
                and isinstance(stmt.body[0], cst.Expr)
            ):
                found = _patch_call(stmt.body[0].value, DEPRECATE_CALLS)
                if found is not None and found[0] == self.name:
                    self.sites += 1
                    carry = (*carry, *stmt.leading_lines)
                    continue
            if carry and isinstance(
                stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
            ):
                stmt = stmt.with_changes(leading_lines=(*carry, *stmt.leading_lines))
                carry = ()
            out.append(stmt)
        return out


def rewrite(
    base: Snapshot,
    current: Snapshot,
    name: str,
    action: str,
    paths: set[str] | None = None,
    options: Options | None = None,
) -> LifecycleResult:
    """Rewrite every site of patch ``name``; refuse with the findings that show
    which histories the base revision still records would break."""
    result = LifecycleResult()
    files = dict(current.files)
    for path, data in current.files.items():
        if paths is not None and path not in paths:
            continue
        if name.encode() not in data:
            continue
        _, tree = parse_source(path, data)
        transformer: _Deprecate | _Remove = (
            _Deprecate(name) if action == "deprecate" else _Remove(name)
        )
        new_tree = tree.visit(transformer)
        if transformer.sites:
            result.sites += transformer.sites
            result.files[path] = new_tree.code
            files[path] = new_tree.code.encode()
    if not result.sites:
        what = "DBOS.patch" if action == "deprecate" else "DBOS.deprecate_patch"
        raise UsageError(f"no {what}({name!r}) found to {action}")
    report = compare(base, Snapshot("rewritten", files), options)
    before = compare(base, current, options)
    known = {(f.code, f.workflow) for f in before.findings}
    result.blocking = [
        f
        for f in report.findings
        if f.severity is Severity.ERROR
        and f.verdict is not Verdict.RULE
        and (f.code, f.workflow) not in known
    ]
    return result
