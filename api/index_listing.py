"""The index listing every employee may read: each index with its live version and its canary.

Shared by ``GET /v1/indexes`` and the MCP tool ``list_indexes``.
"""

from __future__ import annotations

from api.schemas import IndexSummary
from rag.wiring import Services

__all__ = ["index_summaries"]


def index_summaries(services: Services) -> list[IndexSummary]:
    """Every index with its live version, its newest version and its canary (names and numbers only:
    no document of any access group is named)."""
    out = []
    for name in services.catalog.list_indexes():
        versions = services.catalog.list_versions(name)
        canary = services.registry.canary(name)
        out.append(
            IndexSummary(
                name=name,
                alias=name,
                live_version=services.registry.live_version(name),
                versions=len(versions),
                latest_version=versions[0].version if versions else None,
                canary_version=canary.version if canary else None,
                canary_share=canary.share if canary else None,
            )
        )
    return out
