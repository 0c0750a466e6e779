"""The build worker: source folder -> documents -> chunks -> vectors -> a new, sealed index version.

A build never touches a version other than the one it allocates, and never moves an alias
unless it succeeded and was asked to promote.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np

from indexes.catalog import Catalog
from indexes.document_texts import DocumentTexts
from indexes.engine import VectorEngine
from indexes.faultpoints import pause_point
from indexes.manifest import DocumentEntry, FileError, Manifest, PurgeRecord
from indexes.purge import purge_version
from indexes.refs import check_index_name
from indexes.types import IndexPoint
from indexes.versions import VersionRegistry
from ingest.access_groups import GROUPS_KEY, AccessDefaults
from ingest.chunking import Chunk, Chunker
from ingest.documents import LoadedDocument, PageSpan
from ingest.embedding import Embedder
from ingest.injection import INSTRUCTION
from ingest.load_limits import StopFn
from ingest.loaders import LoadCancelled, LoadError, LoadLimits, load_document
from ingest.pii import Redaction, Redactor
from ingest.scopes import scope_markers
from ingest.sources import SourceFile, discover
from ingest.sparse import SparseEncoder
from rag.errors import Conflict, InvalidInput, RagError, SourceError

log = logging.getLogger(__name__)

__all__ = [
    "BuildCancelled",
    "BuildFailed",
    "BuildMode",
    "BuildResult",
    "Builder",
    "CancelFn",
    "EmbedderChanged",
    "FinalizeFn",
    "ProgressFn",
]

ProgressFn = Callable[[str, int, int], None]
"""Progress callback: (stage, done, total). Stages: ``load``, ``embed``."""
CancelFn = Callable[[], bool]
"""Polled between steps; returning True cancels the build."""
FinalizeFn = Callable[[Manifest], Manifest]
"""Runs on the sealed version before it becomes ready (e.g. the evaluation gate); may amend the manifest."""
BuildMode = Literal["incremental", "full"]
RedactorFor = Callable[[str], Redactor | None]
"""The PII redactor builds of an index use (None: that index is not redacted)."""

_UNREDACTED_METADATA = frozenset({GROUPS_KEY, "owner", "doc_id", "upload_sha256", "revision"})
"""Metadata keys kept as they are: access control, the accountable owner and identifiers."""


class BuildFailed(RagError):
    """The build could not produce a version; nothing was aliased and the version is marked failed."""

    code = "build_failed"
    status = 500


class BuildCancelled(RagError):
    """The build was cancelled; its half-built version was dropped and marked failed."""

    code = "build_cancelled"
    status = 409


class EmbedderChanged(Conflict):
    """An incremental build would mix embedders; changing the embedder needs a full build.

    The builder itself no longer raises it (an incremental build over another embedder's version
    becomes a full build, :attr:`BuildResult.full_build_reason`); kept for callers that match on it.
    """

    code = "embedder_changed"


@dataclass(frozen=True, slots=True)
class BuildResult:
    """A finished build: the new version's manifest and whether it went live."""

    manifest: Manifest
    promoted: bool
    skipped: list[str] = field(default_factory=list)
    full_build_reason: str | None = None
    """Why an incremental build embedded everything (the live version has another embedder), else None."""

    @property
    def version(self) -> int:
        """The version number the build produced."""
        return self.manifest.version


_Item = tuple[str, Callable[[StopFn], LoadedDocument]]
"""A document to build: its source name and how to load it (raising ``LoadError`` when it cannot,
``LoadCancelled`` as soon as the given stop function says so)."""


def _loader(entry: SourceFile, limits: LoadLimits) -> Callable[[StopFn], LoadedDocument]:
    def load(should_stop: StopFn) -> LoadedDocument:
        if entry.error is not None:
            raise LoadError(entry.name, entry.error)
        doc = load_document(entry.path, entry.name, entry.doc_id, limits=limits, should_stop=should_stop)
        return replace(doc, metadata={**doc.metadata, **entry.metadata}) if entry.metadata else doc

    return load


def _given(doc: LoadedDocument) -> Callable[[StopFn], LoadedDocument]:
    return lambda should_stop: doc


def _no_file(name: str) -> None:
    return None


def _noop(stage: str, done: int, total: int) -> None:
    return None


def _never() -> bool:
    return False


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
        access: AccessDefaults | None = None,
        redactor_for: RedactorFor | None = None,
        calibrator: Callable[[Manifest], Manifest] | None = None,
        limits: LoadLimits | None = None,
        embed_slice: int = 32,
    ) -> None:
        self.catalog = catalog
        self.engine = engine
        self.registry = registry
        self.embedder = embedder
        self.chunker = chunker
        self.upsert_batch = upsert_batch
        self.access = access or AccessDefaults()
        self.redactor_for: RedactorFor = redactor_for or (lambda index: None)
        self.calibrator = calibrator
        """Runs on every sealed version before it is marked ready (e.g. to record a refusal calibration)."""
        self.limits = limits or LoadLimits()
        self.embed_slice = max(1, embed_slice)
        """Chunks embedded between two cancellation checks (a few seconds of work at most)."""
        self.texts = DocumentTexts(catalog.engine)
        """Each indexed document's normalized text, kept by content hash (receipts, what changed)."""

    def build(
        self,
        index: str,
        source: Path | None = None,
        *,
        files: Sequence[SourceFile] | None = None,
        documents: Sequence[LoadedDocument] | None = None,
        skipped: Sequence[str] = (),
        mode: BuildMode = "incremental",
        promote: bool = False,
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
        finalize: FinalizeFn | None = None,
        on_file: Callable[[str], None] | None = None,
        collected_at: datetime | None = None,
        source_label: str | None = None,
        source_revision: str | None = None,
    ) -> BuildResult:
        """Build a folder (``source``), a list of ``files`` or loaded ``documents`` into a new version of ``index``.

        ``incremental`` copies the live version's vector for every chunk whose embedded text is
        unchanged; ``full`` embeds everything. Files that cannot be read are reported in the
        manifest's ``errors`` and skipped. An incremental build over a live version built by
        another embedder (model or backend) reuses nothing and says why in ``full_build_reason``.
        Raises ``SourceError`` for a missing or empty source (before any version is allocated),
        ``BuildCancelled`` when ``should_cancel`` says so,
        and ``BuildFailed`` when no version could be produced. On any failure the new version is
        dropped and marked failed, and no alias moves.

        Each file is loaded within ``self.limits`` (a file over a limit is reported in ``errors``)
        and ``should_cancel`` is polled between the blocks of a file and between small embedding
        batches, so a cancel takes effect within seconds. ``on_file`` is told each file as its
        loading starts. ``collected_at`` is when the files were collected (default: now): a
        document purged after it is dropped from the version before sealing, or, purged later
        still, right after it becomes ready (``indexes.purge``). ``source_label`` and
        ``source_revision`` (which source, at which revision, the files come from) go into the manifest.
        """
        collected_at = collected_at or datetime.now(UTC)
        check_index_name(index)
        report = progress or _noop
        items: list[_Item]
        if documents is not None:
            items = [(d.source, _given(d)) for d in documents]
        else:
            if files is None:
                if source is None:
                    raise ValueError("give a source folder, a list of files or documents")
                files, found_skipped = discover(source)
                skipped = found_skipped
            items = [(f.name, _loader(f, self.limits)) for f in files]
        if not items:
            raise SourceError(f"index {index!r} has no documents to build")
        parent, reusable_from, full_build_reason = self._parent(index, mode)
        started = time.perf_counter()
        version = self.catalog.allocate_version(index)
        try:
            self.engine.create_version(index, version, self.embedder.dimension)
            manifest = self._build_into(
                index,
                version,
                source_label or (str(source) if source is not None else f"{len(items)} documents"),
                items,
                report,
                started,
                parent,
                reusable_from,
                should_cancel or _never,
                on_file or _no_file,
                collected_at,
            )
            if self.calibrator is not None:
                manifest = self.calibrator(manifest)
            if source_revision is not None:
                manifest = manifest.model_copy(update={"source_revision": source_revision})
            if finalize is not None:
                manifest = finalize(manifest)
        except BaseException as exc:
            self._abandon(index, version, exc)
            if isinstance(exc, RagError):
                raise
            if isinstance(exc, Exception):
                raise BuildFailed(f"build of {index} v{version} failed: {type(exc).__name__}: {exc}") from exc
            raise
        self.catalog.mark_ready(manifest)
        if purge_version(self.catalog, self.engine, manifest):  # purged while it sealed or was evaluated
            info = self.catalog.get_version(index, version)
            assert info is not None and info.manifest is not None
            manifest = info.manifest
        promoted = False
        if promote:
            self.registry.promote(index, version)
            promoted = True
        return BuildResult(
            manifest=manifest, promoted=promoted, skipped=list(skipped), full_build_reason=full_build_reason
        )

    def _parent(self, index: str, mode: BuildMode) -> tuple[int | None, int | None, str | None]:
        """(the live version, the version whose vectors may be reused, why nothing is reused) for ``mode``.

        An incremental build over a version built by another embedder (another model or backend)
        reuses nothing: vectors of two embedders never mix, so it is a full build, and says why.
        """
        parent = self.registry.live_version(index)
        if parent is None or mode == "full":
            return parent, None, None
        info = self.catalog.get_version(index, parent)
        if info is None or info.manifest is None:
            return parent, None, None
        if info.manifest.embedder != self.embedder.spec:
            reason = (
                f"full build: {index} v{parent} was built with {info.manifest.embedder.model_id!r} "
                f"({info.manifest.embedder.dimension} dims) and this build uses {self.embedder.model_id!r}; "
                "vectors of two embedders never mix, so every chunk is embedded again"
            )
            log.warning("%s", reason)
            return parent, None, reason
        return parent, parent, None

    def _abandon(self, index: str, version: int, exc: BaseException) -> None:
        try:
            self.engine.drop_version(index, version)
        finally:
            self.catalog.mark_failed(index, version, f"{type(exc).__name__}: {exc}")

    def _build_into(
        self,
        index: str,
        version: int,
        source: str,
        items: Sequence[_Item],
        report: ProgressFn,
        started: float,
        parent: int | None,
        reusable_from: int | None,
        should_cancel: CancelFn,
        on_file: Callable[[str], None],
        collected_at: datetime,
    ) -> Manifest:
        docs: list[LoadedDocument] = []
        errors: list[FileError] = []
        seen: dict[str, str] = {}
        chunks_by_doc: list[list[Chunk]] = []
        parent_docs, parent_points = self._parent_content(index, reusable_from)
        reusable = {p.chunk.content_hash: p.dense for points in parent_points.values() for p in points}
        loaded: list[tuple[int, str, LoadedDocument]] = []
        failed: list[tuple[int, FileError]] = []
        for i, (name, load) in enumerate(items):
            if should_cancel():
                raise BuildCancelled(f"build of {index} v{version} was cancelled")
            on_file(name)
            try:
                loaded.append((i, name, load(should_cancel)))
            except LoadCancelled as exc:
                raise BuildCancelled(f"build of {index} v{version} was cancelled") from exc
            except LoadError as exc:
                failed.append((i, FileError(source=name, error=exc.reason)))
        # Contact points (role mailboxes, the organisation's domains, numbers in several documents)
        # are learnt from the whole corpus before any document is redacted.
        redactor = self.corpus_redactor(index, [doc for _, _, doc in loaded])
        redactions: dict[str, int] = {}
        kept: dict[str, int] = {}
        for position, (i, name, raw) in enumerate(loaded, start=1):
            if should_cancel():
                raise BuildCancelled(f"build of {index} v{version} was cancelled")
            try:
                doc = self.prepare(index, raw, redactions, redactor=redactor, kept=kept)
                if doc.doc_id in seen:
                    raise LoadError(name, f"duplicate doc_id {doc.doc_id!r} (also {seen[doc.doc_id]})")
                chunks = self._carried_chunks(doc, parent_docs.get(doc.doc_id), parent_points.get(doc.doc_id))
                if chunks is None:
                    chunks = self.chunker.chunk(doc)
                if not chunks:
                    raise LoadError(name, "no text to index")
            except LoadError as exc:
                failed.append((i, FileError(source=name, error=exc.reason)))
            else:
                seen[doc.doc_id] = name
                docs.append(doc)
                chunks_by_doc.append(chunks)
            report("load", position + len(items) - len(loaded), len(items))
        errors.extend(error for _, error in sorted(failed, key=lambda pair: pair[0]))
        loaded_at = time.perf_counter()
        if not docs:
            named = "; ".join(f"{e.source}: {e.error}" for e in errors[:5])
            more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
            raise BuildFailed(f"no document in {source} could be read ({len(errors)} errors: {named}{more})")

        all_chunks = [c for group in chunks_by_doc for c in group]
        words = [len(c.embed_text.split()) for c in all_chunks]
        sparse = SparseEncoder(avg_len=max(1.0, float(np.mean(words))))

        embedded = reused = 0
        total = len(all_chunks)
        for lo in range(0, total, self.upsert_batch):
            if should_cancel():
                raise BuildCancelled(f"build of {index} v{version} was cancelled")
            batch = all_chunks[lo : lo + self.upsert_batch]
            dense: list[list[float] | None] = [reusable.get(c.record.content_hash) for c in batch]
            todo = [i for i, vec in enumerate(dense) if vec is None]
            for at in range(0, len(todo), self.embed_slice):
                part = todo[at : at + self.embed_slice]
                if at and should_cancel():
                    raise BuildCancelled(f"build of {index} v{version} was cancelled")
                vectors = self.embedder.encode_documents([batch[i].embed_text for i in part])
                for i, vec in zip(part, vectors, strict=True):
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
            pause_point("embed")
        if should_cancel():
            raise BuildCancelled(f"build of {index} v{version} was cancelled")
        embedded_at = time.perf_counter()
        # A purge recorded after the files were collected reaches this version before it seals.
        gone = self.catalog.purges.purged_after(index, collected_at, {d.doc_id for d in docs})
        purged: list[PurgeRecord] = []
        for doc_id, when in sorted(gone.items()):
            removed = self.engine.delete_documents(index, version, [doc_id])
            purged.append(PurgeRecord(doc_id=doc_id, at=when, chunks_removed=removed))
            total -= removed
        if gone:
            remaining = [(d, g) for d, g in zip(docs, chunks_by_doc, strict=True) if d.doc_id not in gone]
            docs, chunks_by_doc = [d for d, _ in remaining], [g for _, g in remaining]
            if not docs:
                raise BuildFailed(f"every document of {index} v{version} was purged while it was built")
        pause_point("seal")
        self.engine.seal(index, version)
        stored = self.engine.count(index, version)
        if stored != total:
            raise BuildFailed(f"{index} v{version}: wrote {total} chunks but the engine holds {stored}")
        self.texts.put((d.content_hash, d.text) for d in docs)
        done = time.perf_counter()
        return Manifest(
            index=index,
            version=version,
            engine=self.engine.name,
            source=source,
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
            purged=purged,
            collected_at=collected_at,
            pii_redaction=redactor is not None,
            redactions=dict(sorted(redactions.items())),
            pii_kept=dict(sorted(kept.items())),
            pii_domains=sorted(redactor.contacts.domains) if redactor is not None else [],
            flagged_instructions=flag_instructions(docs),
            scopes=scope_markers(((d.source, d.text) for d in docs), sparse),
            timings_ms={
                "load_and_chunk": round((loaded_at - started) * 1000, 1),
                "embed_and_write": round((embedded_at - loaded_at) * 1000, 1),
                "seal": round((done - embedded_at) * 1000, 1),
                "total": round((done - started) * 1000, 1),
            },
        )

    def prepare(
        self,
        index: str,
        doc: LoadedDocument,
        redactions: dict[str, int] | None = None,
        *,
        redactor: Redactor | Literal["index"] | None = "index",
        kept: dict[str, int] | None = None,
    ) -> LoadedDocument:
        """``doc`` as a build of ``index`` stores it: access groups resolved, PII redacted.

        The groups go to ``metadata[GROUPS_KEY]`` (``LoadError`` when malformed); redaction uses the
        index's redactor unless one is given (a build gives :meth:`corpus_redactor`'s), and adds what
        it redacted to ``redactions`` and what it kept as contact points to ``kept``, by kind.
        """
        try:
            groups = self.access.for_document(doc.source, doc.metadata)
        except InvalidInput as exc:
            raise LoadError(doc.source, exc.message) from exc
        doc = replace(doc, metadata={**doc.metadata, GROUPS_KEY: groups})
        chosen = self.redactor_for(index) if redactor == "index" else redactor
        if chosen is not None:
            doc = _redacted(doc, chosen, {} if redactions is None else redactions, {} if kept is None else kept)
        return doc

    def corpus_redactor(self, index: str, docs: Sequence[LoadedDocument]) -> Redactor | None:
        """The redactor a build of ``index`` over ``docs`` uses: the index's, plus the contact points ``docs`` publish.

        None when the index is not redacted. Deterministic in ``docs``: the same documents always
        give the same redacted texts (so content hashes, and vector reuse, stay stable).
        """
        redactor = self.redactor_for(index)
        if redactor is None:
            return None
        return redactor.for_documents(d.text for d in docs)

    def _parent_content(
        self, index: str, version: int | None
    ) -> tuple[dict[str, DocumentEntry], dict[str, list[IndexPoint]]]:
        """The reusable version's documents (only when its chunker matches this one) and its points by doc id.

        Both are empty for None. Points are in reading order (by ordinal) within each document.
        """
        if version is None:
            return {}, {}
        info = self.catalog.get_version(index, version)
        points: dict[str, list[IndexPoint]] = {}
        for point in self.engine.iter_points(index, version):
            points.setdefault(point.chunk.doc_id, []).append(point)
        for group in points.values():
            group.sort(key=lambda p: p.chunk.ordinal)
        if info is None or info.manifest is None or info.manifest.chunker != self.chunker.spec:
            return {}, points
        return {d.doc_id: d for d in info.manifest.documents}, points

    def _carried_chunks(
        self, doc: LoadedDocument, entry: DocumentEntry | None, points: list[IndexPoint] | None
    ) -> list[Chunk] | None:
        """The parent version's chunks of ``doc`` when the document is unchanged, else None.

        Unchanged means the same normalized text and title (content hash), source, format and
        metadata (access groups included), under the same chunker; chunking it again would give the
        same chunks, so they are carried over instead (with their embedded text rebuilt and checked by
        hash). Chunks whose payload groups differ from the document's are never carried.
        """
        if entry is None or not points or len(points) != entry.chunk_count:
            return None
        groups = sorted(doc.metadata.get(GROUPS_KEY) or [])
        if any(sorted(p.chunk.groups) != groups for p in points):
            return None
        if (entry.content_hash, entry.source, entry.format, entry.metadata) != (
            doc.content_hash,
            doc.source,
            doc.format,
            doc.metadata,
        ):
            return None
        chunks: list[Chunk] = []
        for point in points:
            embed_text = self.chunker.embed_text_of(point.chunk)
            if embed_text is None:
                return None
            chunks.append(Chunk(record=point.chunk, embed_text=embed_text))
        return chunks


def _count(result: Redaction, counts: dict[str, int], kept: dict[str, int]) -> None:
    for kind, n in result.counts.items():
        counts[kind] = counts.get(kind, 0) + n
    for kind, n in result.kept_counts.items():
        kept[kind] = kept.get(kind, 0) + n


def flag_instructions(docs: Sequence[LoadedDocument]) -> list[dict[str, str]]:
    """Every line of ``docs`` holding instruction-like text, with its document (at most 300 characters each)."""
    flagged = []
    for doc in docs:
        for match in INSTRUCTION.finditer(doc.text):
            start = doc.text.rfind("\n", 0, match.start()) + 1
            end = doc.text.find("\n", match.end())
            line = doc.text[start : end if end >= 0 else len(doc.text)].strip()
            flagged.append({"doc_id": doc.doc_id, "source": doc.source, "text": line[:300]})
    return flagged


def _redact_value(value: object, redactor: Redactor, counts: dict[str, int], kept: dict[str, int]) -> object:
    if isinstance(value, str):
        result = redactor.redact(value)
        _count(result, counts, kept)
        return result.text
    if isinstance(value, list):
        return [_redact_value(v, redactor, counts, kept) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v, redactor, counts, kept) for k, v in value.items()}
    return value


def _redacted(doc: LoadedDocument, redactor: Redactor, counts: dict[str, int], kept: dict[str, int]) -> LoadedDocument:
    """``doc`` with PII replaced in its text, title and metadata; ``counts``/``kept`` gain what it redacted/kept.

    Redaction happens on the normalized text before chunking, so chunk offsets index the redacted
    text (``text[start:end] == chunk``) and page spans are moved to match.
    """
    body = redactor.redact(doc.text)
    _count(body, counts, kept)
    title = redactor.redact(doc.title).text  # not counted: a title is the heading or metadata counted already
    metadata = {
        k: v if k in _UNREDACTED_METADATA else _redact_value(v, redactor, counts, kept) for k, v in doc.metadata.items()
    }
    pages = [PageSpan(p.page, body.map_offset(p.start), body.map_offset(p.end)) for p in doc.pages]
    return replace(doc, text=body.text, title=str(title), metadata=metadata, pages=pages)
