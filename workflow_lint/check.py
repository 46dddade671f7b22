"""Comparing two revisions of a project: the engine behind ``check``.

Workflows are matched by recorded name across the whole project, each pair is
lowered and judged, and every problem becomes a finding with its witness.
The engine returns findings; it never prints (the front ends do).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import libcst as cst

from workflow_lint import dbos_api
from workflow_lint.diagnostics import Code, Finding, Span, Verdict, Witness
from workflow_lint.forked import Pending
from workflow_lint.index import (
    DbosRef,
    FuncDef,
    ModuleInfo,
    Project,
    build_module,
    module_name_for,
    parse_file,
)
from workflow_lint.ir import Loop, Site, WorkflowIR, clear_fingerprint_cache
from workflow_lint.judge import Judgement, Kind, Problem, judge
from workflow_lint.lower import Lowering, _iter_ops
from workflow_lint.revision import Options, Snapshot, Versioning
from workflow_lint.roles import Kind as RoleKind
from workflow_lint.roles import RoleCache
from workflow_lint.selection import (
    Corpus,
    called_methods,
    changed_paths,
    defining_methods,
    importers,
    might_matter,
    naming,
)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    workflows_old: int = 0
    workflows_new: int = 0
    judged: int = 0


class ModuleCache:
    """Parsed modules by (path, content): a file unchanged between the two
    revisions is parsed once."""

    def __init__(self) -> None:
        self._modules: dict[tuple[str, str], ModuleInfo] = {}

    def get(self, path: str, data: bytes) -> ModuleInfo:
        key = (path, hashlib.blake2b(data, digest_size=16).hexdigest())
        info = self._modules.get(key)
        if info is None:
            parsed = parse_file(path, data)
            info = build_module(path, parsed.text, parsed.tree, parsed.positions)
            self._modules[key] = info
        return info


def load_project(
    snapshot: Snapshot,
    cache: ModuleCache,
    seeds: Iterable[str] | None = None,
    index: _ModuleIndex | None = None,
) -> Project:
    """Parse ``seeds`` (by default every file that can hold workflows); any
    other file of the snapshot is parsed when a name first resolves into it
    (a helper in plain code that runs steps, however many imports away)."""
    index = index or _ModuleIndex(snapshot.files)
    if seeds is None:
        seeds = (p for p, data in snapshot.files.items() if might_matter(data))

    def load(path: str) -> ModuleInfo:
        return cache.get(path, snapshot.files[path])

    modules = {path: load(path) for path in seeds if path in snapshot.files}
    return Project(modules, index.find, load)


@dataclass
class Pair:
    old: Project
    new: Project
    changed: set[str]
    """Paths whose bytes differ between the revisions."""
    reach: set[str]
    """Paths that are changed or may import a changed file."""


def load_pair(old: Snapshot, new: Snapshot, cache: ModuleCache) -> Pair:
    """Both revisions, parsed only where a difference can show: the changed
    files that can hold workflows, the files of that kind that may import a
    changed file, and what those import (``selection``).  A workflow name a
    parsed file defines, or a method name it calls, is looked up in the files
    left out too, so duplicates and method calls resolve as in a full load."""
    changed = changed_paths(old.files, new.files)
    corpus = Corpus({**old.files, **new.files})
    reach = importers(corpus, changed)
    dbos = corpus.mentioning_dbos()
    dbos |= {p for p in changed & old.files.keys() if might_matter(old.files[p])}
    seeds = {p for p in reach if p in dbos}
    old_index, new_index = _ModuleIndex(old.files), _ModuleIndex(new.files)
    while True:
        old_project = load_project(old, cache, seeds, old_index)
        new_project = load_project(new, cache, seeds, new_index)
        parsed = old_project.by_path.keys() | new_project.by_path.keys()
        rest = dbos - parsed
        if not rest:
            return Pair(old_project, new_project, changed, reach)
        names: set[str] = set()
        calls: set[str] = set()
        for project in (old_project, new_project):
            roles = RoleCache(project)
            for name in workflows_of(project, roles):
                names.add(name.rpartition(".")[2])
            for info in project.by_path.values():
                calls |= called_methods(info.source)
        left_out = Corpus({p: corpus.files[p] for p in sorted(rest)})
        extra = naming(left_out, rest, names)
        extra |= defining_methods(left_out, rest - extra, calls)
        if not extra:
            return Pair(old_project, new_project, changed, reach)
        seeds |= extra


class _ModuleIndex:
    """Module name -> path, also by dotted suffix (a ``src/`` layout, or a
    project imported under its package name), built once."""

    def __init__(self, files: Iterable[str]) -> None:
        self.exact: dict[str, str] = {}
        self.suffixes: dict[str, list[str]] = {}
        for path in files:
            name = module_name_for(path)
            self.exact.setdefault(name, path)
            parts = name.split(".")
            for i in range(1, len(parts)):
                self.suffixes.setdefault(".".join(parts[i:]), []).append(path)

    def find(self, name: str) -> str | None:
        if name in self.exact:
            return self.exact[name]
        matches = self.suffixes.get(name, [])
        return matches[0] if len(matches) == 1 else None


def workflows_of(project: Project, roles: RoleCache) -> dict[str, list[FuncDef]]:
    found: dict[str, list[FuncDef]] = {}
    for info in sorted(project.modules_using_dbos(), key=lambda m: m.path):
        for func in info.iter_functions():
            role = roles(func)
            if role.kind is RoleKind.WORKFLOW:
                name = role.name if role.name is not None else f"<{role.dynamic}>"
                found.setdefault(name, []).append(func)
    return found


def compare(old: Snapshot, new: Snapshot, options: Options | None = None) -> Report:
    """Findings for every old history the new revision breaks, strands or alters."""
    options = options or Options()
    cache = ModuleCache()
    return compare_projects(load_pair(old, new, cache), options)


def compare_projects(pair: Pair, options: Options) -> Report:
    clear_fingerprint_cache()
    report = Report()
    old_project, new_project, changed = pair.old, pair.new, pair.changed
    old_roles, new_roles = RoleCache(old_project), RoleCache(new_project)
    old_wfs = workflows_of(old_project, old_roles)
    new_wfs = workflows_of(new_project, new_roles)
    report.workflows_old, report.workflows_new = len(old_wfs), len(new_wfs)
    old_lower = Lowering(old_project, old_roles)
    new_lower = Lowering(new_project, new_roles)
    definitions = _definitions(old_project, old_roles, changed)
    for name, paths in _definitions(new_project, new_roles, changed).items():
        definitions.setdefault(name, set()).update(paths)
    untouched = {
        name
        for name, funcs in new_wfs.items()
        if len(funcs) == 1
        and len(old_wfs.get(name, ())) == 1
        and old_wfs[name][0] is funcs[0]
        and funcs[0].module.path not in pair.reach
    }
    """Workflows whose file, and every project file it imports, are the same
    in both revisions: nothing about them can differ, so they are neither
    lowered nor judged (rule warnings are reported for what a change touches)."""
    if options.versioning is Versioning.COMPUTED:
        stranded = _version_change(old_wfs, new_wfs)
        if stranded is not None:
            report.findings.append(stranded)
            return report
    old_todo = [
        (name, funcs[0])
        for name, funcs in sorted(old_wfs.items())
        if name not in untouched
    ]

    def lower_old() -> dict[str, WorkflowIR]:
        return {
            name: old_lower.workflow(func, old_roles(func)) for name, func in old_todo
        }

    sizes = {func.module.path: len(func.module.source) for _, func in old_todo}
    old_side = Pending(lower_old) if sum(sizes.values()) >= FORK_ABOVE else None
    rule_findings: list[Finding] = []
    new_irs: dict[str, WorkflowIR] = {}
    for name, funcs in sorted(new_wfs.items()):
        func = funcs[0]
        if name not in untouched:
            new_irs[name] = new_lower.workflow(func, new_roles(func), rule_findings)
        for dup in funcs[1:]:
            line, col = dup.module.position(dup.node)
            rule_findings.append(
                Finding(
                    Code.DUPLICATE_WORKFLOW,
                    f"workflow name {name!r} is registered twice (also "
                    f"{func.module.path}:{func.module.position(func.node)[0]}); "
                    "DBOS cannot tell which one recovers a history",
                    Span(dup.module.path, line, col),
                    workflow=name,
                )
            )
    report.findings.extend(rule_findings)
    report.findings.extend(_patch_in_steps(new_project, new_roles))
    old_irs = old_side.result() if old_side is not None else lower_old()
    for name, old_ir in old_irs.items():
        new_ir = new_irs.get(name)
        if new_ir is None:
            report.findings.append(_gone(old_ir, new_irs))
            continue
        report.judged += 1
        judgement = judge(old_ir, new_ir, options.loop_bound)
        found = _findings(old_ir, new_ir, judgement, definitions)
        found += _shifted_results(old_ir, new_ir)
        report.findings.extend(_worst(found))
    report.findings.sort(
        key=lambda f: (f.span.path, f.span.line, f.span.column, f.code.code)
    )
    return report


FORK_ABOVE = 12_000
"""Characters of source behind the old workflows to lower from which the
old revision is lowered in a forked process (``forked``), in parallel with
the new one: below, starting the process costs about what it saves."""


def _source(func: FuncDef) -> str:
    """What inspect.getsource returns, which DBOS hashes into the default
    application version: the decorators and the def, without the blank
    lines and comments above them."""
    return func.module.tree.code_for_node(func.node.with_changes(leading_lines=()))


def _version_change(
    old_wfs: Mapping[str, list[FuncDef]], new_wfs: Mapping[str, list[FuncDef]]
) -> Finding | None:
    """DBOS's default version hashes the source of every workflow function."""
    changed = [
        name
        for name in old_wfs
        if name in new_wfs
        and old_wfs[name][0] is not new_wfs[name][0]
        and _source(old_wfs[name][0]) != _source(new_wfs[name][0])
    ]
    old = {name: funcs[0] for name, funcs in old_wfs.items()}
    new = {name: funcs[0] for name, funcs in new_wfs.items()}
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    if not changed and not added and not removed:
        return None
    if changed:
        func = new[changed[0]]
        why = f"the source of workflow {changed[0]} changed"
    elif added:
        func = new[added[0]]
        why = f"workflow {added[0]} was added"
    else:
        func = old[removed[0]]
        why = f"workflow {removed[0]} was removed"
    line, _ = func.module.position(func.node)
    return Finding(
        Code.VERSION_CHANGED,
        f"{why}, so the computed application version changes: every in-flight "
        f"workflow ({', '.join(sorted(old))}) stays PENDING until a process of the "
        "old version recovers it; keep old executors running until they drain, or "
        "pin application_version and patch the change",
        Span(func.module.path, line, 0),
        workflow=changed[0] if changed else (added or removed)[0],
    )


def _gone(old_ir: WorkflowIR, new_irs: Mapping[str, WorkflowIR]) -> Finding:
    hint = f'keep the recorded name: @DBOS.workflow(name="{old_ir.name}")'
    span = Span(old_ir.path, old_ir.line, 0)
    return Finding(
        Code.WORKFLOW_GONE,
        f"workflow {old_ir.name} is gone: in-flight {old_ir.name} workflows stay "
        "PENDING forever (DBOSWorkflowFunctionNotFoundError on recovery); " + hint,
        span,
        workflow=old_ir.name,
        hints=(hint,),
    )


_KIND_CODE = {
    Kind.MISMATCH: Code.OPERATION_MISMATCH,
    Kind.SKIPPED: Code.RECORDED_SKIPPED,
    Kind.SILENT: Code.RESULT_OVERWRITE,
    Kind.EXTENDED: Code.OPERATIONS_APPENDED,
    Kind.UNVERIFIABLE: Code.UNVERIFIABLE,
    Kind.BUDGET: Code.UNVERIFIABLE,
}


def _definitions(
    project: Project, roles: RoleCache, changed: set[str]
) -> dict[str, set[str]]:
    """Recorded name -> changed files defining a step or workflow of that name."""
    out: dict[str, set[str]] = {}
    for info in project.modules_using_dbos():
        if info.path not in changed:
            continue
        for func in info.iter_functions():
            role = roles(func)
            if role.kind is not RoleKind.PLAIN and role.name is not None:
                out.setdefault(role.name, set()).add(info.path)
    return out


def _findings(
    old: WorkflowIR,
    new: WorkflowIR,
    judgement: Judgement,
    definitions: Mapping[str, set[str]],
) -> list[Finding]:
    out: list[Finding] = []
    for kind, problem in judgement.problems.items():
        code = _KIND_CODE[kind]
        site = problem.new_site or problem.old_site
        span = (
            Span(site.path, site.line, site.column)
            if site and site.line
            else Span(new.path, new.line, 0)
        )
        witness = Witness(
            new.name,
            problem.history,
            problem.position,
            problem.recorded,
            problem.expected,
            _span(problem.old_site),
            _span(problem.new_site),
            problem.old_site.text if problem.old_site else "",
            problem.new_site.text if problem.new_site else "",
        )
        names = [problem.recorded, problem.expected]
        related = sorted(
            {p for n in names if n is not None for p in definitions.get(n, ())}
        )
        out.append(
            Finding(
                code,
                _message(new.name, problem),
                span,
                new.name,
                witness,
                related=tuple(related),
            )
        )
    return out


_SEVERITY_ORDER = (Verdict.BREAK, Verdict.DRIFT, Verdict.EXTEND)


def _worst(found: list[Finding]) -> list[Finding]:
    """One workflow's replay findings, worst verdict only: a path that later
    crashes also shows drift or extension first, and the patch that fixes the
    worst fixes the rest.  Findings the checker cannot verify always stay."""
    for verdict in _SEVERITY_ORDER:
        if any(f.verdict is verdict for f in found):
            return [f for f in found if f.verdict in (verdict, Verdict.RULE)]
    return found


def _span(site: Site | None) -> Span | None:
    if site is None or not site.line:
        return None
    return Span(site.path, site.line, site.column)


def _after(problem: Problem) -> str:
    before = problem.history[: problem.position - 1]
    if not before:
        return "a workflow interrupted before its first operation"
    return f"a workflow interrupted after {before[-1]} (step {len(before)})"


def _message(workflow: str, problem: Problem) -> str:
    kind = problem.kind
    if kind is Kind.MISMATCH:
        return (
            f"workflow {workflow}: {_after(problem)} would now call {problem.expected} "
            f"at step {problem.position}, where {problem.recorded} was recorded "
            "(DBOSUnexpectedStepError on recovery); guard the change with DBOS.patch"
        )
    if kind is Kind.SKIPPED:
        return (
            f"workflow {workflow}: histories that recorded {problem.recorded} at step "
            f"{problem.position} now finish without replaying it: in-flight workflows "
            "silently skip recorded work; guard the change with DBOS.patch"
        )
    if kind is Kind.SILENT:
        return (
            f"workflow {workflow}: at step {problem.position} an unchecked "
            f"{problem.expected} now lands where {problem.recorded} was recorded: "
            "DBOS ignores the recorded row and the workflow runs on with a live result"
        )
    if kind is Kind.EXTENDED:
        return (
            f"workflow {workflow}: in-flight workflows that already finished the old "
            f"operations will also run {problem.expected} (step {problem.position})"
        )
    if kind is Kind.BUDGET:
        return (
            f"workflow {workflow}: too many paths to check exhaustively; "
            "the change was not verified"
        )
    return (
        f"workflow {workflow}: cannot verify step {problem.position}: "
        f"{problem.recorded} was recorded and the new code runs {problem.expected}, "
        "whose recorded names are only known at run time"
    )


def _shifted_results(old: WorkflowIR, new: WorkflowIR) -> list[Finding]:
    """Loops over a constant whose items shifted: same names, wrong results."""
    out: list[Finding] = []
    new_loops: dict[str, Loop] = {loop.ident: loop for loop in new.loops}
    for loop in old.loops:
        other = new_loops.get(loop.ident)
        if other is None or loop.values is None or other.values is None:
            continue
        shared = min(len(loop.values), len(other.values))
        if loop.values[:shared] == other.values[:shared]:
            continue  # the same items, more or fewer: the judge sees the count
        if not any(True for _ in _iter_ops(loop.body)):
            continue
        moved = next(
            (i for i in range(shared) if loop.values[i] != other.values[i]), shared
        )
        site = other.site
        now = other.values[moved] if moved < len(other.values) else "fewer items"
        then = loop.values[moved] if moved < len(loop.values) else "more items"
        out.append(
            Finding(
                Code.RESULTS_SHIFTED,
                f"workflow {new.name}: the loop over {site.text or 'a constant'} now "
                f"sees {now} at iteration {moved + 1}, where in-flight histories "
                f"recorded results for {then}: same-named operations silently "
                "receive each other's recorded results",
                Span(site.path, site.line, site.column),
                new.name,
            )
        )
    return out


def _patch_in_steps(project: Project, roles: RoleCache) -> list[Finding]:
    out: list[Finding] = []
    for info in project.modules_using_dbos():
        if "patch" not in info.source:
            continue
        for func in info.iter_functions():
            if roles(func).kind is not RoleKind.STEP:
                continue
            for call in _calls(func.node):
                target = project.resolve_expr(info, call.func, func)
                if isinstance(target, DbosRef) and target.attr in (
                    "patch",
                    "patch_async",
                    "deprecate_patch",
                    "deprecate_patch_async",
                ):
                    line, col = info.position(call)
                    out.append(
                        Finding(
                            Code.PATCH_IN_STEP,
                            f"DBOS.{target.attr}() inside step {func.qualname}: "
                            "patches only work in the workflow body (inside a "
                            "step it raises); move the decision to the workflow",
                            Span(info.path, line, col),
                        )
                    )
    return out


def _calls(node: cst.CSTNode) -> Iterable[cst.Call]:
    found: list[cst.Call] = []

    class Visitor(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(Visitor())
    return found


__all__ = ["Options", "Report", "Snapshot", "Versioning", "compare", "dbos_api"]
