"""Which defs DBOS records, and under what name.

A step or workflow records ``name=`` when given, else the function's
``__qualname__``; that holds for decorated defs, for decorators applied by
calling them (``DBOS.step()(fn)``), and for datasource transactions.  The
module is never part of the name, which is why workflows are matched across
files by it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import libcst as cst

from workflow_lint import dbos_api
from workflow_lint.canon import NO_VALUE, constant_value, source_text
from workflow_lint.index import (
    DbosRef,
    FuncDef,
    FuncRef,
    ModuleInfo,
    Project,
    ValueRef,
)


class Kind(enum.Enum):
    WORKFLOW = "workflow"
    STEP = "step"
    PLAIN = "plain"


@dataclass(frozen=True, slots=True)
class Role:
    kind: Kind
    name: str | None
    """The recorded name; None when ``name=`` is computed at run time."""
    dynamic: str | None = None
    scheduled: bool = False


PLAIN = Role(Kind.PLAIN, None)


def _decorator_kind(
    project: Project, func: FuncDef, call_or_expr: cst.BaseExpression
) -> tuple[Kind, cst.Call | None] | None:
    callee = call_or_expr.func if isinstance(call_or_expr, cst.Call) else call_or_expr
    call = call_or_expr if isinstance(call_or_expr, cst.Call) else None
    target = project.resolve_expr(func.module, callee, func.parent)
    if isinstance(target, DbosRef) and target.attr is not None:
        if target.attr in dbos_api.STEP_DECORATORS:
            return Kind.STEP, call
        if target.attr in dbos_api.WORKFLOW_DECORATORS:
            return Kind.WORKFLOW, call
        if target.attr == dbos_api.SCHEDULED_DECORATOR:
            return Kind.WORKFLOW, None
        return None
    if (
        isinstance(callee, cst.Attribute)
        and callee.attr.value == "transaction"
        and not isinstance(target, FuncRef)
        and (target is None or isinstance(target, ValueRef))
        and func.module.mentions_dbos
    ):
        # `@ds.transaction()` on a SQLAlchemyDatasource: a step.
        return Kind.STEP, call
    if isinstance(target, FuncRef) and call is not None:
        return _factory_kind(project, target.func)
    return None


def _factory_kind(
    project: Project, factory: FuncDef
) -> tuple[Kind, cst.Call | None] | None:
    """An in-house decorator factory whose body returns ``DBOS.step(...)``."""
    body = factory.node.body
    if not isinstance(body, cst.IndentedBlock):
        return None
    for stmt in body.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Return) and isinstance(small.value, cst.Call):
                target = project.resolve_expr(factory.module, small.value.func, factory)
                if (
                    isinstance(target, DbosRef)
                    and target.attr in dbos_api.STEP_DECORATORS
                ):
                    return Kind.STEP, None
                if (
                    isinstance(target, DbosRef)
                    and target.attr in dbos_api.WORKFLOW_DECORATORS
                ):
                    return Kind.WORKFLOW, None
    return None


def _name_argument(call: cst.Call | None) -> cst.BaseExpression | None:
    if call is None:
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "name":
            return arg.value
    return None


def _module_constant(
    project: Project, module: ModuleInfo, expr: cst.BaseExpression, depth: int
) -> object:
    """``name=STEP_NAME`` or ``name=PREFIX + ".charge"``: module constants
    decide recorded names as surely as literals."""

    def lookup(name: str) -> object:
        if depth > 8:
            return NO_VALUE
        target = project.resolve_name(module, name)
        if isinstance(target, ValueRef) and target.values:
            return _module_constant(
                project, target.module, target.values[-1], depth + 1
            )
        return NO_VALUE

    return constant_value(expr, lookup)


def role_of(project: Project, func: FuncDef) -> Role:
    """What DBOS does with ``func``: run it as a workflow, a step, or inline."""
    found: tuple[Kind, cst.Call | None] | None = None
    scheduled = False
    for deco in func.decorators:
        decorated = _decorator_kind(project, func, deco)
        if decorated is None:
            continue
        callee = deco.func if isinstance(deco, cst.Call) else deco
        if isinstance(callee, cst.Attribute) and callee.attr.value == "scheduled":
            scheduled = True
        if found is None or found[1] is None:
            found = decorated
    if found is None:
        for reg in project.registrations_of(func):
            registered = _decorator_kind(project, func, reg.decorator)
            if registered is not None:
                found = registered
                break
    if found is None:
        return PLAIN
    kind, call = found
    name_expr = _name_argument(call)
    if name_expr is None:
        return Role(kind, func.qualname, scheduled=scheduled)
    value = _module_constant(project, func.module, name_expr, 0)
    if isinstance(value, str):
        return Role(kind, value, scheduled=scheduled)
    return Role(kind, None, dynamic=source_text(name_expr), scheduled=scheduled)


class RoleCache:
    """Roles are asked for many times per def; compute each once."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._roles: dict[int, tuple[FuncDef, Role]] = {}

    def __call__(self, func: FuncDef) -> Role:
        hit = self._roles.get(id(func))
        if hit is not None and hit[0] is func:
            return hit[1]
        role = role_of(self.project, func)
        self._roles[id(func)] = (func, role)
        return role
