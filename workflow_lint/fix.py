"""``workflow-lint fix``: wrap each breaking change in a ``DBOS.patch``.

Old and new bodies are aligned statement by statement on what each statement
records (its IR), not on its text, so a renamed local or a reformatted line is
no change while an edited module constant is.  Each run of changed statements
becomes ``if DBOS.patch("<name>"): <new> else: <old>``, the old statements
taken from the base revision with their formatting; a change inside a block
whose header is unchanged is fixed inside that block, and a change inside the
new branch of an existing patch stacks a new patch above it.  The result is
checked again before anything is written.
"""

from __future__ import annotations

import builtins
import contextlib
import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst

from workflow_lint import dbos_api
from workflow_lint.check import (
    ModuleCache,
    Options,
    Pair,
    Snapshot,
    compare_projects,
    load_pair,
    workflows_of,
)
from workflow_lint.diagnostics import Code, Finding, Verdict
from workflow_lint.index import (
    ClassRef,
    FuncDef,
    FuncRef,
    ModuleInfo,
    Project,
    ValueRef,
)
from workflow_lint.ir import If, Loop, Node, PatchIf, fingerprint
from workflow_lint.lower import Lowering
from workflow_lint.roles import Kind, Role, RoleCache

DEFAULT_TEMPLATE = "{workflow}-{change}"
MAX_GROW = 2
FIXABLE = frozenset(
    {
        Code.OPERATION_MISMATCH,
        Code.RECORDED_SKIPPED,
        Code.RESULT_OVERWRITE,
        Code.RESULTS_SHIFTED,
    }
)


@dataclass
class FixResult:
    files: dict[str, str] = field(default_factory=dict)
    """Path -> new text, for every file the fix rewrites."""
    fixed: list[str] = field(default_factory=list)
    unfixed: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pinned: dict[str, str] = field(default_factory=dict)
    """Renamed steps given back their old recorded name: new name -> old."""


def fix(
    old: Snapshot,
    new: Snapshot,
    options: Options | None = None,
    template: str = DEFAULT_TEMPLATE,
    wanted: Callable[[Finding], bool] | None = None,
) -> FixResult:
    """``wanted`` says which findings are the user's to fix (by default all):
    a workflow whose every finding is unwanted (an ignored code, a
    suppression with a reason) is left as written."""
    options = options or Options()
    cache = ModuleCache()
    pair = load_pair(old, new, cache)
    old_project, new_project = pair.old, pair.new
    pinned, renamed = _pin_renamed_steps(old_project, new_project)
    if pinned:
        # A renamed step keeps the name in-flight histories recorded; the
        # patch pass then sees only what still differs.
        pinned_files = dict(new.files)
        pinned_files.update({p: t.encode("utf-8") for p, t in pinned.items()})
        new = Snapshot(new.label, pinned_files)
        pair = load_pair(old, new, cache)
        new_project = pair.new
    result = _fix_projects(old, new, pair, options, template, cache, wanted)
    for path, text in pinned.items():
        result.files.setdefault(path, text)
    result.pinned = renamed
    for new_name, old_name in sorted(renamed.items()):
        result.notes.append(
            f"step {new_name} keeps the name in-flight histories recorded: "
            f'name="{old_name}"'
        )
    return result


def _fix_projects(
    old: Snapshot,
    new: Snapshot,
    pair: Pair,
    options: Options,
    template: str,
    cache: ModuleCache,
    wanted: Callable[[Finding], bool] | None = None,
) -> FixResult:
    """The projects are loaded partly (``check.load_pair``): the files a
    change reaches, and what their workflows call into."""
    old_project, new_project = pair.old, pair.new
    report = compare_projects(pair, options)
    targets: dict[str, list[Finding]] = {}
    result = FixResult()
    for finding in report.findings:
        if finding.workflow is None or (wanted is not None and not wanted(finding)):
            continue
        if finding.code in FIXABLE:
            targets.setdefault(finding.workflow, []).append(finding)
        elif finding.code is Code.WORKFLOW_GONE:
            result.unfixed.append(finding)
    if not targets:
        return result
    best: tuple[_Fixer, dict[str, str], set[str]] | None = None
    for grow in range(MAX_GROW + 1):
        # A patch right before an operation a workflow may be waiting in
        # (recv, get_event) meets its timer row; taking the statement before
        # into the patch lets such histories decide on a row they recorded.
        fixer = _Fixer(old_project, new_project, template, grow)
        for workflow in sorted(targets):
            fixer.fix_workflow(workflow)
        files = fixer.render()
        if not files:
            break
        fixed_files = dict(new.files)
        for path, text in files.items():
            fixed_files[path] = text.encode("utf-8")
        verify = compare_projects(
            load_pair(old, Snapshot("fixed", fixed_files), cache), options
        )
        failing = {
            f.workflow
            for f in verify.findings
            if f.workflow in targets
            and f.severity.value == "error"
            and f.verdict is not Verdict.RULE
        }
        if best is None or len(failing) < len(best[2]):
            best = (fixer, files, failing)
        if not failing:
            break
    if best is None:
        result.unfixed.extend(f for fs in targets.values() for f in fs)
        return result
    fixer, files, still = best
    for workflow, findings in targets.items():
        if workflow in still:
            result.unfixed.extend(findings)
        else:
            result.fixed.append(workflow)
    result.files = files
    result.notes = fixer.notes
    if still:
        # Never write a half-fixed workflow: keep only files whose workflows
        # all verified clean.
        result.files = {
            path: text
            for path, text in files.items()
            if not (fixer.touched[path] & still)
        }
        result.fixed = [w for w in result.fixed if w not in still]
    return result


def _pin_renamed_steps(
    old: Project, new: Project
) -> tuple[dict[str, str], dict[str, str]]:
    """Steps renamed without ``name=``: give the new def the old recorded name.

    A step counts as renamed when its old name is gone, and exactly one new
    step in the same module with the same body has a name the old code never
    had.  Returns the rewritten files.
    """
    old_roles, new_roles = RoleCache(old), RoleCache(new)

    def steps(project: Project, roles: RoleCache) -> dict[str, FuncDef]:
        out: dict[str, FuncDef] = {}
        for info in project.modules_using_dbos():
            for func in info.iter_functions():
                role = roles(func)
                if role.kind is Kind.STEP and role.name is not None:
                    out.setdefault(role.name, func)
        return out

    old_steps, new_steps = steps(old, old_roles), steps(new, new_roles)
    gone = {n: f for n, f in old_steps.items() if n not in new_steps}
    renamed: dict[str, str] = {}
    pins: dict[str, dict[int, str]] = {}
    for name, func in new_steps.items():
        if name in old_steps or name != func.qualname:
            continue
        body = _normalised(func.node.body)
        matches = [
            old_name
            for old_name, old_func in gone.items()
            if old_func.module.path == func.module.path
            and (old_func.owner is None) == (func.owner is None)
            and (old_func.parent is None) == (func.parent is None)
            and old_roles(old_func).name == old_func.qualname
            and _normalised(old_func.node.body) == body
        ]
        if len(matches) == 1:
            pins.setdefault(func.module.path, {})[id(func.node)] = matches[0]
            renamed[name] = matches[0]
    out: dict[str, str] = {}
    for path, by_node in pins.items():
        info = new.by_path[path]
        tree = info.tree.visit(_Pin(by_node))
        if isinstance(tree, cst.Module) and tree.code != info.source:
            out[path] = tree.code
    return out, renamed


class _Pin(cst.CSTTransformer):
    """Adds ``name="<old name>"`` to the step decorator of chosen defs."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        name = self.names.get(id(original))
        if name is None:
            return updated
        decorators = []
        done = False
        for deco in updated.decorators:
            expr = deco.decorator
            callee = expr.func if isinstance(expr, cst.Call) else expr
            if (
                not done
                and isinstance(callee, cst.Attribute)
                and callee.attr.value
                in (
                    "step",
                    "transaction",
                )
            ):
                args = list(expr.args) if isinstance(expr, cst.Call) else []
                args.append(
                    cst.Arg(
                        cst.SimpleString(f'"{name}"'),
                        keyword=cst.Name("name"),
                        equal=cst.AssignEqual(
                            whitespace_before=cst.SimpleWhitespace(""),
                            whitespace_after=cst.SimpleWhitespace(""),
                        ),
                    )
                )
                deco = deco.with_changes(decorator=cst.Call(callee, args))
                done = True
            decorators.append(deco)
        return updated.with_changes(decorators=decorators)


# ---------------------------------------------------------------- the fixer


@dataclass
class _Context:
    workflow: str
    is_async: bool
    module: ModuleInfo
    old_module: ModuleInfo
    old_func: FuncDef
    new_func: FuncDef
    old_trace: dict[int, list[Node]]
    new_trace: dict[int, list[Node]]
    names: set[str]


class _Fixer:
    def __init__(
        self, old: Project, new: Project, template: str, grow: int = 0
    ) -> None:
        self.grow = grow
        self.old, self.new = old, new
        self.old_roles, self.new_roles = RoleCache(old), RoleCache(new)
        self.old_lower = Lowering(old, self.old_roles)
        self.new_lower = Lowering(new, self.new_roles)
        self.template = template
        self.replacements: dict[str, dict[int, cst.CSTNode]] = {}
        self.restore: dict[str, dict[str, cst.CSTNode]] = {}
        self.touched: dict[str, set[str]] = {}
        self.notes: list[str] = []
        self.used_names: set[str] = set()
        self.done_helpers: set[int] = set()
        old_wfs = workflows_of(old, self.old_roles)
        new_wfs = workflows_of(new, self.new_roles)
        self.pairs = {
            name: (old_wfs[name][0], new_wfs[name][0])
            for name in old_wfs
            if name in new_wfs
        }
        for funcs in (*old_wfs.values(), *new_wfs.values()):
            for func in funcs:
                self.used_names |= _patch_names(func.node)

    # -- entry

    def fix_workflow(self, workflow: str) -> None:
        pair = self.pairs.get(workflow)
        if pair is None:
            return
        old_func, new_func = pair
        self._fix_function(workflow, old_func, new_func)

    def _fix_function(
        self, workflow: str, old_func: FuncDef, new_func: FuncDef
    ) -> None:
        role = Role(Kind.PLAIN, workflow)
        ctx = _Context(
            workflow,
            new_func.is_async,
            new_func.module,
            old_func.module,
            old_func,
            new_func,
            self.old_lower.trace_function(old_func, role),
            self.new_lower.trace_function(new_func, role),
            set(),
        )
        old_body = _statements(old_func.node.body)
        new_body = _statements(new_func.node.body)
        body, changed = self._block(old_body, new_body, ctx)
        if not changed:
            return
        node = new_func.node
        assert isinstance(node.body, cst.IndentedBlock)
        replacement = node.with_changes(body=node.body.with_changes(body=body))
        path = new_func.module.path
        self.replacements.setdefault(path, {})[id(node)] = replacement
        self.touched.setdefault(path, set()).add(workflow)

    # -- alignment

    def _fp(self, trace: dict[int, list[Node]], stmt: cst.CSTNode) -> str:
        nodes = trace.get(id(stmt))
        if nodes:
            return "|".join(fingerprint(n) for n in nodes)
        return "text:" + _normalised(stmt)

    def _block(
        self,
        old_stmts: Sequence[cst.BaseStatement],
        new_stmts: Sequence[cst.BaseStatement],
        ctx: _Context,
    ) -> tuple[list[cst.BaseStatement], bool]:
        old_fps = [self._fp(ctx.old_trace, s) for s in old_stmts]
        new_fps = [self._fp(ctx.new_trace, s) for s in new_stmts]
        matcher = difflib.SequenceMatcher(None, old_fps, new_fps, autojunk=False)
        out: list[cst.BaseStatement] = []
        changed = False
        equal_tail: list[tuple[cst.BaseStatement, cst.BaseStatement]] = []
        ops = _grouped(matcher.get_opcodes())
        for k, (tag, i1, i2, j1, j2) in enumerate(ops):
            olds, news = list(old_stmts[i1:i2]), list(new_stmts[j1:j2])
            if tag == "equal":
                out.extend(news)
                equal_tail = list(zip(olds, news, strict=True))
                continue
            if not self._records(olds, ctx.old_trace) and not self._records(
                news, ctx.new_trace
            ):
                out.extend(news)
                continue
            fresh = _assigned(news) - _assigned(olds)
            if fresh and k + 1 < len(ops) and ops[k + 1][0] == "equal":
                # Later statements reading what only the new code assigns go
                # into the patch too; their old versions run in the else.
                _, e1, e2, f1, f2 = ops[k + 1]
                take = 0
                for t in range(f2 - f1):
                    if _names_in(new_stmts[f1 + t]) & fresh:
                        take = t + 1
                if take:
                    olds += list(old_stmts[e1 : e1 + take])
                    news += list(new_stmts[f1 : f1 + take])
                    ops[k + 1] = ("equal", e1 + take, e2, f1 + take, f2)
            if tag == "replace" and len(olds) == len(news):
                inner = [
                    self._compound(o, n, ctx) for o, n in zip(olds, news, strict=True)
                ]
                if all(s is not None for s in inner):
                    out.extend(s for s in inner if s is not None)
                    changed = True
                    continue
            take = min(self.grow, len(equal_tail))
            if take:
                grown = equal_tail[-take:]
                del out[len(out) - take :]
                olds = [o for o, _ in grown] + olds
                news = [n for _, n in grown] + news
            equal_tail = []
            rest = new_stmts[ops[k + 1][3] :] if k + 1 < len(ops) else []
            out.append(self._patch(olds, news, ctx, rest))
            changed = True
        return out, changed

    def _records(
        self, stmts: Sequence[cst.CSTNode], trace: dict[int, list[Node]]
    ) -> bool:
        return any(trace.get(id(s)) for s in stmts)

    def _compound(
        self, old: cst.BaseStatement, new: cst.BaseStatement, ctx: _Context
    ) -> cst.BaseStatement | None:
        """Fix inside a block whose header is unchanged, or None."""
        if type(old) is not type(new):
            return self._helper_change(old, new, ctx)
        if isinstance(old, cst.SimpleStatementLine):
            return self._helper_change(old, new, ctx)
        if isinstance(old, cst.If) and isinstance(new, cst.If):
            return self._if(old, new, ctx)
        if isinstance(old, (cst.For, cst.While)) and isinstance(
            new, (cst.For, cst.While)
        ):
            if self._header_only(ctx, old) != self._header_only(
                ctx, new, new_side=True
            ):
                return None
            body, _ = self._block(_statements(old.body), _statements(new.body), ctx)
            result = new.with_changes(body=new.body.with_changes(body=body))
            if old.orelse is not None and new.orelse is not None:
                orelse, _ = self._block(
                    _statements(old.orelse.body), _statements(new.orelse.body), ctx
                )
                result = result.with_changes(
                    orelse=new.orelse.with_changes(
                        body=new.orelse.body.with_changes(body=orelse)
                    )
                )
            elif (old.orelse is None) != (new.orelse is None):
                return None
            return result
        if isinstance(old, cst.Try) and isinstance(new, cst.Try):
            if len(old.handlers) != len(new.handlers) or [
                _normalised(h.type) if h.type else "" for h in old.handlers
            ] != [_normalised(h.type) if h.type else "" for h in new.handlers]:
                return None
            body, _ = self._block(_statements(old.body), _statements(new.body), ctx)
            handlers = []
            for oh, nh in zip(old.handlers, new.handlers, strict=True):
                hb, _ = self._block(_statements(oh.body), _statements(nh.body), ctx)
                handlers.append(nh.with_changes(body=nh.body.with_changes(body=hb)))
            fixed_try = new.with_changes(
                body=new.body.with_changes(body=body), handlers=handlers
            )
            for part in ("orelse", "finalbody"):
                o_part, n_part = getattr(old, part), getattr(new, part)
                if (o_part is None) != (n_part is None):
                    return None
                if o_part is not None and n_part is not None:
                    pb, _ = self._block(
                        _statements(o_part.body), _statements(n_part.body), ctx
                    )
                    fixed_try = fixed_try.with_changes(
                        **{
                            part: n_part.with_changes(
                                body=n_part.body.with_changes(body=pb)
                            )
                        }
                    )
            return fixed_try
        if isinstance(old, cst.With) and isinstance(new, cst.With):
            if [_normalised(i) for i in old.items] != [
                _normalised(i) for i in new.items
            ]:
                return None
            body, _ = self._block(_statements(old.body), _statements(new.body), ctx)
            return new.with_changes(body=new.body.with_changes(body=body))
        return None

    def _header_only(
        self, ctx: _Context, stmt: cst.CSTNode, new_side: bool = False
    ) -> object:
        trace = ctx.new_trace if new_side else ctx.old_trace
        nodes = trace.get(id(stmt), [])
        for node in nodes:
            if isinstance(node, Loop):
                return (node.key, node.count, node.values, fingerprint(node.head))
        return None

    def _if(self, old: cst.If, new: cst.If, ctx: _Context) -> cst.BaseStatement | None:
        old_head = self._cond_header(ctx.old_trace, old)
        new_head = self._cond_header(ctx.new_trace, new)
        if old_head != new_head or old_head is None:
            return None
        if old_head[0] == "patch" and self._differs(old.body, new.body, ctx):
            # A change in the new branch of an existing patch: stack a new
            # patch above it, so histories holding the old marker keep their
            # branch and older ones their else.
            return self._stack(old, new, ctx)
        body, _ = self._block(_statements(old.body), _statements(new.body), ctx)
        result = new.with_changes(body=new.body.with_changes(body=body))
        if isinstance(old.orelse, cst.Else) and isinstance(new.orelse, cst.Else):
            orelse, _ = self._block(
                _statements(old.orelse.body), _statements(new.orelse.body), ctx
            )
            return result.with_changes(
                orelse=new.orelse.with_changes(
                    body=new.orelse.body.with_changes(body=orelse)
                )
            )
        if isinstance(old.orelse, cst.If) and isinstance(new.orelse, cst.If):
            inner = self._if(old.orelse, new.orelse, ctx)
            if inner is None or not isinstance(inner, cst.If):
                return None
            return result.with_changes(orelse=inner)
        if old.orelse is None and new.orelse is None:
            return result
        return None

    def _differs(self, old: cst.BaseSuite, new: cst.BaseSuite, ctx: _Context) -> bool:
        old_fps = [self._fp(ctx.old_trace, s) for s in _statements(old)]
        new_fps = [self._fp(ctx.new_trace, s) for s in _statements(new)]
        return old_fps != new_fps

    def _cond_header(
        self, trace: dict[int, list[Node]], stmt: cst.If
    ) -> tuple[str, str | None] | None:
        nodes = trace.get(id(stmt), [])
        if not nodes:
            return ("none", _normalised(stmt.test))
        last = nodes[-1]
        if isinstance(last, PatchIf):
            return ("patch", last.name)
        if isinstance(last, If):
            ops = "|".join(fingerprint(n) for n in nodes[:-1])
            return ("if", f"{ops}::{last.key}")
        return None

    def _stack(self, old: cst.If, new: cst.If, ctx: _Context) -> cst.If:
        name = self._name(
            ctx, "", old_ops=_calls_in(old.body), new_ops=_calls_in(new.body)
        )
        test = self._patch_test(ctx, name)
        return new.with_changes(
            test=test,
            body=new.body,
            orelse=old.with_changes(leading_lines=()),
        )

    def _helper_change(
        self, old: cst.BaseStatement, new: cst.BaseStatement, ctx: _Context
    ) -> cst.BaseStatement | None:
        """The same statement text, different operations: a helper it calls
        changed.  Fix inside the helper, where the old code still is."""
        if _normalised(old) != _normalised(new):
            return None
        fixed_any = False
        for call in _calls_in(new):
            target = self.new.resolve_expr(ctx.module, call.func, None)
            if (
                not isinstance(target, FuncRef)
                or self.new_roles(target.func).kind is not Kind.PLAIN
            ):
                continue
            helper = target.func
            if id(helper) in self.done_helpers:
                fixed_any = True
                continue
            old_helper = self._old_counterpart(helper)
            if old_helper is None:
                continue
            self.done_helpers.add(id(helper))
            before = len(self.replacements.get(helper.module.path, {}))
            self._fix_function(f"{ctx.workflow}-{helper.name}", old_helper, helper)
            if len(self.replacements.get(helper.module.path, {})) > before:
                self.touched.setdefault(helper.module.path, set()).add(ctx.workflow)
                fixed_any = True
        return new if fixed_any else None

    def _old_counterpart(self, func: FuncDef) -> FuncDef | None:
        info = self.old.by_path.get(func.module.path) or self.old.module(
            func.module.name
        )
        if info is None:
            return None
        for candidate in info.iter_functions():
            if candidate.qualname == func.qualname:
                return candidate
        return None

    # -- the patch

    def _patch(
        self,
        olds: list[cst.BaseStatement],
        news: list[cst.BaseStatement],
        ctx: _Context,
        rest: Sequence[cst.BaseStatement] = (),
    ) -> cst.BaseStatement:
        name = self._name(
            ctx, "", old_ops=_calls_in_all(olds), new_ops=_calls_in_all(news)
        )
        old_body = [self._old_statement(s, ctx) for s in olds]
        old_body = self._nested_defs(olds, ctx) + old_body
        read_later = set().union(*(_names_in(s) for s in rest)) if rest else set()
        defined_new = (_assigned(news) - _assigned(olds)) & read_later
        placeholders: list[cst.BaseStatement] = [
            cst.SimpleStatementLine(
                [cst.Assign([cst.AssignTarget(cst.Name(v))], cst.Name("None"))]
            )
            for v in sorted(defined_new)
        ]
        leading = _leading(news[0]) if news else ()
        new_body = [_without_leading(news[0]), *news[1:]] if news else []
        if old_body:
            old_body[0] = _without_leading(old_body[0])
        else_body = placeholders + old_body
        return cst.If(
            test=self._patch_test(ctx, name),
            body=cst.IndentedBlock(new_body or [cst.SimpleStatementLine([cst.Pass()])]),
            orelse=cst.Else(cst.IndentedBlock(else_body)) if else_body else None,
            leading_lines=leading,
        )

    def _patch_test(self, ctx: _Context, name: str) -> cst.BaseExpression:
        dbos = self._dbos_expr(ctx.module)
        method = "patch_async" if ctx.is_async else "patch"
        call = cst.Call(
            cst.Attribute(dbos, cst.Name(method)),
            [cst.Arg(cst.SimpleString(f'"{name}"'))],
        )
        return cst.Await(call) if ctx.is_async else call

    def _dbos_expr(self, info: ModuleInfo) -> cst.BaseExpression:
        for local, (module, attr) in info.imports.items():
            if module == dbos_api.DBOS_MODULE and attr == "DBOS":
                return cst.Name(local)
        for local, (module, attr) in info.imports.items():
            if module == dbos_api.DBOS_MODULE and attr is None and "." not in local:
                return cst.Attribute(cst.Name(local), cst.Name("DBOS"))
        self.restore.setdefault(info.path, {})["import:DBOS"] = cst.SimpleStatementLine(
            [
                cst.ImportFrom(
                    module=cst.Name("dbos"), names=[cst.ImportAlias(cst.Name("DBOS"))]
                )
            ]
        )
        return cst.Name("DBOS")

    def _name(
        self,
        ctx: _Context,
        hint: str,
        old_ops: Sequence[cst.Call],
        new_ops: Sequence[cst.Call],
    ) -> str:
        added = [
            _callee(c)
            for c in new_ops
            if _callee(c) not in {_callee(o) for o in old_ops}
        ]
        removed = [
            _callee(c)
            for c in old_ops
            if _callee(c) not in {_callee(n) for n in new_ops}
        ]
        if hint:
            change = hint
        elif added and not removed:
            change = f"add-{added[0]}"
        elif removed and not added:
            change = f"drop-{removed[0]}"
        elif added:
            change = f"{removed[0]}-to-{added[0]}"
        else:
            change = "change"
        base = _slug(self.template.format(workflow=ctx.workflow, change=change))
        name, n = base, 2
        while name in self.used_names:
            name, n = f"{base}-{n}", n + 1
        self.used_names.add(name)
        return name

    def _nested_defs(
        self, olds: list[cst.BaseStatement], ctx: _Context
    ) -> list[cst.BaseStatement]:
        """Nested defs the old statements call that the new function lost (a
        renamed closure passed to run_step): restored in the old branch, where
        their qualname is the one old histories recorded."""
        out: list[cst.BaseStatement] = []
        for name in sorted(
            set().union(*(_names_in(s) for s in olds)) if olds else set()
        ):
            nested = ctx.old_func.nested.get(name)
            if nested is not None and name not in ctx.new_func.nested:
                out.append(nested.node.with_changes(leading_lines=()))
        return out

    def _renamed_steps(self, stmt: cst.BaseStatement, ctx: _Context) -> dict[int, str]:
        """Calls of steps whose recorded name changed: id(call) -> old name."""
        out: dict[int, str] = {}
        for call in _calls_in(stmt):
            old_target = self.old.resolve_expr(ctx.old_module, call.func, ctx.old_func)
            new_target = self.new.resolve_expr(ctx.module, call.func, ctx.new_func)
            if not isinstance(old_target, FuncRef) or not isinstance(
                new_target, FuncRef
            ):
                continue
            old_role = self.old_roles(old_target.func)
            new_role = self.new_roles(new_target.func)
            if (
                old_role.kind is Kind.STEP
                and new_role.kind is Kind.STEP
                and old_role.name is not None
                and old_role.name != new_role.name
            ):
                out[id(call)] = old_role.name
        return out

    def _old_statement(
        self, stmt: cst.BaseStatement, ctx: _Context
    ) -> cst.BaseStatement:
        """An old statement made to run in the new module: constants whose
        value changed are inlined with their old value, and definitions the
        new module lost are restored."""
        changed: dict[str, cst.BaseExpression] = {}
        for name in _names_in(stmt):
            old_target = self.old.resolve_name(ctx.old_module, name)
            new_target = self.new.resolve_name(ctx.module, name)
            if isinstance(old_target, ValueRef):
                old_value = self.old_lower.global_value(
                    old_target.module, old_target.name
                )
                new_value = (
                    self.new_lower.global_value(new_target.module, new_target.name)
                    if isinstance(new_target, ValueRef)
                    else None
                )
                if old_value != new_value:
                    with contextlib.suppress(cst.ParserSyntaxError):
                        changed[name] = cst.parse_expression(repr(old_value))
            elif new_target is None and not hasattr(builtins, name):
                self._restore(name, old_target, ctx)
        renamed = self._renamed_steps(stmt, ctx)
        if renamed:
            dbos = self._dbos_expr(ctx.module)
            stmt = stmt.visit(_RunStepAs(renamed, dbos, ctx.is_async))  # type: ignore[assignment]
        if not changed:
            return stmt
        return stmt.visit(_Inline(changed))  # type: ignore[return-value]

    def _restore(self, name: str, old_target: object, ctx: _Context) -> None:
        node: cst.CSTNode | None = None
        if (
            isinstance(old_target, FuncRef)
            and old_target.func.parent is None
            and old_target.func.owner is None
        ):
            node = old_target.func.node
        elif isinstance(old_target, ClassRef):
            node = old_target.cls.node
        if name in ctx.old_module.imports and node is None:
            module, attr = ctx.old_module.imports[name]
            if attr is None:
                node = cst.SimpleStatementLine(
                    [
                        cst.Import(
                            [
                                cst.ImportAlias(
                                    _dotted(module),
                                    asname=None
                                    if module == name
                                    else cst.AsName(cst.Name(name)),
                                )
                            ]
                        )
                    ]
                )
            else:
                alias = None if attr == name else cst.AsName(cst.Name(name))
                node = cst.SimpleStatementLine(
                    [
                        cst.ImportFrom(
                            module=_dotted(module),
                            names=[cst.ImportAlias(cst.Name(attr), asname=alias)],
                        )
                    ]
                )
        if node is not None:
            self.restore.setdefault(ctx.module.path, {})[name] = node
            self.notes.append(
                f"{ctx.module.path}: restored {name} from the base revision "
                "for the old branch"
            )

    # -- output

    def render(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for path in sorted(set(self.replacements) | set(self.restore)):
            info = self.new.by_path[path]
            tree = info.tree.visit(_Replace(self.replacements.get(path, {})))
            assert isinstance(tree, cst.Module)
            restore = self.restore.get(path, {})
            if restore:
                tree = _insert_definitions(tree, list(restore.values()))
            text = tree.code
            if text != info.source:
                out[path] = text
        return out


Opcode = tuple[str, int, int, int, int]
MERGE_GAP = 2
"""Changes at most this many unchanged statements apart share one patch: one
decision for one edit (a swap is an insertion and a deletion to difflib)."""


def _grouped(opcodes: Sequence[Opcode]) -> list[Opcode]:
    out: list[Opcode] = []
    for op in opcodes:
        tag = op[0]
        if (
            tag != "equal"
            and len(out) >= 2
            and out[-1][0] == "equal"
            and out[-1][2] - out[-1][1] <= MERGE_GAP
            and out[-2][0] != "equal"
        ):
            out.pop()
            first = out.pop()
            out.append(("replace", first[1], op[2], first[3], op[4]))
        elif tag != "equal" and out and out[-1][0] != "equal":
            first = out.pop()
            out.append(("replace", first[1], op[2], first[3], op[4]))
        else:
            out.append(op)
    return out


# ---------------------------------------------------------------- CST helpers


class _Replace(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.CSTNode]) -> None:
        self.replacements = replacements

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        found = self.replacements.get(id(original))
        if isinstance(found, cst.FunctionDef):
            return found
        return updated


class _RunStepAs(cst.CSTTransformer):
    """``f(x)`` -> ``DBOS.run_step({"name": "<old name>"}, f, x)``: the old
    branch records the name old histories hold while calling the same code."""

    def __init__(
        self, renamed: dict[int, str], dbos: cst.BaseExpression, is_async: bool
    ) -> None:
        self.renamed = renamed
        self.dbos = dbos
        self.is_async = is_async

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        name = self.renamed.get(id(original))
        if name is None:
            return updated
        method = "run_step_async" if self.is_async else "run_step"
        options = cst.Dict(
            [cst.DictElement(cst.SimpleString('"name"'), cst.SimpleString(repr(name)))]
        )
        return cst.Call(
            cst.Attribute(self.dbos, cst.Name(method)),
            [cst.Arg(options), cst.Arg(updated.func), *updated.args],
        )


class _Inline(cst.CSTTransformer):
    def __init__(self, values: dict[str, cst.BaseExpression]) -> None:
        self.values = values

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        return self.values.get(original.value, updated)


def _insert_definitions(tree: cst.Module, nodes: list[cst.CSTNode]) -> cst.Module:
    """Imports after the last import, definitions before the first def."""
    body = list(tree.body)
    imports = [n for n in nodes if isinstance(n, cst.SimpleStatementLine)]
    defs = [n for n in nodes if not isinstance(n, cst.SimpleStatementLine)]
    last_import = -1
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and any(
            isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
        ):
            last_import = i
    first_def = next(
        (
            i
            for i, s in enumerate(body)
            if isinstance(s, (cst.FunctionDef, cst.ClassDef))
        ),
        len(body),
    )
    spaced = [
        d.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
        for d in defs
        if isinstance(d, cst.BaseCompoundStatement)
    ]
    body[first_def:first_def] = spaced
    body[last_import + 1 : last_import + 1] = imports
    return tree.with_changes(body=body)


def _leading(stmt: cst.BaseStatement) -> Sequence[cst.EmptyLine]:
    if isinstance(stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return stmt.leading_lines
    return ()


def _without_leading(stmt: cst.BaseStatement) -> cst.BaseStatement:
    if isinstance(stmt, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        return stmt.with_changes(leading_lines=())
    return stmt


def _statements(suite: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    assert isinstance(suite, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(list(suite.body))] if suite.body else []


_EMPTY = cst.Module(body=[])


def _normalised(node: cst.CSTNode) -> str:
    text = _EMPTY.code_for_node(node)
    text = re.sub(r"#[^\n]*", "", text)
    return " ".join(text.split())


def _calls_in(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Visitor(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

    node.visit(Visitor())
    return found


def _calls_in_all(nodes: Sequence[cst.CSTNode]) -> list[cst.Call]:
    return [c for n in nodes for c in _calls_in(n)]


def _callee(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return "call"


def _names_in(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class Visitor(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

        def visit_Attribute(self, attr: cst.Attribute) -> bool:
            attr.value.visit(self)
            return False

    node.visit(Visitor())
    return found


def _assigned(nodes: Sequence[cst.CSTNode]) -> set[str]:
    found: set[str] = set()

    class Visitor(cst.CSTVisitor):
        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            for name in _iter_names(target.target):
                found.add(name)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            for name in _iter_names(node.target):
                found.add(name)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

    for node in nodes:
        node.visit(Visitor())
    return found


def _iter_names(node: cst.BaseExpression) -> Iterator[str]:
    if isinstance(node, cst.Name):
        yield node.value
    elif isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            yield from _iter_names(element.value)


def _patch_names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()
    for call in _calls_in(node):
        if _callee(call) in (
            "patch",
            "patch_async",
            "deprecate_patch",
            "deprecate_patch_async",
        ):
            if call.args and isinstance(call.args[0].value, cst.SimpleString):
                value = call.args[0].value.evaluated_value
                if isinstance(value, str):
                    found.add(value)
    return found


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def _dotted(name: str) -> cst.Attribute | cst.Name:
    parts = name.split(".")
    node: cst.Attribute | cst.Name = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(node, cst.Name(part))
    return node


def unified_diff(path: str, before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )
