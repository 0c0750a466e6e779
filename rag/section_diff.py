"""A document's change between two versions, by section: sections added, removed and changed, with the
changed sentences side by side.

A section is the text under one heading path of the normalized document (ATX headings ``#`` ...
``######``; the text before the first heading has the empty path). Two sections are the same
section when their heading paths are equal (a second section with the same path is told apart
as ``Heading (2)``). A section changed when its text differs other than in white space; its
sentences (:func:`rag.sentences.split_sentences`) are aligned with the standard library's
``difflib.SequenceMatcher``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Literal

from rag.sentences import split_sentences

__all__ = ["Section", "SectionChange", "SentencePair", "diff_sections", "sections"]

_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$")
_SPACE = re.compile(r"\s+")

Change = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class Section:
    """The text under ``heading_path`` (without its heading line), stripped."""

    heading_path: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class SentencePair:
    """A sentence before and after; None on the side where it is absent."""

    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class SectionChange:
    """One section that differs; ``before`` / ``after`` are None where the section is absent."""

    heading_path: tuple[str, ...]
    change: Change
    before: str | None
    after: str | None
    sentences: list[SentencePair] = field(default_factory=list)


def sections(text: str) -> list[Section]:
    """The sections of a normalized document in reading order (empty ones are kept: a heading alone)."""
    out: list[Section] = []
    stack: list[tuple[int, str]] = []
    seen: dict[tuple[str, ...], int] = {}
    path: tuple[str, ...] = ()
    body: list[str] = []

    def close() -> None:
        content = "\n".join(body).strip()
        if path or content:
            out.append(Section(path, content))

    for line in text.split("\n"):
        m = _HEADING.match(line)
        if m is None:
            body.append(line)
            continue
        close()
        level, title = len(m.group(1)), m.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        path = tuple(t for _, t in stack)
        n = seen[path] = seen.get(path, 0) + 1
        if n > 1:
            path = (*path[:-1], f"{path[-1]} ({n})")
        body = []
    close()
    return out


def _same(a: str, b: str) -> bool:
    return _SPACE.sub(" ", a).strip() == _SPACE.sub(" ", b).strip()


def _sentence_pairs(before: str, after: str) -> list[SentencePair]:
    """The sentences that differ, aligned: replaced ones side by side, removed or added ones alone."""
    old, new = split_sentences(before), split_sentences(after)
    key_old = [_SPACE.sub(" ", s).strip() for s in old]
    key_new = [_SPACE.sub(" ", s).strip() for s in new]
    pairs: list[SentencePair] = []
    matcher = difflib.SequenceMatcher(a=key_old, b=key_new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for a, b in zip_longest(old[i1:i2], new[j1:j2]):
            pairs.append(SentencePair(before=a, after=b))
    return pairs


def diff_sections(before: str, after: str) -> list[SectionChange]:
    """How ``after`` differs from ``before`` section by section: changed and added sections in the
    order of ``after``, then removed ones in the order of ``before``. Equal texts give []."""
    old = {s.heading_path: s.text for s in sections(before)}
    new = sections(after)
    changes: list[SectionChange] = []
    for s in new:
        if s.heading_path not in old:
            changes.append(SectionChange(s.heading_path, "added", None, s.text))
        elif not _same(old[s.heading_path], s.text):
            was = old[s.heading_path]
            changes.append(SectionChange(s.heading_path, "changed", was, s.text, _sentence_pairs(was, s.text)))
    kept = {s.heading_path for s in new}
    changes += [SectionChange(p, "removed", t, None) for p, t in old.items() if p not in kept]
    return changes
