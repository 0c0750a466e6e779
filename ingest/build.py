"""The build worker: source folder -> documents -> chunks -> vectors -> a new, sealed index version.

A build never touches a version other than the one it allocates, and never moves an alias
unless it succeeded and was asked to promote.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from indexes.catalog import Catalog
from indexes.engine import VectorEngine
from indexes.manifest import DocumentEntry, FileError, Manifest
from indexes.refs import check_index_name
from indexes.types import IndexPoint
from indexes.versions import VersionRegistry
from ingest.chunking import Chunk, Chunker
from ingest.documents import LoadedDocument
from ingest.embedding import Embedder
from ingest.loaders import LoadError, load_document
from ingest.sources import SourceFile, discover
from ingest.sparse import SparseEncoder
from rag.errors import RagError

__all__ = ["BuildFailed", "BuildResult", "Builder", "ProgressFn"]

ProgressFn = Callable[[str, int, int], None]
"""Progress callback: (stage, done, total). Stages: ``load``, ``embed``."""


class BuildFailed(RagError):
    """The build could not produce a version; nothing was aliased and the version is marked failed."""

    code = "build_failed"
    status = 500


@dataclass(frozen=True, slots=True)
class BuildResult:
    """A finished build: the new version's manifest and whether it went live."""

    manifest: Manifest
    promoted: bool
    skipped: list[str] = field(default_factory=list)

    @property
    def version(self) -> int:
        """The version number the build produced."""
        return self.manifest.version


def _noop(stage: str, done: int, total: int) -> None:
    return None


class Builder:
    """Builds new versions with one embedder and one chunker configuration.

    Vectors of the parent version (the live one) are reused for every chunk whose embedded
    text and embedder are unchanged, so unchanged content is never embedded twice.
    """

    def __init__(
        self,
        catalog: Catalog,
        engine: VectorEngine,
        registry: VersionRegistry,
        embedder: Embedder,
        chunker: Chunker,
        *,
        upsert_batch: int = 256,
    ) -> None:
        self.catalog = catalog
        self.engine = engine
        self.registry = registry
        self.embedder = embedder
        self.chunker = chunker
        self.upsert_batch = upsert_batch

    def build(
        self,
        index: str,
        source: Path,
        *,
        promote: bool = False,
        progress: ProgressFn | None = None,
    ) -> BuildResult:
        """Build ``source`` into a new version of ``index``; promote it if asked.

        Files that cannot be read are reported in the manifest's ``errors`` and skipped.
        Raises ``SourceError`` for a missing or empty source (before any version is allocated)
        and ``BuildFailed`` when no version could be produced.
        """
        check_index_name(index)
        report = progress or _noop
        files, skipped = discover(source)
        started = time.perf_counter()
        version = self.catalog.allocate_version(index)
        try:
            self.engine.create_version(index, version, self.embedder.dimension)
            manifest = self._build_into(index, version, source, files, report, started)
        except BaseException as exc:
            self._abandon(index, version, exc)
            if isinstance(exc, RagError):
                raise
            if isinstance(exc, Exception):
                raise BuildFailed(f"build of {index} v{version} failed: {type(exc).__name__}: {exc}") from exc
            raise
        self.catalog.mark_ready(manifest)
        promoted = False
        if promote:
            self.registry.promote(index, version)
            promoted = True
        return BuildResult(manifest=manifest, promoted=promoted, skipped=skipped)

    def _abandon(self, index: str, version: int, exc: BaseException) -> None:
        try:
            self.engine.drop_version(index, version)
        finally:
            self.catalog.mark_failed(index, version, f"{type(exc).__name__}: {exc}")

    def _build_into(
        self,
        index: str,
        version: int,
        source: Path,
        files: Sequence[SourceFile],
        report: ProgressFn,
        started: float,
    ) -> Manifest:
        docs: list[LoadedDocument] = []
        errors: list[FileError] = []
        seen: dict[str, str] = {}
        chunks_by_doc: list[list[Chunk]] = []
        for i, entry in enumerate(files, start=1):
            try:
                doc = load_document(entry.path, entry.name)
                if doc.doc_id in seen:
                    raise LoadError(entry.name, f"duplicate doc_id {doc.doc_id!r} (also {seen[doc.doc_id]})")
                chunks = self.chunker.chunk(doc)
                if not chunks:
                    raise LoadError(entry.name, "no text to index")
            except LoadError as exc:
                errors.append(FileError(source=entry.name, error=exc.reason))
            else:
                seen[doc.doc_id] = entry.name
                docs.append(doc)
                chunks_by_doc.append(chunks)
            report("load", i, len(files))
        loaded_at = time.perf_counter()
        if not docs:
            raise BuildFailed(f"no document in {source} could be read ({len(errors)} errors)")

        all_chunks = [c for group in chunks_by_doc for c in group]
        words = [len(c.embed_text.split()) for c in all_chunks]
        sparse = SparseEncoder(avg_len=max(1.0, float(np.mean(words))))
        parent, reusable = self._reusable_vectors(index)

        embedded = reused = 0
        total = len(all_chunks)
        for lo in range(0, total, self.upsert_batch):
            batch = all_chunks[lo : lo + self.upsert_batch]
            dense: list[list[float] | None] = [reusable.get(c.record.content_hash) for c in batch]
            todo = [i for i, vec in enumerate(dense) if vec is None]
            if todo:
                vectors = self.embedder.encode_documents([batch[i].embed_text for i in todo])
                for i, vec in zip(todo, vectors, strict=True):
                    dense[i] = vec.tolist()
            embedded += len(todo)
            reused += len(batch) - len(todo)
            points = [
                IndexPoint(chunk=c.record, dense=d, sparse=sparse.encode_document(c.embed_text))
                for c, d in zip(batch, dense, strict=True)
                if d is not None
            ]
            self.engine.upsert(index, version, points)
            report("embed", min(lo + len(batch), total), total)
        embedded_at = time.perf_counter()
        self.engine.seal(index, version)
        stored = self.engine.count(index, version)
        if stored != total:
            raise BuildFailed(f"{index} v{version}: wrote {total} chunks but the engine holds {stored}")
        done = time.perf_counter()
        return Manifest(
            index=index,
            version=version,
            engine=self.engine.name,
            source=str(source),
            created_at=datetime.now(UTC),
            embedder=self.embedder.spec,
            sparse=sparse.spec,
            chunker=self.chunker.spec,
            documents=[
                DocumentEntry(
                    doc_id=d.doc_id,
                    title=d.title,
                    source=d.source,
                    format=d.format,
                    content_hash=d.content_hash,
                    chunk_count=len(group),
                    chars=len(d.text),
                    metadata=d.metadata,
                )
                for d, group in zip(docs, chunks_by_doc, strict=True)
            ],
            chunk_count=total,
            chunks_embedded=embedded,
            chunks_reused=reused,
            parent_version=parent,
            errors=errors,
            timings_ms={
                "load_and_chunk": round((loaded_at - started) * 1000, 1),
                "embed_and_write": round((embedded_at - loaded_at) * 1000, 1),
                "seal": round((done - embedded_at) * 1000, 1),
                "total": round((done - started) * 1000, 1),
            },
        )

    def _reusable_vectors(self, index: str) -> tuple[int | None, dict[str, list[float]]]:
        """Dense vectors of the live version by chunk content hash, when built by the same embedder."""
        parent = self.registry.live_version(index)
        if parent is None:
            return None, {}
        info = self.catalog.get_version(index, parent)
        if info is None or info.manifest is None or info.manifest.embedder != self.embedder.spec:
            return parent, {}
        vectors: dict[str, list[float]] = {}
        for point in self.engine.iter_points(index, parent):
            vectors[point.chunk.content_hash] = point.dense
        return parent, vectors
