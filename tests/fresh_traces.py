"""Fresh runs of two module files on the same arguments, with real DBOS.

Run as a script (DBOS is process-global, so tests call it in a subprocess):
``python tests/fresh_traces.py A.py B.py args.json`` prints the recorded rows
of every workflow each module ran, patch markers left out, as JSON.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from workflow_lint_runtime.replay_rules import MARKER_PREFIX
from workflow_lint_runtime.replayer import load_entries, record_histories


def traces(module: str, args_path: str) -> list[list[object]]:
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'sys.sqlite'}"
        histories = record_histories(module, load_entries(args_path), db)
    out = []
    for history in histories:
        rows = [r for r in history.rows if not (r or "").startswith(MARKER_PREFIX)]
        out.append([history.workflow_name, history.child, rows])
    return sorted(out, key=repr)


def main() -> None:
    first, second, args_path = sys.argv[1:4]
    result = {"a": traces(first, args_path), "b": traces(second, args_path)}
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
