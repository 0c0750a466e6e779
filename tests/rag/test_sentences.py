"""Sentence splitting follows paragraphs: a hard-wrapped sentence is one sentence, verbatim."""

from __future__ import annotations

from rag.sentences import sentence_spans, shown_text, split_sentences

WRAPPED = """# Family leave

You can take up to 26 weeks of unpaid FMLA leave to care for a
servicemember with a serious illness. Ask your supervisor
at least 30 days ahead.

- A list item that wraps
  onto a second line. And a second sentence.
- Short item here now

| Leave | Days |
|---|---|
| Annual | 26 |
"""


def test_a_sentence_wrapped_over_lines_stays_whole_with_its_number() -> None:
    sentences = split_sentences(WRAPPED)
    assert (
        "You can take up to 26 weeks of unpaid FMLA leave to care for a\nservicemember with a serious illness."
        in sentences
    )
    assert "Ask your supervisor\nat least 30 days ahead." in sentences
    assert not any(s.startswith("servicemember") for s in sentences)  # the line-by-line splitter's half sentence


def test_every_sentence_is_verbatim_at_its_offsets_and_headings_are_not_sentences() -> None:
    spans = sentence_spans(WRAPPED)
    for s in spans:
        assert WRAPPED[s.start : s.end] == s.text
    assert not any(s.text.startswith("#") or s.text.startswith("-") for s in spans)
    kinds = {s.text: s.kind for s in spans}
    assert kinds["| Annual | 26 |"] == "row"
    assert kinds["A list item that wraps\n  onto a second line."] == "item"
    assert kinds["And a second sentence."] == "item"
    assert "|---|---|" not in kinds


def test_list_items_are_separate_blocks() -> None:
    assert split_sentences("- first item without stop\n- second item without stop\n") == [
        "first item without stop",
        "second item without stop",
    ]


def test_a_remembered_split_is_the_same_and_each_caller_gets_its_own_list() -> None:
    first = sentence_spans(WRAPPED)
    first.clear()  # a caller changing its list changes nothing for the next caller
    again = sentence_spans(WRAPPED)
    assert again and [s.text for s in again] == split_sentences(WRAPPED)
    assert all(WRAPPED[s.start : s.end] == s.text for s in again)


QUOTED = """Zoom guidance from GSA IT:

> **Zoom usage for GSA hosted meetings**
>
> - All Zoom meetings hosted by GSA require a meeting password.
> - Do not share links to Zoom meetings via publicly available
>   social media outlets. Provide the links directly to invitees.
> A quoted paragraph that wraps
> over two lines.

After the quote. Prices are > 5 dollars.
"""


def test_a_block_quote_follows_the_same_rules_as_the_page() -> None:
    """Quoted list items are items and quoted wrapped lines stay one sentence (each quoted line used to
    be a block of its own, so a wrapped sentence was cut in two at its ``>``)."""
    spans = sentence_spans(QUOTED)
    assert all(QUOTED[s.start : s.end] == s.text for s in spans)
    texts = {s.text: s.kind for s in spans}
    assert texts["All Zoom meetings hosted by GSA require a meeting password."] == "item"
    assert texts["Do not share links to Zoom meetings via publicly available\n>   social media outlets."] == "item"
    assert "A quoted paragraph that wraps\n> over two lines." in texts  # its marker is not part of it
    assert not any(t.startswith(("-", ">", "social media")) for t in texts)
    assert "Prices are > 5 dollars." in texts  # a ">" inside a line is text
    assert shown_text("publicly available\n>   social media outlets.") == "publicly available social media outlets."
    assert shown_text("costs\n  > 5 dollars") == "costs 5 dollars"  # as in Markdown, a line starting with ">" is quoted
