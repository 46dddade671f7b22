"""Lowering a workflow body to the IR the judge replays.

Only what decides which DBOS operations run, and in which order, is kept.
Helpers are inlined (with a recursion guard) because their operations land
in the calling workflow's history; branch and loop keys are canonical texts
of what their conditions read, so the same decision in two revisions gets
the same key (see ``canon``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst
from workflow_lint_runtime.replay_rules import GET_RESULT, TIMER, Check, sleep_positions

from workflow_lint import dbos_api
from workflow_lint.canon import (
    NO_VALUE,
    constant_value,
    iteration_values,
    render,
    source_text,
)
from workflow_lint.diagnostics import Code, Finding, Span
from workflow_lint.digest import semantic_digest
from workflow_lint.index import (
    ClassDef,
    ClassRef,
    DbosRef,
    ExternalRef,
    FuncDef,
    FuncRef,
    ModuleInfo,
    ModuleRef,
    Project,
    Target,
    ValueRef,
)
from workflow_lint.ir import (
    EMPTY_BLOCK,
    Block,
    Deprecate,
    Exit,
    Handler,
    If,
    Inline,
    Loop,
    Node,
    Op,
    Opaque,
    PatchIf,
    Site,
    Try,
    Unit,
    WorkflowIR,
    sub_blocks,
)
from workflow_lint.roles import Kind, Role, RoleCache

MAX_INLINE_DEPTH = 16
MAX_RECURSION = 2
MAX_KNOWN_COUNT = 64


@dataclass
class _Def:
    kind: str  # "expr" | "elem" | "other"
    node: cst.BaseExpression | None = None
    index: tuple[int, ...] = ()


@dataclass
class Scope:
    """One function body being lowered (a workflow, or an inlined helper)."""

    func: FuncDef
    prefix: str
    params: dict[str, str]
    defs: dict[str, list[_Def]]
    cls: ClassDef | None
    stack: tuple[FuncDef, ...]
    reserve_runs: dict[str, cst.Call]
    fills: dict[str, list[cst.For | None]]
    counters: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    symbols: dict[str, str] = field(default_factory=dict)
    computing: set[str] = field(default_factory=set)
    overrides: dict[str, str] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)
    """What each local holds at the point being lowered (flow-sensitive)."""
    log: list[str] = field(default_factory=list)
    """Every local written, in order: a branch's writes are the log's tail,
    so merging after it touches only those (long workflows stay linear)."""
    current_node: dict[str, cst.BaseExpression | None] = field(default_factory=dict)
    passed: dict[str, tuple[cst.BaseExpression, Scope]] = field(default_factory=dict)
    """Parameters of an inlined helper: the caller's argument, in the caller's
    scope, so a callable passed in resolves to what it is."""
    """The expression last assigned to a local, where one assignment reaches."""

    @property
    def module(self) -> ModuleInfo:
        return self.func.module


@dataclass
class _Context:
    """Per-workflow facts gathered while lowering."""

    workflow: str
    is_async: bool
    report: bool
    findings: list[Finding]
    patch_names: list[tuple[str, Site]] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    guard_depth: int = 0
    """How many patch branches enclose the code being lowered."""


class Lowering:
    """Lowers workflows of one project revision."""

    def __init__(self, project: Project, roles: RoleCache) -> None:
        self.project = project
        self.roles = roles
        self._ctx: _Context | None = None
        self._value_cache: dict[tuple[int, str], object] = {}
        self._digests: dict[int, tuple[FuncDef, str]] = {}
        self.trace: dict[int, list[Node]] | None = None
        self._statements: list[cst.CSTNode] = []
        self._methods: dict[str, list[FuncDef]] | None = None
        """The statements being lowered, innermost last: an expression's
        position is found on its statement's line."""
        """When set, the IR of every statement of the lowered function itself
        (not of inlined helpers), by ``id`` of its CST node: ``fix`` aligns
        revisions statement by statement with it."""

    # ------------------------------------------------------------ entry

    def workflow(
        self, func: FuncDef, role: Role, findings: list[Finding] | None = None
    ) -> WorkflowIR:
        name = role.name if role.name is not None else f"<{role.dynamic}>"
        ctx = _Context(
            name,
            func.is_async,
            findings is not None,
            findings if findings is not None else [],
        )
        self._ctx = ctx
        scope = self._scope(func, "", None, (func,), None)
        body = self._body(func, scope)
        line, _ = func.module.position(func.node)
        ir = WorkflowIR(
            name,
            func.qualname,
            func.module.path,
            line,
            func.is_async,
            body,
            ctx.patch_names,
            ctx.loops,
        )
        self._check_patch_names(ctx)
        self._ctx = None
        return ir

    def trace_function(self, func: FuncDef, role: Role) -> dict[int, list[Node]]:
        """Lower ``func`` on its own and return the IR of each of its statements."""
        self.trace = {}
        try:
            self.workflow(func, role)
            return self.trace
        finally:
            self.trace = None

    @property
    def ctx(self) -> _Context:
        assert self._ctx is not None
        return self._ctx

    def _report(self, code: Code, message: str, site: Site) -> None:
        if self.ctx.report:
            self.ctx.findings.append(
                Finding(
                    code,
                    message,
                    Span(site.path, site.line, site.column),
                    workflow=self.ctx.workflow,
                )
            )

    def _check_patch_names(self, ctx: _Context) -> None:
        seen: dict[str, Site] = {}
        for name, site in ctx.patch_names:
            if name in seen and seen[name] != site:
                self._ctx = ctx
                self._report(
                    Code.PATCH_NAME_DUPLICATE,
                    f"patch name {name!r} is used twice in workflow {ctx.workflow}: "
                    "a history holding its marker takes both new branches",
                    site,
                )
            seen.setdefault(name, site)

    # ------------------------------------------------------------ scopes

    def _scope(
        self,
        func: FuncDef,
        prefix: str,
        bound: dict[str, str] | None,
        stack: tuple[FuncDef, ...],
        self_cls: ClassDef | None,
    ) -> Scope:
        params: dict[str, str] = {}
        node_params = func.node.params
        positional = [*node_params.posonly_params, *node_params.params]
        for index, param in enumerate(positional):
            pname = param.name.value
            if bound is not None:
                params[pname] = bound.get(pname, self._default_text(func, param))
            else:
                text = f"arg#{index}"
                if param.default is not None:
                    text += "=" + self._module_render(func, param.default)
                params[pname] = text
        for param in node_params.kwonly_params:
            pname = param.name.value
            if bound is not None:
                params[pname] = bound.get(pname, self._default_text(func, param))
            else:
                text = f"kw:{pname}"
                if param.default is not None:
                    text += "=" + self._module_render(func, param.default)
                params[pname] = text
        for star in (node_params.star_arg, node_params.star_kwarg):
            if isinstance(star, cst.Param):
                params[star.name.value] = f"*{star.name.value}"
        defs, reserve_runs, fills = _collect_defs(func)
        cls = self_cls if self_cls is not None else func.owner
        return Scope(func, prefix, params, defs, cls, stack, reserve_runs, fills)

    def _default_text(self, func: FuncDef, param: cst.Param) -> str:
        if param.default is None:
            return "?"
        return self._module_render(func, param.default)

    def _module_render(self, func: FuncDef, node: cst.BaseExpression) -> str:
        return render(node, lambda name: self._global_symbol(func.module, name, func))

    # ------------------------------------------------------------ symbols

    def symbol(self, scope: Scope, name: str) -> str:
        if name in scope.overrides:
            return scope.overrides[name]
        if name in scope.current:
            return scope.current[name]
        return self._insensitive_symbol(scope, name)

    def _insensitive_symbol(self, scope: Scope, name: str) -> str:
        """A local's value from all its assignments at once: for a use that
        no assignment reaches yet (a loop carrying it round)."""
        if name in scope.symbols:
            return scope.symbols[name]
        defs = scope.defs.get(name)
        if defs:
            if name in scope.computing:
                return f"local:{name}"
            scope.computing.add(name)
            try:
                text = self._def_text(scope, defs[0])
                if len(defs) > 1:
                    text += "#multi"
            finally:
                scope.computing.discard(name)
            scope.symbols[name] = text
            return text
        if name in scope.params:
            return scope.params[name]
        return self._global_symbol(scope.module, name, scope.func)

    def _def_text(self, scope: Scope, d: _Def) -> str:
        if d.node is None:
            return "?"
        text = self.render(scope, d.node)
        if d.kind == "elem":
            text = f"elem({text})"
        for i in d.index:
            text += f"[{i}]"
        return text

    def _global_symbol(
        self, module: ModuleInfo, name: str, func: FuncDef | None
    ) -> str:
        target = self.project.resolve_name(module, name, func)
        return self.target_symbol(target, name)

    def target_symbol(self, target: Target | None, name: str) -> str:
        if isinstance(target, FuncRef):
            role = self.roles(target.func)
            if role.kind is not Kind.PLAIN:
                return f"op:{role.name if role.name is not None else role.dynamic}"
            return f"fn:{target.func.qualname}@{self._digest(target.func)}"
        if isinstance(target, ClassRef):
            return f"cls:{target.cls.qualname}"
        if isinstance(target, ValueRef):
            value = self.global_value(target.module, target.name)
            if value is not NO_VALUE:
                return repr(value)
            return f"g:{target.module.name}.{target.name}"
        if isinstance(target, DbosRef):
            return "DBOS" if target.attr is None else f"DBOS.{target.attr}"
        if isinstance(target, ExternalRef):
            return target.dotted
        if isinstance(target, ModuleRef):
            return f"mod:{target.name}"
        return name

    def _digest(self, func: FuncDef) -> str:
        hit = self._digests.get(id(func))
        if hit is not None and hit[0] is func:
            return hit[1]

        def constant(name: str) -> object | None:
            target = self.project.resolve_name(func.module, name, func.parent)
            if isinstance(target, ValueRef):
                value = self.global_value(target.module, target.name)
                return None if value is NO_VALUE else value
            return None

        text = func.module.tree.code_for_node(func.node)
        digest = semantic_digest(text, constant)
        self._digests[id(func)] = (func, digest)
        return digest

    def global_value(self, module: ModuleInfo, name: str, depth: int = 0) -> object:
        key = (id(module), name)
        if key in self._value_cache:
            return self._value_cache[key]
        self._value_cache[key] = NO_VALUE  # guards cycles
        value: object = NO_VALUE
        values = module.assigns.get(name)
        if values and depth < 10:
            value = constant_value(
                values[-1], lambda other: self._lookup_value(module, other, depth + 1)
            )
        self._value_cache[key] = value
        return value

    def _lookup_value(self, module: ModuleInfo, name: str, depth: int) -> object:
        target = self.project.resolve_name(module, name)
        if isinstance(target, ValueRef):
            return self.global_value(target.module, target.name, depth)
        return NO_VALUE

    def value(self, scope: Scope, node: cst.BaseExpression) -> object:
        def lookup(name: str) -> object:
            if name in scope.params or name in scope.overrides:
                return NO_VALUE
            defs = scope.defs.get(name)
            if defs:
                if (
                    len(defs) == 1
                    and defs[0].kind == "expr"
                    and defs[0].node is not None
                ):
                    if name in scope.computing:
                        return NO_VALUE
                    scope.computing.add(name)
                    try:
                        return constant_value(defs[0].node, lookup)
                    finally:
                        scope.computing.discard(name)
                return NO_VALUE
            return self._lookup_value(scope.module, name, 0)

        return constant_value(node, lookup)

    def render(self, scope: Scope, node: cst.CSTNode) -> str:
        return render(
            node,
            lambda name: self.symbol(scope, name),
            lambda call: self._call_symbol(scope, call),
        )

    def _call_symbol(self, scope: Scope, call: cst.Call) -> str | None:
        """A recorded operation's result is its recorded output on replay."""
        target = self.resolve_callee(call.func, scope)
        if isinstance(target, DbosRef) and target.attr in dbos_api.DBOS_CALLS:
            if target.attr in ("run_step", "run_step_async"):
                args = [a for a in call.args if a.keyword is None]
                unit = self._step_unit(
                    args[0].value if args else None,
                    args[1].value if len(args) > 1 else None,
                    scope,
                )
                if unit.name is not None:
                    return f"op:{unit.name}"
            return f"op:DBOS.{target.attr.removesuffix('_async')}"
        if isinstance(target, FuncRef):
            role = self.roles(target.func)
            if role.kind is not Kind.PLAIN:
                return f"op:{role.name if role.name is not None else role.dynamic}"
            return self._expression_helper(target.func, call, scope)
        return None

    def _expression_helper(
        self, func: FuncDef, call: cst.Call, scope: Scope
    ) -> str | None:
        """A helper whose body is one ``return <expr>`` stands for that
        expression: moving a condition into a predicate keeps its key."""
        body = func.node.body
        statements = list(body.body) if isinstance(body, cst.IndentedBlock) else []
        if statements and _is_docstring(statements[0]):
            statements = statements[1:]
        if len(statements) != 1 or not isinstance(
            statements[0], cst.SimpleStatementLine
        ):
            return None
        small = statements[0].body
        if len(small) != 1 or not isinstance(small[0], cst.Return):
            return None
        value = small[0].value
        if value is None or len(scope.stack) > MAX_INLINE_DEPTH:
            return None
        if any(f is func for f in scope.stack):
            return None
        inner = self._scope(
            func,
            scope.prefix,
            self._bind(func, call, scope),
            (*scope.stack, func),
            scope.cls,
        )
        return self.render(inner, value)

    def key(self, scope: Scope, text: str) -> str:
        count = scope.counters.get(text, 0)
        scope.counters[text] = count + 1
        return f"{scope.prefix}{text}#{count}"

    def site(self, scope: Scope, node: cst.CSTNode) -> Site:
        within = self._statements[-1] if self._statements else None
        line, column = scope.module.position(node, within)
        return Site(scope.module.path, line, column, scope.module.line_text(line))

    # ------------------------------------------------------------ statements

    def _body(self, func: FuncDef, scope: Scope) -> Block:
        body = func.node.body
        if isinstance(body, cst.IndentedBlock):
            return self.block(body.body, scope)
        return self.block(body.body, scope)

    def block(self, statements: Sequence[cst.CSTNode], scope: Scope) -> Block:
        out: list[Node] = []
        for stmt in statements:
            out.extend(self.statement(stmt, scope))
        return Block(out)

    def _suite(self, suite: cst.BaseSuite | None, scope: Scope) -> Block:
        if suite is None:
            return EMPTY_BLOCK
        if isinstance(suite, cst.IndentedBlock):
            return self.block(suite.body, scope)
        return self.block(suite.body, scope)

    def statement(self, stmt: cst.CSTNode, scope: Scope) -> list[Node]:
        self._statements.append(stmt)
        try:
            nodes = self._statement(stmt, scope)
        finally:
            self._statements.pop()
        if self.trace is not None and not scope.stack[1:]:
            self.trace[id(stmt)] = nodes
        return nodes

    def _statement(self, stmt: cst.CSTNode, scope: Scope) -> list[Node]:
        if isinstance(stmt, cst.SimpleStatementLine):
            out: list[Node] = []
            for small in stmt.body:
                out.extend(self.small_statement(small, scope))
            return out
        if isinstance(stmt, cst.If):
            return self.if_statement(stmt, scope)
        if isinstance(stmt, cst.For):
            return self.for_statement(stmt, scope)
        if isinstance(stmt, cst.While):
            return self.while_statement(stmt, scope)
        if isinstance(stmt, (cst.Try, cst.TryStar)):
            return self.try_statement(stmt, scope)
        if isinstance(stmt, cst.With):
            out = []
            for item in stmt.items:
                out.extend(self.expr_ops(item.item, scope))
            out.extend(self._suite(stmt.body, scope).items)
            return out
        if isinstance(stmt, cst.Match):
            return self.match_statement(stmt, scope)
        return []

    def small_statement(
        self, small: cst.BaseSmallStatement, scope: Scope
    ) -> list[Node]:
        if isinstance(small, cst.Expr):
            return self.expr_ops(small.value, scope, statement=True)
        if isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            if small.value is None:
                return []
            ops = self.expr_ops(small.value, scope)
            text = self.render(scope, small.value)
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    self._assign(scope, target.target, text, small.value)
            elif isinstance(small, cst.AnnAssign):
                self._assign(scope, small.target, text, small.value)
            elif isinstance(small.target, cst.Name):
                old = self.symbol(scope, small.target.value)
                scope.log.append(small.target.value)
                scope.current[small.target.value] = (
                    f"({old} {source_text(small.operator)} {text})"
                )
            return ops
        if isinstance(small, cst.Return):
            out = self.expr_ops(small.value, scope) if small.value is not None else []
            return [*out, Exit("return", self.site(scope, small))]
        if isinstance(small, cst.Raise):
            out = self.expr_ops(small.exc, scope) if small.exc is not None else []
            return [*out, Exit("raise", self.site(scope, small))]
        if isinstance(small, cst.Break):
            return [Exit("break", self.site(scope, small))]
        if isinstance(small, cst.Continue):
            return [Exit("continue", self.site(scope, small))]
        if isinstance(small, cst.Assert):
            return self.expr_ops(small.test, scope)
        return []

    def _assign(
        self,
        scope: Scope,
        target: cst.BaseExpression,
        text: str,
        value: cst.BaseExpression | None = None,
    ) -> None:
        for name, index in _target_names(target):
            scope.log.append(name)
            scope.current[name] = text + "".join(f"[{i}]" for i in index)
            scope.current_node[name] = value if not index else None

    def _merge(
        self,
        before: dict[str, str],
        states: list[tuple[dict[str, str], Block]],
        written: set[str] | None = None,
    ) -> dict[str, str]:
        """Locals after branches: a branch that always leaves (return, raise,
        break, continue) contributes nothing."""
        live = [state for state, block in states if not _leaves(block)]
        if not live:
            return dict(before)
        if len(live) == 1:
            return dict(live[0])
        # Only names some branch changed need merging: compare item sets (in
        # C), not every local one by one, so long workflows stay linear.
        if written is not None:
            changed = written
        else:
            base = before.items()
            changed = set()
            for state in live:
                changed.update(name for name, _ in state.items() - base)
        merged = dict(before)
        for name in changed:
            values = sorted({state.get(name, before.get(name, "?")) for state in live})
            merged[name] = (
                values[0] if len(values) == 1 else "phi(" + ";".join(values) + ")"
            )
        return merged

    def _carry_loop(self, scope: Scope, statements: cst.CSTNode) -> None:
        """Locals a loop body assigns may hold any iteration's value."""
        for name in sorted(_assigned_names(statements)):
            if name not in scope.overrides:
                base = scope.current.get(name) or self._insensitive_symbol(scope, name)
                scope.log.append(name)
                scope.current[name] = base if base.endswith("~loop") else base + "~loop"
                scope.current_node[name] = None

    def if_statement(self, stmt: cst.If, scope: Scope) -> list[Node]:
        # Branches are exclusive, so each starts from the same occurrence
        # counts: the same condition written in both (as a patch's two
        # versions of one code) gets the same key in both.
        start = dict(scope.counters)
        before = dict(scope.current)
        mark = len(scope.log)
        guarded = self._patch_call(stmt.test, scope, report=False)
        self.ctx.guard_depth += guarded is not None
        try:
            body = self._suite(stmt.body, scope)
        finally:
            self.ctx.guard_depth -= guarded is not None
        after_body = scope.counters
        scope.counters = dict(start)
        body_state = scope.current
        scope.current = dict(before)
        orelse: Block
        if isinstance(stmt.orelse, cst.If):
            orelse = Block(self.statement(stmt.orelse, scope))
        elif isinstance(stmt.orelse, cst.Else):
            orelse = self._suite(stmt.orelse.body, scope)
        else:
            orelse = EMPTY_BLOCK
        for text, count in after_body.items():
            scope.counters[text] = max(count, scope.counters.get(text, 0))
        written = set(scope.log[mark:])
        if guarded is not None:
            # Behind a patch, histories that reach the code later take the
            # branch that matches them: the else branch is the old code.
            taken = (body_state, body) if _leaves(orelse) else (scope.current, orelse)
            merged = self._merge(before, [taken])
        else:
            merged = self._merge(
                before, [(body_state, body), (scope.current, orelse)], written
            )
        scope.current = before
        nodes = self.condition(stmt.test, body, orelse, scope, stmt)
        scope.current = merged
        # Only a name this statement assigned can have become a merge of two
        # values; looking at every local would make long workflows quadratic.
        for name in written:
            if merged.get(name, "").startswith("phi("):
                scope.current_node[name] = None
        return nodes

    def condition(
        self,
        test: cst.BaseExpression,
        body: Block,
        orelse: Block,
        scope: Scope,
        anchor: cst.CSTNode,
    ) -> list[Node]:
        """Lower ``if test: body else: orelse`` with short-circuit evaluation."""
        test = test
        if isinstance(test, cst.Call):
            target = self.resolve_callee(test.func, scope)
            if isinstance(target, DbosRef) and target.attr == "patch_async":
                # `if DBOS.patch_async(...)` without await: a coroutine object is
                # always true, no marker is read or written.
                self._report_unawaited(target.attr, test, scope)
                return list(body.items)
        patch = self._patch_call(test, scope)
        if patch is not None:
            name, call = patch
            return [PatchIf(name, body, orelse, self.site(scope, call))]
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self.condition(test.expression, orelse, body, scope, anchor)
        if isinstance(test, cst.BooleanOperation) and self._needs_split(test, scope):
            if isinstance(test.operator, cst.And):
                inner = Block(self.condition(test.right, body, orelse, scope, anchor))
                return self.condition(test.left, inner, orelse, scope, anchor)
            inner = Block(self.condition(test.right, body, orelse, scope, anchor))
            return self.condition(test.left, body, inner, scope, anchor)
        out = self.expr_ops(test, scope)
        if not body.items and not orelse.items:
            return out
        key = self.key(scope, "if:" + self.render(scope, test))
        out.append(If(key, body, orelse, self.site(scope, anchor)))
        return out

    def _needs_split(self, test: cst.BooleanOperation, scope: Scope) -> bool:
        """Split ``a and b`` only where an operand records something."""
        return self._has_effects(test.right, scope) or self._has_effects(
            test.left, scope
        )

    def _has_effects(self, node: cst.BaseExpression, scope: Scope) -> bool:
        if self._patch_call(node, scope, report=False) is not None:
            return True
        return bool(self._expr_ops_quiet(node, scope))

    def _expr_ops_quiet(self, node: cst.BaseExpression, scope: Scope) -> list[Node]:
        saved_counters = dict(scope.counters)
        saved_calls = dict(scope.calls)
        ctx = self.ctx
        saved = (ctx.report, len(ctx.patch_names), len(ctx.loops))
        ctx.report = False
        try:
            return self.expr_ops(node, scope)
        finally:
            ctx.report = saved[0]
            del ctx.patch_names[saved[1] :]
            del ctx.loops[saved[2] :]
            scope.counters = saved_counters
            scope.calls = saved_calls

    def _patch_call(
        self, test: cst.BaseExpression, scope: Scope, report: bool = True
    ) -> tuple[str | None, cst.Call] | None:
        call = test.expression if isinstance(test, cst.Await) else test
        if not isinstance(call, cst.Call):
            return None
        target = self.resolve_callee(call.func, scope)
        if not isinstance(target, DbosRef) or target.attr not in (
            "patch",
            "patch_async",
        ):
            return None
        name = self._patch_name(call, scope, report)
        if report:
            self._check_patch_form(target.attr, call, scope)
            if name is not None:
                self.ctx.patch_names.append((name, self.site(scope, call)))
        return name, call

    def _report_unawaited(self, attr: str, call: cst.Call, scope: Scope) -> None:
        effect = (
            "the condition is always true and no marker is recorded"
            if attr == "patch_async"
            else "the marker is never consumed"
        )
        self._report(
            Code.PATCH_FORM,
            f"DBOS.{attr}() is not awaited: the coroutine never runs, so {effect}; "
            f"write await DBOS.{attr}(...)",
            self.site(scope, call),
        )

    def _patch_name(self, call: cst.Call, scope: Scope, report: bool) -> str | None:
        if call.args:
            value = self.value(scope, call.args[0].value)
            if isinstance(value, str):
                if (
                    not isinstance(
                        call.args[0].value, (cst.SimpleString, cst.ConcatenatedString)
                    )
                    and report
                ):
                    self._report(
                        Code.PATCH_NAME_DYNAMIC,
                        "patch name is a variable "
                        f"({source_text(call.args[0].value)}); write the "
                        "literal so tools and people can find it",
                        self.site(scope, call),
                    )
                return value
        if report:
            self._report(
                Code.PATCH_NAME_DYNAMIC,
                "patch name is not a string literal: histories cannot be matched to it",
                self.site(scope, call),
            )
        return None

    def _check_patch_form(self, attr: str, call: cst.Call, scope: Scope) -> None:
        is_async_form = attr.endswith("_async")
        if self.ctx.is_async and not is_async_form:
            self._report(
                Code.PATCH_FORM,
                f"DBOS.{attr}() in async workflow {self.ctx.workflow} raises "
                f"RuntimeError; use await DBOS.{attr}_async()",
                self.site(scope, call),
            )
        elif not self.ctx.is_async and is_async_form:
            self._report(
                Code.PATCH_FORM,
                f"DBOS.{attr}() in sync workflow {self.ctx.workflow}; "
                f"use DBOS.{attr.removesuffix('_async')}()",
                self.site(scope, call),
            )

    def for_statement(self, stmt: cst.For, scope: Scope) -> list[Node]:
        iter_expr = stmt.iter
        out: list[Node] = []
        head = EMPTY_BLOCK
        stream = self._stream_call(iter_expr, scope)
        if stream is not None:
            out.extend(self._args_ops(stream, scope))
            head = Block(
                [
                    Op(
                        (Unit("DBOS.readStream"),),
                        "DBOS.read_stream",
                        self.site(scope, stream),
                    )
                ]
            )
        else:
            out.extend(self.expr_ops(iter_expr, scope))
        header = self._loop_header(scope, iter_expr, with_count=stream is None)
        item = self.render(scope, iter_expr)
        self._carry_loop(scope, stmt.body)
        self._assign(scope, stmt.target, f"elem({item})")
        body = self._suite(stmt.body, scope)
        count = header[2]
        if not (count and count >= 1 and not _exits_loop(body)):
            # Zero iterations (or a break) may leave the values from before.
            self._carry_loop(scope, stmt.body)
        orelse = (
            self._suite(stmt.orelse.body, scope)
            if stmt.orelse is not None
            else EMPTY_BLOCK
        )
        out.append(self._make_loop(scope, header, head, body, orelse, stmt))
        return out

    def _stream_call(self, node: cst.BaseExpression, scope: Scope) -> cst.Call | None:
        if isinstance(node, cst.Call):
            target = self.resolve_callee(node.func, scope)
            if isinstance(target, DbosRef) and target.attr in (
                "read_stream",
                "read_stream_async",
            ):
                return node
        return None

    def _loop(
        self,
        scope: Scope,
        iter_expr: cst.BaseExpression,
        head: Block,
        body: Block,
        orelse: Block,
        anchor: cst.CSTNode,
        with_count: bool = True,
    ) -> Loop:
        header = self._loop_header(scope, iter_expr, with_count)
        return self._make_loop(scope, header, head, body, orelse, anchor)

    def _make_loop(
        self,
        scope: Scope,
        header: tuple[str, str, int | None, tuple[str, ...] | None],
        head: Block,
        body: Block,
        orelse: Block,
        anchor: cst.CSTNode,
    ) -> Loop:
        key, ident, count, values = header
        loop = Loop(
            key,
            ident,
            head,
            body,
            orelse,
            count,
            values,
            False,
            self.site(scope, anchor),
        )
        if not self.ctx.guard_depth:
            self.ctx.loops.append(loop)
        return loop

    def _loop_header(
        self, scope: Scope, iter_expr: cst.BaseExpression, with_count: bool
    ) -> tuple[str, str, int | None, tuple[str, ...] | None]:
        source = self._iteration_source(scope, iter_expr, 0)
        text = self._length_text(scope, source)
        count: int | None = None
        values: tuple[str, ...] | None = None
        if with_count:
            items = iteration_values(self.value(scope, source))
            if items is not None and len(items) <= MAX_KNOWN_COUNT:
                count = len(items)
                values = tuple(repr(v) for v in items)
        # No occurrence number: every loop over the same collection runs the
        # same number of times (a fan-out and the loop collecting its handles).
        return (
            f"{scope.prefix}for:{text}",
            f"{scope.prefix}for:{source_text(iter_expr)}",
            count,
            values,
        )

    def _length_text(self, scope: Scope, node: cst.BaseExpression) -> str:
        """What decides how many items a loop sees, ignoring their order:
        ``reversed(range(n))`` and ``range(n, 0, -1)`` loop as often as
        ``range(n)``."""
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
            args = [a.value for a in node.args if a.keyword is None and not a.star]
            name = node.func.value
            if name in ("reversed", "sorted", "list", "tuple", "enumerate") and args:
                return self._length_text(scope, args[0])
            if name == "range" and len(args) == 1:
                inner = args[0]
                if (
                    isinstance(inner, cst.Call)
                    and isinstance(inner.func, cst.Name)
                    and inner.func.value == "int"
                    and len(inner.args) == 1
                ):
                    args = [inner.args[0].value]
                return "len:" + self.render(scope, args[0])
            if name == "range" and len(args) == len(node.args):
                values = [self.value(scope, a) for a in args]
                if len(args) == 1:
                    return "len:" + self.render(scope, args[0])
                if len(args) in (2, 3):
                    step = values[2] if len(args) == 3 else 1
                    if values[0] == 0 and step == 1:
                        return "len:" + self.render(scope, args[1])
                    if values[1] == 0 and step == -1:
                        return "len:" + self.render(scope, args[0])
        return self.render(scope, node)

    def _iteration_source(
        self, scope: Scope, node: cst.BaseExpression, depth: int
    ) -> cst.BaseExpression:
        """The collection whose length decides how often a loop over ``node``
        runs: a list built by a comprehension or by appends in one loop has as
        many items as that loop has iterations."""
        if depth > 8 or not isinstance(node, cst.Name) or node.value in scope.overrides:
            return node
        reaching = scope.current_node.get(node.value)
        if (
            isinstance(reaching, (cst.ListComp, cst.GeneratorExp, cst.SetComp))
            and reaching.for_in.inner_for_in is None
            and not reaching.for_in.ifs
        ):
            return self._iteration_source(scope, reaching.for_in.iter, depth + 1)
        defs = scope.defs.get(node.value, [])
        exprs = [d for d in defs if d.kind == "expr" and d.node is not None]
        if len(defs) == 1 and exprs:
            value = exprs[0].node
            if (
                isinstance(value, (cst.ListComp, cst.GeneratorExp, cst.SetComp))
                and value.for_in.inner_for_in is None
                and not value.for_in.ifs
            ):
                return self._iteration_source(scope, value.for_in.iter, depth + 1)
            return node
        fills = scope.fills.get(node.value, [])
        if (
            len(exprs) == 1
            and isinstance(exprs[0].node, cst.List)
            and not exprs[0].node.elements
            and len(fills) == 1
            and fills[0] is not None
            and len(defs) == 2
        ):
            return self._iteration_source(scope, fills[0].iter, depth + 1)
        return node

    def while_statement(self, stmt: cst.While, scope: Scope) -> list[Node]:
        test = stmt.test
        value = self.value(scope, test)
        forever = value is not NO_VALUE and bool(value)
        counted = self._counter_count(stmt, scope)
        self._carry_loop(scope, stmt.body)
        head = Block(self.expr_ops(test, scope))
        text = self.render(scope, test)
        key = self.key(scope, "while:" + text)
        body = self._suite(stmt.body, scope)
        self._carry_loop(scope, stmt.body)
        loop = Loop(
            key,
            f"{scope.prefix}while:{source_text(test)}",
            head,
            body,
            self._suite(stmt.orelse.body, scope)
            if stmt.orelse is not None
            else EMPTY_BLOCK,
            counted
            if counted is not None
            else (0 if value is not NO_VALUE and not value else None),
            None,
            forever,
            self.site(scope, stmt),
        )
        self.ctx.loops.append(loop)
        return [loop]

    def _counter_count(self, stmt: cst.While, scope: Scope) -> int | None:
        """``i = 0`` / ``while i < N:`` / ``...`` / ``i += 1``: a counted loop."""
        test = stmt.test
        if not (
            isinstance(test, cst.Comparison)
            and isinstance(test.left, cst.Name)
            and len(test.comparisons) == 1
        ):
            return None
        var = test.left.value
        comparison = test.comparisons[0]
        start = scope.current.get(var)
        bound = self.value(scope, comparison.comparator)
        try:
            first = int(start) if start is not None else None
        except ValueError:
            return None
        if first is None or not isinstance(bound, int) or isinstance(bound, bool):
            return None
        steps: list[int] = []
        for item in _statements_of(stmt.body):
            if isinstance(item, cst.SimpleStatementLine):
                for small in item.body:
                    if (
                        isinstance(small, cst.AugAssign)
                        and isinstance(small.target, cst.Name)
                        and small.target.value == var
                        and isinstance(small.operator, cst.AddAssign)
                    ):
                        step = self.value(scope, small.value)
                        if isinstance(step, int) and step > 0:
                            steps.append(step)
        assigned = _assigned_names(stmt.body)
        if len(steps) != 1 or _has_break(stmt.body):
            return None
        if var in assigned and _assignment_count(stmt.body, var) != 1:
            return None
        operator = type(comparison.operator)
        if operator is cst.LessThan:
            span = bound - first
        elif operator is cst.LessThanEqual:
            span = bound - first + 1
        else:
            return None
        count = max(0, -(-span // steps[0]))
        return count if count <= MAX_KNOWN_COUNT else None

    def try_statement(self, stmt: cst.Try | cst.TryStar, scope: Scope) -> list[Node]:
        before = dict(scope.current)
        body = self._suite(stmt.body, scope)
        after_body = dict(scope.current)
        partial = self._merge(
            before, [(before, EMPTY_BLOCK), (after_body, EMPTY_BLOCK)]
        )
        ends: list[tuple[dict[str, str], Block]] = []
        handlers: list[Handler] = []
        for handler in stmt.handlers:
            type_key, broad = self._handler_type(handler.type, scope)
            scope.current = dict(partial)
            if handler.name is not None and isinstance(handler.name.name, cst.Name):
                self._assign(scope, handler.name.name, f"exc({type_key})")
            handler_body = self._suite(handler.body, scope)
            ends.append((scope.current, handler_body))
            handlers.append(Handler(type_key, handler_body, broad))
            if broad and _block_has_ops(body) and not _reraises(handler_body):
                self._report(
                    Code.BROAD_EXCEPT,
                    f"`except {type_key if type_key != '*' else ''}` around operations "
                    f"in workflow {self.ctx.workflow} also catches "
                    "DBOSUnexpectedStepError: a replay mismatch would be swallowed "
                    "and the workflow would run on with wrong results; catch narrower "
                    "exceptions or re-raise",
                    self.site(scope, handler),
                )
        scope.current = after_body
        orelse = (
            self._suite(stmt.orelse.body, scope)
            if stmt.orelse is not None
            else EMPTY_BLOCK
        )
        ends.append((scope.current, Block([*body.items, *orelse.items])))
        scope.current = self._merge(partial, ends)
        final = (
            self._suite(stmt.finalbody.body, scope)
            if stmt.finalbody is not None
            else EMPTY_BLOCK
        )
        return [Try(body, tuple(handlers), orelse, final, self.site(scope, stmt))]

    def _handler_type(
        self, node: cst.BaseExpression | None, scope: Scope
    ) -> tuple[str, bool]:
        if node is None:
            return "*", True
        names = []
        elements = node.elements if isinstance(node, cst.Tuple) else None
        if elements is not None:
            names = [source_text(e.value) for e in elements]
        else:
            names = [source_text(node)]
        broad = any(n.split(".")[-1] in dbos_api.BROAD_EXCEPTIONS for n in names)
        return ",".join(names), broad

    def match_statement(self, stmt: cst.Match, scope: Scope) -> list[Node]:
        out = self.expr_ops(stmt.subject, scope)
        subject = self.render(scope, stmt.subject)
        chain: Block = EMPTY_BLOCK
        for case in reversed(stmt.cases):
            body = self._suite(case.body, scope)
            text = f"match:{subject}:{source_text(case.pattern)}"
            if case.guard is not None:
                text += f" if {self.render(scope, case.guard)}"
            chain = Block(
                [If(self.key(scope, text), body, chain, self.site(scope, case))]
            )
        out.extend(chain.items)
        return out

    # ------------------------------------------------------------ expressions

    def expr_ops(
        self, node: cst.BaseExpression, scope: Scope, statement: bool = False
    ) -> list[Node]:
        """The operations evaluating ``node`` records, in evaluation order."""
        node = node
        if isinstance(node, cst.Await):
            inner = node.expression
            if isinstance(inner, cst.Call):
                return self.call_ops(inner, scope, statement, awaited=True)
            return self.expr_ops(inner, scope, statement)
        if isinstance(node, cst.Call):
            return self.call_ops(node, scope, statement)
        if isinstance(node, (cst.Lambda, cst.Name, cst.BaseNumber, cst.BaseString)):
            if isinstance(node, cst.FormattedString):
                out: list[Node] = []
                for part in node.parts:
                    if isinstance(part, cst.FormattedStringExpression):
                        out.extend(self.expr_ops(part.expression, scope))
                return out
            return []
        if isinstance(node, cst.BooleanOperation):
            left = self.expr_ops(node.left, scope)
            right = self.expr_ops(node.right, scope)
            if not right:
                return left
            key = self.key(scope, "if:" + self.render(scope, node.left))
            site = self.site(scope, node)
            if isinstance(node.operator, cst.And):
                return [*left, If(key, Block(right), EMPTY_BLOCK, site)]
            return [*left, If(key, EMPTY_BLOCK, Block(right), site)]
        if isinstance(node, cst.IfExp):
            body = Block(self.expr_ops(node.body, scope))
            orelse = Block(self.expr_ops(node.orelse, scope))
            return self.condition(node.test, body, orelse, scope, node)
        if isinstance(
            node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)
        ):
            return self.comprehension(node, scope)
        out = []
        for child in _child_expressions(node):
            out.extend(self.expr_ops(child, scope))
        return out

    def comprehension(
        self,
        node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp,
        scope: Scope,
    ) -> list[Node]:
        clauses: list[cst.CompFor] = []
        clause: cst.CompFor | None = node.for_in
        while clause is not None:
            clauses.append(clause)
            clause = clause.inner_for_in
        saved = dict(scope.overrides)
        for comp in clauses:
            iter_text = self.render(scope, comp.iter)
            for name, index in _target_names(comp.target):
                text = f"elem({iter_text})" + "".join(f"[{i}]" for i in index)
                scope.overrides[name] = text
        if isinstance(node, cst.DictComp):
            elt_ops = self.expr_ops(node.key, scope) + self.expr_ops(node.value, scope)
        else:
            elt_ops = self.expr_ops(node.elt, scope)
        first_iter_ops = self.expr_ops(clauses[0].iter, scope)
        inner: Block = Block(elt_ops)
        for comp in reversed(clauses):
            for cond in reversed(comp.ifs):
                inner = Block(
                    self.condition(cond.test, inner, EMPTY_BLOCK, scope, cond)
                )
            iter_ops = [] if comp is clauses[0] else self.expr_ops(comp.iter, scope)
            loop = self._loop(scope, comp.iter, EMPTY_BLOCK, inner, EMPTY_BLOCK, comp)
            inner = Block([*iter_ops, loop])
        scope.overrides = saved
        if not _block_has_ops(inner):
            return first_iter_ops
        return [*first_iter_ops, *inner.items]

    def _args_ops(self, call: cst.Call, scope: Scope) -> list[Node]:
        out: list[Node] = []
        for arg in call.args:
            out.extend(self.expr_ops(arg.value, scope))
        return out

    def call_ops(
        self,
        call: cst.Call,
        scope: Scope,
        statement: bool = False,
        awaited: bool = False,
    ) -> list[Node]:
        out: list[Node] = []
        func = call.func
        if isinstance(func, cst.Attribute):
            out.extend(self.expr_ops(func.value, scope))
        elif not isinstance(func, cst.Name):
            out.extend(self.expr_ops(func, scope))
        target = self.resolve_callee(func, scope)
        if (
            isinstance(target, DbosRef)
            and target.attr in dbos_api.ASYNC_PATCH
            and not awaited
        ):
            # An un-awaited coroutine: DBOS never runs it, nothing is recorded.
            self._report_unawaited(target.attr, call, scope)
            return [*out, *self._args_ops(call, scope)]
        if isinstance(target, DbosRef) and target.attr in ("patch", "patch_async"):
            # A bare patch call (its value unused, or in an expression the
            # checker does not split): it still takes the marker's position.
            patch = self._patch_call(call if not awaited else cst.Await(call), scope)
            name = patch[0] if patch is not None else None
            return [
                *out,
                *self._args_ops(call, scope),
                PatchIf(name, EMPTY_BLOCK, EMPTY_BLOCK, self.site(scope, call)),
            ]
        if target is None and isinstance(func, cst.Name) and func.value == "map":
            mapped = self._map_loop(call, scope)
            if mapped is not None:
                return [*out, *mapped]
        if isinstance(target, ExternalRef) and target.dotted == "asyncio.gather":
            out.extend(self._gather_ops(call, scope))
        else:
            out.extend(self._args_ops(call, scope))
        own = self.call_itself(call, func, target, scope)
        for node in own:
            if isinstance(node, Op) and any(u.dynamic is not None for u in node.units):
                self._report(
                    Code.OPAQUE,
                    f"workflow {self.ctx.workflow} records a name computed at run "
                    f"time ({node.units[0].display()}): the checker cannot tell "
                    "which names in-flight histories hold here",
                    node.site,
                )
        out.extend(own)
        return out

    def _map_loop(self, call: cst.Call, scope: Scope) -> list[Node] | None:
        """``map(lambda x: step(x), items)`` runs like a comprehension."""
        args = [a.value for a in call.args if a.keyword is None and not a.star]
        if len(args) != 2 or not isinstance(args[0], cst.Lambda):
            return None
        func, items = args[0], args[1]
        params = func.params.params
        if len(params) != 1:
            return None
        out = self.expr_ops(items, scope)
        saved = dict(scope.overrides)
        scope.overrides[params[0].name.value] = f"elem({self.render(scope, items)})"
        body = Block(self.expr_ops(func.body, scope))
        scope.overrides = saved
        if not _block_has_ops(body):
            return out
        return [*out, self._loop(scope, items, EMPTY_BLOCK, body, EMPTY_BLOCK, call)]

    def _gather_ops(self, call: cst.Call, scope: Scope) -> list[Node]:
        """``asyncio.gather``: tasks start in argument order, so one-operation
        coroutines record in that order; coroutines doing several operations
        interleave, which the checker models round-robin (the usual order)."""
        lists = [self.expr_ops(a.value, scope) for a in call.args if a.keyword is None]
        flat = [_straight_ops(nodes) for nodes in lists]
        if any(f is None for f in flat) or sum(1 for f in flat if f and len(f) > 1) < 2:
            return [node for nodes in lists for node in nodes]
        rounds: list[Node] = []
        longest = max(len(f) for f in flat if f is not None)
        for index in range(longest):
            for ops in flat:
                if ops is not None and index < len(ops):
                    rounds.append(ops[index])
        return rounds

    def resolve_callee(
        self, func: cst.BaseExpression, scope: Scope, depth: int = 0
    ) -> Target | None:
        func = func
        if isinstance(func, cst.Call) and depth < 8 and _is_partial(func, self, scope):
            if func.args:
                return self.resolve_callee(func.args[0].value, scope, depth + 1)
            return None
        if isinstance(func, cst.Name):
            name = func.value
            if name in scope.passed and depth < 8 and name not in scope.defs:
                expr, caller = scope.passed[name]
                return self.resolve_callee(expr, caller, depth + 1)
            if name in scope.overrides or name in scope.params:
                return None
            defs = scope.defs.get(name)
            if defs is not None:
                if len(defs) == 1 and defs[0].kind == "expr" and depth < 8:
                    value = defs[0].node
                    if isinstance(value, (cst.Name, cst.Attribute)):
                        return self.resolve_callee(value, scope, depth + 1)
                    if isinstance(value, cst.Call) and _is_partial(value, self, scope):
                        if value.args:
                            return self.resolve_callee(
                                value.args[0].value, scope, depth + 1
                            )
                return None
            return self.project.resolve_name(scope.module, name, scope.func)
        if isinstance(func, cst.Attribute):
            base = func.value
            if (
                isinstance(base, cst.Name)
                and base.value in ("self", "cls")
                and scope.cls
            ):
                if base.value not in scope.defs:
                    return self.project.class_member(scope.cls, func.attr.value)
            if isinstance(base, cst.Name) and (
                base.value in scope.defs
                or base.value in scope.params
                or base.value in scope.overrides
            ):
                inner = (
                    self.resolve_callee(base, scope, depth + 1) if depth < 8 else None
                )
                return self.project.member(inner, func.attr.value) if inner else None
            return self.project.resolve_expr(scope.module, func, scope.func)
        return None

    def call_itself(
        self,
        call: cst.Call,
        func: cst.BaseExpression,
        target: Target | None,
        scope: Scope,
    ) -> list[Node]:
        site = self.site(scope, call)
        if isinstance(target, DbosRef):
            if target.attr is not None and target.attr in dbos_api.DBOS_CALLS:
                return self.dbos_call(target.attr, call, scope, site)
            return []
        if isinstance(target, FuncRef):
            return self.function_call(target.func, call, scope, site)
        if isinstance(target, ClassRef):
            return []
        if isinstance(target, ExternalRef):
            if target.dotted.startswith(dbos_api.OPAQUE_MODULE_PREFIXES):
                return [self._opaque(scope, call, site, f"calls {target.dotted}")]
            if target.dotted in ("asyncio.gather",):
                self._gather_rules(call, scope, site)
            return []
        if isinstance(func, cst.Attribute):
            return self.method_call(call, func, scope, site)
        if isinstance(func, cst.Name) and func.value not in scope.passed:
            defs = scope.defs.get(func.value, [])
            if len(defs) == 1 and isinstance(defs[0].node, cst.Lambda):
                return self.expr_ops(defs[0].node.body, scope)
        if self._chosen_at_run_time(func, scope):
            return [
                self._opaque(
                    scope,
                    call,
                    site,
                    f"calls {source_text(func)}, a function chosen at run time",
                    records=False,
                )
            ]
        return []

    def _chosen_at_run_time(self, func: cst.BaseExpression, scope: Scope) -> bool:
        """A call of a parameter, a loop variable, a local or a subscript: it
        may be a step, and which one is only known when the code runs."""
        if isinstance(func, cst.Subscript):
            return True
        if isinstance(func, cst.Name):
            name = func.value
            return name in scope.params or name in scope.overrides or name in scope.defs
        return False

    def _opaque(
        self, scope: Scope, call: cst.Call, site: Site, why: str, records: bool = True
    ) -> Opaque:
        text = self.render(scope, call.func)
        self._report(
            Code.OPAQUE,
            f"workflow {self.ctx.workflow} {why}: what it records is unknown to the "
            "checker, so changes around it are not verified",
            site,
        )
        return Opaque(self.key(scope, "opaque:" + text), why, site, records=records)

    def _gather_rules(self, call: cst.Call, scope: Scope, site: Site) -> None:
        if not self.ctx.report:
            return
        swallows = any(
            a.keyword is not None
            and a.keyword.value == "return_exceptions"
            and self.value(scope, a.value) is True
            for a in call.args
        )
        operands = [a for a in call.args if a.keyword is None]
        if swallows and any(self._has_effects(a.value, scope) for a in operands):
            self._report(
                Code.BROAD_EXCEPT,
                "asyncio.gather(..., return_exceptions=True) over operations turns a "
                "DBOSUnexpectedStepError into a value: a replay mismatch would be "
                "swallowed",
                site,
            )
        busy: list[str] = []
        for arg in operands:
            value = arg.value
            if isinstance(value, cst.Call):
                units = sum(
                    len(n.units) for n in _iter_ops(self._expr_ops_quiet(value, scope))
                )
                target = self.resolve_callee(value.func, scope)
                if (
                    units >= 2
                    and isinstance(target, FuncRef)
                    and self.roles(target.func).kind is Kind.PLAIN
                ):
                    busy.append(f"{source_text(value.func)}() ({units} operations)")
        if busy:
            self._report(
                Code.SCHEDULING_ORDER,
                f"asyncio.gather runs {', '.join(busy)}: their positions interleave "
                "by task scheduling, so a recovery can record them in another order "
                "(DBOSUnexpectedStepError); await them one after the other, or make "
                "each a child workflow",
                site,
            )

    def function_call(
        self, func: FuncDef, call: cst.Call, scope: Scope, site: Site
    ) -> list[Node]:
        role = self.roles(func)
        label = source_text(call.func)
        if role.kind is Kind.WORKFLOW:
            return [
                Op(
                    (
                        self._named_unit(role),
                        Unit(GET_RESULT, Check.UNCHECKED),
                    ),
                    label,
                    site,
                )
            ]
        if role.kind is Kind.STEP:
            return [Op((self._named_unit(role),), label, site)]
        return self.inline(func, call, scope, site)

    def _named_unit(self, role: Role, prefix: str = "") -> Unit:
        if role.name is not None:
            return Unit(prefix + role.name)
        return Unit(None, dynamic=f"{prefix}{role.dynamic}")

    def inline(
        self, func: FuncDef, call: cst.Call, scope: Scope, site: Site
    ) -> list[Node]:
        if func.node.body is None:
            return []
        depth = len(scope.stack)
        repeats = sum(1 for f in scope.stack if f is func)
        label = source_text(call.func)
        if depth > MAX_INLINE_DEPTH or repeats >= MAX_RECURSION:
            if not self._function_has_effects(func):
                return []
            return [
                Opaque(self.key(scope, "recursion:" + func.qualname), "recursion", site)
            ]
        index = scope.calls.get(func.qualname, 0)
        scope.calls[func.qualname] = index + 1
        bound = self._bind(func, call, scope)
        prefix = f"{scope.prefix}{func.qualname}@{index}/"
        self_cls = scope.cls
        base = call.func
        if func.owner is not None and not (
            isinstance(base, cst.Attribute)
            and isinstance(base.value, cst.Name)
            and base.value.value in ("self", "cls")
        ):
            self_cls = func.owner
        inner = self._scope(func, prefix, bound, (*scope.stack, func), self_cls)
        inner.passed = self._passed(func, call, scope)
        body = self._body(func, inner)
        if not _block_has_effects(body):
            return []
        return [Inline(body, label, site)]

    def _function_has_effects(self, func: FuncDef) -> bool:
        """Whether a recursive helper could record anything: it calls something."""
        start, _ = func.module.position(func.node)
        end = len(func.module.lines)
        return any("(" in line for line in func.module.lines[start : end + 1])

    def _passed(
        self, func: FuncDef, call: cst.Call, scope: Scope
    ) -> dict[str, tuple[cst.BaseExpression, Scope]]:
        params = func.node.params
        positional = [p.name.value for p in (*params.posonly_params, *params.params)]
        base = call.func
        if (
            func.owner is not None
            and not func.is_static
            and isinstance(base, cst.Attribute)
        ):
            positional = positional[1:]
        out: dict[str, tuple[cst.BaseExpression, Scope]] = {}
        index = 0
        for arg in call.args:
            if arg.star:
                break
            if arg.keyword is not None:
                out[arg.keyword.value] = (arg.value, scope)
            elif index < len(positional):
                out[positional[index]] = (arg.value, scope)
                index += 1
        return out

    def _bind(self, func: FuncDef, call: cst.Call, scope: Scope) -> dict[str, str]:
        params = func.node.params
        positional = [p.name.value for p in (*params.posonly_params, *params.params)]
        bound: dict[str, str] = {}
        base = call.func
        is_method = func.owner is not None and not func.is_static
        if is_method and positional and isinstance(base, cst.Attribute):
            bound[positional[0]] = "self"
            positional = positional[1:]
        index = 0
        for arg in call.args:
            text = self.render(scope, arg.value)
            if arg.keyword is not None:
                bound[arg.keyword.value] = text
            elif arg.star:
                for name in positional[index:]:
                    bound.setdefault(name, f"{text}[*]")
                break
            elif index < len(positional):
                bound[positional[index]] = text
                index += 1
        return bound

    def method_call(
        self, call: cst.Call, func: cst.Attribute, scope: Scope, site: Site
    ) -> list[Node]:
        attr = func.attr.value
        base = func.value
        if attr in dbos_api.HANDLE_METHODS and not call.args:
            rec = dbos_api.HANDLE_METHODS[attr]
            return [Op(tuple(Unit(n, c) for n, c in rec.units), f".{attr}()", site)]
        if attr in dbos_api.QUEUE_ENQUEUE and call.args:
            return [
                Op(
                    (self._child_unit(call.args[0].value, scope),),
                    source_text(func),
                    site,
                )
            ]
        if attr in dbos_api.DATASOURCE_RUN and len(call.args) >= 2:
            return self._run_step(call, scope, site)
        if attr in ("run", "run_async") and isinstance(base, cst.Name):
            if base.value in scope.reserve_runs:
                return []
        if self._agent_like(base, scope):
            return [self._opaque(scope, call, site, f"calls {source_text(func)}()")]
        guess = self._unique_method(attr)
        if guess is not None:
            return self.function_call(guess, call, scope, site)
        return []

    def _agent_like(self, base: cst.BaseExpression, scope: Scope) -> bool:
        if isinstance(base, cst.Name):
            defs = scope.defs.get(base.value)
            value: cst.BaseExpression | None = None
            if defs and len(defs) == 1:
                value = defs[0].node
            elif base.value not in scope.params:
                target = self.project.resolve_name(scope.module, base.value, scope.func)
                if isinstance(target, ValueRef) and target.values:
                    value = target.values[-1]
                    scope_module = target.module
                    if isinstance(value, cst.Call):
                        made = self.project.resolve_expr(scope_module, value.func, None)
                        return isinstance(made, ExternalRef) and made.dotted.startswith(
                            dbos_api.OPAQUE_MODULE_PREFIXES
                        )
            if isinstance(value, cst.Call):
                made = self.resolve_callee(value.func, scope)
                return isinstance(made, ExternalRef) and made.dotted.startswith(
                    dbos_api.OPAQUE_MODULE_PREFIXES
                )
        return False

    def _unique_method(self, attr: str) -> FuncDef | None:
        """``instances[key].method()``: the receiver is unknown, but if exactly
        one DBOS class method has this name and records, that is the callee."""
        if self._methods is None:
            self._methods = {}
            for info in self.project.modules_using_dbos():
                for func in info.iter_functions():
                    if (
                        func.owner is not None
                        and self.roles(func).kind is not Kind.PLAIN
                    ):
                        self._methods.setdefault(func.name, []).append(func)
        found = self._methods.get(attr, [])
        return found[0] if len(found) == 1 else None

    # ------------------------------------------------------------ DBOS calls

    def dbos_call(
        self, attr: str, call: cst.Call, scope: Scope, site: Site
    ) -> list[Node]:
        rec = dbos_api.DBOS_CALLS[attr]
        label = f"DBOS.{attr}"
        special = rec.special
        if special is None:
            return [Op(tuple(Unit(n, c) for n, c in rec.units), label, site)]
        args = [a for a in call.args if a.keyword is None]
        if special is dbos_api.Special.SLEEP:
            op = Op((Unit(TIMER),), label, site)
            seconds = self.value(scope, args[0].value) if args else NO_VALUE
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
                return [op] * sleep_positions(seconds)
            if not args:
                return [op]
            # A duration known only at run time may be 0, and sleep(0) takes
            # no position: whether it does is decided by the duration's sign.
            core = self._sign_core(scope, args[0].value)
            key = self.key(scope, "sleep>0:" + self.render(scope, core))
            return [If(key, Block([op]), EMPTY_BLOCK, site)]
        if special is dbos_api.Special.START_CHILD:
            if not args:
                return []
            return [Op((self._child_unit(args[0].value, scope),), label, site)]
        if special is dbos_api.Special.ENQUEUE_CHILD:
            if len(args) < 2:
                return []
            return [Op((self._child_unit(args[1].value, scope),), label, site)]
        if special is dbos_api.Special.ENQUEUE_WITH_OPTIONS:
            options = self.value(scope, args[0].value) if args else NO_VALUE
            if isinstance(options, dict) and isinstance(
                options.get("workflow_name"), str
            ):
                return [Op((Unit(options["workflow_name"]),), label, site)]
            if len(args) >= 2:
                return [Op((self._child_unit(args[1].value, scope),), label, site)]
            return [Op((Unit(None, dynamic=self.render(scope, call)),), label, site)]
        if special is dbos_api.Special.RUN_STEP:
            return self._run_step(call, scope, site)
        if special is dbos_api.Special.RESERVE_STEP:
            return [Op((self._reserved_unit(call, scope),), label, site)]
        if special is dbos_api.Special.RETRIEVE:
            for a in call.args:
                if a.keyword is not None and a.keyword.value == "existing_workflow":
                    if self.value(scope, a.value) is False:
                        return []
            return [Op((Unit("DBOS.getStatus"),), label, site)]
        if special is dbos_api.Special.READ_STREAM:
            loop = Loop(
                self.key(scope, "stream:" + self.render(scope, call)),
                f"{scope.prefix}stream:{source_text(call)}",
                Block([Op((Unit("DBOS.readStream"),), label, site)]),
                EMPTY_BLOCK,
                EMPTY_BLOCK,
                site=site,
            )
            return [loop]
        if special is dbos_api.Special.DEPRECATE:
            name = self._patch_name(call, scope, self.ctx.report)
            if self.ctx.report:
                self._check_patch_form(attr, call, scope)
            return [Deprecate(name, site)]
        if special is dbos_api.Special.EMPTY_ID:
            return [Op((Unit(None),), label, site), Exit("raise", site)]
        return []

    def _sign_core(self, scope: Scope, node: cst.BaseExpression) -> cst.BaseExpression:
        """``x * 2`` or ``x / 10`` is positive exactly when ``x`` is."""
        if isinstance(node, cst.BinaryOperation) and isinstance(
            node.operator, (cst.Multiply, cst.Divide)
        ):
            for keep, factor in ((node.left, node.right), (node.right, node.left)):
                value = self.value(scope, factor)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    if value > 0 and not (
                        isinstance(node.operator, cst.Divide) and keep is node.right
                    ):
                        return self._sign_core(scope, keep)
        return node

    def _child_unit(self, node: cst.BaseExpression, scope: Scope) -> Unit:
        target = self.resolve_callee(node, scope)
        if isinstance(target, FuncRef):
            role = self.roles(target.func)
            if role.kind is Kind.WORKFLOW:
                return self._named_unit(role)
            if role.kind is Kind.STEP:
                return self._named_unit(role, "<temp>.")
        return Unit(None, dynamic="child:" + self.render(scope, node))

    def _run_step(self, call: cst.Call, scope: Scope, site: Site) -> list[Node]:
        args = [a for a in call.args if a.keyword is None]
        options = args[0].value if args else None
        fn = args[1].value if len(args) > 1 else None
        for a in call.args:
            if a.keyword is not None and a.keyword.value in ("func", "fn", "function"):
                fn = a.value
        unit = self._step_unit(options, fn, scope)
        label = source_text(call.func)
        if unit.name is None and unit.dynamic is None:
            return [Op((unit,), label, site), Exit("raise", site)]
        return [Op((unit,), label, site)]

    def _reserved_unit(self, call: cst.Call, scope: Scope) -> Unit:
        for name, run_call in scope.reserve_runs.items():
            defs = scope.defs.get(name)
            if defs and any(d.node is call for d in defs):
                args = [a for a in run_call.args if a.keyword is None]
                options = args[0].value if args else None
                fn = args[1].value if len(args) > 1 else None
                return self._step_unit(options, fn, scope)
        return Unit(None)

    def _step_unit(
        self,
        options: cst.BaseExpression | None,
        fn: cst.BaseExpression | None,
        scope: Scope,
    ) -> Unit:
        """``run_step`` naming: the ``name`` option, else ``fn.__qualname__``."""
        name = self._option_name(options, scope)
        if name is not None:
            return name
        if fn is None:
            return Unit(None, dynamic="run_step")
        return self._qualname_unit(fn, scope, 0)

    def _option_name(
        self, options: cst.BaseExpression | None, scope: Scope
    ) -> Unit | None:
        if options is None:
            return None
        options = options
        if isinstance(options, cst.Dict):
            for element in options.elements:
                if isinstance(element, cst.DictElement):
                    key = self.value(scope, element.key)
                    if key == "name":
                        return self._name_value(element.value, scope)
            return None
        if isinstance(options, cst.Call):
            for arg in options.args:
                if arg.keyword is not None and arg.keyword.value == "name":
                    return self._name_value(arg.value, scope)
            return None
        if isinstance(options, cst.Name):
            defs = scope.defs.get(options.value)
            if defs and len(defs) == 1 and defs[0].node is not None:
                return self._option_name(defs[0].node, scope)
            value = self.value(scope, options)
            if isinstance(value, dict) and isinstance(value.get("name"), str):
                return Unit(value["name"])
        return None

    def _name_value(self, node: cst.BaseExpression, scope: Scope) -> Unit:
        value = self.value(scope, node)
        if isinstance(value, str):
            return Unit(value)
        if value is None and isinstance(node, cst.Name) and node.value == "None":
            return Unit(None, dynamic="None")
        return Unit(None, dynamic="name:" + self.render(scope, node))

    def _qualname_unit(self, fn: cst.BaseExpression, scope: Scope, depth: int) -> Unit:
        fn = fn
        if isinstance(fn, cst.Lambda):
            return Unit(f"{scope.func.qualname}.<locals>.<lambda>")
        if isinstance(fn, cst.Call):
            if _is_partial(fn, self, scope):
                return Unit(None)
            return Unit(None, dynamic="fn:" + self.render(scope, fn))
        if isinstance(fn, cst.Name) and depth < 8:
            defs = scope.defs.get(fn.value)
            if defs and len(defs) == 1 and defs[0].node is not None:
                return self._qualname_unit(defs[0].node, scope, depth + 1)
        target = self.resolve_callee(fn, scope)
        if isinstance(target, FuncRef):
            return Unit(target.func.qualname)
        return Unit(None, dynamic="fn:" + self.render(scope, fn))


# ---------------------------------------------------------------- helpers


def _straight_ops(nodes: Sequence[Node]) -> list[Op] | None:
    """The operations of straight-line code (no branches, loops or exits)."""
    out: list[Op] = []
    for node in nodes:
        if isinstance(node, Op):
            out.append(node)
        elif isinstance(node, Inline):
            items = node.body.items
            if items and isinstance(items[-1], Exit) and items[-1].kind == "return":
                items = items[:-1]
            inner = _straight_ops(items)
            if inner is None:
                return None
            out.extend(inner)
        else:
            return None
    return out


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _statements_of(suite: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    return []


def _has_break(node: cst.CSTNode) -> bool:
    found = False

    class Visitor(cst.CSTVisitor):
        def visit_Break(self, node: cst.Break) -> None:
            nonlocal found
            found = True

    node.visit(Visitor())
    return found


def _assignment_count(node: cst.CSTNode, name: str) -> int:
    count = 0

    class Visitor(cst.CSTVisitor):
        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            nonlocal count
            count += sum(1 for n, _ in _target_names(target.target) if n == name)

        def visit_AugAssign(self, aug: cst.AugAssign) -> None:
            nonlocal count
            count += sum(1 for n, _ in _target_names(aug.target) if n == name)

    node.visit(Visitor())
    return count


def _exits_loop(block: Block) -> bool:
    return any(
        isinstance(n, Exit) and n.kind in ("break", "continue", "return", "raise")
        for n in _walk(block)
    )


def _leaves(block: Block) -> bool:
    return bool(block.items) and isinstance(block.items[-1], Exit)


def _assigned_names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class Visitor(cst.CSTVisitor):
        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            found.update(name for name, _ in _target_names(target.target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            found.update(name for name, _ in _target_names(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            found.update(name for name, _ in _target_names(node.target))

        def visit_For(self, node: cst.For) -> None:
            found.update(name for name, _ in _target_names(node.target))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    node.visit(Visitor())
    return found


def _is_partial(call: cst.Call, lowering: Lowering, scope: Scope) -> bool:
    target = lowering.resolve_callee(call.func, scope, 8)
    return isinstance(target, ExternalRef) and target.dotted == "functools.partial"


_SOURCE_ORDER: dict[type[cst.CSTNode], tuple[str, ...]] = {
    cst.Call: ("func", "args"),
    cst.Arg: ("keyword", "value"),
    cst.Attribute: ("value", "attr"),
    cst.Subscript: ("value", "slice"),
    cst.SubscriptElement: ("slice",),
    cst.Index: ("value",),
    cst.BinaryOperation: ("left", "right"),
    cst.BooleanOperation: ("left", "right"),
    cst.Comparison: ("left", "comparisons"),
    cst.ComparisonTarget: ("comparator",),
    cst.UnaryOperation: ("expression",),
    cst.Await: ("expression",),
    cst.Name: (),
    cst.Integer: (),
    cst.Float: (),
    cst.SimpleString: (),
}
"""The fields holding the sub-expressions of the commonest nodes, in source
order.  LibCST's ``children`` finds them by running a visitor over the node,
which dominated the lowering of long workflows; for these node types reading
the fields gives the same nodes (a test compares the two)."""


def expression_children(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """``node.children``, less the whitespace and punctuation, read from the
    fields for the commonest node types."""
    names = _SOURCE_ORDER.get(type(node))
    if names is None:
        return node.children
    out: list[cst.CSTNode] = []
    for name in names:
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            out.append(value)
        elif value is not None:
            out.extend(value)
    return out


def _child_expressions(node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    """Sub-expressions evaluated as part of ``node``, in source order."""
    for child in expression_children(node):
        if isinstance(child, cst.BaseExpression):
            yield child
        elif isinstance(
            child,
            (
                cst.Arg,
                cst.Element,
                cst.StarredElement,
                cst.DictElement,
                cst.StarredDictElement,
                cst.SubscriptElement,
                cst.Index,
                cst.Slice,
                cst.ComparisonTarget,
                cst.FormattedStringExpression,
            ),
        ):
            yield from _child_expressions(child)


def _target_names(
    node: cst.BaseExpression, index: tuple[int, ...] = ()
) -> Iterator[tuple[str, tuple[int, ...]]]:
    if isinstance(node, cst.Name):
        yield node.value, index
    elif isinstance(node, (cst.Tuple, cst.List)):
        for i, element in enumerate(node.elements):
            yield from _target_names(element.value, (*index, i))
    elif isinstance(node, cst.StarredElement):
        yield from _target_names(node.value, index)


MUTATORS = frozenset({"append", "extend", "insert", "add", "update", "setdefault"})


def _collect_defs(
    func: FuncDef,
) -> tuple[dict[str, list[_Def]], dict[str, cst.Call], dict[str, list[cst.For | None]]]:
    """Local names of a function body and what is assigned to them.

    Flow-insensitive on purpose: a name assigned once stands for its value
    everywhere, which is what makes a renamed local keep its keys.
    """
    defs: dict[str, list[_Def]] = {}
    runs: dict[str, cst.Call] = {}
    fills: dict[str, list[cst.For | None]] = {}
    """Collections filled in place: the loop each ``x.append`` sits directly in
    (None where it sits under a condition or outside any loop)."""

    def add(
        target: cst.BaseExpression, value: cst.BaseExpression | None, kind: str
    ) -> None:
        for name, index in _target_names(target):
            defs.setdefault(name, []).append(_Def(kind, value, index))

    def scan(expr: cst.BaseExpression | None, enclosing: cst.CSTNode | None) -> None:
        """Calls that fill a collection or run a reservation, and walrus
        targets, at the top of a statement's expression (where they are)."""
        while isinstance(expr, cst.Await):
            expr = expr.expression
        if isinstance(expr, cst.NamedExpr):
            add(expr.target, expr.value, "expr")
            scan(expr.value, enclosing)
            return
        if not isinstance(expr, cst.Call) or not isinstance(expr.func, cst.Attribute):
            return
        callee = expr.func
        if isinstance(callee.value, cst.Name):
            if callee.attr.value in MUTATORS:
                loop = enclosing if isinstance(enclosing, cst.For) else None
                fills.setdefault(callee.value.value, []).append(loop)
            elif callee.attr.value in ("run", "run_async"):
                runs.setdefault(callee.value.value, expr)

    def small(stmt: cst.BaseSmallStatement, enclosing: cst.CSTNode | None) -> None:
        if isinstance(stmt, cst.Assign):
            for target in stmt.targets:
                add(target.target, stmt.value, "expr")
            scan(stmt.value, enclosing)
        elif isinstance(stmt, cst.AnnAssign):
            if stmt.value is not None:
                add(stmt.target, stmt.value, "expr")
                scan(stmt.value, enclosing)
        elif isinstance(stmt, cst.AugAssign):
            add(stmt.target, None, "other")
            add(stmt.target, None, "other")
            scan(stmt.value, enclosing)
        elif isinstance(stmt, (cst.Expr, cst.Return)):
            scan(stmt.value, enclosing)

    def walk(statements: Sequence[cst.CSTNode], enclosing: cst.CSTNode | None) -> None:
        for stmt in statements:
            if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                for item in stmt.body:
                    small(item, enclosing)
            elif isinstance(stmt, cst.If):
                walk(_body_of(stmt.body), stmt)
                if isinstance(stmt.orelse, cst.If):
                    walk([stmt.orelse], stmt)
                elif isinstance(stmt.orelse, cst.Else):
                    walk(_body_of(stmt.orelse.body), stmt)
            elif isinstance(stmt, (cst.For, cst.While)):
                if isinstance(stmt, cst.For):
                    add(stmt.target, stmt.iter, "elem")
                walk(_body_of(stmt.body), stmt)
                if stmt.orelse is not None:
                    walk(_body_of(stmt.orelse.body), stmt)
            elif isinstance(stmt, (cst.Try, cst.TryStar)):
                walk(_body_of(stmt.body), stmt)
                for handler in stmt.handlers:
                    if handler.name is not None and isinstance(
                        handler.name.name, cst.Name
                    ):
                        add(handler.name.name, None, "other")
                    walk(_body_of(handler.body), stmt)
                for part in (stmt.orelse, stmt.finalbody):
                    if part is not None:
                        walk(_body_of(part.body), stmt)
            elif isinstance(stmt, cst.With):
                for with_item in stmt.items:
                    if with_item.asname is not None and isinstance(
                        with_item.asname.name, cst.BaseExpression
                    ):
                        add(with_item.asname.name, with_item.item, "elem")
                walk(_body_of(stmt.body), enclosing)
            elif isinstance(stmt, cst.Match):
                for case in stmt.cases:
                    walk(_body_of(case.body), stmt)

    walk(_body_of(func.node.body), None)
    for name in fills:
        if name in defs:
            defs[name].append(_Def("other"))
    reserve_runs = {
        name: call
        for name, call in runs.items()
        if name in defs and any(_is_reserve(d.node) for d in defs[name])
    }
    return defs, reserve_runs, fills


def _body_of(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    return [suite]


def _is_reserve(node: cst.BaseExpression | None) -> bool:
    if isinstance(node, cst.Await):
        node = node.expression
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in ("reserve_step", "reserve_step_async")
    )


def _iter_ops(nodes: Sequence[Node] | Block) -> Iterator[Op]:
    items = nodes.items if isinstance(nodes, Block) else nodes
    for node in items:
        if isinstance(node, Op):
            yield node
        for block in sub_blocks(node):
            yield from _iter_ops(block)


def _block_has_ops(block: Block) -> bool:
    return any(True for _ in _iter_ops(block)) or any(
        isinstance(n, (PatchIf, Deprecate, Opaque)) for n in _walk(block)
    )


def _walk(block: Block) -> Iterator[Node]:
    for node in block.items:
        yield node
        for sub in sub_blocks(node):
            yield from _walk(sub)


def _block_has_effects(block: Block) -> bool:
    """Whether inlining a helper body changes anything the judge sees."""
    return any(
        isinstance(n, (Op, PatchIf, Deprecate, Opaque, Loop)) for n in _walk(block)
    ) and _block_has_ops(block)


def _reraises(block: Block) -> bool:
    return any(isinstance(n, Exit) and n.kind == "raise" for n in block.items)
