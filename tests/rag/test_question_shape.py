"""The kind of value a question asks for."""

from __future__ import annotations

import pytest

from rag.answering.question_shape import CONTACT, QUANTITY, expected_answer


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("How many weeks of unpaid leave can I take?", QUANTITY),
        ("How far in advance must I ask for vacation?", QUANTITY),
        ("When is the deadline for my self-assessment?", QUANTITY),
        ("Who do I contact to verify my employment?", CONTACT),
        ("What email address do press requests go to?", CONTACT),
        ("Can I expense a coworking space?", None),
    ],
)
def test_the_expected_value_is_read_from_the_wording(question: str, shape: object) -> None:
    assert expected_answer(question) is shape


def test_the_patterns_find_their_values() -> None:
    assert QUANTITY.search("up to twenty-six weeks") and QUANTITY.search("within 3 days")
    assert not QUANTITY.search("ask your manager first")
    assert CONTACT.search("write to people-ops@example.com") and CONTACT.search("call (202) 555-0100")
    assert CONTACT.search("ask in #help-desk") and not CONTACT.search("ask your manager")
