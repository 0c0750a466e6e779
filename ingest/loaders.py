"""Loaders for .md, .html, .pdf, .docx and .txt: file in, normalized ``LoadedDocument`` out.

Every loader turns its format's structure into Markdown-like text (ATX headings), so one chunker
serves all formats. Parsing is done by python-frontmatter, BeautifulSoup, pypdf and python-docx.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import frontmatter
from bs4 import BeautifulSoup

from ingest.documents import LoadedDocument, PageSpan
from ingest.load_errors import LoadError, UnsupportedFormat
from ingest.load_limits import LimitExceeded, LoadCancelled, LoadGuard, LoadLimits, StopFn
from ingest.markdown_html import render_html, render_html_blocks
from ingest.markdown_inline import plain_inline
from ingest.normalize import normalize_text

__all__ = [
    "SUPPORTED_SUFFIXES",
    "LimitExceeded",
    "LoadCancelled",
    "LoadError",
    "LoadLimits",
    "UnsupportedFormat",
    "load_document",
]


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)


def _read_text(path: Path, source: str) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise LoadError(source, "binary content in a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(source, f"not valid UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _plain(value: Any) -> Any:
    """Front matter values made JSON-safe (dates become ISO strings)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _first_heading(text: str) -> str | None:
    match = _HEADING.search(text)
    return match.group(2).strip() if match else None


def _title_from_name(path: Path) -> str:
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize()


def _load_markdown(path: Path, source: str, guard: LoadGuard) -> tuple[str, str, dict[str, Any], list[PageSpan]]:
    raw = _read_text(path, source)
    try:
        post = frontmatter.loads(raw)
    except Exception as exc:  # yaml errors come in several classes
        raise LoadError(source, f"unreadable front matter ({exc})") from exc
    meta = {str(k): _plain(v) for k, v in post.metadata.items()}
    # HTML blocks and inline syntax become the text a reader sees; whitespace is tidied again after
    text = normalize_text(plain_inline(render_html_blocks(normalize_text(post.content), on_block=guard.tick)))
    title = str(meta.get("title") or _first_heading(text) or _title_from_name(path))
    return title, text, meta, []


def _load_text(path: Path, source: str, guard: LoadGuard) -> tuple[str, str, dict[str, Any], list[PageSpan]]:
    text = normalize_text(_read_text(path, source))
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first if 0 < len(first) <= 100 else _title_from_name(path)
    return title, text, {}, []


_BOILERPLATE = ("script", "style", "nav", "footer", "header", "aside", "noscript", "template", "form")


def _load_html(path: Path, source: str, guard: LoadGuard) -> tuple[str, str, dict[str, Any], list[PageSpan]]:
    soup = BeautifulSoup(_read_text(path, source), "html.parser")
    meta: dict[str, Any] = {}
    for tag in soup.find_all("meta"):
        name, content = tag.get("name"), tag.get("content")
        if isinstance(name, str) and isinstance(content, str) and name.lower() in {"owner", "author"}:
            meta.setdefault("owner", content)
    page_title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup.find_all(_BOILERPLATE):
        tag.decompose()
    text = normalize_text(render_html(soup.body or soup, on_block=guard.tick))
    title = page_title or _first_heading(text) or _title_from_name(path)
    return title, text, meta, []


def _load_pdf(path: Path, source: str, guard: LoadGuard) -> tuple[str, str, dict[str, Any], list[PageSpan]]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        info = reader.metadata
        count = len(reader.pages)
        if count > guard.limits.max_blocks:
            raise LimitExceeded(source, f"{count} pages, over {guard.limits.max_blocks} (setting load_max_blocks)")
        texts: list[str] = []
        extracted = 0
        for page in reader.pages:
            guard.tick()
            texts.append(page.extract_text() or "")
            extracted += len(texts[-1])
            guard.check_size(extracted, "its text reaches")
    except (PyPdfError, ValueError, KeyError, OSError) as exc:
        raise LoadError(source, f"unreadable PDF ({exc})") from exc
    parts: list[str] = []
    pages: list[PageSpan] = []
    offset = 0
    for number, raw in enumerate(texts, start=1):
        page_text = normalize_text(raw).strip()
        if not page_text:
            continue
        if parts:
            offset += 2  # the "\n\n" joining pages
        pages.append(PageSpan(page=number, start=offset, end=offset + len(page_text)))
        parts.append(page_text)
        offset += len(page_text)
    text = "\n\n".join(parts) + "\n"
    meta: dict[str, Any] = {}
    title = ""
    if info is not None:
        title = str(info.title or "").strip()
        if info.author:
            meta["owner"] = str(info.author)
    if not title:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        title = first if 0 < len(first) <= 100 else _title_from_name(path)
    return title, text, meta, pages


def _load_docx(path: Path, source: str, guard: LoadGuard) -> tuple[str, str, dict[str, Any], list[PageSpan]]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    guard.check_zip(path, "DOCX")
    guard.check()
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise LoadError(source, f"unreadable DOCX ({exc})") from exc
    except Exception as exc:  # zipfile.BadZipFile, lxml errors
        raise LoadError(source, f"unreadable DOCX ({type(exc).__name__}: {exc})") from exc
    lines: list[str] = []
    doc_title = ""
    for block in document.iter_inner_content():
        guard.tick()
        if isinstance(block, Paragraph):
            text = block.text.strip()
            if not text:
                continue
            style = (block.style.name if block.style is not None else "") or ""
            if style == "Title":
                doc_title = doc_title or text
                lines.append(f"\n# {text}\n")
            elif style.startswith("Heading") and style[7:].strip().isdigit():
                level = min(int(style[7:].strip()), 6)
                lines.append("\n" + "#" * level + f" {text}\n")
            elif "List" in style:
                lines.append(f"- {text}")
            else:
                lines.append(text + "\n")
        elif isinstance(block, Table):
            for row in block.rows:
                guard.tick()
                lines.append("| " + " | ".join(c.text.strip() for c in row.cells) + " |")
            lines.append("")
    props = document.core_properties
    meta: dict[str, Any] = {}
    if props.author:
        meta["owner"] = props.author
    text = normalize_text("\n".join(lines))
    title = (props.title or "").strip() or doc_title or _first_heading(text) or _title_from_name(path)
    return title, text, meta, []


_Loader = Callable[[Path, str, LoadGuard], tuple[str, str, dict[str, Any], list[PageSpan]]]
_LOADERS: dict[str, tuple[str, _Loader]] = {
    ".md": ("markdown", _load_markdown),
    ".markdown": ("markdown", _load_markdown),
    ".txt": ("text", _load_text),
    ".html": ("html", _load_html),
    ".htm": ("html", _load_html),
    ".pdf": ("pdf", _load_pdf),
    ".docx": ("docx", _load_docx),
}

SUPPORTED_SUFFIXES = frozenset(_LOADERS)
"""File name endings the loaders read."""


def load_document(
    path: Path,
    source: str,
    doc_id: str | None = None,
    *,
    limits: LoadLimits | None = None,
    should_stop: StopFn | None = None,
) -> LoadedDocument:
    """Load and normalize one file within ``limits`` (defaults: ``LoadLimits()``).

    ``source`` is the name the file is reported and cited by (its path relative to the build's
    source folder). ``doc_id`` defaults to the front matter's ``doc_id`` or to ``source``.
    Raises ``UnsupportedFormat`` or ``LoadError`` (naming the file and the reason; ``LimitExceeded``
    for a file over a limit), and ``LoadCancelled`` as soon as ``should_stop`` returns True.
    """
    suffix = path.suffix.lower()
    if suffix not in _LOADERS:
        raise UnsupportedFormat(source, f"unsupported file type {suffix or '(none)'!r}")
    fmt, loader = _LOADERS[suffix]
    guard = LoadGuard(source, limits or LoadLimits(), should_stop)
    try:
        guard.check_size(path.stat().st_size)
        title, text, meta, pages = loader(path, source, guard)
        guard.check()
    except (LoadError, LoadCancelled):
        raise
    except OSError as exc:
        raise LoadError(source, f"cannot read file ({exc.strerror or exc})") from exc
    except Exception as exc:  # a parser's unexpected failure must not end the whole build
        raise LoadError(source, f"cannot parse ({type(exc).__name__}: {exc})") from exc
    if not text.strip():
        raise LoadError(source, "no text found")
    final_id = doc_id or str(meta.get("doc_id") or source)
    return LoadedDocument(
        doc_id=final_id,
        title=title,
        source=source,
        format=fmt,
        text=text,
        metadata=meta,
        pages=pages,
    )
