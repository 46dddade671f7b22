"""Small builders for engine unit tests: a project from source strings."""

from __future__ import annotations

import textwrap

from workflow_lint.check import ModuleCache, Snapshot, load_project
from workflow_lint.index import Project
from workflow_lint.ir import Block, Inline, Op, WorkflowIR
from workflow_lint.lower import Lowering
from workflow_lint.roles import Kind, RoleCache


def project(**files: str) -> Project:
    """``project(app="...")`` -> a Project with app.py (dots as ``__``)."""
    snapshot = Snapshot(
        "test",
        {
            name.replace("__", "/") + ".py": textwrap.dedent(text).encode()
            for name, text in files.items()
        },
    )
    return load_project(snapshot, ModuleCache())


def lower(source: str, workflow: str = "wf", **others: str) -> WorkflowIR:
    proj = project(app=source, **others)
    roles = RoleCache(proj)
    for info in proj.modules_using_dbos():
        for func in info.iter_functions():
            role = roles(func)
            if role.kind is Kind.WORKFLOW and role.name == workflow:
                return Lowering(proj, roles).workflow(func, role, [])
    raise AssertionError(f"workflow {workflow} not found")


def straight_units(block: Block) -> list[str]:
    """Recorded names of straight-line code (helpers flattened)."""
    out: list[str] = []
    for node in block.items:
        if isinstance(node, Op):
            out.extend(u.display() for u in node.units)
        elif isinstance(node, Inline):
            out.extend(straight_units(node.body))
    return out
