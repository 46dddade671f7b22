"""The small tree a workflow body is lowered to before it is judged.

Only what decides which operations run, and in which order, survives
lowering: operations with the rows they record, branches keyed by what their
condition reads, loops, try blocks, patches and exits.  Nodes hash by
identity so the judge can memoise states of very long workflows cheaply;
``fingerprint`` gives the structural identity used to compare revisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from workflow_lint_runtime.replay_rules import Check


@dataclass(frozen=True, slots=True)
class Site:
    """Where a node comes from, for witnesses and fixes."""

    path: str
    line: int
    column: int
    text: str


NO_SITE = Site("", 0, 0, "")


@dataclass(frozen=True, slots=True)
class Unit:
    """One position an operation takes, and the row it records there.

    ``name`` is None for a position used without a row; ``dynamic`` holds the
    canonical text of a name computed at run time.
    """

    name: str | None
    check: Check = Check.NAME
    dynamic: str | None = None

    def display(self) -> str:
        if self.dynamic is not None:
            return f"<{self.dynamic}>"
        return self.name if self.name is not None else "<no row>"


class Node:
    """Base of IR nodes: identity hashing, a source site."""

    __slots__ = ()
    site: Site

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


class Block:
    """A sequence of nodes (hashes by identity, unlike a tuple)."""

    __slots__ = ("_fingerprints", "items")

    def __init__(self, items: list[Node] | tuple[Node, ...] = ()) -> None:
        self.items: tuple[Node, ...] = tuple(items)
        self._fingerprints: list[str] | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


EMPTY_BLOCK = Block()


@dataclass(eq=False, slots=True)
class Op(Node):
    units: tuple[Unit, ...]
    label: str
    site: Site = NO_SITE


@dataclass(eq=False, slots=True)
class If(Node):
    key: str
    body: Block
    orelse: Block
    site: Site = NO_SITE


@dataclass(eq=False, slots=True)
class PatchIf(Node):
    """``if DBOS.patch(name): body else: orelse`` (also bare ``DBOS.patch``)."""

    name: str | None
    body: Block
    orelse: Block
    site: Site = NO_SITE


@dataclass(eq=False, slots=True)
class Deprecate(Node):
    name: str | None
    site: Site = NO_SITE


@dataclass(eq=False, slots=True)
class Loop(Node):
    """A ``for``/``while``/comprehension loop.

    ``head`` runs before every continue-or-exit decision (a ``while``
    condition's operations, a stream read); ``count`` is the exact number of
    iterations when the loop runs over a constant; ``forever`` marks
    ``while True``.  ``ident`` names the loop without the values it reads, so
    a loop whose constant changed can still be paired with its old self.
    """

    key: str
    ident: str
    head: Block
    body: Block
    orelse: Block
    count: int | None = None
    values: tuple[str, ...] | None = None
    forever: bool = False
    site: Site = NO_SITE


@dataclass(eq=False, slots=True)
class Handler:
    type_key: str
    body: Block
    broad: bool = False


@dataclass(eq=False, slots=True)
class Try(Node):
    body: Block
    handlers: tuple[Handler, ...]
    orelse: Block
    final: Block
    site: Site = NO_SITE


@dataclass(eq=False, slots=True)
class Inline(Node):
    """An inlined helper call: ``return`` inside ends only this."""

    body: Block
    label: str
    site: Site = NO_SITE


@dataclass(eq=False, slots=True)
class Exit(Node):
    kind: str  # "return" | "raise" | "break" | "continue"
    site: Site = NO_SITE


@dataclass(eq=False, slots=True)
class Opaque(Node):
    """Something that may record operations the checker cannot know."""

    key: str
    reason: str
    site: Site = NO_SITE
    records: bool = False
    """True when it surely records at least one row (an agent run): then a
    known operation in its place is a certain mismatch."""


@dataclass(eq=False)
class WorkflowIR:
    name: str
    qualname: str
    path: str
    line: int
    is_async: bool
    body: Block
    patch_names: list[tuple[str, Site]] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)


def sub_blocks(node: Node) -> Iterator[Block]:
    """The blocks a node holds, in the order the code runs them."""
    if isinstance(node, (If, PatchIf)):
        yield node.body
        yield node.orelse
    elif isinstance(node, Loop):
        yield node.head
        yield node.body
        yield node.orelse
    elif isinstance(node, Try):
        yield node.body
        for handler in node.handlers:
            yield handler.body
        yield node.orelse
        yield node.final
    elif isinstance(node, Inline):
        yield node.body


def fingerprint(node: Node | Block) -> str:
    """Structural identity: equal for nodes that behave the same on replay."""
    if isinstance(node, Block):
        return block_suffix_fingerprints(node)[0]
    cached = _FP_CACHE.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    text = _fingerprint(node)
    _FP_CACHE[id(node)] = (node, text)
    return text


_FP_CACHE: dict[int, tuple[Node, str]] = {}


def clear_fingerprint_cache() -> None:
    _FP_CACHE.clear()


def block_suffix_fingerprints(block: Block) -> list[str]:
    """Fingerprints of ``block.items[i:]`` for every i (len + 1 entries)."""
    if block._fingerprints is None:
        out = [""] * (len(block.items) + 1)
        acc = ""
        for index in range(len(block.items) - 1, -1, -1):
            acc = str(hash((fingerprint(block.items[index]), acc)))
            out[index] = acc
        out[len(block.items)] = ""
        block._fingerprints = out
    return block._fingerprints


def _fingerprint(node: Node) -> str:
    fp = fingerprint
    if isinstance(node, Op):
        return (
            "op("
            + ",".join(f"{u.name}|{u.check.value}|{u.dynamic}" for u in node.units)
            + ")"
        )
    if isinstance(node, If):
        return f"if({node.key};{fp(node.body)};{fp(node.orelse)})"
    if isinstance(node, PatchIf):
        return f"patch({node.name};{fp(node.body)};{fp(node.orelse)})"
    if isinstance(node, Deprecate):
        return f"deprecate({node.name})"
    if isinstance(node, Loop):
        return (
            f"loop({node.key};{node.count};{node.values};{node.forever};"
            f"{fp(node.head)};{fp(node.body)};{fp(node.orelse)})"
        )
    if isinstance(node, Try):
        handlers = ";".join(f"{h.type_key}:{fp(h.body)}" for h in node.handlers)
        return f"try({fp(node.body)};{handlers};{fp(node.orelse)};{fp(node.final)})"
    if isinstance(node, Inline):
        return f"inline({fp(node.body)})"
    if isinstance(node, Exit):
        return node.kind
    if isinstance(node, Opaque):
        return f"opaque({node.key})"
    return type(node).__name__
