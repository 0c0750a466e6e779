"""Text from callers made safe to store on every backend: control characters stripped or refused.

PostgreSQL cannot store a NUL character in a text column, and no database stores a lone UTF-16
surrogate; SQLite stores both. So that both backends behave alike, free text (questions, chat
messages, comments) has its control characters removed before anything else sees it, and names
and identifiers (key names, owners, doc ids, folders) that hold one are refused.
Tab, line feed and carriage return are ordinary text in free text, not control characters.
"""

from __future__ import annotations

import re

__all__ = ["control_characters", "strip_controls", "stripped_characters"]

# C0 controls but tab, LF and CR; DEL and the C1 controls; lone surrogates.
_STRIPPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# In names every C0 control counts, tab and line breaks too.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def strip_controls(text: str) -> str:
    """``text`` without control characters (tab, LF and CR kept) and lone surrogates."""
    return _STRIPPED.sub("", text)


def control_characters(text: str) -> list[str]:
    """The control characters (tab and line breaks included) and lone surrogates in ``text``, as
    ``U+XXXX`` names in order of first appearance; empty when there are none."""
    return list(dict.fromkeys(f"U+{ord(c):04X}" for c in _REFUSED.findall(text)))


def stripped_characters(text: str) -> list[str]:
    """The characters :func:`strip_controls` would remove from ``text``, as ``U+XXXX`` names."""
    return list(dict.fromkeys(f"U+{ord(c):04X}" for c in _STRIPPED.findall(text)))
