"""The streaming helpers: unknown markers filtered from text arriving in pieces; drafts of streamed text."""

from __future__ import annotations

import pytest

from rag.answer_stream import MarkerFilter, draft_from_text


def _run(pieces: list[str], valid: set[int]) -> str:
    f = MarkerFilter(valid)
    return "".join([f.feed(p) for p in pieces]) + f.flush()


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        (["Yes [1]. No [9]."], "Yes [1]. No ."),
        (["Yes [", "1", "]. No [", "9", "]."], "Yes [1]. No ."),
        (["a [1, 9", "] b"], "a [1] b"),
        (["a [see 2] b"], "a [see 2] b"),  # not a marker: passes through
        (["unclosed [1"], "unclosed [1"),  # flushed as is at the end
        (["x [" + "y" * 40, " z"], "x [" + "y" * 40 + " z"),  # a long bracket is not held forever
    ],
)
def test_marker_filter(pieces: list[str], expected: str) -> None:
    assert _run(pieces, {1, 2}) == expected


def test_marker_filter_holds_back_only_an_open_bracket() -> None:
    f = MarkerFilter({1})
    assert f.feed("days [") == "days "
    assert f.feed("1") == ""
    assert f.feed("] off") == "[1] off"


def test_draft_quotes_the_text_before_each_marker() -> None:
    draft = draft_from_text("First sentence. [1] Second one. [2] Third. [1]")
    assert [(c.n, c.quote) for c in draft.citations] == [(1, "Third."), (2, "Second one.")]
    assert draft.text.endswith("[1]")


def test_draft_of_text_without_markers_has_no_citations() -> None:
    assert draft_from_text("No markers here.").citations == []
