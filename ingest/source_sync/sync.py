"""An index's source in use: collecting the files of its next build, and checking it for changes without a build.

The source of an index is its binding (``SourceBindings``), else the folder set the older way
(``DocumentStore.set_source``), else none (uploads only). Uploads and deletions are applied over
whatever the source lists, as for folders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from indexes.catalog import Catalog, VersionState
from ingest.document_store import DocumentStore
from ingest.source_sync.listing import listed_files
from ingest.source_sync.staging import stage
from ingest.sources.base import Collected, Source
from ingest.sources.bindings import SourceBindings
from ingest.sources.folder import FolderSource
from ingest.sources.specs import AnySpec, FolderSpec, open_source
from rag.errors import SourceError

__all__ = ["Check", "SourceSync"]


@dataclass(frozen=True, slots=True)
class Check:
    """A change check: the source's revision now, the revision the newest built version was read at, and
    whether they differ (no build has recorded a revision yet: changed)."""

    index: str
    revision: str
    built_revision: str | None
    changed: bool


class SourceSync:
    """Collects builds and checks for changes over the configured source of each index."""

    def __init__(
        self,
        documents: DocumentStore,
        bindings: SourceBindings,
        catalog: Catalog,
        secrets: Mapping[str, SecretStr],
        work_dir: Path,
        *,
        max_bytes: int,
        timeout_s: float = 120.0,
    ) -> None:
        self.documents = documents
        self.bindings = bindings
        self.catalog = catalog
        self.secrets = secrets
        self.work_dir = work_dir
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    def bind(self, index: str, spec: AnySpec) -> None:
        """Build ``index`` from ``spec`` from the next build on. The source must open (secrets known, a folder
        existing), else ``SourceError`` and nothing changes. Reachability is the first build's to report."""
        open_source(spec, self.secrets, self.work_dir)  # unknown secret names fail here
        if isinstance(spec, FolderSpec):
            self.documents.set_source(index, Path(spec.folder))
            spec = spec.model_copy(update={"folder": str(Path(spec.folder).expanduser().resolve())})
        else:
            self.documents.clear_source(index)
        self.bindings.set(index, spec)

    def spec_for(self, index: str) -> AnySpec | None:
        """The spec of ``index``'s source, or None (uploads only)."""
        binding = self.bindings.get(index)
        if binding is not None:
            return binding.spec
        folder = self.documents.get_source(index)
        return FolderSpec(folder=str(folder.folder)) if folder is not None else None

    def source_for(self, index: str) -> Source | None:
        """The open ``Source`` of ``index``, or None."""
        spec = self.spec_for(index)
        return None if spec is None else open_source(spec, self.secrets, self.work_dir, timeout_s=self.timeout_s)

    def collect(self, index: str) -> Collected:
        """The files of the next build: the source's complete listing (local copies of remote documents),
        uploads added, deletions applied; with the source's label and revision.

        Raises ``SourceError`` when the source cannot be listed completely (unreachable, bad
        credentials, a missing folder): no build starts from part of a source.
        """
        source = self.source_for(index)
        if source is None:
            return Collected(self.documents.overlay(index, []))
        try:
            snapshot = source.snapshot()
        except SourceError:
            if isinstance(source, FolderSource) and source.root.is_dir():
                return Collected(self.documents.overlay(index, []), source=source.label)  # uploads may fill it
            raise
        files = stage(source, snapshot, self.work_dir / "staging" / index, self.max_bytes)
        return Collected(self.documents.overlay(index, files), snapshot.skipped, source.label, snapshot.revision)

    def listing(self, index: str) -> Collected | None:
        """What a Git, S3 or Confluence source of ``index`` lists now, for the document listing (doc_id,
        metadata with ``revision``), with the source's label and revision; staging nothing.

        None when the index is built from a folder or uploads only (the ``DocumentStore`` lists those).
        Raises ``SourceError`` when the source cannot be listed completely.
        """
        spec = self.spec_for(index)
        if spec is None or isinstance(spec, FolderSpec):
            return None
        source = open_source(spec, self.secrets, self.work_dir, timeout_s=self.timeout_s)
        snapshot = source.snapshot()
        files = listed_files(source, snapshot, self.work_dir / "staging" / index, self.max_bytes)
        return Collected(files, snapshot.skipped, source.label, snapshot.revision)

    def built_revision(self, index: str) -> str | None:
        """The source revision recorded by the newest ready version of ``index`` (None: none recorded)."""
        for info in sorted(self.catalog.list_versions(index), key=lambda v: v.version, reverse=True):
            if info.state == VersionState.READY and info.manifest is not None:
                return info.manifest.source_revision
        return None

    def check(self, index: str) -> Check:
        """Whether ``index``'s source changed since its newest built version; ``SourceError`` when it cannot
        be asked, or when the index has no source."""
        source = self.source_for(index)
        if source is None:
            raise SourceError(f"index {index!r} has no source to check")
        built = self.built_revision(index)
        changed = source.changed_since(built)
        return Check(index, source.revision() if changed else (built or ""), built, changed)
