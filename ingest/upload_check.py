"""Checks on an uploaded document before it is stored: its doc_id, its size and its type by content.

The type of an upload is decided by its bytes, never by its name alone: the name's suffix says which
loader will read the file, and the content must be something that loader reads.

- PDF: ``%PDF-`` in the first 1024 bytes, and pypdf can open it and count its pages.
- DOCX: a zip archive holding ``word/document.xml`` and ``[Content_Types].xml``.
- HTML: UTF-8 text in which an ``<html>``, ``<body>`` or block-level element parses.
- Markdown and plain text: UTF-8 text without NUL bytes (HTML inside is allowed; Markdown allows it).

Anything else (images, executables, other archives, other encodings) is refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Literal

from rag.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

__all__ = [
    "ACCEPTED_KINDS",
    "DOC_ID_MAX_CHARS",
    "ContentKind",
    "check_doc_id",
    "check_upload",
    "sniff",
]

ContentKind = Literal["pdf", "docx", "zip", "html", "text", "binary"]
"""What the bytes of an upload are, whatever its name says."""

ACCEPTED_KINDS: dict[str, frozenset[ContentKind]] = {
    ".pdf": frozenset({"pdf"}),
    ".docx": frozenset({"docx"}),
    ".html": frozenset({"html"}),
    ".htm": frozenset({"html"}),
    ".md": frozenset({"text", "html"}),
    ".markdown": frozenset({"text", "html"}),
    ".txt": frozenset({"text", "html"}),
}
"""For every suffix the loaders read (``SUPPORTED_SUFFIXES``), the content kinds an upload with it may hold."""

DOC_ID_MAX_CHARS = 200
_DOC_ID = re.compile(rf"[A-Za-z0-9._/-]{{1,{DOC_ID_MAX_CHARS}}}")
_HTML_HINT = re.compile(
    r"<(?:!doctype\s+html|html|head|body|p|div|h[1-6]|ul|ol|li|table|article|section|main|pre|blockquote)\b",
    re.IGNORECASE,
)
_HTML_TAGS = (
    "html", "head", "body", "p", "div", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "table", "article", "section", "main", "pre", "blockquote",
)  # fmt: skip
_NAMES: dict[ContentKind, str] = {
    "pdf": "a PDF",
    "docx": "a Word (DOCX) document",
    "zip": "a zip archive",
    "html": "HTML",
    "text": "text",
    "binary": "binary data",
}


def check_doc_id(doc_id: str) -> str:
    """Return ``doc_id`` if valid: 1-200 of ``A-Z a-z 0-9 . _ / -``, no ``..``, no empty path segment.

    Raises ``InvalidInput`` (422) otherwise.
    """
    if (
        not _DOC_ID.fullmatch(doc_id)
        or ".." in doc_id
        or doc_id.startswith("/")
        or doc_id.endswith("/")
        or "//" in doc_id
    ):
        raise InvalidInput(
            f"invalid doc_id {doc_id[:80]!r}: use 1-{DOC_ID_MAX_CHARS} letters, digits, '.', '_', '-' or '/' "
            "(no '..', no leading, trailing or doubled '/')"
        )
    return doc_id


def _is_pdf(data: bytes) -> bool:
    from pypdf import PdfReader

    try:
        return len(PdfReader(io.BytesIO(data)).pages) > 0
    except Exception:  # pypdf raises many kinds of errors on broken files
        return False


def _zip_kind(data: bytes) -> ContentKind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "binary"
    return "docx" if {"word/document.xml", "[Content_Types].xml"} <= names else "zip"


def _looks_like_html(text: str) -> bool:
    if not _HTML_HINT.search(text):
        return False
    from bs4 import BeautifulSoup

    return BeautifulSoup(text, "html.parser").find(_HTML_TAGS) is not None


def sniff(data: bytes) -> ContentKind:
    """The kind of content ``data`` holds, judged by its bytes only."""
    if b"%PDF-" in data[:1024]:
        return "pdf" if _is_pdf(data) else "binary"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if b"\x00" in data:
        return "binary"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "binary"
    return "html" if _looks_like_html(text) else "text"


def _suffix(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def check_upload(filename: str, data: bytes, max_bytes: int) -> str:
    """Check an upload and return the suffix (lower case) of the loader that will read it.

    Raises ``PayloadTooLarge`` (413) over ``max_bytes``, ``InvalidInput`` (422) for an empty file,
    and ``UnsupportedMediaType`` (415) when the name's suffix is not supported or the content is
    not what the suffix claims.
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"upload is larger than the limit of {max_bytes} bytes")
    if not data:
        raise InvalidInput("the uploaded file is empty")
    suffix = _suffix(filename)
    if suffix not in ACCEPTED_KINDS:
        kinds = ", ".join(sorted(ACCEPTED_KINDS))
        raise UnsupportedMediaType(f"file type {suffix or '(none)'!r} of {filename!r} is not supported ({kinds})")
    kind = sniff(data)
    if kind not in ACCEPTED_KINDS[suffix]:
        raise UnsupportedMediaType(f"{filename!r} is named {suffix} but holds {_NAMES[kind]}")
    return suffix
