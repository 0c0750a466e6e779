"""Markdown inline syntax removed from text people read: links show their text, emphasis marks go.

Block structure is left alone (heading lines, list bullets, table pipes, line breaks), so a
chunker can still follow the document's sections. Applied to Markdown documents at ingestion,
so what is stored, embedded, quoted and shown is the same clean text.
"""

from __future__ import annotations

import re

__all__ = ["plain_inline"]

# Link text and emphasis may run over a single line break (handbooks hard-wrap their Markdown), never
# over a blank line (a new paragraph).
_WRAPPED = r"(?:[^\]\n]|\n(?![ \t]*\n))"
_IMAGE = re.compile(rf"!\[({_WRAPPED}*)\]\([^)\n]*\)")
_LINK = re.compile(rf"\[({_WRAPPED}+)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"\n]*\")?\)")
_REF_LINK = re.compile(rf"\[({_WRAPPED}+)\]\[[^\]\n]*\]")
_REF_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]+\S+.*(?:\n|$)", re.M)
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)((?:.|\n(?![ \t]*\n))+?)(?<=\S)\1")
_STAR_EM = re.compile(r"(?<![*\w])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![*\w])")
_UNDERSCORE_EM = re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]+?)(?<=[^\s_])_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)((?:.|\n(?![ \t]*\n))+?)(?<=\S)~~")
_CODE = re.compile(r"`([^`\n]+)`")
_INLINE_HTML = re.compile(r"</?(?:a|b|i|em|strong|span|sup|sub|u|br|kbd|code)\b[^>\n]*>", re.I)


def plain_inline(text: str) -> str:
    """``text`` with Markdown inline syntax replaced by what a reader sees.

    ``[text](url)`` -> ``text``; ``![alt](src)`` -> ``alt``; ``**bold**``, ``*em*``, ``_em_``,
    ``~~strike~~`` and ``code`` lose their marks. Link text, bold and strike are also cleaned when
    hard-wrapped over one line break (never over a blank line), and so is a link whose target a
    template tag filled (``[text]()`` once the tag is removed). ``<https://x>`` -> ``https://x``;
    reference definitions and simple inline HTML tags are dropped. Anything else, including list
    bullets (``* item``) and names with underscores (``snake_case``), is kept as written.
    """
    text = _REF_DEFINITION.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _INLINE_HTML.sub("", text)
    text = _STRONG.sub(r"\2", text)
    text = _STRIKE.sub(r"\1", text)
    text = _STAR_EM.sub(r"\1", text)
    return _UNDERSCORE_EM.sub(r"\1", text)
