"""The document store: folder + uploads - tombstones is exactly what the next build contains."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ingest.document_store import DocumentStore, folder_doc_id
from ingest.loaders import load_document
from ingest.sources import discover
from rag.errors import DocumentNotFound, SourceError, UnsupportedMediaType
from tests.conftest import SAMPLE_DIR, ServicesFactory

FOLDER_FILES = ("people/annual-leave.md", "people/onboarding.txt", "finance/expenses.pdf")
# doc_ids: annual-leave.md says NW-PEO-001 in its front matter; the others are named by their path.
NEW_LEAVE = b"---\ntitle: Annual Leave (2027)\n---\n\n# Annual Leave\n\nEveryone gets 31 days of paid leave a year.\n"
HYBRID = b"# Hybrid work\n\nYou may work from home three days a week after your probation period.\n"


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "shared"
    for name in FOLDER_FILES:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE_DIR / name, src / name)
    return src


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[DocumentStore]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    yield DocumentStore(engine, tmp_path / "uploads")
    engine.dispose()


def _ids(store: DocumentStore, index: str = "policies") -> dict[str, str]:
    files, _ = store.collect(index)
    return {f.doc_id or "": f.name for f in files}


def _disk(store: DocumentStore, index: str = "policies") -> list[str]:
    root = store.uploads_dir / index
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_folder_doc_ids_are_the_ones_the_loader_gives() -> None:
    files, _ = discover(SAMPLE_DIR)
    for f in files:
        assert folder_doc_id(f.path, f.name) == load_document(f.path, f.name).doc_id, f.name


def test_collect_is_folder_plus_uploads_minus_tombstones(store: DocumentStore, folder: Path) -> None:
    assert store.collect("policies") == ([], [])  # nothing configured: nothing to build
    store.set_source("policies", folder)
    assert _ids(store) == {
        "NW-PEO-001": "people/annual-leave.md",
        "people/onboarding.txt": "people/onboarding.txt",
        "finance/expenses.pdf": "finance/expenses.pdf",
    }

    # an upload replaces the folder file of the same doc_id (known from its front matter)
    doc, created = store.put("policies", "NW-PEO-001", "leave.md", NEW_LEAVE, owner="people@x", metadata={"tier": 1})
    assert created and doc.size == len(NEW_LEAVE)
    files, _ = store.collect("policies")
    [upload] = [f for f in files if f.doc_id == "NW-PEO-001"]
    assert upload.name == "uploads/NW-PEO-001.md" and upload.path == doc.path
    assert upload.metadata == {"tier": 1, "owner": "people@x", "upload_sha256": doc.sha256}
    assert len(files) == 3

    # a tombstone leaves a folder file out; a later upload of the same doc_id brings it back
    store.delete("policies", "people/onboarding.txt")
    assert "people/onboarding.txt" not in _ids(store)
    assert store.tombstones("policies") == {"people/onboarding.txt"}
    _, created = store.put("policies", "people/onboarding.txt", "onboarding.txt", b"Day one: badge.\n", owner="hr")
    assert created and store.tombstones("policies") == set()
    assert _ids(store)["people/onboarding.txt"] == "uploads/people/onboarding.txt"

    # deleting an upload drops it and, with it, the folder file it had replaced
    deletion = store.delete("policies", "NW-PEO-001")
    assert deletion.upload_removed
    assert set(_ids(store)) == {"people/onboarding.txt", "finance/expenses.pdf"}
    assert store.get("policies", "NW-PEO-001") is None


def test_replacing_an_upload_returns_not_created_and_keeps_one_row(store: DocumentStore) -> None:
    first, created = store.put("policies", "hybrid", "hybrid.md", HYBRID, owner="a")
    assert created
    second, created = store.put("policies", "hybrid", "hybrid.txt", HYBRID + b"More.\n", owner="b")
    assert not created and second.suffix == ".txt" and second.owner == "b"
    assert [u.doc_id for u in store.uploads("policies")] == ["hybrid"]
    assert _disk(store) == [f"{second.sha256}.txt"]  # the replaced content is no longer kept
    assert not first.path.exists()


def test_uploads_are_content_addressed_and_written_atomically(
    store: DocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = store.put("policies", "a", "a.md", HYBRID, owner="x")
    b, _ = store.put("policies", "b", "b.md", HYBRID, owner="y")
    assert a.path == b.path and a.path.read_bytes() == HYBRID
    assert _disk(store) == [f"{a.sha256}.md"]  # identical content is stored once, no temp files left
    store.delete("policies", "a")
    assert a.path.exists()  # still used by b
    store.delete("policies", "b")
    assert _disk(store) == []

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("ingest.document_store.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        store.put("policies", "c", "c.md", b"# C\n\nSome text.\n", owner="z")
    assert _disk(store) == []  # the temporary file was removed
    assert store.get("policies", "c") is None  # and no row names a missing file


def test_rejected_uploads_store_nothing(store: DocumentStore) -> None:
    with pytest.raises(UnsupportedMediaType):
        store.put("policies", "x", "x.pdf", b"not a pdf", owner="o")
    assert store.uploads("policies") == [] and _disk(store) == []


def test_delete_needs_a_known_document(store: DocumentStore, folder: Path) -> None:
    with pytest.raises(DocumentNotFound) as info:
        store.delete("policies", "nope")
    assert (info.value.status, info.value.code) == (404, "document_not_found")
    store.set_source("policies", folder)
    store.delete("policies", "finance/expenses.pdf")  # a folder file, by its path
    store.delete("policies", "finance/expenses.pdf")  # again: harmless
    with pytest.raises(DocumentNotFound):
        store.delete("policies", "people/annual-leave.md")  # its doc_id is NW-PEO-001, not its path
    assert store.tombstones("policies") == {"finance/expenses.pdf"}


def test_source_folder_must_exist(store: DocumentStore, folder: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        store.set_source("policies", tmp_path / "missing")
    config = store.set_source("policies", folder)
    assert store.get_source("policies") == config and config.folder.is_absolute()
    assert store.get_source("other") is None
    shutil.rmtree(folder)
    with pytest.raises(SourceError):
        store.collect("policies")
    with pytest.raises(SourceError):
        store.list_documents("policies", None)


def test_an_empty_folder_still_builds_from_uploads(store: DocumentStore, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    store.set_source("policies", empty)
    store.put("policies", "hybrid", "hybrid.md", HYBRID, owner="a")
    assert _ids(store) == {"hybrid": "uploads/hybrid.md"}


def test_collect_feeds_a_build_and_the_listing_follows_it(services_factory: ServicesFactory, folder: Path) -> None:
    s = services_factory()
    store = s.documents
    store.set_source("policies", folder)
    store.put("policies", "NW-PEO-001", "leave.md", NEW_LEAVE, owner="people@x")
    store.put("policies", "hybrid", "hybrid.md", HYBRID, owner="it@x", metadata={"audience": "all"})
    store.delete("policies", "finance/expenses.pdf")
    assert {d.status for d in store.list_documents("policies", None)} == {"pending_build", "pending_upload", "deleted"}

    files, skipped = store.collect("policies")
    m = s.builder.build("policies", files=files, skipped=skipped, promote=True).manifest
    docs = {d.doc_id: d for d in m.documents}
    assert sorted(docs) == ["NW-PEO-001", "hybrid", "people/onboarding.txt"]  # no duplicates, no deleted doc
    assert len(m.documents) == 3 and m.errors == []
    assert docs["NW-PEO-001"].source == "uploads/NW-PEO-001.md"
    assert docs["NW-PEO-001"].title == "Annual Leave (2027)"  # the upload's content, not the folder's
    assert docs["NW-PEO-001"].metadata["owner"] == "people@x"
    assert docs["hybrid"].metadata["owner"] == "it@x" and docs["hybrid"].metadata["audience"] == "all"

    statuses = {d.doc_id: d.status for d in store.list_documents("policies", m)}
    assert statuses == {
        "NW-PEO-001": "indexed",
        "hybrid": "indexed",
        "people/onboarding.txt": "indexed",
        "finance/expenses.pdf": "deleted",  # still in the folder, kept out of builds
    }

    # changes after the build are pending until the next one
    store.put("policies", "hybrid", "hybrid.md", HYBRID, owner="someone-else@x")  # same bytes, new owner
    store.delete("policies", "people/onboarding.txt")
    shutil.copy(SAMPLE_DIR / "it/equipment.md", folder / "equipment.md")
    listing = {d.doc_id: d for d in store.list_documents("policies", m)}
    assert {k: d.status for k, d in listing.items()} == {
        "NW-PEO-001": "indexed",
        "hybrid": "pending_upload",
        "people/onboarding.txt": "pending_delete",
        "NW-IT-001": "pending_build",
        "finance/expenses.pdf": "deleted",
    }
    assert listing["hybrid"].origin == "upload" and listing["NW-IT-001"].origin == "folder"
    assert listing["people/onboarding.txt"].origin is None
    assert listing["people/onboarding.txt"].source == "people/onboarding.txt"
