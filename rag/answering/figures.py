"""Finds the figures a sentence states (numbers, amounts, percentages, durations, dates) in one form.

``"$1,500"``, ``"1500"`` and ``"1,500.00"`` are all ``"1500"``; ``"three business days"`` and
``"3 business days"`` both hold ``"3"``; ``"twenty-six weeks"`` holds ``"26"``; a date such as
``"3/31/24"`` holds ``"3"``, ``"31"`` and ``"24"``. Comparing these canonical values tells whether a
figure of an answer occurs in a source, whichever way either of them wrote it.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["figures"]

_UNITS = (
    "second|minute|hour|day|week|month|year|time|business|working|calendar|percent|dollar|cent|"
    "euro|pound|employee|people|person|character|digit|session|page|item|step|hr|yr"
)
_DIGITS = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?")
_SMALL = {
    "zero": 0,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_ONES = "|".join(["one", *(w for w, v in _SMALL.items() if v < 10)])
_TEENS = "|".join(w for w, v in _SMALL.items() if v >= 10)
_TEN = "|".join(_TENS)
# A number written in words: "three", "twelve", "twenty-six", "twenty six", "two hundred". Two
# small numbers side by side ("five six") are two numbers, not one.
_WORDS = re.compile(
    rf"\b(?P<num>(?:(?:{_TEN})(?:[\s-]+(?:{_ONES}))?|{_TEENS}|{_ONES})(?:\s+(?:hundred|thousand|million))?)\b",
    re.IGNORECASE,
)
# "one" alone is usually a pronoun ("no one", "one of"): it counts only before a unit.
_ONE_UNIT = re.compile(rf"^\s*[-\s]?(?:{_UNITS})", re.IGNORECASE)


def _canonical(number: str) -> str | None:
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None
    return format(value.normalize(), "f")


def _word_value(words: str) -> int | None:
    total = 0
    current = 0
    for word in re.split(r"[\s-]+", words.lower()):
        if word == "one":
            current += 1
        elif word in _SMALL:
            current += _SMALL[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word in _SCALES:
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0
        else:
            return None
    return total + current


def figures(text: str) -> list[str]:
    """The canonical values of the figures in ``text``, in order, each once.

    Digits keep their decimals (``"2.5"``) and lose thousands separators, currency signs and
    percent signs. Number words from two up are read (``"one"`` only before a unit such as
    ``"one week"``); ordinals and fractions in words are not figures.
    """
    found: dict[str, None] = {}
    for match in _DIGITS.finditer(text):
        value = _canonical(match.group(0))
        if value is not None:
            found.setdefault(value, None)
    for match in _WORDS.finditer(text):
        words = match.group("num")
        if words.lower() == "one" and not _ONE_UNIT.match(text[match.end() :]):
            continue
        number = _word_value(words)
        if number is not None:
            found.setdefault(str(number), None)
    return list(found)
