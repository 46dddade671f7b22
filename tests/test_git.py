"""Reading revisions, the index and the working tree through the real git."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import GitRepo
from workflow_lint import git
from workflow_lint.errors import GitError, SourceError

MakeRepo = Callable[..., GitRepo]


def keep_py(path: str) -> bool:
    return path.endswith(".py")


def test_repo_root_from_a_subfolder(git_repo: MakeRepo) -> None:
    repo = git_repo({"pkg/mod.py": "x = 1\n"})
    root = git.repo_root(str(repo.path / "pkg"))
    assert os.path.realpath(root) == os.path.realpath(repo.path)


def test_repo_root_outside_a_repository(git_env: None, tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not inside a git repository"):
        git.repo_root(str(tmp_path))


def test_repo_root_of_a_bare_repository(git_env: None, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    GitRepo(tmp_path).git("init", "-q", "--bare", str(bare))
    with pytest.raises(GitError, match=r"work tree|bare"):
        git.repo_root(str(bare))


def test_verify_revision(git_repo: MakeRepo) -> None:
    repo = git_repo({"a.py": "x = 1\n"})
    first = repo.head()
    repo.commit({"a.py": "x = 2\n"})
    root = str(repo.path)
    assert git.verify_revision(root, "HEAD~1") == first
    assert git.verify_revision(root, first[:8]) == first
    assert git.has_commits(root)
    with pytest.raises(GitError, match="not a commit in this repository"):
        git.verify_revision(root, "nope")
    with pytest.raises(GitError, match="looks like an option"):
        git.verify_revision(root, "--output=/tmp/x")
    with pytest.raises(GitError, match="empty"):
        git.verify_revision(root, " ")


def test_verify_revision_without_commits(git_repo: MakeRepo) -> None:
    repo = git_repo()
    assert not git.has_commits(str(repo.path))
    with pytest.raises(GitError, match="no commits yet"):
        git.verify_revision(str(repo.path), "HEAD")


def test_verify_revision_in_a_shallow_clone(git_repo: MakeRepo, tmp_path: Path) -> None:
    origin = git_repo({"a.py": "x = 1\n"}, name="origin")
    origin.commit({"a.py": "x = 2\n"})
    clone = tmp_path / "clone"
    origin.git("clone", "-q", "--depth", "1", f"file://{origin.path}", str(clone))
    assert git.verify_revision(str(clone), "HEAD") == origin.head()
    with pytest.raises(GitError, match="shallow clone"):
        git.verify_revision(str(clone), "HEAD~1")


def test_read_revision_reads_old_contents(git_repo: MakeRepo) -> None:
    repo = git_repo({"a.py": "x = 1\n", "pkg/b.py": b"\xff\x00", "c.txt": "c\n"})
    first = repo.head()
    repo.commit({"a.py": "x = 2\n", "d.py": "d = 1\n"})
    root = str(repo.path)
    assert git.read_revision(root, first, keep_py) == {
        "a.py": b"x = 1\n",
        "pkg/b.py": b"\xff\x00",
    }
    assert git.read_revision(root, repo.head(), keep_py)["a.py"] == b"x = 2\n"
    assert "c.txt" in git.read_revision(root, first)
    assert git.files_at(root, first) == ["a.py", "c.txt", "pkg/b.py"]


def test_read_revision_from_a_subfolder_sees_the_whole_tree(git_repo: MakeRepo) -> None:
    repo = git_repo({"top.py": "t = 1\n", "sub/inner.py": "i = 1\n"})
    files = git.read_revision(str(repo.path / "sub"), repo.head(), keep_py)
    assert set(files) == {"top.py", "sub/inner.py"}


def test_unusual_paths_round_trip(git_repo: MakeRepo) -> None:
    names = {
        "with space.py": "a = 1\n",
        "ünïcödé.py": "b = 1\n",
        "quote'\"s.py": "c = 1\n",
        "tab\there.py": "d = 1\n",
        "-dash.py": "e = 1\n",
    }
    repo = git_repo(names)
    root = str(repo.path)
    expected = {name: content.encode() for name, content in names.items()}
    assert git.read_revision(root, repo.head(), keep_py) == expected
    assert git.read_index(root, keep_py) == expected
    assert git.read_worktree(root, keep_py) == expected


def test_symlinks_and_submodules_are_not_files(
    git_repo: MakeRepo, tmp_path: Path
) -> None:
    inner = git_repo({"lib.py": "l = 1\n"}, name="inner")
    repo = git_repo({"real.py": "r = 1\n"})
    os.symlink("real.py", repo.path / "link.py")
    repo.git(
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        f"file://{inner.path}",
        "vendored.py",
    )
    repo.commit(message="link and submodule")
    root = str(repo.path)
    assert set(git.read_revision(root, repo.head(), keep_py)) == {"real.py"}
    assert set(git.read_index(root, keep_py)) == {"real.py"}
    assert set(git.read_worktree(root, keep_py)) == {"real.py"}


def test_read_index_is_the_staged_content(git_repo: MakeRepo) -> None:
    repo = git_repo({"a.py": "x = 1\n"})
    repo.write({"a.py": "x = 2\n", "new.py": "n = 1\n"})
    repo.stage("a.py")
    repo.write({"a.py": "x = 3\n"})
    root = str(repo.path)
    assert git.read_index(root, keep_py) == {"a.py": b"x = 2\n"}
    assert git.read_worktree(root, keep_py) == {
        "a.py": b"x = 3\n",
        "new.py": b"n = 1\n",
    }
    assert git.index_files(root) == ["a.py"]


def test_read_index_refuses_merge_conflicts(git_repo: MakeRepo) -> None:
    repo = git_repo({"a.py": "x = 1\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"a.py": "x = 2\n"})
    repo.git("checkout", "-q", "-")
    repo.commit({"a.py": "x = 3\n"})
    repo.git("merge", "side", check=False)
    with pytest.raises(GitError, match=r"a\.py: unresolved merge conflict"):
        git.read_index(str(repo.path), keep_py)
    # Files the filter rejects do not matter.
    assert git.read_index(str(repo.path), lambda p: p != "a.py") == {}


def test_read_worktree_skips_deleted_ignored_and_folders(git_repo: MakeRepo) -> None:
    repo = git_repo(
        {"gone.py": "g = 1\n", "kept.py": "k = 1\n", ".gitignore": "build/\n"}
    )
    repo.remove("gone.py")
    repo.write({"build/out.py": "o = 1\n", "untracked.py": "u = 1\n"})
    (repo.path / "folder.py").mkdir()
    (repo.path / "folder.py" / "inner.txt").write_text("not python")
    files = git.read_worktree(str(repo.path), keep_py)
    assert files == {"kept.py": b"k = 1\n", "untracked.py": b"u = 1\n"}


def test_read_worktree_unreadable_file(git_repo: MakeRepo) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root reads every file")
    repo = git_repo({"a.py": "x = 1\n"})
    (repo.path / "a.py").chmod(0)
    try:
        with pytest.raises(SourceError, match=r"a\.py: cannot read"):
            git.read_worktree(str(repo.path), keep_py)
    finally:
        (repo.path / "a.py").chmod(0o644)


def test_read_blobs_in_one_process(git_repo: MakeRepo) -> None:
    repo = git_repo({"a.py": "x = 1\n", "b.py": ""})
    root = str(repo.path)
    blobs = git.read_blobs(root, ["HEAD:a.py", "HEAD:b.py", "HEAD:missing.py"])
    assert blobs == {"HEAD:a.py": b"x = 1\n", "HEAD:b.py": b""}
    assert git.read_blobs(root, []) == {}
    with pytest.raises(GitError, match="newline"):
        git.read_blobs(root, ["HEAD:a\nb.py"])


def test_git_missing_from_path(
    git_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo = git_repo({"a.py": "x = 1\n"})
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(GitError, match="git is not installed or not on PATH"):
        git.repo_root(str(repo.path))


def test_git_errors_name_the_fatal_line() -> None:
    stderr = (
        b"fatal: detected dubious ownership in repository at '/x'\n"
        b"To add an exception for this directory, call:\n\n"
        b"\tgit config --global --add safe.directory /x\n"
    )
    assert (
        git._reason(stderr, "?") == "detected dubious ownership in repository at '/x'"
    )
    assert git._reason(b"warning: w\nsomething odd\n", "?") == "something odd"
    assert git._reason(b"", "fallback") == "fallback"
