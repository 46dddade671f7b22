"""What a comparison takes: two revisions' files and the options.

Kept apart from the engine so that the command line can describe a
comparison, and read the revisions from git, before the engine (and LibCST
with it) is imported.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Versioning(enum.Enum):
    PINNED = "pinned"
    COMPUTED = "computed"


@dataclass(frozen=True)
class Snapshot:
    """The Python files of one revision: path -> raw bytes."""

    label: str
    files: Mapping[str, bytes]


@dataclass
class Options:
    versioning: Versioning = Versioning.PINNED
    loop_bound: int = 3
