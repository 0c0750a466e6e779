"""Instruction-like text in documents: sentences that address a language model rather than a reader.

A policy document has no reason to say "ignore previous instructions" or "you are now ...": such
text is planted (or quoted from an attack) and must not steer an answer. Builds list every
flagged sentence in the manifest for the document's owner to review; the extractive answerer
never quotes one; the model prompt marks all document text as data (prompts/answer/v2.md).
"""

from __future__ import annotations

import re

__all__ = ["INSTRUCTION", "looks_like_instruction"]

INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)?"
    r"(?:previous|prior|above|earlier|preceding|other|system)\s+(?:instructions?|prompts?|rules?|messages?|context)\b"
    r"|\byou\s+are\s+now\s+(?:a|an|the|in)\b"
    r"|\b(?:new|updated)\s+(?:system\s+)?instructions?\s*:"
    r"|\bsystem\s+prompt\b"
    r"|\b(?:as|you\s+are)\s+an?\s+(?:ai|language\s+model|llm|assistant)\b.{0,40}\b(?:must|should|will)\b"
    r"|\b(?:do\s+not|don't|never)\s+(?:tell|inform|reveal\s+to)\s+the\s+(?:user|employee)\b"
    r"|\b(?:respond|reply|answer)\s+(?:only\s+)?with\s+(?:the\s+following|exactly)\b",
    re.I,
)
"""Phrases that address a model: overriding its instructions, changing its role, hiding things from the user."""


def looks_like_instruction(text: str) -> bool:
    """True when ``text`` holds instruction-like wording aimed at a language model."""
    return INSTRUCTION.search(text) is not None
