"""LibCST parsing of very large modules in pieces.

LibCST's native parser holds its whole token stream and intermediate tree
for a module while it builds the Python nodes: about 17 KB a line, 340 MB for
a 20,000-line workflow, while the finished tree is a tenth of that.  Parsing
such a module a few hundred statements at a time and joining the pieces
bounds that peak by the size of a piece, and gives the very tree a single
parse would (the tests compare the two node for node).

Pieces are cut only where the join is unambiguous: between two statements of
the module, or of a top-level ``def``'s body, with nothing between them but
empty lines (a comment there would belong to whichever side LibCST's
indentation rules choose).  Anything unexpected falls back to one parse.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from itertools import pairwise

import libcst as cst

CHUNK_LINES = 400
"""Lines per piece: small enough that the native parser's peak is a few
megabytes, large enough that per-piece overhead does not show."""

_DUMMY = "def _():\n"


class _Mismatch(Exception):
    """The pieces cannot be joined into the tree one parse would give."""


def _start(node: ast.stmt) -> int:
    decorators: Sequence[ast.expr] = getattr(node, "decorator_list", ())
    return min([node.lineno, *(d.lineno for d in decorators)])


def _cuts(body: Sequence[ast.stmt], lines: Sequence[str], size: int) -> list[int]:
    """0-based line indexes where a piece may start, about ``size`` apart:
    right after a statement whose successor is separated from it by empty
    lines only."""
    cuts: list[int] = []
    last = _start(body[0]) - 1 if body else 0
    for before, after in pairwise(body):
        end = before.end_lineno or before.lineno  # 1-based, inclusive
        begin = _start(after)  # 1-based
        if begin <= end:  # ``a; b`` on one line
            continue
        if any(line.strip("\r\n") for line in lines[end : begin - 1]):
            continue
        if end - last >= size:
            cuts.append(end)
            last = end
    return cuts


def _parse(text: str) -> cst.Module:
    return cst.parse_module(text)


def _same_format(piece: cst.Module, first: cst.Module) -> None:
    if (
        piece.default_indent != first.default_indent
        or piece.default_newline != first.default_newline
        or piece.encoding != first.encoding
    ):
        raise _Mismatch


def _with_leading(
    stmt: cst.BaseStatement, lines: Sequence[cst.EmptyLine]
) -> cst.BaseStatement:
    if not lines:
        return stmt
    if isinstance(stmt, cst.SimpleStatementLine | cst.BaseCompoundStatement):
        return stmt.with_changes(leading_lines=[*lines, *stmt.leading_lines])
    raise _Mismatch


def _function_pieces(
    func: cst.FunctionDef,
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    cuts: Sequence[int],
    lines: Sequence[str],
    first: cst.Module,
) -> cst.FunctionDef:
    """``func`` as parsed from its lines up to ``cuts[0]``, completed with
    the rest of its body, parsed in pieces under a dummy ``def`` header."""
    if not isinstance(func.body, cst.IndentedBlock) or func.body.footer:
        raise _Mismatch
    body = list(func.body.body)
    footer: Sequence[cst.EmptyLine] = ()
    for start, stop in pairwise([*cuts, node.end_lineno or node.lineno]):
        piece = _parse(_DUMMY + "".join(lines[start:stop]))
        _same_format(piece, first)
        if len(piece.body) != 1 or not isinstance(piece.body[0], cst.FunctionDef):
            raise _Mismatch
        block = piece.body[0].body
        if not isinstance(block, cst.IndentedBlock) or block.indent != func.body.indent:
            raise _Mismatch
        body.extend(block.body)
        footer = block.footer
    return func.with_changes(body=func.body.with_changes(body=body, footer=footer))


def parse_in_pieces(
    text: str, module: ast.Module, size: int = CHUNK_LINES
) -> cst.Module | None:
    """The module ``text`` (whose ``ast`` is ``module``) parsed in pieces, or
    None when it cannot be cut safely (then parse it whole)."""
    try:
        return _assemble(text, module, size)
    except (_Mismatch, cst.ParserSyntaxError):
        return None


def _assemble(text: str, module: ast.Module, size: int) -> cst.Module:
    lines = text.splitlines(keepends=True)
    if "".join(lines) != text:
        raise _Mismatch
    top = module.body
    cuts = _cuts(top, lines, size)
    # A top-level def longer than a piece, that a piece ends with, is cut
    # inside too (by the line it ends on: where that piece stops).
    big: dict[int, tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[int]]] = {}
    for node in top:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            end = node.end_lineno or node.lineno
            inner = _cuts(node.body, lines, size) if end - _start(node) > size else []
            if inner:
                big[end] = (node, inner)
    bounds = [0, *cuts, len(lines)]
    first: cst.Module | None = None
    body: list[cst.BaseStatement] = []
    footer: Sequence[cst.EmptyLine] = ()
    header: Sequence[cst.EmptyLine] = ()
    for start, stop in pairwise(bounds):
        split = big.get(stop)
        head_stop = split[1][0] if split is not None else stop
        piece = _parse("".join(lines[start:head_stop]))
        if first is None:
            first = piece
            header = piece.header
        else:
            _same_format(piece, first)
        stmts: list[cst.BaseStatement] = list(piece.body)
        if start > 0 and stmts:
            stmts[0] = _with_leading(stmts[0], piece.header)
        elif start > 0 and piece.header:
            raise _Mismatch
        if split is not None:
            if not stmts or not isinstance(stmts[-1], cst.FunctionDef):
                raise _Mismatch
            stmts[-1] = _function_pieces(stmts[-1], split[0], split[1], lines, first)
        body.extend(stmts)
        footer = piece.footer
    if first is None:
        raise _Mismatch
    return first.with_changes(
        body=body,
        header=header,
        footer=footer,
        has_trailing_newline=text.endswith(("\n", "\r")),
    )
