"""What changed in an index's documents between versions, from the text each version holds.

A version's text of a document is the normalized text its build stored (``indexes.document_texts``,
by content hash); for versions built before texts were stored, it is reassembled from the
version's own chunks at their offsets. A source file is never read again. Which documents a
caller may see is decided by the caller's ``visible`` predicate (``rag.access.visibility``): a
document the caller cannot see in a version is treated as absent from it, so none of its
sections, not even a heading, is ever shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

from indexes.catalog import Catalog, VersionState
from indexes.document_texts import DocumentTexts
from indexes.engine import VectorEngine
from indexes.live_history import VersionDropped, live_at, live_spans
from indexes.manifest import DocumentEntry, Manifest
from rag.as_of import parse_as_of
from rag.errors import DocumentNotFound, IndexNotFound, InvalidInput, VersionNotFound
from rag.section_diff import SectionChange, diff_sections

MAX_VERSION = 2**31 - 1
"""The largest version number (versions are 32-bit integer columns)."""

__all__ = [
    "DocumentChanges",
    "IndexChange",
    "VersionTexts",
    "Visible",
    "changes_since",
    "document_changes",
    "resolve_point",
]

Visible = Callable[[DocumentEntry], bool]
"""Whether the caller may see a document of a manifest."""


@dataclass(frozen=True, slots=True)
class DocumentChanges:
    """One document between two versions; ``sections`` is empty when its text did not change."""

    index: str
    doc_id: str
    from_version: int
    to_version: int
    title: str
    owner: str | None
    status: str
    sections: list[SectionChange]


@dataclass(frozen=True, slots=True)
class IndexChange:
    """A document that changed when ``version`` went live (``live_from``): which sections, how."""

    doc_id: str
    title: str
    owner: str | None
    version: int
    previous_version: int
    live_from: datetime
    status: str
    sections: list[tuple[tuple[str, ...], str]] = field(default_factory=list)


class VersionTexts:
    """The text a version holds of each of its documents (stored at build, else from its chunks)."""

    def __init__(self, catalog: Catalog, engine: VectorEngine, texts: DocumentTexts) -> None:
        self.catalog = catalog
        self.engine = engine
        self.texts = texts

    def manifest(self, index: str, version: int) -> Manifest:
        """The manifest of a built version (kept for dropped ones); IndexNotFound / VersionNotFound."""
        info = self.catalog.get_version(index, version)
        if info is None or info.manifest is None:
            if not self.catalog.list_versions(index):
                raise IndexNotFound(f"unknown index {index!r}")
            raise VersionNotFound(f"{index}@{version} does not exist or is not built")
        return info.manifest

    def text(self, index: str, version: int, entry: DocumentEntry) -> str:
        """The document's normalized text in that version; VersionDropped when it is kept nowhere."""
        stored = self.texts.get(entry.content_hash)
        if stored is not None:
            return stored
        if self.catalog.version_state(index, version) == VersionState.DROPPED or not self.engine.has_version(
            index, version
        ):
            raise VersionDropped(index, version, self.catalog.dropped_at(index, version))
        chunks = sorted(
            (p.chunk for p in self.engine.iter_points(index, version) if p.chunk.doc_id == entry.doc_id),
            key=lambda c: (c.start, c.end),
        )
        out: list[str] = []
        end = 0
        for c in chunks:
            if c.start > end:
                out.append("\n" * (c.start - end))
                end = c.start
            if c.end > end:
                out.append(c.text[end - c.start :])
                end = c.end
        return "".join(out)


def resolve_point(catalog: Catalog, index: str, ref: str) -> int:
    """A version named by number (``"3"``) or by a moment (an ISO date or date-time: the version live then)."""
    raw = ref.strip()
    if raw.isascii() and raw.isdigit():
        number = int(raw)
        if not 1 <= number <= MAX_VERSION:
            raise InvalidInput(f"version {raw[:12]!r} is out of range (1 to {MAX_VERSION})")
        return number
    if not raw:
        raise InvalidInput("a version number or an ISO date is needed")
    return live_at(catalog, index, parse_as_of(raw)).version


def _owner(entry: DocumentEntry) -> str | None:
    owner = entry.metadata.get("owner")
    return str(owner) if owner else None


def _entry(manifest: Manifest, doc_id: str, visible: Visible) -> DocumentEntry | None:
    entry = next((d for d in manifest.documents if d.doc_id == doc_id), None)
    return entry if entry is not None and visible(entry) else None


def document_changes(
    texts: VersionTexts, index: str, doc_id: str, from_version: int, to_version: int, visible: Visible
) -> DocumentChanges:
    """How ``doc_id`` changed from one version to another, by section.

    ``status`` is ``added``, ``removed``, ``changed`` or ``unchanged``. Raises DocumentNotFound
    when the caller sees the document in neither version.
    """
    before = _entry(texts.manifest(index, from_version), doc_id, visible)
    after = _entry(texts.manifest(index, to_version), doc_id, visible)
    if before is None and after is None:
        raise DocumentNotFound(f"neither {index}@{from_version} nor {index}@{to_version} holds {doc_id!r}")
    shown = after or before
    assert shown is not None
    old = texts.text(index, from_version, before) if before is not None else ""
    new = texts.text(index, to_version, after) if after is not None else ""
    if before is None:
        status = "added"
    elif after is None:
        status = "removed"
    else:
        status = "unchanged" if before.content_hash == after.content_hash else "changed"
    changes = [] if status == "unchanged" else diff_sections(old, new)
    return DocumentChanges(
        index=index,
        doc_id=doc_id,
        from_version=from_version,
        to_version=to_version,
        title=shown.title,
        owner=_owner(shown),
        status=status,
        sections=changes,
    )


def changes_since(texts: VersionTexts, index: str, since: datetime, visible: Visible) -> list[IndexChange]:
    """Per document, what changed each time a new version went live after ``since`` (newest first).

    Compares each live version with the one live before it (content hashes first; texts only of the
    documents whose hash differs).
    """
    spans = live_spans(texts.catalog.alias_history(index))
    if not spans and not texts.catalog.list_versions(index):
        raise IndexNotFound(f"unknown index {index!r}")
    out: list[IndexChange] = []
    for previous, span in pairwise(spans):
        if span.live_from <= since or previous.version == span.version:
            continue
        try:
            old_m, new_m = texts.manifest(index, previous.version), texts.manifest(index, span.version)
        except VersionNotFound:
            continue
        old = {d.doc_id: d for d in old_m.documents if visible(d)}
        new = {d.doc_id: d for d in new_m.documents if visible(d)}
        for doc_id in sorted(old.keys() | new.keys()):
            a, b = old.get(doc_id), new.get(doc_id)
            if a is not None and b is not None and a.content_hash == b.content_hash:
                continue
            shown = b or a
            assert shown is not None
            status = "added" if a is None else "removed" if b is None else "changed"
            try:
                diff = diff_sections(
                    texts.text(index, previous.version, a) if a else "", texts.text(index, span.version, b) if b else ""
                )
            except VersionDropped:
                diff = []
            out.append(
                IndexChange(
                    doc_id=doc_id,
                    title=shown.title,
                    owner=_owner(shown),
                    version=span.version,
                    previous_version=previous.version,
                    live_from=span.live_from,
                    status=status,
                    sections=[(c.heading_path, c.change) for c in diff],
                )
            )
    out.sort(key=lambda c: c.live_from, reverse=True)
    return out
