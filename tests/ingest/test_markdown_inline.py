"""Markdown inline syntax is removed from stored text; block structure and odd names survive."""

from __future__ import annotations

from pathlib import Path

from ingest.loaders import load_document
from ingest.markdown_inline import plain_inline


def test_links_show_their_text_and_emphasis_marks_go() -> None:
    text = "See [the FMLA page](https://x.gov/fmla) and **do** it *now*, ~~not~~ `later`: <https://a.b/c>."
    assert plain_inline(text) == "See the FMLA page and do it now, not later: https://a.b/c."
    assert plain_inline("![logo](a.png) [ref link][1]\n[1]: https://x.example\n") == "logo ref link\n"


def test_hard_wrapped_links_and_bold_are_cleaned_but_never_across_a_paragraph() -> None:
    """The handbooks hard-wrap their Markdown, so link text and bold run over line breaks; a link whose
    target was a template tag ({% page "..." %}, removed at ingest) is left as ``[text]()``."""
    wrapped = "Finally, don't forget to [stamp and submit for travel team\napproval!]() Your voucher"
    assert plain_inline(wrapped) == "Finally, don't forget to stamp and submit for travel team\napproval! Your voucher"
    assert plain_inline("a [GSA provided\n  computer](/equipment/#laptop) and **must\nnot** be") == (
        "a GSA provided\n  computer and must\nnot be"
    )
    assert plain_inline("![a wrapped\nlogo](x.png)") == "a wrapped\nlogo"
    across = "[not a link\n\nat all](x) and **not\n  \nbold**"  # a blank line ends a paragraph
    assert plain_inline(across) == across


def test_bullets_products_and_snake_case_are_kept() -> None:
    text = "# Heading\n* item with snake_case_name\n- 2 * 3 = 6\n| a | b |\n"
    assert plain_inline(text) == text


def test_markdown_documents_are_stored_clean(tmp_path: Path) -> None:
    path = tmp_path / "leave.md"
    path.write_text(
        "---\ntitle: Leave\n---\n# Leave\n\nEmail [the People team](mailto:people@example.com) **first**.\n"
    )
    doc = load_document(path, "leave.md")
    assert "Email the People team (people@example.com) first." in doc.text
    assert "](" not in doc.text and "**" not in doc.text
    assert doc.text.startswith("# Leave")  # headings stay for the chunker


def test_a_mail_or_phone_link_keeps_the_address_its_text_hides() -> None:
    """ "Email [TTS Tech Operations](mailto:...)" must still say where to write: contact questions ask for it."""
    assert plain_inline("Email [TTS Tech Operations](mailto:tts-tech-operations@gsa.gov).") == (
        "Email TTS Tech Operations (tts-tech-operations@gsa.gov)."
    )
    assert plain_inline("Write to [desk@x.org](mailto:desk@x.org?subject=Help).") == "Write to desk@x.org."
    assert plain_inline("Call [the\nhotline](tel:+1-866-450-5250) or [866-450-5250](tel:8664505250).") == (
        "Call the\nhotline (+1-866-450-5250) or 866-450-5250."
    )
    assert plain_inline("See [the policy](https://x.gov/policy).") == "See the policy."  # web links: text only


def test_character_references_and_backslash_escapes_show_their_character() -> None:
    assert plain_inline("It&rsquo;s Logging in &amp; Networks &ndash; see &#8220;FAQ&#x201D;.") == (
        "It\u2019s Logging in & Networks \u2013 see \u201cFAQ\u201d."
    )
    assert plain_inline(r"\$25,000\* per year, on \#18f-site, \*not emphasis\*, \[not a link\]") == (
        "$25,000* per year, on #18f-site, *not emphasis*, [not a link]"
    )
    assert plain_inline("&bogus; and a\\\nhard break stay") == "&bogus; and a\\\nhard break stay"
