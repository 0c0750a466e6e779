"""The answer check: figures read in any notation, sentences checked against the sources they cite."""

from __future__ import annotations

import pytest

from rag.answering.figures import figures
from rag.answering.grounding import (
    FIGURE_NOT_IN_SOURCE,
    NO_CITATION,
    WORDS_NOT_IN_SOURCE,
    check_grounding,
)

LEAVE = (
    "Annual leave\nEvery full-time employee receives twenty-five days of paid annual leave per calendar year. "
    "Up to five unused days may be carried over to the next year and must be used by 31 March."
)
PASSWORDS = "Passwords\nPasswords must be at least 14 characters long and are never shared, not even with IT."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$1,500 per year", ["1500"]),
        ("1500.00 dollars", ["1500"]),
        ("120% of the rate", ["120"]),
        ("within three business days", ["3"]),
        ("twenty-six weeks of leave", ["26"]),
        ("twenty six weeks", ["26"]),
        ("one week before", ["1"]),
        ("no one may share it; one of the managers", []),
        ("by 3/31/24", ["3", "31", "24"]),
        ("2.5 years", ["2.5"]),
        ("two hundred euros", ["200"]),
        ("days five six and seventeen", ["5", "6", "17"]),
        ("TLS 1.2 or later", ["1.2"]),
    ],
)
def test_figures_are_read_in_one_form_whatever_the_notation(text: str, expected: list[str]) -> None:
    assert figures(text) == expected


def test_a_faithful_paraphrase_with_figures_in_words_is_supported() -> None:
    answer = "You get 25 days of paid leave each calendar year [1]. Five unused days can be carried over [1]."
    report = check_grounding(answer, {1: LEAVE})
    assert report.grounded, report.flagged
    assert [s.cited for s in report.sentences] == [[1], [1]]
    assert report.sentences[0].figures == ["25"]


def test_a_changed_figure_is_flagged_and_named() -> None:
    report = check_grounding("You get 30 days of paid annual leave per year [1].", {1: LEAVE})
    assert not report.grounded
    [sentence] = report.sentences
    assert sentence.problems == [FIGURE_NOT_IN_SOURCE]
    assert sentence.missing_figures == ["30"]


def test_a_figure_must_be_in_the_source_the_sentence_cites_not_in_another() -> None:
    # 14 is in source 2, but the sentence cites source 1 only.
    report = check_grounding("Leave requests need 14 days of notice [1].", {1: LEAVE, 2: PASSWORDS})
    assert report.sentences[0].missing_figures == ["14"]
    assert check_grounding("Passwords need 14 characters [2].", {1: LEAVE, 2: PASSWORDS}).grounded


def test_a_sentence_without_a_citation_is_flagged() -> None:
    report = check_grounding("You get 25 days of leave [1]. Ask your manager about exceptions.", {1: LEAVE})
    assert [s.problems for s in report.sentences] == [[], [NO_CITATION]]
    assert not report.grounded


def test_a_marker_naming_no_source_counts_as_no_citation() -> None:
    report = check_grounding("You get 25 days of leave [7].", {1: LEAVE})
    assert report.sentences[0].problems == [NO_CITATION]


def test_a_wrong_citation_is_flagged_by_its_words() -> None:
    report = check_grounding("Passwords must be long and are never shared [1].", {1: LEAVE, 2: PASSWORDS})
    assert report.sentences[0].problems == [WORDS_NOT_IN_SOURCE]
    assert report.sentences[0].overlap < 0.5
    assert check_grounding("Passwords must be long and are never shared [2].", {2: PASSWORDS}).grounded


def test_markers_after_the_full_stop_belong_to_the_sentence_before() -> None:
    report = check_grounding(
        "You get 25 days of leave per year. [1] Passwords need 14 characters. [2]", {1: LEAVE, 2: PASSWORDS}
    )
    assert [s.cited for s in report.sentences] == [[1], [2]]
    assert report.grounded


def test_an_answer_with_no_citations_at_all_is_flagged_sentence_by_sentence() -> None:
    report = check_grounding("You get 25 days. Passwords need 14 characters.", {1: LEAVE})
    assert [s.problems for s in report.sentences] == [[NO_CITATION], [NO_CITATION]]


def test_a_one_word_sentence_needs_a_citation_but_is_not_compared_word_by_word() -> None:
    report = check_grounding("Yes [1]. You get 25 days of paid annual leave [1]. No.", {1: LEAVE})
    assert [s.problems for s in report.sentences] == [[], [], [NO_CITATION]]
