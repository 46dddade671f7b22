"""The project-wide index: modules, their definitions, and name resolution.

Workflows are matched by recorded name across files, and a step's recorded
name depends on where and how it is defined, so every analysis starts from
one index of a whole revision.  Files are parsed with LibCST only when they
can matter (they mention DBOS, or a workflow module imports them), and a file
whose text is the same in both revisions is parsed once and shared.
"""

from __future__ import annotations

import ast
import functools
import io
import tokenize
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst

from workflow_lint import dbos_api
from workflow_lint.chunked_parse import CHUNK_LINES, parse_in_pieces
from workflow_lint.errors import SourceError


@dataclass(eq=False)
class FuncDef:
    """A ``def`` anywhere in a module, with the facts its recorded name needs."""

    name: str
    qualname: str
    node: cst.FunctionDef
    module: ModuleInfo
    owner: ClassDef | None
    parent: FuncDef | None
    nested: dict[str, FuncDef] = field(default_factory=dict)

    @property
    def is_async(self) -> bool:
        return self.node.asynchronous is not None

    @property
    def decorators(self) -> list[cst.BaseExpression]:
        return [d.decorator for d in self.node.decorators]

    @property
    def is_static(self) -> bool:
        return any(
            isinstance(d, cst.Name) and d.value in ("staticmethod", "classmethod")
            for d in self.decorators
        )

    def __repr__(self) -> str:
        return f"<FuncDef {self.module.name}:{self.qualname}>"


@dataclass(eq=False)
class ClassDef:
    name: str
    qualname: str
    node: cst.ClassDef
    module: ModuleInfo
    methods: dict[str, FuncDef] = field(default_factory=dict)
    classes: dict[str, ClassDef] = field(default_factory=dict)

    @property
    def bases(self) -> list[cst.BaseExpression]:
        return [a.value for a in self.node.bases]

    @property
    def decorators(self) -> list[cst.BaseExpression]:
        return [d.decorator for d in self.node.decorators]


@dataclass(frozen=True, slots=True)
class Registration:
    """``DBOS.step(...)(fn)`` or ``DBOS.workflow(...)(fn)``: a decorator
    applied by calling it, which registers ``fn`` as it would a decorated def."""

    decorator: cst.Call
    assigned_to: str | None


@dataclass(eq=False)
class ModuleInfo:
    """One parsed file, with its module-level names."""

    name: str
    path: str
    source: str
    tree: cst.Module
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    functions: dict[str, FuncDef] = field(default_factory=dict)
    classes: dict[str, ClassDef] = field(default_factory=dict)
    assigns: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    assigned_registrations: dict[str, tuple[Registration, cst.BaseExpression]] = field(
        default_factory=dict
    )
    pending_registrations: list[
        tuple[Registration, cst.BaseExpression, FuncDef | None]
    ] = field(default_factory=list)

    @cached_property
    def positions(self) -> Mapping[int, tuple[int, int]]:
        """Line and column of every statement, handler and match case, by
        ``id`` of its CST node.  LibCST's PositionProvider re-renders the
        whole module and costs more than parsing it; Python's own parser
        gives statement positions at a fraction of that, and the two trees'
        statements pair up one to one."""
        try:
            module = ast.parse(self.source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return {}
        out: dict[int, tuple[int, int]] = {}
        _pair_block(list(self.tree.body), module.body, out)
        return out

    @cached_property
    def lines(self) -> list[str]:
        return self.source.splitlines()

    def position(
        self, node: cst.CSTNode, within: cst.CSTNode | None = None
    ) -> tuple[int, int]:
        """Where ``node`` starts; for an expression, on the line of the
        statement ``within`` that holds it, at its text when found there."""
        found = self.positions.get(id(node))
        if found is not None:
            return found
        if within is None:
            return (1, 0)
        line, column = self.positions.get(id(within), (1, 0))
        text = self.lines[line - 1] if 1 <= line <= len(self.lines) else ""
        head = _head(node)
        at = text.find(head, column) if head else -1
        if at < 0 and head:  # ``a . b(x)``: the rendered text, spaced as written
            head = _rendered_head(node)
            at = text.find(head, column) if head else -1
        return (line, at if at >= 0 else column)

    def line_text(self, line: int) -> str:
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1].strip()
        return ""

    @cached_property
    def mentions_dbos(self) -> bool:
        return "dbos" in self.source.lower()

    def iter_functions(self) -> Iterator[FuncDef]:
        """Every def of the module, nested ones and methods included."""

        def walk(funcs: Mapping[str, FuncDef]) -> Iterator[FuncDef]:
            for func in funcs.values():
                yield func
                yield from walk(func.nested)

        def walk_classes(classes: Mapping[str, ClassDef]) -> Iterator[FuncDef]:
            for cls in classes.values():
                yield from walk(cls.methods)
                yield from walk_classes(cls.classes)

        yield from walk(self.functions)
        yield from walk_classes(self.classes)


_EMPTY_MODULE = cst.Module(body=[])


def _head(node: cst.CSTNode) -> str:
    """The start of ``node``'s text, to find it on its line: a plain call's
    callee is read off the tree (rendering the whole call with LibCST costs
    more than lowering it); anything else is rendered."""
    if isinstance(node, cst.Call) and not node.lpar:
        name = _dotted(node.func)
        if name is not None:
            return name
    return _rendered_head(node)


def _rendered_head(node: cst.CSTNode) -> str:
    return _EMPTY_MODULE.code_for_node(node).split("\n", 1)[0].strip()


def _at(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "lineno", 1), getattr(node, "col_offset", 0))


def _pair_block(
    cst_body: list[cst.CSTNode],
    ast_body: list[ast.stmt],
    out: dict[int, tuple[int, int]],
) -> None:
    index = 0
    for stmt in cst_body:
        if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            smalls = list(stmt.body)
            paired = ast_body[index : index + len(smalls)]
            if paired:
                out[id(stmt)] = _at(paired[0])
            for small, node in zip(smalls, paired, strict=False):
                out[id(small)] = _at(node)
            index += len(smalls)
            continue
        if index >= len(ast_body):
            return
        node = ast_body[index]
        index += 1
        out[id(stmt)] = _at(node)
        _pair_compound(stmt, node, out)


def _suite(suite: object) -> list[cst.CSTNode]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    if isinstance(suite, cst.SimpleStatementSuite):
        return [suite]
    return []


def _pair_compound(
    stmt: cst.CSTNode, node: ast.stmt, out: dict[int, tuple[int, int]]
) -> None:
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef, cst.With)) and hasattr(
        node, "body"
    ):
        _pair_block(_suite(stmt.body), node.body, out)
    elif isinstance(stmt, cst.If) and isinstance(node, ast.If):
        _pair_block(_suite(stmt.body), node.body, out)
        if (
            isinstance(stmt.orelse, cst.If)
            and node.orelse
            and isinstance(node.orelse[0], ast.If)
        ):
            out[id(stmt.orelse)] = _at(node.orelse[0])
            _pair_compound(stmt.orelse, node.orelse[0], out)
        elif isinstance(stmt.orelse, cst.Else):
            _pair_block(_suite(stmt.orelse.body), node.orelse, out)
    elif isinstance(stmt, (cst.For, cst.While)) and isinstance(
        node, (ast.For, ast.AsyncFor, ast.While)
    ):
        _pair_block(_suite(stmt.body), node.body, out)
        if stmt.orelse is not None:
            _pair_block(_suite(stmt.orelse.body), node.orelse, out)
    elif isinstance(stmt, (cst.Try, cst.TryStar)) and isinstance(
        node, (ast.Try, ast.TryStar)
    ):
        _pair_block(_suite(stmt.body), node.body, out)
        handlers: Sequence[cst.ExceptHandler | cst.ExceptStarHandler] = stmt.handlers
        for handler, ast_handler in zip(handlers, node.handlers, strict=False):
            out[id(handler)] = _at(ast_handler)
            _pair_block(_suite(handler.body), ast_handler.body, out)
        if stmt.orelse is not None:
            _pair_block(_suite(stmt.orelse.body), node.orelse, out)
        if stmt.finalbody is not None:
            _pair_block(_suite(stmt.finalbody.body), node.finalbody, out)
    elif isinstance(stmt, cst.Match) and isinstance(node, ast.Match):
        for case, ast_case in zip(stmt.cases, node.cases, strict=False):
            out[id(case)] = _at(ast_case.pattern)
            _pair_block(_suite(case.body), ast_case.body, out)


@functools.lru_cache(maxsize=65536)
def module_name_for(path: str) -> str:
    """Dotted module name of a repository-relative path (``src/`` dropped)."""
    stem = path[:-3] if path.endswith(".py") else path
    parts = [p for p in stem.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    if len(parts) > 1 and parts[0] in ("src", "lib"):
        parts = parts[1:]
    return ".".join(parts)


MAX_BRACKET_DEPTH = 150
"""Python itself refuses 200 nested brackets; LibCST's native parser crashes
the process on deep nesting, so deep files are checked by Python first."""


def _decode(path: str, data: bytes) -> str:
    """Bytes to text the way Python reads a source file (PEP 263)."""
    if b"\x00" in data:
        raise SourceError(f"{path}: binary file, not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(f"{path}: {exc.msg}") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        detail = (
            f"byte {exc.start}: {exc.reason}"
            if isinstance(exc, UnicodeDecodeError)
            else str(exc)
        )
        what = (
            "UTF-8"
            if encoding.lower().replace("_", "-") in ("utf-8", "utf-8-sig")
            else encoding
        )
        raise SourceError(f"{path}: not {what} ({detail})") from None
    return text.removeprefix("\ufeff")


def _python_tree(path: str, text: str) -> ast.Module:
    """Python's own parse of a file, or its verdict as a SourceError with an
    exact line and column."""
    try:
        return ast.parse(text, filename=path)
    except SyntaxError as exc:
        line, column = exc.lineno or 1, (exc.offset or 1)
        raise SourceError(f"{path}:{line}:{column}: syntax error: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise SourceError(f"{path}: too deeply nested to parse") from None


def _python_error(path: str, text: str) -> SourceError | None:
    try:
        _python_tree(path, text)
    except SourceError as error:
        return error
    return None


def _max_depth(text: str) -> int:
    depth = best = 0
    for char in text:
        if char in "([{":
            depth += 1
            best = max(best, depth)
        elif char in ")]}":
            depth = max(0, depth - 1)
    return best


LARGE_MODULE_LINES = 2 * CHUNK_LINES
"""From this size on a module is parsed in pieces (``chunked_parse``)."""


@dataclass
class Parsed:
    """A decoded, parsed file; ``positions`` is filled when the parse had
    Python's tree at hand anyway (large modules), else computed on demand."""

    text: str
    tree: cst.Module
    positions: dict[int, tuple[int, int]] | None = None


def parse_source(path: str, data: bytes | str) -> tuple[str, cst.Module]:
    """Decode and parse one file, or raise SourceError with one clear line."""
    parsed = parse_file(path, data)
    return parsed.text, parsed.tree


def parse_file(path: str, data: bytes | str) -> Parsed:
    """``parse_source``, keeping statement positions of a large module."""
    text = _decode(path, data) if isinstance(data, bytes) else data
    if _max_depth(text) > MAX_BRACKET_DEPTH:
        error = _python_error(path, text)
        if error is not None:
            raise error
    if text.count("\n") >= LARGE_MODULE_LINES:
        syntax = _python_tree(path, text)
        pieces = parse_in_pieces(text, syntax)
        if pieces is not None:
            positions: dict[int, tuple[int, int]] = {}
            _pair_block(list(pieces.body), syntax.body, positions)
            return Parsed(text, pieces, positions)
        del syntax
    try:
        tree = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        error = _python_error(path, text)
        if error is not None:
            raise error from None
        raise SourceError(
            f"{path}:{exc.raw_line}:{exc.raw_column + 1}: syntax error: "
            f"{exc.message.splitlines()[0] if exc.message else 'invalid syntax'}"
        ) from None
    except RecursionError:
        raise SourceError(f"{path}: too deeply nested to parse") from None
    return Parsed(text, tree)


class _Collector:
    """Fills a ModuleInfo from its tree: one pass, no metadata."""

    def __init__(self, info: ModuleInfo) -> None:
        self.info = info

    def run(self) -> None:
        self._block(self.info.tree.body, owner=None, parent=None, prefix="")

    def _import(self, node: cst.Import | cst.ImportFrom) -> None:
        imports = self.info.imports
        if isinstance(node, cst.Import):
            for alias in node.names:
                dotted = _dotted(alias.name)
                if dotted is None:
                    continue
                if alias.asname is not None:
                    local = _as_name(alias.asname)
                    if local:
                        imports[local] = (dotted, None)
                else:
                    top = dotted.split(".")[0]
                    imports.setdefault(top, (top, None))
                    if "." in dotted:
                        imports[dotted] = (dotted, None)
            return
        base = _dotted(node.module) if node.module is not None else ""
        level = len(node.relative)
        if level:
            package = self.info.name.split(".")
            is_package = self.info.path.endswith("__init__.py")
            keep = len(package) - level + (1 if is_package else 0)
            prefix = ".".join(package[: max(keep, 0)])
            base = ".".join(p for p in (prefix, base) if p)
        if base is None or isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = _dotted(alias.name)
            if name is None:
                continue
            local = _as_name(alias.asname) if alias.asname is not None else name
            if local:
                imports[local] = (base, name)

    def _block(
        self,
        body: object,
        owner: ClassDef | None,
        parent: FuncDef | None,
        prefix: str,
    ) -> None:
        statements = body if isinstance(body, (list, tuple)) else []
        for stmt in statements:
            self._statement(stmt, owner, parent, prefix)

    def _statement(
        self,
        stmt: cst.CSTNode,
        owner: ClassDef | None,
        parent: FuncDef | None,
        prefix: str,
    ) -> None:
        at_module = owner is None and parent is None
        if isinstance(stmt, cst.FunctionDef):
            self._function(stmt, owner, parent, prefix)
        elif isinstance(stmt, cst.ClassDef):
            if parent is not None:
                return
            qual = prefix + stmt.name.value
            cls = ClassDef(stmt.name.value, qual, stmt, self.info)
            if owner is None:
                self.info.classes[cls.name] = cls
            else:
                owner.classes[cls.name] = cls
            inner = stmt.body.body
            self._block(inner, cls, None, qual + ".")
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)) and at_module:
                    self._import(small)
                elif isinstance(small, (cst.Assign, cst.AnnAssign, cst.Expr)):
                    self._assignment(small, at_module, parent)
        elif isinstance(stmt, (cst.If, cst.Try, cst.With)) and at_module:
            # `if TYPE_CHECKING:`, optional imports in try, ...: the real
            # definitions sit in these blocks too.
            for block in _sub_blocks(stmt):
                self._block(block, owner, parent, prefix)
        elif isinstance(stmt, (cst.If, cst.Try, cst.With, cst.For, cst.While)):
            for block in _sub_blocks(stmt):
                self._block(block, owner, parent, prefix)

    def _function(
        self,
        node: cst.FunctionDef,
        owner: ClassDef | None,
        parent: FuncDef | None,
        prefix: str,
    ) -> None:
        name = node.name.value
        qual = prefix + name
        func = FuncDef(name, qual, node, self.info, owner, parent)
        if parent is not None:
            parent.nested[name] = func
        elif owner is not None:
            owner.methods[name] = func
        else:
            self.info.functions[name] = func
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else []
        self._block(body, None, func, qual + ".<locals>.")

    def _assignment(
        self,
        small: cst.Assign | cst.AnnAssign | cst.Expr,
        at_module: bool,
        parent: FuncDef | None,
    ) -> None:
        value = small.value
        if value is None:
            return
        targets: list[str] = []
        if isinstance(small, cst.Assign):
            for target in small.targets:
                if isinstance(target.target, cst.Name):
                    targets.append(target.target.value)
        elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
            targets.append(small.target.value)
        if at_module:
            for target_name in targets:
                self.info.assigns.setdefault(target_name, []).append(value)
        registration = _registration(value, targets[0] if targets else None)
        if registration is not None:
            reg, fn_expr = registration
            if at_module and reg.assigned_to:
                self.info.assigned_registrations[reg.assigned_to] = (reg, fn_expr)
            self.info.pending_registrations.append((reg, fn_expr, parent))


def _registration(
    value: cst.BaseExpression, assigned_to: str | None
) -> tuple[Registration, cst.BaseExpression] | None:
    """Match ``<decorator-call>(fn)``: a call whose callee is itself a call."""
    if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Call):
        return None
    if len(value.args) != 1 or value.args[0].keyword is not None:
        return None
    return Registration(value.func, assigned_to), value.args[0].value


def _sub_blocks(stmt: cst.CSTNode) -> Iterator[object]:
    if isinstance(stmt, (cst.If, cst.With, cst.For, cst.While)):
        if isinstance(stmt.body, cst.IndentedBlock):
            yield stmt.body.body
        orelse = getattr(stmt, "orelse", None)
        while orelse is not None:
            if isinstance(orelse, cst.If):
                if isinstance(orelse.body, cst.IndentedBlock):
                    yield orelse.body.body
                orelse = orelse.orelse
            else:
                if isinstance(orelse.body, cst.IndentedBlock):
                    yield orelse.body.body
                orelse = None
    elif isinstance(stmt, cst.Try):
        yield stmt.body.body
        for handler in stmt.handlers:
            yield handler.body.body
        if stmt.orelse is not None:
            yield stmt.orelse.body.body
        if stmt.finalbody is not None:
            yield stmt.finalbody.body.body


def _dotted(node: cst.BaseExpression | cst.Attribute | cst.Name | None) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of names, else None."""
    return _dotted(node)


def _as_name(asname: cst.AsName) -> str | None:
    return asname.name.value if isinstance(asname.name, cst.Name) else None


def build_module(
    path: str,
    text: str,
    tree: cst.Module,
    positions: dict[int, tuple[int, int]] | None = None,
) -> ModuleInfo:
    info = ModuleInfo(module_name_for(path), path, text, tree)
    if positions is not None:
        info.__dict__["positions"] = positions  # the cached_property's slot
    _Collector(info).run()
    return info


# ---------------------------------------------------------------- resolution


@dataclass(frozen=True, slots=True)
class DbosRef:
    """The ``DBOS`` class (attr None) or an attribute chain on it."""

    attr: str | None = None


@dataclass(frozen=True, slots=True)
class ModuleRef:
    name: str
    info: ModuleInfo | None


@dataclass(frozen=True, slots=True)
class FuncRef:
    func: FuncDef


@dataclass(frozen=True, slots=True)
class ClassRef:
    cls: ClassDef


@dataclass(frozen=True, slots=True)
class ExternalRef:
    dotted: str


@dataclass(frozen=True, slots=True)
class ValueRef:
    """A module-level variable: its assignments, in its module."""

    module: ModuleInfo
    name: str
    values: tuple[cst.BaseExpression, ...]


Target = DbosRef | ModuleRef | FuncRef | ClassRef | ExternalRef | ValueRef


class Project:
    """Every module of one revision, resolved on demand."""

    def __init__(
        self,
        modules: Mapping[str, ModuleInfo],
        find: Callable[[str], str | None] | None = None,
        load: Callable[[str], ModuleInfo] | None = None,
    ) -> None:
        """``find`` maps a module name to a path among all of the revision's
        files, parsed or not, so that a name ambiguous in the revision stays
        ambiguous when only some files were parsed; ``load`` parses such a
        file the first time a name resolves into it."""
        self.by_path = dict(modules)
        self.by_name: dict[str, ModuleInfo] = {}
        for info in modules.values():
            self.by_name.setdefault(info.name, info)
        self._find = find
        self._load = load
        self._suffix: dict[str, ModuleInfo | None] = {}
        self._registered: dict[int, list[Registration]] | None = None

    def module(self, name: str) -> ModuleInfo | None:
        found = self.by_name.get(name)
        if found is not None:
            return found
        if self._find is not None:
            path = self._find(name)
            if path is None:
                return None
            found = self.by_path.get(path)
            if found is None and self._load is not None:
                found = self._load(path)
                self.by_path[path] = found
                self.by_name.setdefault(found.name, found)
                self._registered = None
            return found
        if name in self._suffix:
            return self._suffix[name]
        matches = [
            info for key, info in self.by_name.items() if key.endswith("." + name)
        ]
        result = matches[0] if len(matches) == 1 else None
        self._suffix[name] = result
        return result

    # -- registrations applied by calling a decorator

    def registrations_of(self, func: FuncDef) -> list[Registration]:
        if self._registered is None:
            registered: dict[int, list[Registration]] = {}
            for info in list(self.by_path.values()):
                for reg, fn_expr, scope in info.pending_registrations:
                    target = self.resolve_expr(info, fn_expr, scope)
                    if isinstance(target, FuncRef):
                        registered.setdefault(id(target.func), []).append(reg)
            self._registered = registered
        return self._registered.get(id(func), [])

    # -- names

    def resolve_name(
        self,
        info: ModuleInfo,
        name: str,
        scope: FuncDef | None = None,
        _depth: int = 0,
    ) -> Target | None:
        while scope is not None:
            if name in scope.nested:
                return FuncRef(scope.nested[name])
            scope = scope.parent
        if name in info.functions:
            return FuncRef(info.functions[name])
        if name in info.classes:
            return ClassRef(info.classes[name])
        if name in info.assigned_registrations:
            _, fn_expr = info.assigned_registrations[name]
            target = self.resolve_expr(info, fn_expr, None)
            if isinstance(target, FuncRef):
                return target
        if name in info.imports:
            return self._resolve_import(*info.imports[name])
        if name in info.assigns:
            values = info.assigns[name]
            product = self._factory_product(info, values[-1])
            if product is not None:
                return product
            alias = values[-1]
            if (
                len(values) == 1
                and isinstance(alias, (cst.Name, cst.Attribute))
                and _depth < 8
                and not (isinstance(alias, cst.Name) and alias.value == name)
            ):
                # `pay = charge`: the alias is the function it names.
                target = self._resolve_alias(info, alias, _depth + 1)
                if isinstance(target, (FuncRef, ClassRef, DbosRef)):
                    return target
            return ValueRef(info, name, tuple(values))
        return None

    def _resolve_alias(
        self, info: ModuleInfo, expr: cst.BaseExpression, depth: int
    ) -> Target | None:
        if isinstance(expr, cst.Name):
            return self.resolve_name(info, expr.value, None, depth)
        if isinstance(expr, cst.Attribute):
            base = self._resolve_alias(info, expr.value, depth + 1)
            return self.member(base, expr.attr.value)
        return None

    def _factory_product(
        self, info: ModuleInfo, value: cst.BaseExpression
    ) -> FuncRef | None:
        """``send = make_sender("email")`` where the factory returns a nested
        def: the nested def (whose qualname names the factory) is the callee."""
        if not isinstance(value, cst.Call):
            return None
        factory = self.resolve_expr(info, value.func, None)
        if not isinstance(factory, FuncRef) or not factory.func.nested:
            return None
        body = factory.func.node.body
        statements = body.body if isinstance(body, cst.IndentedBlock) else []
        for stmt in statements:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if (
                        isinstance(small, cst.Return)
                        and isinstance(small.value, cst.Name)
                        and small.value.value in factory.func.nested
                    ):
                        return FuncRef(factory.func.nested[small.value.value])
        return None

    def _resolve_import(self, module: str, attr: str | None, depth: int = 0) -> Target:
        if attr is None:
            return ModuleRef(module, self.module(module))
        if module == dbos_api.DBOS_MODULE or module.startswith("dbos."):
            if attr == "DBOS":
                return DbosRef()
            return ExternalRef(f"{module}.{attr}")
        if (
            module.split(".")[0] == dbos_api.SHIM_PACKAGE
            and attr in dbos_api.SHIM_CALLS
        ):
            # The runtime shim's patch functions behave as DBOS's own.
            return DbosRef(attr)
        info = self.module(module)
        if info is None:
            sub = self.module(f"{module}.{attr}")
            if sub is not None:
                return ModuleRef(sub.name, sub)
            return ExternalRef(f"{module}.{attr}")
        if depth < 8 and attr in info.imports and attr not in info.functions:
            return self._resolve_import(*info.imports[attr], depth=depth + 1)
        found = self.resolve_name(info, attr)
        if found is not None:
            return found
        sub = self.module(f"{module}.{attr}")
        if sub is not None:
            return ModuleRef(sub.name, sub)
        return ExternalRef(f"{module}.{attr}")

    def resolve_expr(
        self, info: ModuleInfo, expr: cst.BaseExpression, scope: FuncDef | None
    ) -> Target | None:
        if isinstance(expr, cst.Name):
            return self.resolve_name(info, expr.value, scope)
        if isinstance(expr, cst.Attribute):
            base = self.resolve_expr(info, expr.value, scope)
            return self.member(base, expr.attr.value)
        return None

    def member(self, base: Target | None, attr: str) -> Target | None:
        if (
            isinstance(base, ModuleRef)
            and base.name.split(".")[0] == dbos_api.SHIM_PACKAGE
            and attr in dbos_api.SHIM_CALLS
        ):
            return DbosRef(attr)
        if isinstance(base, DbosRef):
            return DbosRef(attr if base.attr is None else f"{base.attr}.{attr}")
        if isinstance(base, ModuleRef):
            if base.info is None:
                if base.name == dbos_api.DBOS_MODULE and attr == "DBOS":
                    return DbosRef()
                sub = self.module(f"{base.name}.{attr}")
                if sub is not None:
                    return ModuleRef(sub.name, sub)
                return ExternalRef(f"{base.name}.{attr}")
            found = self.resolve_name(base.info, attr)
            if found is not None:
                return found
            sub = self.module(f"{base.name}.{attr}")
            return ModuleRef(sub.name, sub) if sub is not None else None
        if isinstance(base, ClassRef):
            return self.class_member(base.cls, attr)
        if isinstance(base, ExternalRef):
            return ExternalRef(f"{base.dotted}.{attr}")
        return None

    def class_member(
        self, cls: ClassDef, attr: str, depth: int = 0
    ) -> FuncRef | ClassRef | None:
        if attr in cls.methods:
            return FuncRef(cls.methods[attr])
        if attr in cls.classes:
            return ClassRef(cls.classes[attr])
        if depth > 8:
            return None
        for base in cls.bases:
            target = self.resolve_expr(cls.module, base, None)
            if isinstance(target, ClassRef):
                found = self.class_member(target.cls, attr, depth + 1)
                if found is not None:
                    return found
        return None

    def is_dbos_class(self, cls: ClassDef, depth: int = 0) -> bool:
        for deco in cls.decorators:
            func = deco.func if isinstance(deco, cst.Call) else deco
            target = self.resolve_expr(cls.module, func, None)
            if isinstance(target, DbosRef) and target.attr == dbos_api.CLASS_DECORATOR:
                return True
        for base in cls.bases:
            target = self.resolve_expr(cls.module, base, None)
            if isinstance(target, ExternalRef) and target.dotted.endswith(
                "DBOSConfiguredInstance"
            ):
                return True
            if isinstance(target, ClassRef) and depth < 8:
                if self.is_dbos_class(target.cls, depth + 1):
                    return True
        return False

    def modules_using_dbos(self) -> Iterator[ModuleInfo]:
        for info in list(self.by_path.values()):
            if info.mentions_dbos:
                yield info
