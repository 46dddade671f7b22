# ruff: noqa: E501  (templates of generated code)
"""A synthetic project for the benchmark: DBOS workflows among plain Python.

``generate(root, modules)`` writes a package tree under ``root/app`` and
returns a :class:`Layout` that says where the edits go.  Everything is
deterministic for a given ``(modules, seed)``.

What is generated (``modules`` counts the ``.py`` files other than
``__init__.py`` and the two big workflow modules):

* about 10% workflow modules: ``from dbos import DBOS, Queue``, 4-8
  ``@DBOS.step()`` functions, a helper that runs steps, a pure helper, a
  child workflow and one or two workflows of 5-40 operations built from step
  calls, ``DBOS.set_event``, ``DBOS.sleep``, ``DBOS.start_workflow`` /
  ``queue.enqueue`` / ``DBOS.enqueue_workflow`` fan-outs collected with
  ``[h.get_result() for h in handles]``, if/else on recorded results and on
  arguments, ``for`` loops over constants and over arguments, try/except,
  helper calls, and steps imported from the package's ``common_steps``;
* one ``common_steps.py`` per package (steps only, imported by workflows);
* about 1% "api" modules that import workflows and start them with
  ``DBOS.start_workflow`` from ordinary functions (no workflow of their own);
* the rest plain library code of 50-300 lines: dataclasses and classes with
  methods, functions with loops, comprehensions, try/except, f-strings;
* ``app/bulk/ledger_500.py`` and ``app/bulk/ledger_10000.py``: one workflow
  each, 500 and 10,000 operations, straight-line step calls with an if/else on
  a recorded result every ~40 operations and an occasional ``set_event``.

Run ``python benchmarks/synth.py DIR [--modules N]`` to write one (without
git) and look at it.
"""

from __future__ import annotations

import argparse
import os
import random
from dataclasses import dataclass, field

PACKAGE_SIZE = 50
WORKFLOW_SHARE = 0.10
API_SHARE = 0.01
BIG_SIZES = (500, 10_000)

NOUNS = [
    "invoice", "order", "shipment", "payment", "refund", "account", "report",
    "subscription", "ticket", "profile", "inventory", "coupon", "review",
    "export", "upload", "booking", "claim", "contract", "lead", "campaign",
    "payout", "ledger", "device", "session", "quote", "policy", "asset",
]  # fmt: skip
VERBS = [
    "fetch", "validate", "reserve", "charge", "notify", "persist", "sync",
    "publish", "archive", "compute", "enrich", "score", "lock", "release",
    "render", "upload", "verify", "index", "transform", "collect",
]  # fmt: skip
STAGES = ["loaded", "checked", "charged", "synced", "published", "done", "queued"]
WORDS = [
    "alpha", "batch", "cache", "delta", "entry", "field", "group", "index",
    "key", "label", "meta", "node", "owner", "page", "query", "range", "slot",
    "token", "unit", "value", "width", "zone", "limit", "offset", "status",
]  # fmt: skip


@dataclass
class EditPoint:
    """Where a breaking edit goes: insert ``text`` as a new line before
    1-based line ``line`` of ``path`` (a top-level statement of a workflow
    body, itself a recorded operation, so the insertion shifts positions)."""

    path: str
    line: int
    text: str
    workflow: str
    ops: int = 0


@dataclass
class Layout:
    files: dict[str, str] = field(default_factory=dict)
    workflow_modules: list[str] = field(default_factory=list)
    edit_points: list[EditPoint] = field(default_factory=list)
    big: dict[int, EditPoint] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def lines(self) -> int:
        return sum(text.count("\n") for text in self.files.values())


def apply_edit(root: str, point: EditPoint) -> None:
    full = os.path.join(root, point.path)
    with open(full, encoding="utf-8") as handle:
        lines = handle.readlines()
    lines.insert(point.line - 1, point.text + "\n")
    with open(full, "w", encoding="utf-8") as handle:
        handle.writelines(lines)


# --- plain modules --------------------------------------------------------------


class _Plain:
    def __init__(self, rng: random.Random, module: str, imports: list[str]) -> None:
        self.rng = rng
        self.module = module
        self.imports = imports
        self.out: list[str] = []

    def word(self) -> str:
        return self.rng.choice(WORDS)

    def ident(self) -> str:
        a, b = self.rng.sample(WORDS, 2)
        return f"{a}_{b}"

    def build(self, target_lines: int) -> str:
        rng = self.rng
        noun = rng.choice(NOUNS)
        self.out = [
            f'"""Helpers for {noun} {self.word()} handling ({self.module})."""',
            "",
            "from __future__ import annotations",
            "",
            "import itertools",
            "import json",
            "import logging",
            "from collections import defaultdict",
            "from collections.abc import Iterable, Iterator",
            "from dataclasses import dataclass, field",
            "",
        ]
        for imp in self.imports:
            self.out.append(imp)
        if self.imports:
            self.out.append("")
        self.out += [
            "logger = logging.getLogger(__name__)",
            "",
            f"DEFAULT_{self.word().upper()} = {rng.randint(2, 500)}",
            f"KNOWN_{self.word().upper()}S = ("
            + ", ".join(f'"{w}"' for w in rng.sample(WORDS, 4))
            + ")",
        ]
        makers = [self._dataclass, self._class, self._function, self._function,
                  self._generator, self._parser]  # fmt: skip
        n = 0
        while len(self.out) < target_lines:
            self.out += ["", ""]
            rng.choice(makers)(noun, n)
            n += 1
        return "\n".join(self.out) + "\n"

    def _dataclass(self, noun: str, n: int) -> None:
        name = f"{noun.title()}{self.word().title()}{n}"
        fields = self.rng.sample(WORDS, self.rng.randint(3, 6))
        self.out += ["@dataclass", f"class {name}:"]
        self.out.append(f'    """A {noun} record ({", ".join(fields[:2])})."""')
        self.out.append("")
        for f in fields:
            kind = self.rng.choice(["int = 0", 'str = ""', "float = 0.0"])
            self.out.append(f"    {f}: {kind}")
        self.out.append("    tags: list[str] = field(default_factory=list)")
        self.out += [
            "",
            "    def to_dict(self) -> dict[str, object]:",
            "        return {",
        ]
        for f in fields:
            self.out.append(f'            "{f}": self.{f},')
        self.out += [
            '            "tags": sorted(self.tags),',
            "        }",
            "",
            "    @classmethod",
            f"    def from_dict(cls, data: dict[str, object]) -> {name}:",
            "        known = {k: v for k, v in data.items() if k in cls.__annotations__}",
            "        return cls(**known)  # type: ignore[arg-type]",
        ]

    def _class(self, noun: str, n: int) -> None:
        name = f"{noun.title()}{self.word().title()}Registry{n}"
        attr = self.word()
        self.out += [
            f"class {name}:",
            f'    """Keeps {noun} entries grouped by {attr}."""',
            "",
            "    def __init__(self, limit: int = 100) -> None:",
            "        self.limit = limit",
            "        self._items: dict[str, list[dict[str, object]]] = defaultdict(list)",
            "        self._count = 0",
            "",
            "    def add(self, key: str, item: dict[str, object]) -> bool:",
            "        if self._count >= self.limit:",
            '            logger.debug("registry full: %s", key)',
            "            return False",
            "        self._items[key].append(item)",
            "        self._count += 1",
            "        return True",
            "",
            "    def remove(self, key: str) -> int:",
            "        removed = len(self._items.pop(key, []))",
            "        self._count -= removed",
            "        return removed",
            "",
            f"    def by_{attr}(self, value: object) -> list[dict[str, object]]:",
            "        return [",
            "            item",
            "            for items in self._items.values()",
            "            for item in items",
            f'            if item.get("{attr}") == value',
            "        ]",
            "",
            "    def __len__(self) -> int:",
            "        return self._count",
            "",
            "    def __iter__(self) -> Iterator[tuple[str, dict[str, object]]]:",
            "        for key, items in sorted(self._items.items()):",
            "            for item in items:",
            "                yield key, item",
        ]

    def _function(self, noun: str, n: int) -> None:
        name = f"{self.rng.choice(VERBS)}_{noun}_{self.word()}_{n}"
        a, b = self.rng.sample(WORDS, 2)
        self.out += [
            f"def {name}(rows: Iterable[dict[str, object]], limit: int = 10) -> dict:",
            f'    """Summarise {noun} rows by {a} and {b}."""',
            "    totals: dict[str, int] = defaultdict(int)",
            "    seen = set()",
            "    for index, row in enumerate(rows):",
            "        if index >= limit:",
            "            break",
            f'        key = str(row.get("{a}", "none"))',
            "        if key in seen:",
            "            continue",
            "        seen.add(key)",
            "        try:",
            f'            totals[key] += int(row.get("{b}", 0))  # type: ignore',
            "        except (TypeError, ValueError) as exc:",
            '            logger.warning("bad row %d: %s", index, exc)',
            "    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))",
            "    return {",
            '        "top": [k for k, _ in ranked[:3]],',
            '        "total": sum(totals.values()),',
            '        "groups": len(totals),',
            "    }",
        ]

    def _generator(self, noun: str, n: int) -> None:
        name = f"iter_{noun}_{self.word()}_chunks_{n}"
        self.out += [
            f"def {name}(values: Iterable[int], size: int = 8) -> Iterator[list[int]]:",
            '    """Yield lists of at most ``size`` values, skipping negatives."""',
            "    it = iter(v for v in values if v >= 0)",
            "    while True:",
            "        chunk = list(itertools.islice(it, size))",
            "        if not chunk:",
            "            return",
            "        yield chunk",
        ]

    def _parser(self, noun: str, n: int) -> None:
        name = f"parse_{noun}_{self.word()}_{n}"
        keys = self.rng.sample(WORDS, 3)
        self.out += [
            f"def {name}(text: str) -> dict[str, object]:",
            f'    """Parse a JSON {noun} payload, filling defaults."""',
            "    try:",
            "        data = json.loads(text)",
            "    except json.JSONDecodeError:",
            "        return {}",
            "    if not isinstance(data, dict):",
            '        raise TypeError(f"expected an object, got {type(data).__name__}")',
            "    defaults = {" + ", ".join(f'"{k}": None' for k in keys) + "}",
            "    merged = {**defaults, **data}",
            "    return {k: v for k, v in merged.items() if not str(k).startswith('_')}",
        ]


# --- workflow modules -----------------------------------------------------------


class _Workflow:
    """One workflow module; ``edit`` is where a breaking insertion goes."""

    def __init__(
        self, rng: random.Random, package: str, module: str, plain_import: str | None
    ) -> None:
        self.rng = rng
        self.package = package
        self.module = module
        self.plain_import = plain_import
        self.noun = rng.choice(NOUNS)
        self.ident = f"{self.noun}_id"
        self.out: list[str] = []
        self.steps: list[str] = []
        self.edit: EditPoint | None = None
        self.path = ""
        # Workflow names are unique across the project (DBOS registers them
        # by name; a clash would be a WFL109 finding on every run).
        self.tag = f"{package.replace('pkg_', 'p')}_{module.replace('flow_', '')}"

    def build(self, path: str) -> str:
        rng, noun = self.rng, self.noun
        self.path = path
        err = f"{noun.title()}Error"
        verbs = rng.sample(VERBS, rng.randint(4, 8))
        self.steps = [f"{v}_{noun}" for v in verbs]
        queue_name = f"{self.package}_{self.module}_queue"
        out = self.out
        out += [
            f'"""Durable {noun} workflows ({self.package}.{self.module})."""',
            "",
            "from __future__ import annotations",
            "",
            "import logging",
            "from dataclasses import dataclass",
            "",
            "from dbos import DBOS, Queue",
            "",
            f"from app.{self.package}.common_steps import (",
            "    audit_event,",
            "    load_config,",
            "    notify_owner,",
            "    publish_metric,",
            ")",
        ]
        if self.plain_import:
            out.append(self.plain_import)
        out += [
            "",
            "logger = logging.getLogger(__name__)",
            "",
            'REGIONS = ("eu-west", "us-east", "ap-south")',
            f"BATCH_LIMIT = {rng.randint(5, 50)}",
            f'queue = Queue("{queue_name}", concurrency={rng.randint(2, 16)})',
            "",
            "",
            f"class {err}(Exception):",
            f'    """A {noun} could not be processed."""',
            "",
            "",
            "@dataclass",
            f"class {noun.title()}Summary:",
            f"    {self.ident}: str",
            "    status: str",
            "    parts: int = 0",
        ]
        for i, step in enumerate(self.steps):
            deco = (
                "@DBOS.step(retries_allowed=True, max_attempts=3)"
                if i % 3 == 1
                else "@DBOS.step()"
            )
            out += [
                "",
                "",
                deco,
                f"def {step}({self.ident}: str, detail: object = None) -> dict:",
                f'    logger.info("{step} %s %s", {self.ident}, detail)',
                f"    if not {self.ident}:",
                f'        raise {err}("empty id")',
                f"    score = sum(ord(c) for c in {self.ident}) % {rng.randint(7, 97)}",
                f'    return {{"id": {self.ident}, "ok": score > 3, "score": score}}',
            ]
        a, b = rng.sample(self.steps, 2)
        out += [
            "",
            "",
            "def _normalise(record: dict) -> dict:",
            "    return {k: v for k, v in record.items() if v is not None}",
            "",
            "",
            f"def _settle({self.ident}: str, region: str) -> str:",
            f"    {a}({self.ident}, region)",
            '    DBOS.set_event("settled", region)',
            f"    {b}({self.ident}, region)",
            "    return region",
            "",
            "",
            "@DBOS.workflow()",
            f"def {noun}_part_{self.tag}({self.ident}: str, part: object) -> dict:",
            f"    result = {rng.choice(self.steps)}({self.ident}, part)",
            '    DBOS.set_event("part", str(part))',
            f"    {rng.choice(self.steps)}({self.ident}, result)",
            "    return _normalise(result)",
        ]
        main_ops = rng.randint(5, 40)
        self._workflow(f"process_{noun}_{self.tag}", main_ops, err, queue_name,
                       edit=True)  # fmt: skip
        if rng.random() < 0.5:
            self._workflow(f"refresh_{noun}_{self.tag}", rng.randint(5, 20), err,
                           queue_name, edit=False)  # fmt: skip
        return "\n".join(out) + "\n"

    def _workflow(
        self, name: str, budget: int, err: str, queue_name: str, edit: bool
    ) -> None:
        rng, ident, out = self.rng, self.ident, self.out
        child = f"{self.noun}_part_{self.tag}"
        out += [
            "",
            "",
            "@DBOS.workflow()",
            f"def {name}({ident}: str, items: list[str], urgent: bool = False) -> dict:",
            f'    """Process one {self.noun} end to end."""',
            f"    record = {self.steps[0]}({ident})",
            "    config = load_config(record)",
        ]
        ops = 2
        anchors: list[tuple[int, str]] = []  # (line index, step) of simple op lines
        results = ["record"]
        n = 0
        while ops < budget:
            n += 1
            kind = rng.choices(
                ["step", "event", "sleep", "fanout", "ifres", "ifarg", "forconst",
                 "forarg", "try", "helper", "imported", "plain"],
                weights=[8, 2, 1, 1, 2, 1, 1, 1, 1, 1, 2, 2],
            )[0]  # fmt: skip
            step = rng.choice(self.steps)
            if kind == "step":
                var = f"{self.noun}_{n}"
                anchors.append((len(out), step))
                out.append(f'    {var} = {step}({ident}, "{rng.choice(WORDS)}")')
                results.append(var)
                ops += 1
            elif kind == "event":
                out.append(
                    f'    DBOS.set_event("{self.noun}_stage", "{rng.choice(STAGES)}")'
                )
                ops += 1
            elif kind == "sleep":
                out.append(f"    DBOS.sleep({rng.choice([1, 2, 5, 30])})")
                ops += 1
            elif kind == "fanout":
                k = rng.randint(2, 4)
                how = rng.randrange(3)
                if how == 0:
                    out += [
                        "    handles = [",
                        f"        DBOS.start_workflow({child}, {ident}, i) for i in range({k})",
                        "    ]",
                    ]
                elif how == 1:
                    out += [
                        "    handles = [",
                        f"        queue.enqueue({child}, {ident}, item) for item in items",
                        "    ]",
                    ]
                else:
                    out += [
                        "    handles = []",
                        f"    for region in REGIONS[:{k}]:",
                        "        handles.append(",
                        f'            DBOS.enqueue_workflow("{queue_name}", {child}, {ident}, region)',
                        "        )",
                    ]
                out.append(f"    parts_{n} = [h.get_result() for h in handles]")
                ops += 2 * k
            elif kind == "ifres":
                other = rng.choice(self.steps)
                out += [
                    f'    if {rng.choice(results)}["ok"]:',
                    f"        {step}({ident}, config)",
                    "    else:",
                    f'        logger.warning("{self.noun} %s not ok", {ident})',
                    f"        {other}({ident}, None)",
                    f'        DBOS.set_event("{self.noun}_stage", "retry")',
                ]
                ops += 2
            elif kind == "ifarg":
                out += [
                    "    if urgent:",
                    f'        notify_owner({ident}, "urgent")',
                ]
                ops += 1
            elif kind == "forconst":
                out += [
                    "    for region in REGIONS:",
                    f"        {step}({ident}, region)",
                ]
                ops += 3
            elif kind == "forarg":
                out += [
                    "    for item in items[:BATCH_LIMIT]:",
                    "        if not item:",
                    "            continue",
                    f"        {step}({ident}, item)",
                ]
                ops += 2
            elif kind == "try":
                other = rng.choice(self.steps)
                out += [
                    "    try:",
                    f"        charged_{n} = {step}({ident}, config)",
                    f"    except {err} as exc:",
                    f'        logger.warning("{self.noun} %s failed: %s", {ident}, exc)',
                    f"        charged_{n} = {other}({ident}, str(exc))",
                ]
                results.append(f"charged_{n}")
                ops += 2
            elif kind == "helper":
                out.append(
                    f'    _settle({ident}, "{rng.choice(["eu-west", "us-east"])}")'
                )
                ops += 3
            elif kind == "imported":
                out.append(f'    audit_event({ident}, "{rng.choice(STAGES)}")')
                ops += 1
            else:
                out += [
                    f'    logger.info("{self.noun} %s at stage {n}", {ident})',
                    f"    seen_{n} = {{r: len(str(r)) for r in items if r}}",
                ]
        out += [
            f'    publish_metric("{self.noun}_done", 1)',
            f'    return {{"id": {ident}, "status": "done", "ops": {ops}}}',
        ]
        if edit:
            later = [a for a in anchors if a[0] > 0]
            if not later:  # every workflow starts with a step: use the first line
                start = len(out)
                while not out[start - 1].startswith("    record = "):
                    start -= 1
                later = [(start - 1, self.steps[0])]
            index, _ = later[len(later) // 2]
            self.edit = EditPoint(
                self.path,
                index + 1,
                f'    {self.steps[-1]}({ident}, "inserted")',
                name,
                budget,
            )


def _common_steps(package: str) -> str:
    lines = [
        f'"""Steps shared by the workflows of {package}."""',
        "",
        "from __future__ import annotations",
        "",
        "import logging",
        "",
        "from dbos import DBOS",
        "",
        "logger = logging.getLogger(__name__)",
    ]
    for name, params, body in [
        ("audit_event", "key: str, stage: str", 'logger.info("audit %s %s", key, stage)'),
        ("load_config", "record: dict", 'logger.debug("config for %s", record)'),
        ("notify_owner", "key: str, reason: str", 'logger.info("notify %s", reason)'),
        ("publish_metric", "metric: str, value: int", 'logger.debug("%s=%d", metric, value)'),
    ]:  # fmt: skip
        lines += [
            "",
            "",
            "@DBOS.step()",
            f"def {name}({params}) -> dict:",
            f"    {body}",
            '    return {"ok": True}',
        ]
    return "\n".join(lines) + "\n"


def _api_module(package: str, module: str, targets: list[tuple[str, str]]) -> str:
    lines = [
        f'"""Request handlers that start workflows ({package}.{module})."""',
        "",
        "from __future__ import annotations",
        "",
        "from dbos import DBOS",
        "",
    ]
    for mod, wf in targets:
        lines.append(f"from app.{package}.{mod} import {wf}")
    for _mod, wf in targets:
        lines += [
            "",
            "",
            f"def submit_{wf}(key: str, items: list[str]) -> str:",
            f"    handle = DBOS.start_workflow({wf}, key, items, False)",
            "    return handle.workflow_id",
        ]
    return "\n".join(lines) + "\n"


def _big_module(ops: int) -> tuple[str, EditPoint]:
    """One workflow of ``ops`` operations: straight-line step calls, an
    if/else on a recorded result every ~40 operations, a set_event now and
    then.  The edit inserts a step call before the middle operation."""
    rng = random.Random(ops)
    path = f"app/bulk/ledger_{ops}.py"
    n_steps = 20
    out = [
        f'"""A long ledger reconciliation: {ops} operations in one workflow."""',
        "",
        "from __future__ import annotations",
        "",
        "from dbos import DBOS",
    ]
    for i in range(n_steps):
        out += [
            "",
            "",
            "@DBOS.step()",
            f"def ledger_step_{i:02d}(batch_id: str, entry: int) -> dict:",
            f'    return {{"ok": (entry + {i}) % 3 != 0, "entry": entry}}',
        ]
    out += [
        "",
        "",
        "@DBOS.workflow()",
        f"def reconcile_ledger_{ops}(batch_id: str) -> int:",
        "    total = 0",
    ]
    done = 0
    anchors: list[int] = []
    last = None
    while done < ops:
        if last is not None and done % 40 == 39 and done + 2 <= ops:
            a, b = rng.sample(range(n_steps), 2)
            out += [
                f'    if {last}["ok"]:',
                f"        ledger_step_{a:02d}(batch_id, {done})",
                "    else:",
                f"        ledger_step_{b:02d}(batch_id, {done})",
            ]
            done += 2
        elif done % 97 == 50:
            out.append(f'    DBOS.set_event("progress", {done})')
            done += 1
        else:
            last = f"r{done}"
            anchors.append(len(out))
            out.append(
                f"    {last} = ledger_step_{done % n_steps:02d}(batch_id, {done})"
            )
            out.append(f'    total += {last}["entry"]')
            done += 1
    out.append("    return total")
    index = anchors[len(anchors) // 2]
    point = EditPoint(
        path,
        index + 1,
        "    ledger_step_07(batch_id, -1)",
        f"reconcile_ledger_{ops}",
        ops,
    )
    return "\n".join(out) + "\n", point


def generate(
    root: str,
    modules: int = 2000,
    seed: int = 6,
    big_sizes: tuple[int, ...] = BIG_SIZES,
) -> Layout:
    """Write the project under ``root`` and say where the edits go."""
    rng = random.Random(seed)
    layout = Layout()
    n_packages = max(1, round(modules / PACKAGE_SIZE))
    per_package = [modules // n_packages] * n_packages
    for i in range(modules - sum(per_package)):
        per_package[i] += 1
    n_workflows = round(modules * WORKFLOW_SHARE)
    n_api = max(1, round(modules * API_SHARE))
    # Which module slots hold workflows / api handlers (slot 0 is common_steps).
    slots = [(p, m) for p in range(n_packages) for m in range(1, per_package[p])]
    rng.shuffle(slots)
    wf_slots = set(slots[:n_workflows])
    api_slots = set(slots[n_workflows : n_workflows + n_api])
    files = layout.files
    files["app/__init__.py"] = '"""Synthetic application for the benchmark."""\n'
    plain_names: dict[int, list[str]] = {}
    workflows_by_package: dict[int, list[tuple[str, str]]] = {}
    for p in range(n_packages):
        package = f"pkg_{p:02d}"
        files[f"app/{package}/__init__.py"] = ""
        files[f"app/{package}/common_steps.py"] = _common_steps(package)
        plain_names[p] = [
            f"util_{m:03d}"
            for m in range(1, per_package[p])
            if (p, m) not in wf_slots and (p, m) not in api_slots
        ]
    counts = {"workflow": 0, "common_steps": n_packages, "api": 0, "plain": 0}
    for p in range(n_packages):
        package = f"pkg_{p:02d}"
        for m in range(1, per_package[p]):
            if (p, m) in wf_slots:
                module = f"flow_{m:03d}"
                path = f"app/{package}/{module}.py"
                plain = plain_names[p] or plain_names[0]
                imp = None
                if plain:
                    target = rng.choice(plain)
                    imp = f"from app.{package} import {target}  # noqa: F401"
                wf = _Workflow(rng, package, module, imp)
                files[path] = wf.build(path)
                layout.workflow_modules.append(path)
                assert wf.edit is not None
                layout.edit_points.append(wf.edit)
                workflows_by_package.setdefault(p, []).append(
                    (module, wf.edit.workflow)
                )
                counts["workflow"] += 1
    for p in range(n_packages):
        package = f"pkg_{p:02d}"
        for m in range(1, per_package[p]):
            if (p, m) in wf_slots:
                continue
            if (p, m) in api_slots and workflows_by_package.get(p):
                module = f"api_{m:03d}"
                files[f"app/{package}/{module}.py"] = _api_module(
                    package, module, workflows_by_package[p][:3]
                )
                counts["api"] += 1
                continue
            module = f"util_{m:03d}"
            imports = []
            siblings = [n for n in plain_names[p] if n != module]
            for other in rng.sample(siblings, min(len(siblings), rng.randint(0, 2))):
                imports.append(f"from app.{package} import {other}  # noqa: F401")
            size = rng.randint(50, 300)
            files[f"app/{package}/{module}.py"] = _Plain(rng, module, imports).build(
                size
            )
            counts["plain"] += 1
    files["app/bulk/__init__.py"] = ""
    for ops in big_sizes:
        text, point = _big_module(ops)
        files[point.path] = text
        layout.big[ops] = point
    counts["big"] = len(big_sizes)
    layout.counts = counts
    write_files(root, files)
    return layout


def generate_big_only(root: str, ops: int) -> EditPoint:
    """A project holding only the ``ops``-operation workflow module."""
    text, point = _big_module(ops)
    write_files(
        root,
        {"app/__init__.py": "", "app/bulk/__init__.py": "", point.path: text},
    )
    return point


def write_files(root: str, files: dict[str, str]) -> None:
    for rel, text in files.items():
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(os.path.join(root, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(
            "Synthetic project written by workflow-lint's benchmarks/synth.py\n"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--modules", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    layout = generate(args.root, args.modules, args.seed)
    print(f"{len(layout.files)} files, {layout.lines} lines: {layout.counts}")


if __name__ == "__main__":
    main()
