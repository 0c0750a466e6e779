"""Finds the ``[n]`` citation markers in answer text; shared by the answerers and the citation checker."""

from __future__ import annotations

import re

__all__ = ["MARKER", "find_markers", "keep_markers"]

# One bracket holding one or more comma-separated integers: ``[1]``, ``[1, 2]``, ``[ 3 ,4 ]``.
# Adjacent brackets (``[1][3]``) are simply two matches.
MARKER = re.compile(r"\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]")
_NUMBER = re.compile(r"\d+")


def find_markers(text: str) -> list[int]:
    """Return the distinct marker numbers in ``text``, in order of first appearance.

    Accepts ``[1]``, ``[1, 2]`` and ``[1][3]``. Numbers are returned as written, with no range
    check: ``[0]`` or ``[99]`` come back as 0 and 99, and the citation checker drops the ones
    that do not name a piece of evidence. A number cited twice appears once. Brackets holding
    anything other than digits, commas and spaces (``[a]``, ``[1-3]``, ``[see 2]``) are not
    markers.
    """
    seen: dict[int, None] = {}
    for match in MARKER.finditer(text):
        for number in _NUMBER.findall(match.group(1)):
            seen.setdefault(int(number), None)
    return list(seen)


def keep_markers(text: str, allowed: set[int]) -> str:
    """``text`` with every marker number outside ``allowed`` removed (and emptied brackets dropped)."""

    def fix(match: re.Match[str]) -> str:
        kept = [n for n in _NUMBER.findall(match.group(1)) if int(n) in allowed]
        return "[" + ", ".join(kept) + "]" if kept else ""

    cleaned = MARKER.sub(fix, text)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned).replace("  ", " ").strip()
