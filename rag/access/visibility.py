"""What of a version a caller may see: manifests, diffs and job results cut to the caller's access groups.

A caller whose visible groups are None (admins, or auth off) sees everything. Anyone else sees only
documents with at least one group in common with theirs; counts are recomputed from those
documents, and fields that would reveal others (build totals, file errors, evaluation details)
are left out, so a restricted document is never listed, counted or diffed for them.
"""

from __future__ import annotations

from typing import Any

from indexes.catalog import Catalog
from indexes.diff import VersionDiff, diff_manifests, version_manifests
from indexes.manifest import DocumentEntry, Manifest
from ingest.access_groups import groups_of_entry

__all__ = [
    "entry_visible",
    "restrict_job_result",
    "restrict_manifest",
    "visible_diff",
    "visible_manifest_json",
    "visible_version_diff",
]

_HIDDEN_MANIFEST_FIELDS = (
    "chunks_embedded",
    "chunks_reused",
    "errors",
    "evaluation",
    "redactions",
    "pii_kept",
    "pii_domains",
    "purged",
)


def entry_visible(entry: DocumentEntry, groups: list[str] | None, default_group: str) -> bool:
    """Whether a caller with ``groups`` (None: every group) may see the document ``entry``."""
    if groups is None:
        return True
    return not set(groups).isdisjoint(groups_of_entry(entry.metadata, default_group))


def restrict_manifest(manifest: Manifest, groups: list[str] | None, default_group: str) -> Manifest:
    """The manifest with only the visible documents, and ``chunk_count`` theirs alone."""
    if groups is None:
        return manifest
    docs = [d for d in manifest.documents if entry_visible(d, groups, default_group)]
    return manifest.model_copy(update={"documents": docs, "chunk_count": sum(d.chunk_count for d in docs)})


def visible_manifest_json(manifest: Manifest, groups: list[str] | None, default_group: str) -> dict[str, Any]:
    """The manifest as JSON for a caller: whole for None, else restricted and without build totals."""
    if groups is None:
        return manifest.model_dump(mode="json")
    out = restrict_manifest(manifest, groups, default_group).model_dump(mode="json")
    for name in _HIDDEN_MANIFEST_FIELDS:
        out.pop(name, None)
    return out


def visible_diff(old: Manifest, new: Manifest, groups: list[str] | None, default_group: str) -> VersionDiff:
    """The diff of two manifests over the documents the caller may see on each side."""
    return diff_manifests(restrict_manifest(old, groups, default_group), restrict_manifest(new, groups, default_group))


def visible_version_diff(
    catalog: Catalog, index: str, from_version: int, to_version: int, groups: list[str] | None, default_group: str
) -> VersionDiff:
    """The diff of two stored versions over what the caller may see (errors as ``indexes.diff.version_manifests``)."""
    old, new = version_manifests(catalog, index, from_version, to_version)
    return visible_diff(old, new, groups, default_group)


def restrict_job_result(
    result: dict[str, Any] | None, manifest: Manifest | None, groups: list[str] | None, default_group: str
) -> dict[str, Any] | None:
    """A build job's result for a caller: file names (errors, skipped) and totals only for None.

    A restricted caller gets the version, promotion and gate verdict, and the document and chunk
    counts of the documents they may see (from the version's manifest, when it still exists).
    """
    if groups is None or result is None:
        return result
    out = {k: v for k, v in result.items() if k not in ("errors", "skipped", "chunks_embedded", "chunks_reused")}
    gate = out.get("gate")
    if isinstance(gate, dict):
        out["gate"] = {k: gate[k] for k in ("passed", "reasons") if k in gate}
    if manifest is not None:
        visible = restrict_manifest(manifest, groups, default_group)
        out["documents"] = len(visible.documents)
        out["chunks"] = visible.chunk_count
    else:
        out.pop("documents", None)
        out.pop("chunks", None)
    return out
