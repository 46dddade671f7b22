"""What a plain helper computes, as a digest that ignores how it is written.

A branch that tests a helper's return value makes the same decision on replay
only if the helper still computes the same thing.  The digest is the shape of
the helper's code with local names numbered in order of appearance, module
constants replaced by their values and docstrings dropped: renaming a local,
reformatting or re-commenting keeps it; changing logic or a constant it
reads does not.
"""

from __future__ import annotations

import ast
import hashlib
import textwrap
from collections.abc import Callable


def semantic_digest(source: str, constant: Callable[[str], object | None]) -> str:
    """Digest of a function's source; ``constant(name)`` gives a module
    constant's value (None when the name is not a constant)."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return hashlib.blake2b(source.encode(), digest_size=8).hexdigest()
    func = tree.body[0] if tree.body else None
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return hashlib.blake2b(source.encode(), digest_size=8).hexdigest()
    local_names: dict[str, str] = {}

    def local(name: str) -> str:
        if name not in local_names:
            local_names[name] = f"v{len(local_names)}"
        return local_names[name]

    for arg in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs):
        local(arg.arg)
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local(node.id)

    class Normalise(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in local_names:
                return ast.copy_location(ast.Name(local_names[node.id], node.ctx), node)
            value = constant(node.id)
            if value is not None:
                return ast.copy_location(ast.Constant(repr(value)), node)
            return node

        def visit_arg(self, node: ast.arg) -> ast.AST:
            return ast.arg(local_names.get(node.arg, node.arg))

    func.decorator_list = []
    func.name = "f"
    func.returns = None
    body = func.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
    ):
        func.body = body[1:] or [ast.Pass()]
    normalised = Normalise().visit(func)
    text = ast.dump(normalised, annotate_fields=False, include_attributes=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
