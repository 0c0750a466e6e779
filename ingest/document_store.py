"""The documents of an index's next build: its configured source folder plus uploads, minus deletions.

Per index the store keeps, in the metadata database:

- the **source folder** (the owners' shared folder) the index is built from, if any;
- **uploads**: one row per ``doc_id`` (file name, suffix, size, sha256, owner, metadata, time); the
  bytes are stored content-addressed under ``<uploads_dir>/<index>/<sha256><suffix>``, written to a
  temporary file and moved into place with ``os.replace``, so a stored file is never half-written
  and identical content is stored once;
- **tombstones**: one row per deleted ``doc_id``; only a later upload of the same ``doc_id`` clears it.

The effective document set (``collect``) is: the folder's supported files, then the uploads; an
upload replaces every folder file with the same ``doc_id``; a tombstoned ``doc_id`` is left out.

Folder files and doc_ids: a folder file's ``doc_id`` is what ``load_document`` would give it — the
``doc_id`` of a Markdown file's front matter, else its path relative to the folder (no other format
carries a doc_id). ``folder_doc_id`` reads only that, so overrides, tombstones and the listing
work on doc_ids without loading documents, and ``collect`` hands the builder every folder file with
that ``doc_id`` set explicitly, so the manifest always uses the doc_ids this store reasoned about.

Listing statuses (``list_documents``) against the live version's manifest:

- ``indexed``: in the next build and in the live version (an upload only if the live version was
  built from this very upload: same sha256, owner and metadata);
- ``pending_upload``: an upload the live version does not contain yet;
- ``pending_build``: a folder file the live version does not contain yet (a Git, S3 or Confluence
  document: not yet, or at another revision);
- ``pending_delete``: in the live version but not in the next build (tombstoned, or gone from the
  folder);
- ``deleted``: tombstoned, not live, but still present in the folder (so it stays out of builds
  until the same doc_id is uploaded).

Changes take effect in the next build; the store never touches an index version. Writes are
serialised by a lock within one process. A build that already collected a file which is replaced
or deleted before it is loaded reports that file as unreadable.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import sqlalchemy as sa

from indexes.faultpoints import pause_point
from indexes.manifest import DocumentEntry, Manifest
from indexes.refs import check_index_name
from ingest.sources import SourceFile, discover
from ingest.upload_check import check_doc_id, check_upload
from rag.errors import DocumentNotFound, InvalidInput, SourceError

__all__ = [
    "DEFAULT_UPLOAD_MAX_BYTES",
    "Deletion",
    "DocumentOrigin",
    "DocumentState",
    "DocumentStatus",
    "DocumentStore",
    "SourceConfig",
    "UploadedDocument",
    "carries_front_matter",
    "doc_id_of",
    "folder_doc_id",
    "folder_front_matter",
    "front_matter",
]

DEFAULT_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
OWNER_MAX_CHARS = 200
UPLOAD_HASH_KEY = "upload_sha256"
"""Metadata key naming the upload a document was built from (set by the store, with ``owner``)."""

DocumentOrigin = Literal["folder", "source", "upload"]
"""Where the next build takes a document from: the source folder, another source (Git, S3, Confluence), an upload."""
DocumentState = Literal["indexed", "pending_upload", "pending_build", "pending_delete", "deleted"]

schema = sa.MetaData()

sources_table = sa.Table(
    "document_sources",
    schema,
    sa.Column("index_name", sa.String(128), primary_key=True),
    sa.Column("folder", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

uploads_table = sa.Table(
    "document_uploads",
    schema,
    sa.Column("index_name", sa.String(128), primary_key=True),
    sa.Column("doc_id", sa.String(200), primary_key=True),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("suffix", sa.String(16), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(OWNER_MAX_CHARS), nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
)

tombstones_table = sa.Table(
    "document_tombstones",
    schema,
    sa.Column("index_name", sa.String(128), primary_key=True),
    sa.Column("doc_id", sa.String(200), primary_key=True),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """The folder an index is built from."""

    index: str
    folder: Path
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UploadedDocument:
    """An uploaded document as stored; ``path`` is its content-addressed file."""

    index: str
    doc_id: str
    filename: str
    suffix: str
    size: int
    sha256: str
    owner: str
    metadata: dict[str, Any]
    uploaded_at: datetime
    path: Path

    @property
    def source_name(self) -> str:
        """The name the document is reported and cited by: ``uploads/<doc_id>`` (with its suffix)."""
        name = f"uploads/{self.doc_id}"
        return name if name.lower().endswith(self.suffix) else name + self.suffix

    @property
    def build_metadata(self) -> dict[str, Any]:
        """Metadata a build gives the document: the upload's, plus ``owner`` and ``upload_sha256``."""
        return {**self.metadata, "owner": self.owner, UPLOAD_HASH_KEY: self.sha256}

    def source_file(self) -> SourceFile:
        """The upload as a file of a build."""
        return SourceFile(path=self.path, name=self.source_name, doc_id=self.doc_id, metadata=self.build_metadata)


@dataclass(frozen=True, slots=True)
class DocumentStatus:
    """One document of the next build or of the live version, and how the two differ.

    ``origin`` is where the next build takes it from (None: it is only in the live version);
    ``source`` its file name there (else in the live version).
    """

    doc_id: str
    status: DocumentState
    origin: DocumentOrigin | None
    source: str
    title: str | None = None
    owner: str | None = None
    upload: UploadedDocument | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    """A source document's metadata as the next build gets it (its front matter, ``revision``)."""

    @property
    def revision(self) -> dict[str, Any] | None:
        """A Git, S3 or Confluence document's revision (``metadata.revision``), else None."""
        value = self.metadata.get("revision")
        return value if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class Deletion:
    """What a delete did: the doc_id is tombstoned; ``upload_removed`` when an upload was dropped."""

    index: str
    doc_id: str
    upload_removed: bool
    in_versions: list[int] = field(default_factory=list)
    """Versions among the ``known_in`` manifests that hold the document."""


def _now() -> datetime:
    return datetime.now(UTC)


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything stored here is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def carries_front_matter(name: str) -> bool:
    """Whether a file of this name may carry front matter (Markdown)."""
    return PurePosixPath(name).suffix.lower() in {".md", ".markdown"}


def front_matter(data: bytes) -> dict[str, Any]:
    """The front matter of a Markdown file's bytes (unreadable bytes or front matter: empty)."""
    import frontmatter

    try:
        return dict(frontmatter.loads(data.decode("utf-8-sig")).metadata)
    except Exception:  # unreadable file or front matter: the loader reports it
        return {}


def folder_front_matter(path: Path) -> dict[str, Any]:
    """The front matter of a folder file (Markdown only; others, and unreadable files: empty)."""
    if not carries_front_matter(path.name):
        return {}
    try:
        return front_matter(path.read_bytes())
    except OSError:
        return {}


def doc_id_of(meta: dict[str, Any], name: str) -> str:
    """The doc_id ``load_document`` gives a file with front matter ``meta``: its ``doc_id``, else ``name``."""
    value = meta.get("doc_id")
    if isinstance(value, datetime | date):
        value = value.isoformat()
    return str(value or name)


def folder_doc_id(path: Path, name: str) -> str:
    """The doc_id ``load_document`` gives a folder file: its front matter ``doc_id``, else ``name``.

    Only Markdown carries a doc_id (in its front matter); an unreadable file gets ``name`` (the
    build will report it as an error anyway).
    """
    return doc_id_of(folder_front_matter(path), name)


def _check_owner(owner: str) -> str:
    owner = owner.strip()
    if not owner or len(owner) > OWNER_MAX_CHARS:
        raise InvalidInput(f"owner must be 1-{OWNER_MAX_CHARS} characters")
    return owner


class DocumentStore:
    """Source folders, uploads and deletions per index, in the metadata database and ``uploads_dir``.

    Guarantees: a stored upload file is complete (temp file + ``os.replace``) and content-addressed;
    a row never names a missing file while this process writes; nothing here changes an index version.
    """

    def __init__(
        self,
        engine: sa.Engine,
        uploads_dir: Path,
        *,
        upload_max_bytes: int = DEFAULT_UPLOAD_MAX_BYTES,
    ) -> None:
        self._db = engine
        self.uploads_dir = uploads_dir
        self.upload_max_bytes = upload_max_bytes
        self._lock = threading.RLock()
        schema.create_all(engine)
        self.sweep_partial_uploads()

    def sweep_partial_uploads(self) -> list[Path]:
        """Delete temporary upload files left by processes that died while writing them; returns them.

        A temporary file is named ``.upload-<pid>-*.part``; only those whose pid no longer runs are
        removed, so an upload another live process is writing is never touched.
        """
        removed: list[Path] = []
        if not self.uploads_dir.is_dir():
            return removed
        for part in self.uploads_dir.glob("*/.upload-*-*.part"):
            pid_text = part.name.removeprefix(".upload-").split("-", 1)[0]
            if pid_text.isdigit() and not _pid_running(int(pid_text)):
                part.unlink(missing_ok=True)
                removed.append(part)
        return removed

    # source folder ------------------------------------------------------------------------------

    def set_source(self, index: str, folder: Path) -> SourceConfig:
        """Build ``index`` from ``folder`` (resolved to an absolute path); it must be an existing folder.

        Raises ``SourceError`` (422) otherwise.
        """
        check_index_name(index)
        folder = folder.expanduser().resolve()
        if not folder.is_dir():
            raise SourceError(f"source folder {folder} does not exist or is not a folder")
        now = _now()
        with self._lock, self._db.begin() as conn:
            updated = conn.execute(
                sources_table.update()
                .where(sources_table.c.index_name == index)
                .values(folder=str(folder), updated_at=now)
            ).rowcount
            if not updated:
                conn.execute(sources_table.insert().values(index_name=index, folder=str(folder), updated_at=now))
        return SourceConfig(index=index, folder=folder, updated_at=now)

    def clear_source(self, index: str) -> None:
        """Forget the folder of ``index`` (it is built from another kind of source, or uploads only)."""
        with self._lock, self._db.begin() as conn:
            conn.execute(sources_table.delete().where(sources_table.c.index_name == index))

    def get_source(self, index: str) -> SourceConfig | None:
        """The folder ``index`` is built from, or None."""
        with self._db.connect() as conn:
            row = conn.execute(sa.select(sources_table).where(sources_table.c.index_name == index)).first()
        if row is None:
            return None
        return SourceConfig(index=index, folder=Path(row.folder), updated_at=_aware(row.updated_at))

    def folder_files(self, index: str, *, strict: bool = True) -> tuple[list[SourceFile], list[str]]:
        """The configured folder's supported files (``doc_id`` set) and the names of the others.

        No folder configured, or a folder without supported files: empty lists. A configured
        folder that is missing raises ``SourceError`` when ``strict``, else gives empty lists.
        """
        config = self.get_source(index)
        if config is None:
            return [], []
        if not config.folder.is_dir():
            if strict:
                raise SourceError(f"source folder {config.folder} of index {index!r} does not exist")
            return [], []
        try:
            found, skipped = discover(config.folder)
        except SourceError:
            if config.folder.is_dir():
                return [], []  # a folder without supported documents; uploads may still fill the build
            raise
        files = [
            SourceFile(path=f.path, name=f.name, doc_id=folder_doc_id(f.path, f.name), metadata=f.metadata)
            for f in found
        ]
        return files, skipped

    # uploads ------------------------------------------------------------------------------------

    def put(
        self,
        index: str,
        doc_id: str,
        filename: str,
        data: bytes,
        *,
        owner: str,
        metadata: dict[str, Any] | None = None,
    ) -> tuple[UploadedDocument, bool]:
        """Store an upload (replacing any earlier one of ``doc_id``) and clear its tombstone.

        Returns the stored document and whether it is new (False: it replaced an upload). Raises
        ``InvalidInput`` (bad index, doc_id, owner, metadata or an empty file), ``PayloadTooLarge``
        and ``UnsupportedMediaType`` (see ``ingest.upload_check``) before anything is written.
        """
        check_index_name(index)
        check_doc_id(doc_id)
        owner = _check_owner(owner)
        suffix = check_upload(filename, data, self.upload_max_bytes)
        try:
            meta_json = json.dumps(metadata or {}, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"metadata must be a JSON object ({exc})") from exc
        display = filename.replace("\\", "/").rsplit("/", 1)[-1][:255]
        sha = hashlib.sha256(data).hexdigest()
        now = _now()
        values = {
            "filename": display,
            "suffix": suffix,
            "size": len(data),
            "sha256": sha,
            "owner": owner,
            "metadata": meta_json,
            "uploaded_at": now,
        }
        key = (uploads_table.c.index_name == index, uploads_table.c.doc_id == doc_id)
        with self._lock:
            path = self._write_blob(index, sha, suffix, data)
            with self._db.begin() as conn:
                old = conn.execute(sa.select(uploads_table.c.sha256, uploads_table.c.suffix).where(*key)).first()
                if old is None:
                    conn.execute(uploads_table.insert().values(index_name=index, doc_id=doc_id, **values))
                else:
                    conn.execute(uploads_table.update().where(*key).values(**values))
                conn.execute(
                    tombstones_table.delete().where(
                        tombstones_table.c.index_name == index, tombstones_table.c.doc_id == doc_id
                    )
                )
            if old is not None and (old.sha256, old.suffix) != (sha, suffix):
                self._drop_blob_if_unused(index, old.sha256, old.suffix)
        stored = UploadedDocument(
            index=index,
            doc_id=doc_id,
            filename=display,
            suffix=suffix,
            size=len(data),
            sha256=sha,
            owner=owner,
            metadata=json.loads(meta_json),
            uploaded_at=now,
            path=path,
        )
        return stored, old is None

    def get(self, index: str, doc_id: str) -> UploadedDocument | None:
        """The upload of ``doc_id``, or None."""
        with self._db.connect() as conn:
            row = conn.execute(
                sa.select(uploads_table).where(uploads_table.c.index_name == index, uploads_table.c.doc_id == doc_id)
            ).first()
        return None if row is None else self._upload(row)

    def uploads(self, index: str) -> list[UploadedDocument]:
        """Every upload of ``index``, by doc_id."""
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(uploads_table).where(uploads_table.c.index_name == index).order_by(uploads_table.c.doc_id)
            ).all()
        return [self._upload(r) for r in rows]

    def tombstones(self, index: str) -> set[str]:
        """The doc_ids deleted from ``index`` (and not uploaded again since)."""
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(tombstones_table.c.doc_id).where(tombstones_table.c.index_name == index)
            ).all()
        return {str(r[0]) for r in rows}

    def has_index(self, index: str) -> bool:
        """Whether ``index`` has a source folder, an upload or a deletion recorded here."""
        with self._db.connect() as conn:
            for table in (sources_table, uploads_table, tombstones_table):
                if conn.execute(sa.select(table.c.index_name).where(table.c.index_name == index).limit(1)).first():
                    return True
        return False

    # deletions ----------------------------------------------------------------------------------

    def delete(self, index: str, doc_id: str, *, known_in: Collection[Manifest] = ()) -> Deletion:
        """Leave ``doc_id`` out of the next builds: tombstone it and drop its upload, if any.

        The doc_id must be uploaded, a file of the source folder, or a document of one of the
        ``known_in`` manifests (the caller passes the live version's); else ``DocumentNotFound``
        (404) and nothing changes. Deleting again is harmless.
        """
        check_index_name(index)
        check_doc_id(doc_id)
        in_versions = [m.version for m in known_in if any(d.doc_id == doc_id for d in m.documents)]
        with self._lock:
            upload = self.get(index, doc_id)
            if upload is None and not in_versions:
                files, _ = self.folder_files(index, strict=False)
                if all(f.doc_id != doc_id for f in files):
                    raise DocumentNotFound(f"index {index!r} has no document {doc_id!r}")
            with self._db.begin() as conn:
                conn.execute(
                    uploads_table.delete().where(uploads_table.c.index_name == index, uploads_table.c.doc_id == doc_id)
                )
                exists = conn.execute(
                    sa.select(tombstones_table.c.doc_id).where(
                        tombstones_table.c.index_name == index, tombstones_table.c.doc_id == doc_id
                    )
                ).first()
                if exists is None:
                    conn.execute(tombstones_table.insert().values(index_name=index, doc_id=doc_id, deleted_at=_now()))
            if upload is not None:
                self._drop_blob_if_unused(index, upload.sha256, upload.suffix)
        return Deletion(index=index, doc_id=doc_id, upload_removed=upload is not None, in_versions=in_versions)

    # the next build -----------------------------------------------------------------------------

    def collect(self, index: str) -> tuple[list[SourceFile], list[str]]:
        """The files of the next build of ``index`` and the names of unsupported folder files.

        Folder files first (in ``discover`` order), then uploads by doc_id; an upload replaces the
        folder files of its doc_id; tombstoned doc_ids are left out. Raises ``SourceError`` when
        the configured folder is missing. An empty result is the builder's to refuse.
        """
        check_index_name(index)
        files, skipped = self.folder_files(index, strict=True)
        return self.overlay(index, files), skipped

    def overlay(self, index: str, files: list[SourceFile]) -> list[SourceFile]:
        """``files`` of a source (``doc_id`` set) with the uploads of ``index`` added and its deletions applied.

        An upload replaces the source files of its doc_id; tombstoned doc_ids are left out.
        """
        uploads = self.uploads(index)
        dead = self.tombstones(index)
        replaced = {u.doc_id for u in uploads}
        chosen = [f for f in files if f.doc_id not in dead and f.doc_id not in replaced]
        chosen += [u.source_file() for u in uploads if u.doc_id not in dead]
        return chosen

    def list_documents(
        self, index: str, live: Manifest | None, listed: list[SourceFile] | None = None
    ) -> list[DocumentStatus]:
        """Every document of the next build and of the ``live`` manifest with its status, by doc_id.

        ``listed``: the documents a Git, S3 or Confluence source lists now (``doc_id`` set), which take
        the folder's place (origin ``source``). Statuses are defined in the module docstring. Raises ``SourceError``
        when the configured folder is missing (the next build could not be collected either).
        """
        check_index_name(index)
        origin: DocumentOrigin = "folder" if listed is None else "source"
        folder = self.folder_files(index, strict=True)[0] if listed is None else listed
        uploads = {u.doc_id: u for u in self.uploads(index)}
        dead = self.tombstones(index)
        in_live: dict[str, DocumentEntry] = {d.doc_id: d for d in live.documents} if live else {}
        out: dict[str, DocumentStatus] = {}
        for f in folder:
            doc_id = f.doc_id or f.name
            if doc_id in out or doc_id in uploads:
                continue  # a duplicate doc_id (the build reports it) or replaced by an upload
            entry = in_live.get(doc_id)
            if doc_id in dead:
                if entry is None:
                    out[doc_id] = DocumentStatus(doc_id, "deleted", origin, f.name, metadata=f.metadata)
                continue
            built = entry is not None and (
                listed is None or entry.metadata.get("revision") == f.metadata.get("revision")
            )
            status: DocumentState = "indexed" if built else "pending_build"
            out[doc_id] = DocumentStatus(
                doc_id,
                status,
                origin,
                f.name,
                title=entry.title if entry else None,
                owner=_owner(entry),
                metadata=f.metadata,
            )
        for doc_id, u in uploads.items():
            entry = in_live.get(doc_id)
            built = entry is not None and all(entry.metadata.get(k) == v for k, v in u.build_metadata.items())
            out[doc_id] = DocumentStatus(
                doc_id,
                "indexed" if built else "pending_upload",
                "upload",
                u.source_name,
                title=entry.title if entry else None,
                owner=u.owner,
                upload=u,
            )
        for doc_id, entry in in_live.items():
            if doc_id not in out:
                out[doc_id] = DocumentStatus(
                    doc_id, "pending_delete", None, entry.source, title=entry.title, owner=_owner(entry)
                )
        return [out[k] for k in sorted(out)]

    # files --------------------------------------------------------------------------------------

    def _blob_path(self, index: str, sha: str, suffix: str) -> Path:
        return self.uploads_dir / index / f"{sha}{suffix}"

    def _write_blob(self, index: str, sha: str, suffix: str, data: bytes) -> Path:
        """Write ``data`` to its content-addressed path atomically; an existing copy is kept."""
        final = self._blob_path(index, sha, suffix)
        if final.is_file() and final.stat().st_size == len(data):
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".upload-{os.getpid()}-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            pause_point("upload")
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return final

    def _drop_blob_if_unused(self, index: str, sha: str, suffix: str) -> None:
        with self._db.connect() as conn:
            used = conn.execute(
                sa.select(uploads_table.c.doc_id)
                .where(
                    uploads_table.c.index_name == index,
                    uploads_table.c.sha256 == sha,
                    uploads_table.c.suffix == suffix,
                )
                .limit(1)
            ).first()
        if used is None:
            self._blob_path(index, sha, suffix).unlink(missing_ok=True)

    def _upload(self, row: sa.Row[Any]) -> UploadedDocument:
        return UploadedDocument(
            index=str(row.index_name),
            doc_id=str(row.doc_id),
            filename=str(row.filename),
            suffix=str(row.suffix),
            size=int(row.size),
            sha256=str(row.sha256),
            owner=str(row.owner),
            metadata=json.loads(row._mapping["metadata"]),
            uploaded_at=_aware(row.uploaded_at),
            path=self._blob_path(str(row.index_name), str(row.sha256), str(row.suffix)),
        )


def _owner(entry: DocumentEntry | None) -> str | None:
    if entry is None:
        return None
    value = entry.metadata.get("owner")
    return str(value) if value is not None else None
