"""What kind of value a question asks for, read from its wording: a quantity, a moment or a contact.

"How many days ...", "how much ...", "what percentage ..." ask for a number; "when ...", "by what
date ..." for a time; "who do I contact ...", "what email ..." for an address, a phone number or
a named team. A sentence holding that kind of value is more likely the answer. This is a model of
English questions in general, not of any document set.
"""

from __future__ import annotations

import re

__all__ = ["CONTACT", "QUANTITY", "expected_answer"]

QUANTITY = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|sixty|hundred|thousand|half|once|twice|daily|weekly|monthly|annually|yearly|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"monday|tuesday|wednesday|thursday|friday)\b",
    re.I,
)
"""A number, a number word, a frequency or a calendar word."""

CONTACT = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.-]+|\+?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}|#[a-z0-9][\w-]+|\bhttps?://",
    re.I,
)
"""An email address, a phone number, a chat channel (``#help``) or a link."""

_ASKS_QUANTITY = re.compile(
    r"\bhow (?:many|much|long|far|often|soon|early|late|old|big|large|high)\b|"
    r"\bwhat (?:is the )?(?:percent(?:age)?|amount|rate|limit|maximum|minimum|number|cap|age|size|date|deadline)\b|"
    r"\b(?:when|what year|what time|which year|by when|what day)\b|\bdeadline\b|\bhow quickly\b",
    re.I,
)
_ASKS_CONTACT = re.compile(
    r"\bwho (?:do|should|can|to)\b|\bwhom\b|\b(?:contact|e-?mail|phone|call|reach|channel|address)\b",
    re.I,
)


def expected_answer(question: str) -> re.Pattern[str] | None:
    """The pattern of the value ``question`` asks for (:data:`QUANTITY` or :data:`CONTACT`), or None."""
    if _ASKS_CONTACT.search(question):
        return CONTACT
    if _ASKS_QUANTITY.search(question):
        return QUANTITY
    return None
