"""Markdown inline syntax is removed from stored text; block structure and odd names survive."""

from __future__ import annotations

from pathlib import Path

from ingest.loaders import load_document
from ingest.markdown_inline import plain_inline


def test_links_show_their_text_and_emphasis_marks_go() -> None:
    text = "See [the FMLA page](https://x.gov/fmla) and **do** it *now*, ~~not~~ `later`: <https://a.b/c>."
    assert plain_inline(text) == "See the FMLA page and do it now, not later: https://a.b/c."
    assert plain_inline("![logo](a.png) [ref link][1]\n[1]: https://x.example\n") == "logo ref link\n"


def test_bullets_products_and_snake_case_are_kept() -> None:
    text = "# Heading\n* item with snake_case_name\n- 2 * 3 = 6\n| a | b |\n"
    assert plain_inline(text) == text


def test_markdown_documents_are_stored_clean(tmp_path: Path) -> None:
    path = tmp_path / "leave.md"
    path.write_text(
        "---\ntitle: Leave\n---\n# Leave\n\nEmail [the People team](mailto:people@example.com) **first**.\n"
    )
    doc = load_document(path, "leave.md")
    assert "Email the People team first." in doc.text
    assert "](" not in doc.text and "**" not in doc.text
    assert doc.text.startswith("# Leave")  # headings stay for the chunker
