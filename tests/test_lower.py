"""Lowering: which rows each DBOS call records, under which names (dbos 3.4)."""

from __future__ import annotations

import pytest

from tests.engine_helpers import lower, straight_units
from workflow_lint.ir import If, Loop, PatchIf, Try

HEADER = """
import asyncio
import functools
from dbos import DBOS

@DBOS.step()
def a(): ...

@DBOS.step(name="bee")
def b(): ...

@DBOS.workflow()
def child(): ...

class Store:
    @DBOS.step()
    def reserve(self): ...
"""

CASES = [
    ("a()", ["a"]),
    ("b()", ["bee"]),
    ("child()", ["child", "DBOS.getResult"]),
    ("DBOS.start_workflow(child)", ["child"]),
    ("DBOS.start_workflow(child).get_result()", ["child", "DBOS.getResult"]),
    ("DBOS.start_workflow(a)", ["<temp>.a"]),
    ("DBOS.enqueue_workflow('q', child)", ["child"]),
    ("DBOS.retrieve_queue('q').enqueue(child)", ["child"]),
    ("DBOS.sleep(1)", ["DBOS.sleep"]),
    ("DBOS.sleep(0)", []),
    ("DBOS.send('x', 1)", ["DBOS.send"]),
    ("DBOS.recv('t', 1)", ["DBOS.recv", "DBOS.sleep"]),
    ("DBOS.set_event('k', 1)", ["DBOS.setEvent"]),
    ("DBOS.get_event('w', 'k', 1)", ["DBOS.getEvent", "DBOS.sleep"]),
    ("DBOS.get_all_events('w')", ["DBOS.get_events"]),
    ("DBOS.write_stream('k', 1)", ["DBOS.writeStream"]),
    ("DBOS.close_stream('k')", ["DBOS.closeStream"]),
    ("DBOS.read_stream_offset('w', 'k', 0)", ["DBOS.readStreamOffset"]),
    ("DBOS.fork_workflow('w', 1)", ["DBOS.forkWorkflow", "DBOS.getStatus"]),
    ("DBOS.cancel_workflow('w')", ["DBOS.cancelWorkflow"]),
    ("DBOS.resume_workflow('w')", ["DBOS.resumeWorkflow"]),
    ("DBOS.list_workflows()", ["DBOS.listWorkflows"]),
    ("DBOS.get_workflow_status('w')", ["DBOS.getStatus"]),
    ("DBOS.retrieve_workflow('w')", ["DBOS.getStatus"]),
    ("DBOS.retrieve_workflow('w', existing_workflow=False)", []),
    ("DBOS.get_result('w')", ["DBOS.getResult"]),
    ("DBOS.wait_first([])", ["DBOS.waitFirst"]),
    ("DBOS.create_schedule()", ["DBOS.createSchedule"]),
    ("DBOS.run_step({'name': 'n'}, a)", ["n"]),
    ("DBOS.run_step(None, b)", ["b"]),
    ("DBOS.run_step(None, lambda: 1)", ["wf.<locals>.<lambda>"]),
    ("DBOS.run_step(None, functools.partial(a))", ["<no row>"]),
    ("Store().reserve()", ["Store.reserve"]),
    ("DBOS.logger.info('x')", []),
    ("DBOS.workflow_id", []),
]


@pytest.mark.parametrize(("call", "rows"), CASES, ids=[c for c, _ in CASES])
def test_rows_recorded_by_each_call(call: str, rows: list[str]) -> None:
    ir = lower(HEADER + f"\n@DBOS.workflow()\ndef wf():\n    {call}\n")
    assert straight_units(ir.body) == rows


def test_handle_get_result_is_unchecked() -> None:
    ir = lower(
        HEADER
        + "\n@DBOS.workflow()\ndef wf():\n"
        + "    h = DBOS.start_workflow(child)\n    h.get_result()\n"
    )
    units = [u for node in ir.body.items for u in getattr(node, "units", ())]
    assert [u.check.value for u in units] == ["name", "unchecked"]


def test_aliases_and_module_import() -> None:
    source = """
    import dbos as d
    from dbos import DBOS as D

    @D.step(name="verify")
    def check(): ...

    @d.DBOS.workflow()
    def wf():
        check()
        d.DBOS.set_event("k", 1)
    """
    assert straight_units(lower(source).body) == ["verify", "DBOS.setEvent"]


def test_decorator_applied_by_calling_it() -> None:
    source = """
    from dbos import DBOS

    def _charge(): ...
    charge = DBOS.step()(_charge)

    def _wf():
        charge()
    wf = DBOS.workflow(name="wf")(_wf)
    """
    assert straight_units(lower(source).body) == ["_charge"]


def test_steps_and_helpers_in_other_modules() -> None:
    app = """
    from dbos import DBOS
    from shop.steps import pay as settle
    import shop.helpers as h

    @DBOS.workflow()
    def wf():
        settle()
        h.finish()
    """
    steps = """
    from dbos import DBOS

    @DBOS.step()
    def pay(): ...

    @DBOS.step()
    def ship(): ...
    """
    helpers = """
    from shop.steps import ship

    def finish():
        ship()
    """
    ir = lower(app, shop__steps=steps, shop__helpers=helpers)
    assert straight_units(ir.body) == ["pay", "ship"]


def test_configured_instance_methods_through_self() -> None:
    source = """
    from dbos import DBOS, DBOSConfiguredInstance

    @DBOS.dbos_class()
    class Warehouse(DBOSConfiguredInstance):
        @DBOS.step()
        def pick(self): ...

        def _both(self):
            self.pick()
            self.pick()

        @DBOS.workflow()
        def wf(self):
            self._both()
    """
    assert straight_units(lower(source, "Warehouse.wf").body) == [
        "Warehouse.pick",
        "Warehouse.pick",
    ]


def test_recursive_helper_is_bounded() -> None:
    source = """
    from dbos import DBOS

    @DBOS.step()
    def visit(): ...

    def walk(n):
        visit()
        if n:
            walk(n - 1)

    @DBOS.workflow()
    def wf():
        walk(3)
    """
    ir = lower(source)
    assert ir.body.items  # finite, and it terminated


def test_control_flow_shapes() -> None:
    source = """
    from dbos import DBOS

    @DBOS.step()
    def a(): ...

    LIMIT = 3

    @DBOS.workflow()
    def wf(n):
        for i in range(LIMIT):
            a()
        while a():
            break
        try:
            a()
        except ValueError:
            a()
        if DBOS.patch("p"):
            a()
        else:
            a()
    """
    kinds = [type(n) for n in lower(source).body.items]
    assert kinds[0] is Loop and kinds[1] is Loop and kinds[2] is Try
    assert kinds[3] is PatchIf
    loop = lower(source).body.items[0]
    assert isinstance(loop, Loop) and loop.count == 3


def test_condition_key_ignores_local_names_and_formatting() -> None:
    one = """
    from dbos import DBOS

    @DBOS.step()
    def a(): ...

    @DBOS.workflow()
    def wf(x):
        total = x * 2
        if total > 5:
            a()
    """
    two = one.replace("total", "doubled").replace("x * 2", "x*2")
    first, second = lower(one).body.items[0], lower(two).body.items[0]
    assert isinstance(first, If) and isinstance(second, If)
    assert first.key == second.key


def test_condition_key_follows_constant_values() -> None:
    one = """
    from dbos import DBOS

    LIMIT = 5

    @DBOS.step()
    def a(): ...

    @DBOS.workflow()
    def wf(x):
        if x > LIMIT:
            a()
    """
    first = lower(one).body.items[0]
    second = lower(one.replace("LIMIT = 5", "LIMIT = 6")).body.items[0]
    assert isinstance(first, If) and isinstance(second, If)
    assert first.key != second.key


def test_runtime_shim_patch_is_dbos_patch() -> None:
    source = """
    from dbos import DBOS
    from workflow_lint_runtime import patch
    import workflow_lint_runtime as wlr

    @DBOS.step()
    def a(): ...

    @DBOS.workflow()
    def wf():
        if patch("p"):
            a()
        wlr.deprecate_patch("q")
    """
    kinds = [type(n).__name__ for n in lower(source).body.items]
    assert kinds == ["PatchIf", "Deprecate"]
