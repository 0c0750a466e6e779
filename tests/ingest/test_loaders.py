"""Loaders: every format gives normalized Markdown-like text, metadata and (for PDF) pages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from ingest.loaders import LoadError, UnsupportedFormat, load_document

MD = """---
title: Annual leave
owner: people@northwind.example
updated: 2025-01-15
doc_id: leave-policy
---
# Annual leave

{% alert type="info" %}
Full-time staff get 27 days of annual leave.
{% endalert %}

{{< note >}}Unused days expire on 31 March.{{< /note >}}

## Carry-over

Up to 5 days carry over.
"""


def test_markdown_front_matter_becomes_metadata_and_shortcodes_go(tmp_path: Path) -> None:
    path = tmp_path / "leave.md"
    path.write_text(MD)
    doc = load_document(path, "people/leave.md")
    assert doc.doc_id == "leave-policy"
    assert doc.title == "Annual leave"
    assert doc.metadata["owner"] == "people@northwind.example"
    assert doc.metadata["updated"] == "2025-01-15"
    assert "---" not in doc.text and "owner:" not in doc.text
    assert "{%" not in doc.text and "{{<" not in doc.text
    assert "Full-time staff get 27 days of annual leave." in doc.text
    assert "Unused days expire on 31 March." in doc.text
    assert "# Annual leave" in doc.text and "## Carry-over" in doc.text
    assert doc.format == "markdown"


def test_html_keeps_headings_and_drops_boilerplate(tmp_path: Path) -> None:
    path = tmp_path / "conduct.html"
    path.write_text(
        "<html><head><title>Code of conduct</title><meta name='owner' content='hr@x.example'></head>"
        "<body><nav>Home | About</nav><h1>Code of conduct</h1><p>Be <b>kind</b>.</p>"
        "<h2>Gifts</h2><ul><li>Gifts up to EUR 50 are fine.</li></ul>"
        "<table><tr><th>Value</th><th>Rule</th></tr><tr><td>50</td><td>ok</td></tr></table>"
        "<footer>Copyright</footer><script>var x = 1;</script></body></html>"
    )
    doc = load_document(path, "conduct.html")
    assert doc.title == "Code of conduct"
    assert doc.metadata["owner"] == "hr@x.example"
    assert "# Code of conduct" in doc.text and "## Gifts" in doc.text
    assert "Be kind." in doc.text
    assert "- Gifts up to EUR 50 are fine." in doc.text
    assert "| 50 | ok |" in doc.text
    for junk in ("Home | About", "Copyright", "var x"):
        assert junk not in doc.text


def _pdf(path: Path, pages: list[str], title: str = "Expenses") -> None:
    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_author("finance@x.example")
    pdf.set_creation_date(datetime(2025, 1, 1))
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))


def test_pdf_pages_are_tracked(tmp_path: Path) -> None:
    path = tmp_path / "expenses.pdf"
    _pdf(path, ["Receipts are required for every claim.", "Claims are paid within 10 working days."])
    doc = load_document(path, "expenses.pdf")
    assert doc.title == "Expenses"
    assert doc.metadata["owner"] == "finance@x.example"
    assert [p.page for p in doc.pages] == [1, 2]
    second = doc.text.index("Claims are paid")
    assert doc.page_at(second) == 2
    assert doc.page_at(doc.text.index("Receipts")) == 1


def test_docx_headings_become_markdown_headings(tmp_path: Path) -> None:
    path = tmp_path / "parental.docx"
    d = docx.Document()
    d.core_properties.title = "Parental leave"
    d.core_properties.author = "people@x.example"
    d.add_heading("Parental leave", level=1)
    d.add_paragraph("Birth parents get 20 weeks of paid leave.")
    d.add_heading("Partners", level=2)
    d.add_paragraph("Partners get 6 weeks.", style="List Bullet")
    d.save(str(path))
    doc = load_document(path, "parental.docx")
    assert doc.title == "Parental leave"
    assert doc.metadata["owner"] == "people@x.example"
    assert "# Parental leave" in doc.text
    assert "## Partners" in doc.text
    assert "- Partners get 6 weeks." in doc.text


def test_text_file_title_is_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "onboarding.txt"
    path.write_text("Onboarding checklist\r\n\r\n\r\n\r\nDay one: collect your laptop.  \n")
    doc = load_document(path, "onboarding.txt")
    assert doc.title == "Onboarding checklist"
    assert doc.text == "Onboarding checklist\n\nDay one: collect your laptop.\n"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "unreadable PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip archive", "unreadable DOCX"),
        ("binary.md", b"\x00\x01\x02 binary", "binary content"),
        ("latin1.txt", "caf\u00e9".encode("latin-1"), "not valid UTF-8"),
        ("empty.md", b"---\ntitle: x\n---\n\n", "no text"),
    ],
)
def test_bad_files_raise_load_error_naming_the_file(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError) as info:
        load_document(path, f"folder/{name}")
    assert info.value.source == f"folder/{name}"
    assert reason in str(info.value)
    assert str(info.value).startswith(f"folder/{name}: ")


def test_unsupported_type(tmp_path: Path) -> None:
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(UnsupportedFormat, match=r"unsupported file type '\.xlsx'"):
        load_document(path, "sheet.xlsx")


def test_every_sample_document_loads(sample_dir: Path) -> None:
    files = sorted(p for p in sample_dir.rglob("*") if p.is_file())
    formats = set()
    for path in files:
        doc = load_document(path, path.relative_to(sample_dir).as_posix())
        formats.add(doc.format)
        assert doc.title.strip()
        assert len(doc.text) > 500, path.name
        assert "{%" not in doc.text and "{{<" not in doc.text
    assert len(files) >= 12
    assert formats == {"markdown", "html", "pdf", "docx", "text"}
