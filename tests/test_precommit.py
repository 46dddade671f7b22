"""The two pre-commit hooks, run by the real pre-commit.

The hook repository is a git repository made from this checkout's files as
they are on disk (committed or not): ``pre-commit try-repo`` on the checkout
itself would see only tracked files, and would miss a module not yet added.
pre-commit installs it the way it installs any hook repository: a virtualenv
and ``pip install .``, with libcst and the build backend from the package
index.  That takes a while, so these tests carry the ``precommit`` marker
(``-m "not precommit"`` leaves them out); they run by default.

``try-repo`` installs into a temporary store on every run; the commit test
installs once into PRE_COMMIT_HOME.  pip's cache and virtualenv's seed data
are shared by the module's tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import GitRepo
from tests.sample_app import APP

pytestmark = pytest.mark.precommit

MakeRepo = Callable[..., GitRepo]
PROJECT = Path(__file__).resolve().parents[1]
HOOK_FILES = (
    "pyproject.toml",
    "README.md",
    ".pre-commit-hooks.yaml",
    "workflow_lint",
    "runtime",
)
"""What ``pip install .`` of the hook repository needs."""
INSTALL_TIMEOUT = 900

BREAK_CALL = "    audit(order)"
APP_BREAK = APP.replace("    reserve(order)\n", f"    reserve(order)\n{BREAK_CALL}\n")
BREAK_LINE = APP_BREAK.splitlines().index(BREAK_CALL) + 1
APP_PATCHED = APP.replace(
    "    reserve(order)\n",
    f'    reserve(order)\n    if DBOS.patch("checkout-audit"):\n    {BREAK_CALL}\n',
)
REFUND = APP.replace("checkout", "refund")


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caches the module's tests share: pip's, virtualenv's, pre-commit's."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    return tmp_path_factory.mktemp("precommit-shared")


@pytest.fixture(scope="module")
def hook_repo(shared: Path) -> Path:
    """A git repository holding this checkout's files as they are on disk."""
    if not (PROJECT / ".git").exists():
        pytest.skip("not a git checkout: cannot list the project's files")
    listed = _run(
        [
            "git",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
            *HOOK_FILES,
        ],
        PROJECT,
    )
    repo = shared / "hook-repo"
    repo.mkdir()
    for rel in sorted(set(listed.split("\0")) - {""}):
        source = PROJECT / rel
        if source.is_file():  # a tracked file deleted on disk is left out
            target = repo / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    env = _isolated_git_env(shared)
    _run(["git", "init", "-q"], repo, env)
    _run(["git", "add", "-A"], repo, env)
    _run(
        ["git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "hooks"], repo, env
    )
    return repo


def _isolated_git_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="Workflow Lint Tests",
        GIT_AUTHOR_EMAIL="tests@workflow-lint.invalid",
        GIT_COMMITTER_NAME="Workflow Lint Tests",
        GIT_COMMITTER_EMAIL="tests@workflow-lint.invalid",
        HOME=str(home),
    )
    return env


@pytest.fixture
def precommit_env(
    shared: Path, git_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(shared / "pre-commit-home"))
    monkeypatch.setenv("PIP_CACHE_DIR", str(shared / "pip-cache"))
    monkeypatch.setenv("VIRTUALENV_OVERRIDE_APP_DATA", str(shared / "virtualenv"))
    monkeypatch.delenv("PRE_COMMIT", raising=False)
    monkeypatch.delenv("SKIP", raising=False)
    yield


def pre_commit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )


def commit(repo: GitRepo, message: str) -> subprocess.CompletedProcess[str]:
    """``git commit`` with the repository's own hooks (GitRepo turns them off)."""
    return subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "commit", "-m", message],
        cwd=repo.path,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )


def test_try_repo_refuses_a_break_and_fixes_it(
    git_repo: MakeRepo, hook_repo: Path, precommit_env: None
) -> None:
    repo = git_repo({"app.py": APP})
    repo.write({"app.py": APP_BREAK})
    repo.stage("app.py")
    done = pre_commit(repo.path, "try-repo", str(hook_repo))
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    # The check hook refuses the commit and says why ...
    assert "workflow-lint......" in out and "Failed" in out
    assert f"app.py:{BREAK_LINE}:5: WFL101 [break]" in out
    # ... and the fix hook patches the working tree.
    assert "- hook id: workflow-lint-fix" in out
    assert "files were modified by this hook" in out
    assert "patched workflow checkout" in out
    fixed = (repo.path / "app.py").read_text()
    assert 'if DBOS.patch("checkout-' in fixed

    repo.stage("app.py")
    # Unstaged changes are not what is committed: pre-commit sets them aside
    # while the hooks run, and puts them back.
    repo.write({"app.py": APP_BREAK})
    done = pre_commit(repo.path, "try-repo", str(hook_repo))
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert out.count("Passed") == 2, out
    assert (repo.path / "app.py").read_text() == APP_BREAK


def test_commit_is_refused_then_accepted(
    git_repo: MakeRepo, hook_repo: Path, precommit_env: None
) -> None:
    repo = git_repo({"app.py": APP, "refund.py": REFUND})
    rev = _run(["git", "rev-parse", "HEAD"], hook_repo).strip()
    repo.commit(
        {
            ".pre-commit-config.yaml": (
                "repos:\n"
                f"-   repo: {hook_repo}\n"
                f"    rev: {rev}\n"
                "    hooks:\n"
                "    -   id: workflow-lint\n"
            )
        },
        message="hooks",
    )
    installed = pre_commit(repo.path, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    before = repo.head()

    repo.write({"app.py": APP_BREAK})
    repo.stage("app.py")
    refused = commit(repo, "add an audit step")
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0, out
    assert "WFL101" in out
    assert repo.head() == before

    repo.write({"app.py": APP_PATCHED})
    repo.stage("app.py")
    accepted = commit(repo, "add an audit step, patched")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert repo.head() != before

    # A commit that only deletes a workflow module stages no Python file,
    # and the hook still runs: in-flight refunds would be stranded.
    repo.git("rm", "-q", "refund.py")
    refused = commit(repo, "drop refunds")
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0, out
    assert "WFL102" in out
