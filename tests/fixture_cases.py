"""Loading the scenario folders under fixtures/ (shared by the fixture tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class Fixture:
    name: str
    folder: Path
    expected: dict[str, object]

    @property
    def old(self) -> Path:
        return self.folder / "old.py"

    @property
    def new(self) -> Path:
        return self.folder / "new.py"


def load_fixtures() -> list[Fixture]:
    out = []
    for folder in sorted(FIXTURES.iterdir()):
        expected = folder / "expected.json"
        if folder.is_dir() and expected.exists() and (folder / "old.py").exists():
            out.append(Fixture(folder.name, folder, json.loads(expected.read_text())))
    return out
