"""Does a text state a fact? Phrase and number matching that ignores Markdown, case and spacing.

Used to score answers and retrieved chunks against a question set's answer phrase and key fact:
the same normalizing applies to both sides, so a chunker that reflows lines or a cleaner that
drops ``**`` does not turn a hit into a miss.
"""

from __future__ import annotations

import re

from ingest.markdown_inline import plain_inline

__all__ = ["contains_phrase", "key_fact_numbers", "normalize_for_match", "states_key_fact"]

_SPACE = re.compile(r"\s+")
_NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
    "twenty": "20",
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "ninety": "90",
    "hundred": "100",
    "once": "1",
    "twice": "2",
}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")


def normalize_for_match(text: str) -> str:
    """Markdown inline syntax removed, curly quotes straightened, lower case, whitespace collapsed."""
    text = plain_inline(text).replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    text = text.replace("\u201d", '"')
    return _SPACE.sub(" ", text).strip().lower()


def contains_phrase(text: str, phrase: str) -> bool:
    """``phrase`` occurs in ``text`` after both are normalized (empty phrase: False)."""
    needle = normalize_for_match(phrase)
    return bool(needle) and needle in normalize_for_match(text)


def _numbers(text: str) -> set[str]:
    text = _WORD_NUMBER.sub(lambda m: _NUMBER_WORDS[m.group(1)], text.lower())
    return {n.replace(",", "").rstrip(".").lstrip("0") or "0" for n in _DIGITS.findall(text)}


def key_fact_numbers(key_fact: str) -> set[str]:
    """The numbers a key fact states (``three`` = ``3``, ``1,000`` = ``1000``)."""
    return _numbers(key_fact)


def states_key_fact(answer: str, key_fact: str, answer_phrase: str) -> bool:
    """The answer holds the answer phrase, or every number of the key fact (when it has any)."""
    if contains_phrase(answer, answer_phrase):
        return True
    wanted = key_fact_numbers(key_fact)
    return bool(wanted) and wanted <= _numbers(answer)
