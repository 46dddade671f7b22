"""The judge: replays every history the old code can record against the new code.

Both revisions run side by side, one recorded position at a time: the old
code executes fresh (recording rows), the new code replays those rows with
DBOS's rules from ``workflow_lint_runtime.replay_rules``.  Branches and loop
counts are shared between the two when their keys are equal (same
condition over the same values), free otherwise; exceptions raised by a
recorded operation are raised again at the same position on replay.  States
are memoised, and a state whose two futures are structurally identical is
safe without going further, so long unchanged workflows cost little.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from workflow_lint_runtime.replay_rules import (
    EMPTY,
    END,
    Check,
    Outcome,
    Row,
    marker,
    replay_deprecate,
    replay_operation,
    replay_patch,
)

from workflow_lint.ir import (
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
    block_suffix_fingerprints,
    fingerprint,
    sub_blocks,
)

LOOP_BOUND = 3
STATE_BUDGET = 200_000

Frame = tuple[object, ...]
Cont = tuple[Frame, ...]
DecisionKey = tuple[object, ...]
Decisions = dict[DecisionKey, bool]


class Kind(enum.Enum):
    MISMATCH = "mismatch"
    SKIPPED = "skipped"
    SILENT = "silent"
    EXTENDED = "extended"
    UNVERIFIABLE = "unverifiable"
    BUDGET = "budget"


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # "unit" | "end" | "patch" | "deprecate" | "ext" | "opaque"
    unit: Unit | None = None
    op: Node | None = None
    raised: str | None = None


END_EVENT = Event("end")


@dataclass(frozen=True, slots=True)
class Problem:
    """One way old histories fare badly under the new code."""

    kind: Kind
    position: int
    history: tuple[str, ...]
    recorded: str | None
    expected: str | None
    old_site: Site | None
    new_site: Site | None


@dataclass
class Judgement:
    problems: dict[Kind, Problem] = field(default_factory=dict)
    states: int = 0

    def add(self, problem: Problem) -> None:
        known = self.problems.get(problem.kind)
        if known is None or problem.position < known.position:
            self.problems[problem.kind] = problem


class _Keys:
    """Decision keys reachable from a node: memo states keep only those."""

    def __init__(self) -> None:
        self._nodes: dict[int, tuple[Node, frozenset[str]]] = {}
        self._suffix: dict[int, tuple[Block, list[frozenset[str]]]] = {}

    def node(self, node: Node) -> frozenset[str]:
        hit = self._nodes.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        keys: set[str] = set()
        if isinstance(node, If):
            keys.add(node.key)
        if isinstance(node, Loop):
            keys.add(node.key)
        for block in sub_blocks(node):
            keys |= self.suffix(block, 0)
        result = frozenset(keys)
        self._nodes[id(node)] = (node, result)
        return result

    def suffix(self, block: Block, index: int) -> frozenset[str]:
        hit = self._suffix.get(id(block))
        if hit is None or hit[0] is not block:
            sets: list[frozenset[str]] = [frozenset()] * (len(block.items) + 1)
            acc: frozenset[str] = frozenset()
            for i in range(len(block.items) - 1, -1, -1):
                own = self.node(block.items[i])
                if own:
                    acc = acc | own
                sets[i] = acc
            hit = (block, sets)
            self._suffix[id(block)] = hit
        return hit[1][index]

    def future(self, cont: Cont) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for frame in cont:
            tag = frame[0]
            if tag == "B":
                block = frame[1]
                assert isinstance(block, Block)
                assert isinstance(frame[2], int)
                keys = self.suffix(block, frame[2])
            elif tag in ("L", "H"):
                loop = frame[1]
                assert isinstance(loop, Loop)
                keys = self.node(loop)
            elif tag == "T":
                node = frame[1]
                assert isinstance(node, Try)
                keys = self.suffix(node.final, 0)
                if frame[2] == "body":
                    keys = keys | self.suffix(node.orelse, 0)
                    for handler in node.handlers:
                        keys = keys | self.suffix(handler.body, 0)
            else:
                continue
            if keys:
                out = out | keys
        return out


def _frame_fp(frame: Frame) -> object:
    tag = frame[0]
    if tag == "B":
        block = frame[1]
        assert isinstance(block, Block) and isinstance(frame[2], int)
        return ("B", block_suffix_fingerprints(block)[frame[2]])
    if tag in ("L", "H"):
        loop = frame[1]
        assert isinstance(loop, Loop)
        return (tag, fingerprint(loop), frame[2])
    if tag == "U":
        op = frame[1]
        assert isinstance(op, Op)
        return ("U", fingerprint(op), frame[2], frame[3])
    if tag == "T":
        node = frame[1]
        assert isinstance(node, Try)
        return ("T", fingerprint(node), frame[2])
    return frame


def _cont_fp(cont: Cont) -> tuple[object, ...]:
    return tuple(_frame_fp(f) for f in cont)


def _ctx(cont: Cont) -> tuple[object, ...]:
    for frame in reversed(cont):
        if frame[0] == "L":
            ctx = frame[3]
            assert isinstance(ctx, tuple)
            return ctx
    return ()


class _Machine:
    """Small-step execution of one revision's IR."""

    def __init__(self, is_old: bool, bound: int) -> None:
        self.is_old = is_old
        self.bound = bound
        self._markers: dict[int, tuple[PatchIf, Op]] = {}
        self._waiting: dict[int, tuple[Op, Op]] = {}

    def marker_op(self, node: PatchIf) -> Op:
        hit = self._markers.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        if node.name is not None:
            unit = Unit(marker(node.name))
        else:
            unit = Unit(None, dynamic="patch:?")
        op = Op((unit,), f"DBOS.patch({node.name!r})", node.site)
        self._markers[id(node)] = (node, op)
        return op

    def waiting_op(self, node: Op) -> Op:
        hit = self._waiting.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        units = tuple(Unit(None) if u.check is Check.NAME else u for u in node.units)
        op = Op(units, node.label, node.site)
        self._waiting[id(node)] = (node, op)
        return op

    def advance(
        self, cont: Cont, decisions: Decisions, peek: Event | None
    ) -> list[tuple[Event, Cont, Decisions]]:
        """Run until the next recorded position (or the end), on every path."""
        out: list[tuple[Event, Cont, Decisions]] = []
        work: list[tuple[Cont, Decisions]] = [(cont, decisions)]
        guard = 0
        while work:
            guard += 1
            if guard > 100_000:
                break
            current, dmap = work.pop()
            for result in self.step(current, dmap, peek):
                if result[0] is None:
                    work.append((result[1], result[2]))
                else:
                    out.append(result)  # type: ignore[arg-type]
        return out

    def step(
        self, cont: Cont, dmap: Decisions, peek: Event | None
    ) -> list[tuple[Event | None, Cont, Decisions]]:
        if not cont:
            return [(END_EVENT, cont, dmap)]
        frame = cont[-1]
        tag = frame[0]
        if tag == "U":
            op, index, raised = frame[1], frame[2], frame[3]
            assert isinstance(op, Op) and isinstance(index, int)
            if index < len(op.units):
                rest = (*cont[:-1], ("U", op, index + 1, raised))
                last = index + 1 == len(op.units)
                event = Event(
                    "unit",
                    op.units[index],
                    op,
                    raised if (last and isinstance(raised, str)) else None,
                )
                return [(event, rest, dmap)]
            if isinstance(raised, str):
                return self.unwind(cont[:-1], "raise", raised, dmap)
            return [(None, cont[:-1], dmap)]
        if tag == "B":
            block, index = frame[1], frame[2]
            assert isinstance(block, Block) and isinstance(index, int)
            if index >= len(block.items):
                return self.block_done(cont[:-1], dmap)
            node = block.items[index]
            rest = (*cont[:-1], ("B", block, index + 1))
            return self.dispatch(node, rest, dmap, peek)
        # A bare L/H/T/I/F frame on top: the block it owned has finished.
        return self.block_done(cont, dmap)

    def block_done(
        self, cont: Cont, dmap: Decisions
    ) -> list[tuple[Event | None, Cont, Decisions]]:
        if not cont:
            return [(END_EVENT, cont, dmap)]
        frame = cont[-1]
        tag = frame[0]
        if tag == "B":
            return [(None, cont, dmap)]
        if tag == "L":
            loop, j = frame[1], frame[2]
            assert isinstance(loop, Loop) and isinstance(j, int)
            return self.loop_head(cont[:-1], loop, j + 1, dmap)
        if tag == "H":
            loop, j = frame[1], frame[2]
            assert isinstance(loop, Loop) and isinstance(j, int)
            return self.loop_decide(cont[:-1], loop, j, dmap)
        if tag == "T":
            node, phase = frame[1], frame[2]
            assert isinstance(node, Try)
            rest = cont[:-1]
            if phase == "body" and node.orelse.items:
                return [
                    (None, (*rest, ("T", node, "else"), ("B", node.orelse, 0)), dmap)
                ]
            if node.final.items:
                return [
                    (None, (*rest, ("F", "next", None), ("B", node.final, 0)), dmap)
                ]
            return [(None, rest, dmap)]
        if tag == "I":
            return [(None, cont[:-1], dmap)]
        if tag == "F":
            action, exc = frame[1], frame[2]
            rest = cont[:-1]
            if action == "next":
                return [(None, rest, dmap)]
            assert isinstance(action, str)
            return self.unwind(
                rest, action, exc if isinstance(exc, str) else None, dmap
            )
        return [(None, cont[:-1], dmap)]

    def loop_head(
        self, cont: Cont, loop: Loop, j: int, dmap: Decisions
    ) -> list[tuple[Event | None, Cont, Decisions]]:
        if loop.head.items:
            return [(None, (*cont, ("H", loop, j), ("B", loop.head, 0)), dmap)]
        return self.loop_decide(cont, loop, j, dmap)

    def loop_decide(
        self, cont: Cont, loop: Loop, j: int, dmap: Decisions
    ) -> list[tuple[Event | None, Cont, Decisions]]:
        outer = _ctx(cont)
        choices: list[bool]
        if loop.count is not None:
            choices = [j < loop.count]
        else:
            dkey: DecisionKey = (loop.key, outer, j)
            known = dmap.get(dkey)
            if known is not None:
                choices = [known]
            elif j >= self.bound:
                choices = [] if loop.forever else [False]
            elif loop.forever:
                choices = [True]
            else:
                choices = [True, False]
        out: list[tuple[Event | None, Cont, Decisions]] = []
        for choice in choices:
            new_map = dmap
            if loop.count is None and (loop.key, outer, j) not in dmap:
                new_map = {**dmap, (loop.key, outer, j): choice}
            if choice:
                ctx = (*outer, (loop.key, j))
                out.append(
                    (None, (*cont, ("L", loop, j, ctx), ("B", loop.body, 0)), new_map)
                )
            elif loop.orelse.items:
                out.append((None, (*cont, ("B", loop.orelse, 0)), new_map))
            else:
                out.append((None, cont, new_map))
        return out

    def dispatch(
        self, node: Node, cont: Cont, dmap: Decisions, peek: Event | None
    ) -> list[tuple[Event | None, Cont, Decisions]]:
        if isinstance(node, Op):
            if not node.units:
                return [(None, cont, dmap)]
            raises: list[str | None] = [None]
            if self.is_old:
                handler_types = _active_handlers(cont)
                if handler_types is not None:
                    raises.extend(handler_types)
            steps: list[tuple[Event | None, Cont, Decisions]] = [
                (None, (*cont, ("U", node, 0, r)), dmap) for r in raises
            ]
            if self.is_old and any(u.check is Check.COMPANION for u in node.units):
                # Interrupted while waiting (recv, get_event): the timer row is
                # written, the operation's own row not yet, and the history
                # ends there.
                steps.append((None, (("U", self.waiting_op(node), 0, None),), dmap))
            return steps
        if isinstance(node, If):
            dkey: DecisionKey = (node.key, _ctx(cont))
            known = dmap.get(dkey)
            out: list[tuple[Event | None, Cont, Decisions]] = []
            for choice in [known] if known is not None else [True, False]:
                block = node.body if choice else node.orelse
                new_map = dmap if known is not None else {**dmap, dkey: choice}
                out.append((None, (*cont, ("B", block, 0)), new_map))
            return out
        if isinstance(node, PatchIf):
            if self.is_old:
                return [
                    (
                        None,
                        (
                            *cont,
                            ("B", node.body, 0),
                            ("U", self.marker_op(node), 0, None),
                        ),
                        dmap,
                    )
                ]
            row = _row(peek)
            if node.name is None:
                taken = row is END or (
                    peek is not None
                    and peek.unit is not None
                    and peek.unit.dynamic == "patch:?"
                )
                consumed = taken and row is not END
            else:
                outcome = replay_patch(row, node.name)
                taken = outcome.taken
                consumed = taken and row is not END
            if not taken:
                return [(None, (*cont, ("B", node.orelse, 0)), dmap)]
            event = Event("patch", None, node) if consumed else Event("ext", None, node)
            return [(event, (*cont, ("B", node.body, 0)), dmap)]
        if isinstance(node, Deprecate):
            if self.is_old or node.name is None:
                return [(None, cont, dmap)]
            if replay_deprecate(_row(peek), node.name):
                return [(Event("deprecate", None, node), cont, dmap)]
            return [(None, cont, dmap)]
        if isinstance(node, Loop):
            return self.loop_head(cont, node, 0, dmap)
        if isinstance(node, Try):
            return [(None, (*cont, ("T", node, "body"), ("B", node.body, 0)), dmap)]
        if isinstance(node, Inline):
            return [(None, (*cont, ("I",), ("B", node.body, 0)), dmap)]
        if isinstance(node, Exit):
            return self.unwind(
                cont, node.kind, "*" if node.kind == "raise" else None, dmap
            )
        if isinstance(node, Opaque):
            return [(Event("opaque", None, node), cont, dmap)]
        return [(None, cont, dmap)]

    def unwind(
        self, cont: Cont, kind: str, exc: str | None, dmap: Decisions
    ) -> list[tuple[Event | None, Cont, Decisions]]:
        """Leave blocks for ``return``/``raise``/``break``/``continue``."""
        while cont:
            frame = cont[-1]
            tag = frame[0]
            rest = cont[:-1]
            if tag == "L":
                loop, j = frame[1], frame[2]
                assert isinstance(loop, Loop) and isinstance(j, int)
                if kind == "break":
                    return [(None, rest, dmap)]
                if kind == "continue":
                    return self.loop_head(rest, loop, j + 1, dmap)
            elif tag == "T":
                node, phase = frame[1], frame[2]
                assert isinstance(node, Try)
                if kind == "raise" and phase == "body":
                    handler = _handler_for(node, exc)
                    if handler is not None:
                        return [
                            (
                                None,
                                (*rest, ("T", node, "handler"), ("B", handler.body, 0)),
                                dmap,
                            )
                        ]
                if node.final.items:
                    return [
                        (None, (*rest, ("F", kind, exc), ("B", node.final, 0)), dmap)
                    ]
            elif tag == "I" and kind == "return":
                return [(None, rest, dmap)]
            cont = rest
        return [(END_EVENT, (), dmap)]


def _handler_for(node: Try, exc: str | None) -> Handler | None:
    """The handler catching ``exc``; ``*`` (a ``raise`` statement of unknown
    type) is taken to be caught by the first handler."""
    if exc == "*" and node.handlers:
        return node.handlers[0]
    for handler in node.handlers:
        if handler.broad or (exc is not None and handler.type_key == exc):
            return handler
    return None


def _active_handlers(cont: Cont) -> list[str] | None:
    """Exception types an operation here may raise into a catching ``try``."""
    for frame in reversed(cont):
        if frame[0] == "T" and frame[2] == "body":
            node = frame[1]
            assert isinstance(node, Try)
            if not node.handlers:
                continue
            types = [h.type_key for h in node.handlers]
            if not any(h.broad for h in node.handlers):
                types.append("?")
            return types
    return None


def _row(event: Event | None) -> Row:
    if event is None or event.kind == "end":
        return END
    if event.kind == "opaque":
        return "<opaque>"
    if event.unit is None:
        return EMPTY
    if event.unit.name is None:
        return EMPTY if event.unit.dynamic is None else f"<{event.unit.dynamic}>"
    return event.unit.name


def _mark_raised(cont: Cont, exc: str) -> Cont:
    if cont and cont[-1][0] == "U":
        _, op, index, _ = cont[-1]
        return (*cont[:-1], ("U", op, index, exc))
    return cont


@dataclass
class _State:
    old: Cont
    new: Cont
    dmap: Decisions
    position: int
    history: tuple[tuple[str, Site | None], ...]
    lead: bool = True
    """Whether the previous position replayed a row (a timer row is only
    looked at when its operation's own row was missing)."""


def judge(old: WorkflowIR, new: WorkflowIR, bound: int = LOOP_BOUND) -> Judgement:
    """Every way histories of ``old`` fare under ``new``, shortest witness each."""
    result = Judgement()
    if fingerprint(old.body) == fingerprint(new.body):
        return result
    keys = _Keys()
    old_machine = _Machine(True, bound)
    new_machine = _Machine(False, bound)
    stack = [_State((("B", old.body, 0),), (("B", new.body, 0),), {}, 0, ())]
    seen: set[object] = set()
    while stack:
        state = stack.pop()
        if _cont_fp(state.old) == _cont_fp(state.new):
            continue
        future = keys.future(state.old) | keys.future(state.new)
        relevant = frozenset((k, v) for k, v in state.dmap.items() if k[0] in future)
        memo = (state.old, state.new, relevant)
        if memo in seen:
            continue
        seen.add(memo)
        result.states += 1
        if result.states > STATE_BUDGET:
            result.add(Problem(Kind.BUDGET, state.position, (), None, None, None, None))
            break
        for old_event, old_cont, old_map in old_machine.advance(
            state.old, state.dmap, None
        ):
            for new_event, new_cont, new_map in new_machine.advance(
                state.new, old_map, old_event
            ):
                nxt = _compare(
                    state, old_event, old_cont, new_event, new_cont, new_map, result
                )
                if nxt is not None:
                    stack.append(nxt)
    return result


def _history(
    state: _State, extra: tuple[str, Site | None] | None = None
) -> tuple[str, ...]:
    items = [name for name, _ in state.history]
    if extra is not None:
        items.append(extra[0])
    return tuple(items)


def _compare(
    state: _State,
    old_event: Event,
    old_cont: Cont,
    new_event: Event,
    new_cont: Cont,
    dmap: Decisions,
    result: Judgement,
) -> _State | None:
    position = state.position + 1
    old_site = old_event.op.site if old_event.op is not None else None
    new_site = new_event.op.site if new_event.op is not None else None
    if old_event.kind == "end":
        if new_event.kind == "end":
            return None
        expected = new_event.unit.display() if new_event.unit is not None else None
        if new_event.kind == "ext" and isinstance(new_event.op, PatchIf):
            expected = f"DBOS.patch-{new_event.op.name}"
        result.add(
            Problem(
                Kind.EXTENDED, position, _history(state), None, expected, None, new_site
            )
        )
        return None
    recorded = old_event.unit.display() if old_event.unit is not None else "<opaque>"
    entry = (recorded, old_site)

    def report(kind: Kind, expected: str | None, at_new: Site | None) -> None:
        history = _history(state, entry)
        result.add(
            Problem(kind, position, history, recorded, expected, old_site, at_new)
        )

    if new_event.kind == "end":
        report(Kind.SKIPPED, None, None)
        return None
    if old_event.kind == "opaque" or new_event.kind == "opaque":
        same = (
            old_event.kind == new_event.kind == "opaque"
            and isinstance(old_event.op, Opaque)
            and isinstance(new_event.op, Opaque)
            and old_event.op.key == new_event.op.key
        )
        if not same:
            expected = (
                new_event.unit.display() if new_event.unit is not None else "<opaque>"
            )
            certain = any(
                isinstance(e.op, Opaque) and e.op.records and other.kind == "unit"
                for e, other in ((old_event, new_event), (new_event, old_event))
            )
            report(Kind.MISMATCH if certain else Kind.UNVERIFIABLE, expected, new_site)
            return None
        return _State(old_cont, new_cont, dmap, state.position, state.history)
    if new_event.kind in ("patch", "deprecate"):
        return _State(old_cont, new_cont, dmap, position, (*state.history, entry))
    if new_event.kind == "ext":
        # a patch facing a row of another name takes the old path inside the
        # machine; "ext" only happens at the end of the history
        return None
    assert old_event.unit is not None and new_event.unit is not None
    old_unit, new_unit = old_event.unit, new_event.unit
    if old_unit.dynamic is not None or new_unit.dynamic is not None:
        if old_unit.dynamic != new_unit.dynamic or old_unit.name != new_unit.name:
            if not (new_unit.check is not Check.NAME and new_unit.dynamic is None):
                report(Kind.UNVERIFIABLE, new_unit.display(), new_site)
                return None
    row: Row = EMPTY if old_unit.name is None else old_unit.name
    if old_unit.dynamic is not None:
        row = f"<{old_unit.dynamic}>"
    name = new_unit.name if new_unit.name is not None else f"<{new_unit.dynamic}>"
    outcome = replay_operation(row, name, new_unit.check, lead_replayed=state.lead)
    if outcome is Outcome.MISMATCH:
        report(Kind.MISMATCH, new_unit.display(), new_site)
        return None
    if outcome is Outcome.SILENT:
        report(Kind.SILENT, new_unit.display(), new_site)
    if old_event.raised is not None:
        new_cont = _mark_raised(new_cont, old_event.raised)
    replayed = outcome is Outcome.REPLAYED
    return _State(old_cont, new_cont, dmap, position, (*state.history, entry), replayed)
