"""Canonical text and constant values of expressions.

Two revisions make the same branch decision on a replay when the condition
reads the same values: the same workflow arguments, the same recorded
results, the same module constants.  Rendering an expression with every name
replaced by what it stands for (and formatting dropped) gives a key that is
equal exactly then: renaming a local or rewrapping a line keeps the key,
changing a constant's value changes it.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

import libcst as cst

NameLookup = Callable[[str], str]
CallLookup = Callable[[cst.Call], "str | None"]
ValueLookup = Callable[[str], object]


class _NoValue:
    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE: object = _NoValue()

_EMPTY = cst.Module(body=[])


def source_text(node: cst.CSTNode) -> str:
    """The node's own code, whitespace collapsed."""
    return " ".join(_EMPTY.code_for_node(node).split())


_BINOPS: dict[type[cst.BaseBinaryOp], str] = {
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.FloorDivide: "//",
    cst.Modulo: "%",
    cst.Power: "**",
    cst.MatrixMultiply: "@",
    cst.BitAnd: "&",
    cst.BitOr: "|",
    cst.BitXor: "^",
    cst.LeftShift: "<<",
    cst.RightShift: ">>",
}
_CMPOPS: dict[type[cst.BaseCompOp], str] = {
    cst.Equal: "==",
    cst.NotEqual: "!=",
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
    cst.In: "in",
    cst.NotIn: "not in",
    cst.Is: "is",
    cst.IsNot: "is not",
}
_PY_BINOPS: dict[str, Callable[[object, object], object]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}


def render(
    node: cst.CSTNode, names: NameLookup, calls: CallLookup | None = None
) -> str:
    """Canonical text of an expression, names replaced through ``names``.

    ``calls`` may name a call outright: a recorded operation returns its
    recorded output on replay whatever its arguments, so its text must not
    depend on them.
    """
    r = _Renderer(names, calls)
    return r.expr(node)


class _Renderer:
    def __init__(self, names: NameLookup, calls: CallLookup | None) -> None:
        self.names = names
        self.calls = calls

    def expr(self, node: cst.CSTNode) -> str:
        if isinstance(node, cst.Name):
            if node.value in ("True", "False", "None"):
                return node.value
            return self.names(node.value)
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary)):
            return _literal(node.value)
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            value = string_value(node)
            return repr(value) if value is not None else source_text(node)
        if isinstance(node, cst.Attribute):
            return f"{self.expr(node.value)}.{node.attr.value}"
        if isinstance(node, cst.Call):
            if self.calls is not None:
                named = self.calls(node)
                if named is not None:
                    return named
            args = ", ".join(self.arg(a) for a in node.args)
            return f"{self.expr(node.func)}({args})"
        if isinstance(node, cst.Subscript):
            pieces = []
            for sub in node.slice:
                index = sub.slice
                if isinstance(index, cst.Index):
                    pieces.append(self.expr(index.value))
                else:
                    pieces.append(source_text(index))
            return f"{self.expr(node.value)}[{', '.join(pieces)}]"
        if isinstance(node, cst.BinaryOperation):
            op = _BINOPS.get(type(node.operator), "?")
            return f"({self.expr(node.left)} {op} {self.expr(node.right)})"
        if isinstance(node, cst.BooleanOperation):
            is_and = isinstance(node.operator, cst.And)
            left, right = self.expr(node.left), self.expr(node.right)
            # `x and True`, `x or False`: the same decision as `x`.
            neutral = "True" if is_and else "False"
            if right == neutral:
                return left
            if left == neutral:
                return right
            return f"({left} {'and' if is_and else 'or'} {right})"
        if isinstance(node, cst.UnaryOperation):
            if isinstance(node.operator, cst.Not):
                return f"(not {self.expr(node.expression)})"
            sign = {cst.Minus: "-", cst.Plus: "+", cst.BitInvert: "~"}.get(
                type(node.operator), "?"
            )
            return f"({sign}{self.expr(node.expression)})"
        if isinstance(node, cst.Comparison):
            text = self.expr(node.left)
            for target in node.comparisons:
                op = _CMPOPS.get(type(target.operator), "?")
                text += f" {op} {self.expr(target.comparator)}"
            return f"({text})"
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            inner = ", ".join(self.element(e) for e in node.elements)
            open_, close = {
                cst.Tuple: ("(", ")"),
                cst.List: ("[", "]"),
                cst.Set: ("{", "}"),
            }[type(node)]
            return f"{open_}{inner}{close}"
        if isinstance(node, cst.Dict):
            entries = []
            for entry in node.elements:
                if isinstance(entry, cst.DictElement):
                    entries.append(f"{self.expr(entry.key)}: {self.expr(entry.value)}")
                else:
                    entries.append(f"**{self.expr(entry.value)}")
            return "{" + ", ".join(entries) + "}"
        if isinstance(node, cst.IfExp):
            return (
                f"({self.expr(node.body)} if {self.expr(node.test)} "
                f"else {self.expr(node.orelse)})"
            )
        if isinstance(node, cst.Await):
            return f"(await {self.expr(node.expression)})"
        if isinstance(node, cst.FormattedString):
            parts = []
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    parts.append(part.value)
                elif isinstance(part, cst.FormattedStringExpression):
                    parts.append("{" + self.expr(part.expression) + "}")
            return "f" + repr("".join(parts))
        if isinstance(node, cst.NamedExpr):
            return self.expr(node.value)
        return source_text(node)

    def arg(self, arg: cst.Arg) -> str:
        star = arg.star if isinstance(arg.star, str) else ""
        prefix = f"{arg.keyword.value}=" if arg.keyword is not None else star
        return prefix + self.expr(arg.value)

    def element(self, element: cst.BaseElement) -> str:
        if isinstance(element, cst.StarredElement):
            return "*" + self.expr(element.value)
        return self.expr(element.value)


def string_value(
    node: cst.SimpleString | cst.ConcatenatedString,
) -> str | bytes | None:
    """``node.evaluated_value``, read directly for a plain one-line string
    without escapes or prefix (LibCST evaluates every string with Python's
    parser, which dominated the lowering of long workflows)."""
    if isinstance(node, cst.SimpleString):
        text = node.value
        quote = text[:1]
        if (
            quote in ("'", '"')
            and len(text) >= 2
            and text[-1] == quote
            and "\\" not in text
            and not text.startswith(quote * 3)
        ):
            return text[1:-1]
    return node.evaluated_value


def _plain_int(text: str) -> bool:
    """Decimal digits without a leading zero: the literal is its own value."""
    return text.isascii() and text.isdigit() and (text == "0" or text[0] != "0")


def _literal(text: str) -> str:
    """The canonical spelling of a literal (``0x10`` and ``16`` agree)."""
    if _plain_int(text):
        return text  # already canonical: skip the parser (hot on long workflows)
    try:
        return repr(ast.literal_eval(text))
    except (ValueError, SyntaxError):
        return text


def constant_value(node: cst.CSTNode, names: ValueLookup, depth: int = 0) -> object:
    """The value of a constant expression, or NO_VALUE.

    ``names`` gives the value of a module-level name (NO_VALUE when unknown),
    so constants built from other constants evaluate too.
    """
    if depth > 20:
        return NO_VALUE
    if isinstance(node, cst.Name):
        if node.value in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.value]
        return names(node.value)
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary)):
        if _plain_int(node.value):
            return int(node.value)
        try:
            return ast.literal_eval(node.value)
        except (ValueError, SyntaxError):
            return NO_VALUE
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        text = string_value(node)
        return NO_VALUE if text is None else text
    if isinstance(node, cst.UnaryOperation):
        inner = constant_value(node.expression, names, depth + 1)
        if inner is NO_VALUE:
            return NO_VALUE
        if isinstance(node.operator, cst.Not):
            return not inner
        if isinstance(node.operator, cst.Minus) and isinstance(inner, (int, float)):
            return -inner
        if isinstance(node.operator, cst.Plus) and isinstance(inner, (int, float)):
            return inner
        return NO_VALUE
    if isinstance(node, cst.BinaryOperation):
        op = _PY_BINOPS.get(_BINOPS.get(type(node.operator), ""))
        left = constant_value(node.left, names, depth + 1)
        right = constant_value(node.right, names, depth + 1)
        if op is None or left is NO_VALUE or right is NO_VALUE:
            return NO_VALUE
        try:
            result = op(left, right)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return NO_VALUE
        if isinstance(result, float) and not math.isfinite(result):
            return NO_VALUE
        if isinstance(result, (str, list, tuple)) and len(result) > 10_000:
            return NO_VALUE
        return result
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        items = []
        for element in node.elements:
            if isinstance(element, cst.StarredElement):
                return NO_VALUE
            item = constant_value(element.value, names, depth + 1)
            if item is NO_VALUE:
                return NO_VALUE
            items.append(item)
        if isinstance(node, cst.Set):
            try:
                return frozenset(items)
            except TypeError:
                return NO_VALUE
        return tuple(items) if isinstance(node, cst.Tuple) else list(items)
    if isinstance(node, cst.Dict):
        mapping: dict[object, object] = {}
        for pair in node.elements:
            if not isinstance(pair, cst.DictElement):
                return NO_VALUE
            key = constant_value(pair.key, names, depth + 1)
            item = constant_value(pair.value, names, depth + 1)
            if key is NO_VALUE or item is NO_VALUE:
                return NO_VALUE
            try:
                mapping[key] = item
            except TypeError:
                return NO_VALUE
        return mapping
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
        return _builtin_call(node, names, depth)
    return NO_VALUE


def _builtin_call(node: cst.Call, names: ValueLookup, depth: int) -> object:
    func = node.func
    assert isinstance(func, cst.Name)
    if any(a.keyword is not None or a.star for a in node.args):
        return NO_VALUE
    args = [constant_value(a.value, names, depth + 1) for a in node.args]
    if any(a is NO_VALUE for a in args):
        return NO_VALUE
    try:
        if func.value == "len" and len(args) == 1:
            return len(args[0])  # type: ignore[arg-type]
        if func.value in ("min", "max") and args:
            pick = min if func.value == "min" else max
            return pick(args if len(args) > 1 else args[0])  # type: ignore[call-overload]
        if func.value in ("int", "float", "str", "bool") and len(args) == 1:
            convert: Callable[[object], object] = {
                "int": int,
                "float": float,
                "str": str,
                "bool": bool,
            }[func.value]
            return convert(args[0])
        if func.value in ("list", "tuple", "sorted") and len(args) == 1:
            seq = list(args[0])  # type: ignore[call-overload]
            if func.value == "sorted":
                seq.sort()
            return tuple(seq) if func.value == "tuple" else seq
        if func.value == "range" and 1 <= len(args) <= 3:
            rng = range(*args)  # type: ignore[call-overload]
            if len(rng) > 10_000:
                return NO_VALUE
            return list(rng)
    except (TypeError, ValueError, OverflowError):
        return NO_VALUE
    return NO_VALUE


def iteration_values(value: object) -> list[object] | None:
    """The items a ``for`` loop over a constant would see, in order."""
    if isinstance(value, (list, tuple, str)):
        return list(value)
    if isinstance(value, dict):
        return list(value.keys())
    # A set's order follows string hashing, which differs per process.
    return None
