"""Document rules: which documents a caller may see, upload, replace or delete, and who sees a document.

A document's groups come from the live or retained versions' manifests once built, else from what
the next build will give it (its own ``access_groups``, its folder's, the default group). A caller
who may not see a document gets 404 ``document_not_found`` for it, as if it did not exist; an
upload may give a document only groups the caller is in, and new groups for an existing document
only when the caller is in all of its groups.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from indexes.catalog import VersionState
from indexes.manifest import Manifest
from indexes.refs import check_index_name
from ingest.access_groups import GROUPS_KEY, groups_of_entry
from ingest.document_store import DocumentStatus, folder_front_matter
from ingest.upload_check import check_doc_id
from rag.access.errors import Forbidden
from rag.access.principal import ALL, Principal
from rag.access.visibility import entry_visible
from rag.errors import DocumentNotFound, InvalidInput

if TYPE_CHECKING:
    from rag.wiring import Services

__all__ = [
    "builder_groups",
    "check_assignable",
    "check_can_see",
    "check_may_upload",
    "retained_manifests",
    "status_groups",
]


def retained_manifests(services: Services, index: str) -> list[Manifest]:
    """The manifests of the index's ready versions."""
    return [
        v.manifest
        for v in services.catalog.list_versions(index)
        if v.state == VersionState.READY and v.manifest is not None
    ]


def builder_groups(services: Services, source: str, metadata: dict[str, Any]) -> list[str]:
    """The groups the next build gives a document (its own ``access_groups``, its folder's, the default)."""
    try:
        return services.builder.access.for_document(source, metadata)
    except InvalidInput:
        return []  # the build will report the document as an error; nobody sees it meanwhile


def status_groups(services: Services, name: str, status: DocumentStatus, live: Manifest | None) -> list[str]:
    """Who sees a listed document: the live version's groups if it is built, else the next build's."""
    default = services.settings.default_access_group
    entry = next((d for d in live.documents if d.doc_id == status.doc_id), None) if live else None
    if entry is not None and status.status in ("indexed", "pending_delete"):
        return groups_of_entry(entry.metadata, default)
    if status.upload is not None:
        return builder_groups(services, status.source, status.upload.metadata)
    if status.origin == "source":  # Git, S3, Confluence: front matter and the source's own groups
        return builder_groups(services, status.source, status.metadata)
    folder = services.documents.get_source(name)
    meta = folder_front_matter(folder.folder / status.source) if folder is not None else {}
    return builder_groups(services, status.source, meta)


def check_assignable(principal: Principal, groups: list[str], default_group: str) -> None:
    """An owner may only give a document groups it is in itself (admins: any group)."""
    if ALL in principal.groups:
        return
    missing = sorted(set(groups) - {*principal.groups, default_group})
    if missing:
        raise Forbidden(f"{principal.label} is not in the access groups {missing}")


def check_can_see(services: Services, principal: Principal, name: str, doc_id: str, manifests: list[Manifest]) -> None:
    """404 ``document_not_found`` for a document the caller may not see, as if it did not exist."""
    groups = principal.visible_groups(services.settings.default_access_group)
    if groups is None:
        return
    default = services.settings.default_access_group
    entries = [d for m in manifests for d in m.documents if d.doc_id == doc_id]
    upload = services.documents.get(name, doc_id)
    hidden = any(not entry_visible(e, groups, default) for e in entries)
    if upload is not None and set(groups).isdisjoint(builder_groups(services, upload.source_name, upload.metadata)):
        hidden = True
    if not entries and upload is None:  # only in the source folder, not built yet
        files, _ = services.documents.folder_files(name, strict=False)
        for f in files:
            if f.doc_id == doc_id and set(groups).isdisjoint(
                builder_groups(services, f.name, folder_front_matter(f.path))
            ):
                hidden = True
    if hidden:
        raise DocumentNotFound(f"index {name!r} has no document {doc_id!r}")


def _current_groups(services: Services, name: str, doc_id: str) -> set[str]:
    """Every group the document ``doc_id`` has now: in retained versions, its upload, its folder file."""
    default = services.settings.default_access_group
    groups = {
        g
        for m in retained_manifests(services, name)
        for d in m.documents
        if d.doc_id == doc_id
        for g in groups_of_entry(d.metadata, default)
    }
    upload = services.documents.get(name, doc_id)
    if upload is not None:
        groups.update(builder_groups(services, upload.source_name, upload.metadata))
    files, _ = services.documents.folder_files(name, strict=False)
    for f in files:
        if f.doc_id == doc_id:
            groups.update(builder_groups(services, f.name, folder_front_matter(f.path)))
    return groups


def _check_regroup(principal: Principal, doc_id: str, old: set[str], new: list[str], default_group: str) -> None:
    """403 when a replacement would give a document groups it did not have, unless the caller is in
    every group of the document and every new one (admins: always). A new doc_id (no groups) passes."""
    gained = set(new) - old
    if not old or not gained or ALL in principal.groups:
        return
    missing = sorted((old | gained) - {*principal.groups, default_group})
    if missing:
        raise Forbidden(
            f"replacing {doc_id!r} would give it the access groups {sorted(gained)}, which it does not have; "
            f"that needs a key in all its groups and the new ones ({principal.label} is not in {missing}). "
            f"Name its groups in metadata.{GROUPS_KEY} to keep them."
        )


def check_may_upload(
    services: Services, principal: Principal, name: str, doc_id: str, suffix: str, meta: dict[str, Any]
) -> None:
    """404 for a doc_id the caller cannot see (as for deleting it); 403 when the upload would give
    the document groups it did not have and the caller is not in all of the old and new ones."""
    check_index_name(name)
    check_doc_id(doc_id)
    check_can_see(services, principal, name, doc_id, retained_manifests(services, name))
    source = f"uploads/{doc_id}" + ("" if doc_id.lower().endswith(suffix) else suffix)  # as the upload is cited
    new_groups = builder_groups(services, source, meta)
    old_groups = _current_groups(services, name, doc_id)
    _check_regroup(principal, doc_id, old_groups, new_groups, services.settings.default_access_group)
