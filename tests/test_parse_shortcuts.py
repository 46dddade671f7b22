"""The engine's shortcuts around LibCST give what LibCST itself gives.

Large modules are parsed in pieces (the tree must equal one parse), and the
lowering reads sub-expressions and string values directly for the commonest
nodes (they must equal ``children`` and ``evaluated_value``).
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from workflow_lint.chunked_parse import parse_in_pieces
from workflow_lint.index import LARGE_MODULE_LINES, parse_file

ROOT = Path(__file__).resolve().parent.parent


def _sources() -> list[Path]:
    return sorted(
        p
        for folder in ("workflow_lint", "runtime", "tests", "fixtures", "benchmarks")
        for p in (ROOT / folder).rglob("*.py")
    )


def _same_as_whole(text: str, size: int) -> bool:
    """True when cut into pieces; fails the test if the pieces differ."""
    pieces = parse_in_pieces(text, ast.parse(text), size)
    if pieces is None:
        return False
    whole = cst.parse_module(text)
    assert pieces.code == text
    assert pieces.deep_equals(whole)
    return True


def test_every_source_of_the_project_cut_small_equals_one_parse() -> None:
    cut = sum(_same_as_whole(p.read_text(encoding="utf-8"), 5) for p in _sources())
    # Most files have somewhere to cut: the comparison above really ran.
    assert cut > len(_sources()) // 2


BIG_FUNCTION = '''\
"""Docstring."""
# a comment at the top

import os


@decorator(x=1)
async def flow(a, b):  # trailing
    x = 1

    y = 2
    if x:
        z = 3
        # comment inside the if
    else:
        z = 4
    a; b
    for i in range(3):
        pass


    w = [
        1,
        2,
    ]
    return w


class K:
    def m(self):
        pass

# trailing comment
'''


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_a_function_body_is_cut_inside(size: int) -> None:
    assert _same_as_whole(BIG_FUNCTION, size)


@pytest.mark.parametrize(
    "text",
    [
        BIG_FUNCTION.replace("    ", "\t"),
        BIG_FUNCTION.replace("\n", "\r\n"),
        BIG_FUNCTION.rstrip("\n"),
        "def f():\n" + "".join(f"    s{i} = {i}\n" for i in range(40)),
        textwrap.dedent(
            """\
            def f():
                a = 1
                  # an odd comment between statements
                b = 2
                c = 3
            """
        ),
    ],
)
def test_unusual_layouts_equal_one_parse_or_fall_back(text: str) -> None:
    _same_as_whole(text, 2)


def test_large_modules_are_parsed_in_pieces_with_positions() -> None:
    body = "".join(f"    step_{i}(x)\n" for i in range(LARGE_MODULE_LINES))
    text = f"from dbos import DBOS\n\n\n@DBOS.workflow()\ndef wf(x):\n{body}"
    parsed = parse_file("big.py", text)
    assert parsed.positions is not None  # the pieces path ran
    assert parsed.tree.deep_equals(cst.parse_module(text))
    func = parsed.tree.body[1]
    assert isinstance(func, cst.FunctionDef)
    assert isinstance(func.body, cst.IndentedBlock)
    last = func.body.body[-1]
    assert parsed.positions[id(last)] == (5 + LARGE_MODULE_LINES, 4)


def test_expression_children_read_from_fields_match_libcst() -> None:
    """The lowering's shortcut for ``node.children`` yields the same
    sub-expressions, in the same order, as LibCST's visitor."""
    from workflow_lint.lower import _SOURCE_ORDER, expression_children

    seen: set[type[cst.CSTNode]] = set()

    class Visitor(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if type(node) in _SOURCE_ORDER:
                seen.add(type(node))
                keep = (cst.BaseExpression, cst.Arg, cst.SubscriptElement)
                keep += (cst.Index, cst.Slice, cst.ComparisonTarget)
                expected = [c for c in node.children if isinstance(c, keep)]
                got = [c for c in expression_children(node) if isinstance(c, keep)]
                assert got == expected, type(node)
            return True

    for path in _sources()[:150]:
        cst.parse_module(path.read_text(encoding="utf-8")).visit(Visitor())
    assert seen == set(_SOURCE_ORDER)


@pytest.mark.parametrize(
    "src",
    ['"abc"', "''", '"a\\nb"', 'b"x"', '"""doc"""', 'r"a\\d"', '"a" "b"', "u'x'"],
)
def test_string_value_shortcut_agrees_with_libcst(src: str) -> None:
    from workflow_lint.canon import string_value

    node = cst.parse_expression(src)
    assert isinstance(node, cst.SimpleString | cst.ConcatenatedString)
    assert string_value(node) == node.evaluated_value
