"""The folder source: content hashes as revisions (a touch is no change), and the build files it hands over."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ingest.source_sync.staging import stage
from ingest.sources.folder import FolderSource
from rag.errors import SourceError
from tests.conftest import SAMPLE_DIR


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "folder"
    shutil.copytree(SAMPLE_DIR / "people", root)
    return root


def test_revision_follows_content_not_timestamps(folder: Path) -> None:
    source = FolderSource(folder)
    seen = source.revision()
    leave = folder / "annual-leave.md"
    os.utime(leave, (1, 1))  # touched: same bytes
    assert not source.changed_since(seen)
    leave.write_text(leave.read_text() + "\nOne more line.\n")
    edited = source.revision()
    assert edited != seen and source.changed_since(seen)
    leave.rename(folder / "leave.md")
    renamed = source.revision()
    assert renamed not in (seen, edited)
    (folder / "leave.md").unlink()
    assert source.revision() not in (seen, edited, renamed)
    (folder / ".hidden.md").write_text("# Hidden\n")
    (folder / "notes.xyz").write_text("unsupported")
    snap = source.snapshot()
    assert ".hidden.md" not in {d.name for d in snap.documents} and snap.skipped == ["notes.xyz"]


def test_folder_files_are_used_in_place_with_their_doc_ids(folder: Path, tmp_path: Path) -> None:
    source = FolderSource(folder)
    files = stage(source, source.snapshot(), tmp_path / "stage", max_bytes=10_000_000)
    assert all(f.path.parent == folder for f in files) and not (tmp_path / "stage").exists()
    leave = next(f for f in files if f.name == "annual-leave.md")
    assert leave.doc_id == "NW-PEO-001"  # the front matter's doc_id, as folder builds always did
    tiny = stage(source, source.snapshot(), tmp_path / "stage", max_bytes=100)
    assert all(f.error is not None and "setting load_max_expanded_bytes" in f.error for f in tiny)


def test_missing_or_empty_folders_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        FolderSource(tmp_path / "nowhere").snapshot()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="holds no supported documents"):
        FolderSource(tmp_path / "empty").revision()
