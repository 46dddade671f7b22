"""``[tool.workflow-lint]`` in pyproject.toml: a project's defaults.

The table is looked for from the current folder upward, stopping at the
repository root (the folder holding ``.git``); the first pyproject.toml that
has the table wins, so a package's own pyproject.toml without one does not
hide the repository's.  Command-line flags override what the table says.

Every key is checked: an unknown key, a value of the wrong type or a value
the tool does not understand is a ConfigError (exit status 2, one line).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workflow_lint.diagnostics import Code
from workflow_lint.errors import ConfigError
from workflow_lint.revision import Versioning
from workflow_lint.suppress import UNREASONED

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

PYPROJECT = "pyproject.toml"
TABLE = "tool.workflow-lint"
SNAPSHOT_BASE = "snapshot"
"""``base = "snapshot"``: judge against the versions recorded in the lock file."""

KNOWN_CODES: frozenset[str] = frozenset([*(member.code for member in Code), UNREASONED])
"""Codes ``select`` and ``ignore`` may name (or a prefix of, like ``WFL1``)."""

_CODE_PATTERN = re.compile(r"WFL[0-9]{0,3}")


@dataclass(frozen=True)
class Config:
    """What ``[tool.workflow-lint]`` says; None and () mean "not set"."""

    path: str | None = None
    """The pyproject.toml this came from (None: no table was found)."""
    base: str | None = None
    versioning: Versioning | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    patch_name_template: str | None = None
    strict: bool | None = None


# --- reading ---------------------------------------------------------------


def find_pyproject(start: str) -> str | None:
    """The first pyproject.toml with a ``[tool.workflow-lint]`` table, looking
    from ``start`` upward and stopping at the repository root."""
    folder = os.path.abspath(start)
    while True:
        candidate = os.path.join(folder, PYPROJECT)
        if os.path.isfile(candidate) and _has_table(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if os.path.exists(os.path.join(folder, ".git")) or parent == folder:
            return None
        folder = parent


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _has_table(path: str) -> bool:
    # A cheap look first: most pyproject.toml files never mention the tool.
    try:
        with open(path, "rb") as handle:
            if b"workflow-lint" not in handle.read():
                return False
    except OSError:
        return False
    return _table(_read_toml(path), path) is not None


def _table(doc: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    tool = doc.get("tool")
    if not isinstance(tool, dict):
        return None
    table = tool.get("workflow-lint")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{TABLE}] must be a table")
    return table


def load(start: str) -> Config:
    """The configuration in effect in ``start`` (an empty one if none)."""
    path = find_pyproject(start)
    if path is None:
        return Config()
    table = _table(_read_toml(path), path)
    return parse(table or {}, path)


# --- checking --------------------------------------------------------------


def _string(path: str, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{path}: [{TABLE}] {key} must be a string, not {value!r}")
    return value


def _strings(path: str, key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"{path}: [{TABLE}] {key} must be a list of strings, not {value!r}"
        )
    return tuple(value)


def check_codes(codes: Iterable[str], where: str) -> tuple[str, ...]:
    """``codes`` upper-cased, each a known code or a prefix of one."""
    out: list[str] = []
    for raw in codes:
        code = raw.strip().upper()
        if not _CODE_PATTERN.fullmatch(code) or not any(
            known.startswith(code) for known in KNOWN_CODES
        ):
            known = ", ".join(sorted(KNOWN_CODES))
            raise ConfigError(f"{where}: unknown code {raw!r} (known: {known})")
        out.append(code)
    return tuple(out)


def check_template(template: str, where: str) -> str:
    if "{workflow}" not in template and "{change}" not in template:
        raise ConfigError(f"{where} needs {{workflow}} or {{change}}: {template!r}")
    try:
        template.format(workflow="w", change="c")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"{where} is not a valid template ({exc!r}); only {{workflow}} and "
            f"{{change}} may be used: {template!r}"
        ) from None
    return template


def _glob(path: str, key: str, pattern: str) -> str:
    if not pattern.strip():
        raise ConfigError(f"{path}: [{TABLE}] {key} holds an empty pattern")
    try:
        _glob_regex(pattern)
    except re.error as exc:
        raise ConfigError(
            f"{path}: [{TABLE}] {key}: bad pattern {pattern!r}: {exc}"
        ) from None
    return pattern


def _parse_base(path: str, key: str, value: object) -> str:
    base = _string(path, key, value)
    if not base.strip():
        raise ConfigError(f"{path}: [{TABLE}] {key} is empty")
    return base


def _parse_versioning(path: str, key: str, value: object) -> Versioning:
    text = _string(path, key, value)
    try:
        return Versioning(text)
    except ValueError:
        choices = ", ".join(repr(v.value) for v in Versioning)
        raise ConfigError(
            f"{path}: [{TABLE}] {key} must be one of {choices}, not {text!r}"
        ) from None


def _parse_codes(path: str, key: str, value: object) -> tuple[str, ...]:
    return check_codes(_strings(path, key, value), f"{path}: [{TABLE}] {key}")


def _parse_globs(path: str, key: str, value: object) -> tuple[str, ...]:
    return tuple(_glob(path, key, p) for p in _strings(path, key, value))


def _parse_template(path: str, key: str, value: object) -> str:
    return check_template(_string(path, key, value), f"{path}: [{TABLE}] {key}")


def _parse_strict(path: str, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: [{TABLE}] {key} must be true or false")
    return value


_KEYS: dict[str, tuple[str, Callable[[str, str, object], object]]] = {
    "base": ("base", _parse_base),
    "versioning": ("versioning", _parse_versioning),
    "select": ("select", _parse_codes),
    "ignore": ("ignore", _parse_codes),
    "include": ("include", _parse_globs),
    "exclude": ("exclude", _parse_globs),
    "patch-name-template": ("patch_name_template", _parse_template),
    "strict": ("strict", _parse_strict),
}
"""TOML key -> (Config field, parser)."""


def parse(table: Mapping[str, Any], path: str) -> Config:
    values: dict[str, object] = {}
    for key, value in table.items():
        if key not in _KEYS:
            close = difflib.get_close_matches(key, list(_KEYS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(_KEYS)
            raise ConfigError(
                f"{path}: [{TABLE}] unknown key {key!r}{hint}; known keys: {known}"
            )
        name, parser = _KEYS[key]
        values[name] = parser(path, key, value)
    return dataclasses.replace(Config(path=path), **values)  # type: ignore[arg-type]


# --- applying ---------------------------------------------------------------


def wants_code(code: str, select: Iterable[str], ignore: Iterable[str]) -> bool:
    """Whether a finding with ``code`` is reported: it matches ``select`` (when
    given) and no entry of ``ignore`` (entries are codes or prefixes)."""
    selected = list(select)
    if selected and not any(code.startswith(s) for s in selected):
        return False
    return not any(code.startswith(i) for i in ignore)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob: ``*`` and ``?`` stay within one folder, ``**`` crosses
    folders, ``[...]`` is a character class.  A pattern matching a folder
    matches everything below it."""
    out: list[str] = []
    text = pattern.strip()
    text = text[2:] if text.startswith("./") else text
    text = text.strip("/")
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif text.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            end = text.find("]", i + 2 if text.startswith("[!", i) else i + 1)
            if end < 0:
                out.append(re.escape(ch))
                i += 1
                continue
            body = text[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(ch))
            i += 1
    return re.compile("".join(out) + "(?:/.*)?")


def path_filter(config: Config) -> Callable[[str], bool]:
    """Whether a project path (relative to the repository root, ``/``
    separated) is analysed: it matches ``include`` (when given) and no
    ``exclude`` pattern."""
    include = [_glob_regex(p) for p in config.include]
    exclude = [_glob_regex(p) for p in config.exclude]

    def keep(path: str) -> bool:
        if include and not any(r.fullmatch(path) for r in include):
            return False
        return not any(r.fullmatch(path) for r in exclude)

    return keep
