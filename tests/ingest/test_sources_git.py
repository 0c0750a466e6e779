"""The Git source on real repositories the tests create: commits, deletes, renames, sub-folders, a force-push."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from git import Actor, Repo

from ingest.sources.git import GitSource, redact_url
from rag.errors import SourceError

ALICE = Actor("Alice Author", "alice@example.org")
BOB = Actor("Bob Builder", "bob@example.org")


def commit(repo: Repo, files: Mapping[str, str | bytes | None], message: str, who: Actor = ALICE) -> str:
    """Write (or, for None, delete) ``files`` in the work tree and commit them; returns the commit id."""
    root = Path(repo.working_tree_dir or ".")
    for name, text in files.items():
        target = root / name
        if text is None:
            repo.index.remove([name], working_tree=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text if isinstance(text, bytes) else text.encode())
        repo.index.add([name])
    return repo.index.commit(message, author=who, committer=who).hexsha


@pytest.fixture()
def repo(tmp_path: Path) -> Repo:
    r = Repo.init(tmp_path / "handbook", initial_branch="main")
    commit(
        r,
        {
            "policies/leave.md": "# Leave\n\nEmployees get 25 days of annual leave.\n",
            "policies/travel.md": "# Travel\n\nBook economy class for flights under six hours.\n",
            "policies/logo.png": "not a document",
            "README.md": "# Handbook repository\n",
        },
        "first",
    )
    return r


def test_snapshot_lists_documents_with_their_last_commit_and_author(repo: Repo, tmp_path: Path) -> None:
    first = repo.head.commit.hexsha
    second = commit(repo, {"policies/leave.md": "# Leave\n\nEmployees get 27 days of annual leave.\n"}, "more", BOB)
    source = GitSource(str(repo.working_tree_dir), "main", "policies", mirrors=tmp_path / "mirrors")
    snap = source.snapshot()
    assert snap.revision == second
    by_name = {d.name: d for d in snap.documents}
    assert sorted(by_name) == ["leave.md", "travel.md"]  # README.md is outside the sub-folder
    assert snap.skipped == ["logo.png"]
    assert by_name["leave.md"].revision == second
    assert by_name["leave.md"].metadata["revision"]["author"] == "Bob Builder"
    assert by_name["travel.md"].revision == first
    assert by_name["travel.md"].metadata["revision"]["author"] == "Alice Author"
    assert source.read(by_name["leave.md"]) == b"# Leave\n\nEmployees get 27 days of annual leave.\n"
    assert source.label == f"git {repo.working_tree_dir}@main:policies"


def test_deletes_and_renames_show_in_the_next_snapshot(repo: Repo, tmp_path: Path) -> None:
    source = GitSource(str(repo.working_tree_dir), "main", "policies", mirrors=tmp_path / "mirrors")
    before = source.snapshot()
    repo.index.move(["policies/travel.md", "policies/business-travel.md"])
    moved = repo.index.commit("rename", author=BOB, committer=BOB).hexsha
    commit(repo, {"policies/leave.md": None}, "drop leave")
    after = source.snapshot()
    names = {d.name: d for d in after.documents}
    assert sorted(names) == ["business-travel.md"]  # the deleted file is gone
    renamed = names["business-travel.md"]
    assert renamed.revision == moved and renamed.metadata["revision"]["renamed_from"] == "policies/travel.md"
    # same bytes, same blob: the copy a build keeps is reused
    assert renamed.fingerprint == next(d.fingerprint for d in before.documents if d.name == "travel.md")


def test_change_check_is_cheap_and_ignores_commits_outside_the_sub_folder(repo: Repo, tmp_path: Path) -> None:
    source = GitSource(str(repo.working_tree_dir), "main", "policies", mirrors=tmp_path / "mirrors")
    seen = source.revision()
    assert not source.changed_since(seen)
    assert source.changed_since(None)
    commit(repo, {"README.md": "# Handbook repository, edited\n"}, "readme only")
    assert source.revision() != seen and not source.changed_since(seen)  # nothing under policies/ changed
    commit(repo, {"policies/new.md": "# New\n\nA new policy.\n"}, "new policy")
    assert source.changed_since(seen)
    assert GitSource(str(repo.working_tree_dir), "main", mirrors=tmp_path / "m").changed_since(seen)


def test_a_remote_is_mirrored_and_a_force_push_is_followed(repo: Repo, tmp_path: Path) -> None:
    origin = Repo.init(tmp_path / "origin.git", bare=True, initial_branch="main")
    remote = repo.create_remote("origin", str(origin.git_dir))
    remote.push("main:main")
    url = Path(str(origin.git_dir)).as_uri()  # file:// : fetched through git's transport like https
    source = GitSource(url, "main", "policies", mirrors=tmp_path / "mirrors")
    assert source.remote
    first = source.snapshot()
    assert {d.name for d in first.documents} == {"leave.md", "travel.md"}
    assert not source.changed_since(first.revision)
    # rewrite history: drop travel.md from the very first commit and force-push
    repo.git.checkout("--orphan", "rewritten")
    repo.git.rm("-q", "--cached", "policies/travel.md")
    (Path(str(repo.working_tree_dir)) / "policies/travel.md").unlink()
    rewritten = repo.index.commit("rewritten", author=BOB, committer=BOB).hexsha
    remote.push("+rewritten:main")
    assert source.revision() == rewritten and source.changed_since(first.revision)
    second = source.snapshot()
    assert second.revision == rewritten
    assert [d.name for d in second.documents] == ["leave.md"]
    assert second.documents[0].metadata["revision"]["author"] == "Bob Builder"


def test_unreachable_repositories_and_missing_branches_are_clear_errors(repo: Repo, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="branch 'release' does not exist"):
        GitSource(str(repo.working_tree_dir), "release", mirrors=tmp_path / "m").snapshot()
    with pytest.raises(SourceError, match="not a Git repository"):
        GitSource(str(tmp_path / "nowhere"), mirrors=tmp_path / "m").snapshot()
    gone = GitSource("file:///nonexistent/repo.git", mirrors=tmp_path / "m", token="s3cr3t-token", timeout_s=20)
    with pytest.raises(SourceError, match="git fetch failed") as caught:
        gone.snapshot()
    assert "s3cr3t-token" not in caught.value.message
    with pytest.raises(SourceError, match="holds no supported documents"):
        GitSource(str(repo.working_tree_dir), "main", "nothing-here", mirrors=tmp_path / "m").snapshot()


def test_credentials_never_appear_in_labels() -> None:
    assert redact_url("https://user:tok@git.example.org/hr/handbook.git") == "https://git.example.org/hr/handbook.git"
    source = GitSource("https://git.example.org/hr/handbook.git", "main", mirrors=Path("unused"), token="tok")
    assert "tok@" not in source.label and source.label == "git https://git.example.org/hr/handbook.git@main"


def test_fetches_into_one_mirror_take_turns(repo: Repo, tmp_path: Path) -> None:
    from filelock import FileLock

    origin = Repo.init(tmp_path / "origin.git", bare=True, initial_branch="main")
    repo.create_remote("origin", str(origin.git_dir)).push("main:main")
    url = Path(str(origin.git_dir)).as_uri()
    first = GitSource(url, "main", mirrors=tmp_path / "mirrors")
    first.snapshot()
    mirror = Path(str(first._open().git_dir))
    held = pytest.raises(SourceError, match=r"another fetch held the mirror for 0\.3 s")
    with FileLock(str(mirror) + ".lock"), held:  # another process fetching
        GitSource(url, "main", mirrors=tmp_path / "mirrors", timeout_s=0.3).snapshot()
    assert GitSource(url, "main", mirrors=tmp_path / "mirrors").snapshot().revision == first.revision()
