"""Upload checks: doc_id rules, size limit, and type judged by content rather than by name."""

from __future__ import annotations

import io
import zipfile

import pytest

from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.upload_check import ACCEPTED_KINDS, check_doc_id, check_upload, sniff
from rag.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from tests.conftest import SAMPLE_DIR

LIMIT = 20 * 1024 * 1024


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buf.getvalue()


def test_every_loader_suffix_has_a_content_check() -> None:
    assert frozenset(ACCEPTED_KINDS) == SUPPORTED_SUFFIXES


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("finance/expenses.pdf", "pdf"),
        ("people/parental-leave.docx", "docx"),
        ("people/code-of-conduct.html", "html"),
        ("people/annual-leave.md", "text"),
        ("people/onboarding.txt", "text"),
    ],
)
def test_sample_files_are_accepted_under_their_own_suffix(name: str, kind: str) -> None:
    data = (SAMPLE_DIR / name).read_bytes()
    assert sniff(data) == kind
    suffix = "." + name.rsplit(".", 1)[1]
    assert check_upload(f"upload{suffix.upper()}", data, LIMIT) == suffix


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("policy.pdf", b"# Not a PDF\n\nJust text.\n"),
        ("policy.pdf", b"%PDF-1.7\n garbage that is no PDF at all"),
        ("policy.docx", _zip(["readme.txt"])),
        ("policy.docx", b"plain text"),
        ("policy.html", b"just words, no markup at all"),
        ("policy.md", (SAMPLE_DIR / "finance/expenses.pdf").read_bytes()),
        ("policy.txt", _zip(["word/document.xml", "[Content_Types].xml"])),
        ("policy.txt", "caf\u00e9 in latin-1".encode("latin-1")),
        ("policy.md", b"text with a \x00 NUL byte"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
        ("archive.zip", _zip(["a.txt"])),
        ("noextension", b"hello"),
    ],
)
def test_unsupported_or_mismatched_content_is_415(filename: str, data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        check_upload(filename, data, LIMIT)
    assert (info.value.status, info.value.code) == (415, "unsupported_media_type")


def test_size_limit_and_empty_file() -> None:
    with pytest.raises(PayloadTooLarge) as info:
        check_upload("a.txt", b"x" * 11, 10)
    assert (info.value.status, info.value.code) == (413, "upload_too_large")
    assert check_upload("a.txt", b"x" * 10, 10) == ".txt"
    with pytest.raises(InvalidInput):
        check_upload("a.txt", b"", 10)


def test_markdown_may_hold_inline_html() -> None:
    data = b"# Title\n\n<div>an inline block</div>\n"
    assert sniff(data) == "html"
    assert check_upload("a.md", data, LIMIT) == ".md"


@pytest.mark.parametrize("doc_id", ["NW-PEO-001", "people/annual-leave.md", "a", "x" * 200, "v1.2_final"])
def test_valid_doc_ids(doc_id: str) -> None:
    assert check_doc_id(doc_id) == doc_id


@pytest.mark.parametrize(
    "doc_id",
    ["", "x" * 201, "../etc/passwd", "a/../b", "a..b", "/abs", "trailing/", "a//b", "sp ace", "ümlaut", "a\\b"],
)
def test_invalid_doc_ids_are_422(doc_id: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_doc_id(doc_id)
    assert info.value.status == 422
