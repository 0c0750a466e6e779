"""The model-free part of the composition root: catalog, engine, version registry and audit log.

Listing versions, promoting and rolling back need no embedder, chunker or answerer; this module
imports none of them, so ``rag versions`` starts in about a second instead of loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexes.catalog import Catalog, CatalogAliasStore
from indexes.engine import VectorEngine
from indexes.vector_storage import VectorStorage
from indexes.versions import VersionRegistry
from rag.access.audit import AuditLog
from rag.settings import Settings

__all__ = ["Registry", "build_engine", "build_registry", "live_indexes"]


@dataclass
class Registry:
    """Versions, aliases and the audit log without any model: what listing, promoting and rolling back need."""

    settings: Settings
    catalog: Catalog
    engine: VectorEngine
    registry: VersionRegistry
    audit: AuditLog

    def live_indexes(self) -> dict[str, int]:
        """Every index with a live version, by name."""
        return live_indexes(self.catalog, self.registry)

    def close(self) -> None:
        """Release the engine's files and the database pool."""
        self.engine.close()
        self.catalog.close()


def live_indexes(catalog: Catalog, registry: VersionRegistry) -> dict[str, int]:
    """Every index of ``catalog`` with a live version, by name (sorted)."""
    live = {index: registry.live_version(index) for index in catalog.list_indexes()}
    return {index: version for index, version in sorted(live.items()) if version is not None}


def build_engine(settings: Settings, catalog: Catalog) -> VectorEngine:
    """Qdrant server when ``qdrant_url`` is set, else the embedded Qdrant Edge engine."""
    if settings.qdrant_url:
        from qdrant_client import QdrantClient

        from indexes.server_engine import QdrantServerEngine

        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return QdrantServerEngine(QdrantClient(url=settings.qdrant_url, api_key=key), storage=_storage(settings))
    from indexes.disk_space import FreeSpace
    from indexes.edge_engine import EdgeEngine

    settings.shards_dir.mkdir(parents=True, exist_ok=True)
    return EdgeEngine(
        settings.shards_dir,
        CatalogAliasStore(catalog),
        space=FreeSpace(settings.data_dir, settings.min_free_bytes),
        storage=_storage(settings),
    )


def _storage(settings: Settings) -> VectorStorage:
    return VectorStorage(settings.vector_quantization, settings.vectors_on_disk)


def build_registry(settings: Settings) -> Registry:
    """The catalog, the engine and the version registry alone: loads no embedder, reranker or answerer."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.from_url(settings.metadata_url)
    engine = build_engine(settings, catalog)
    return Registry(settings, catalog, engine, VersionRegistry(catalog, engine), AuditLog(catalog.engine))
