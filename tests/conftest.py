"""Shared fixtures: throwaway git repositories built with the real git.

``git_repo`` is a factory: ``git_repo()`` makes an empty repository (no
commits) in ``tmp_path``; ``git_repo({"app.py": SOURCE})`` also commits those
files.  The environment is isolated from the machine's git configuration
(identity, signing, hooks, a surrounding repository), so the tests behave the
same on a fresh CI machine as on a developer's laptop.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

Content = str | bytes

# Variables a surrounding git process (a hook running pytest) may have set;
# they would point the throwaway repositories' git commands elsewhere.
_LEAKY_GIT_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


class GitRepo:
    """A real git repository in a temporary folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            [
                "git",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "tag.gpgsign=false",
                "-c",
                "core.autocrlf=false",
                "-c",
                "core.hooksPath=/dev/null",
                *args,
            ],
            cwd=self.path,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
            )
        return proc.stdout

    def write(self, files: Mapping[str, Content]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")

    def remove(self, *rels: str) -> None:
        for rel in rels:
            (self.path / rel).unlink()

    def stage(self, *rels: str) -> None:
        self.git("add", "-A", "--", *(rels or (".",)))

    def commit(
        self, files: Mapping[str, Content] | None = None, message: str = "change"
    ) -> str:
        """Write ``files``, stage everything, commit; the new commit's id."""
        if files:
            self.write(files)
        self.stage()
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment in which git ignores the machine's configuration."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    for name in _LEAKY_GIT_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    # Never discover a repository above tmp_path (the project's own checkout).
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Workflow Lint Tests")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "tests@workflow-lint.invalid")


@pytest.fixture
def git_repo(tmp_path: Path, git_env: None) -> Callable[..., GitRepo]:
    """Factory for real repositories: ``git_repo(files=None, name="repo")``."""
    made: set[str] = set()

    def make(files: Mapping[str, Content] | None = None, name: str = "repo") -> GitRepo:
        assert name not in made, f"repository {name} already made in this test"
        made.add(name)
        path = tmp_path / name
        path.mkdir()
        repo = GitRepo(path)
        repo.git("init", "-q")
        if files is not None:
            repo.commit(files, message="initial")
        return repo

    return make
