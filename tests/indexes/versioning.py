"""Test helper: ready versions in a real catalog and a real engine, without the embedder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from indexes.catalog import Catalog
from indexes.engine import VectorEngine
from indexes.manifest import ChunkerSpec, DocumentEntry, EmbedderSpec, Manifest, SparseSpec
from indexes.types import IndexPoint
from tests.indexes.conftest import DIM

INDEX = "policies"


def manifest_for(index: str, version: int, points: Sequence[IndexPoint], *, revision: str = "") -> Manifest:
    """A manifest listing one document per doc id of ``points``, with its chunk count.

    A document's content hash is its chunk texts plus ``revision`` (to make it "changed").
    """
    docs: dict[str, list[IndexPoint]] = {}
    for point in points:
        docs.setdefault(point.chunk.doc_id, []).append(point)
    return Manifest(
        index=index,
        version=version,
        engine="test",
        source="corpus",
        created_at=datetime.now(UTC),
        embedder=EmbedderSpec(model_id="test-vectors", dimension=DIM, max_seq_length=256),
        sparse=SparseSpec(k=1.2, b=0.75, avg_len=10.0),
        chunker=ChunkerSpec(max_tokens=64, overlap_tokens=0, embed_headings=False),
        documents=[
            DocumentEntry(
                doc_id=doc_id,
                title=group[0].chunk.title,
                source=group[0].chunk.source,
                format="md",
                content_hash="|".join(p.chunk.text for p in group) + revision,
                chunk_count=len(group),
                chars=sum(len(p.chunk.text) for p in group),
            )
            for doc_id, group in sorted(docs.items())
        ],
        chunk_count=len(points),
        chunks_embedded=len(points),
    )


class ReadyVersions:
    """Builds ready versions of :data:`INDEX` the way the builder leaves them (storage + manifest)."""

    def __init__(self, catalog: Catalog, engine: VectorEngine) -> None:
        self.catalog = catalog
        self.engine = engine

    def build(self, points: Sequence[IndexPoint], *, revision: str = "") -> int:
        """A new ready version holding ``points``; returns its number."""
        version = self.catalog.allocate_version(INDEX)
        self.engine.create_version(INDEX, version, DIM)
        self.engine.upsert(INDEX, version, points)
        self.engine.seal(INDEX, version)
        self.catalog.mark_ready(manifest_for(INDEX, version, points, revision=revision))
        return version

    def fail(self) -> int:
        """A version whose build failed (no storage, no manifest); returns its number."""
        version = self.catalog.allocate_version(INDEX)
        self.catalog.mark_failed(INDEX, version, "boom")
        return version
