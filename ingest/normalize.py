"""Normalizing loaded text: strip front matter and template shortcodes, tidy whitespace, keep headings."""

from __future__ import annotations

import re

__all__ = ["normalize_text", "strip_shortcodes"]

# Jinja/Liquid tags ({% alert %}, {% endalert %}, {% page "..." %}) and Hugo shortcodes
# ({{< note >}}, {{% tab %}}). The text between paired tags is content and stays.
_SHORTCODE = re.compile(r"\{%-?\s*[^{}]*?\s*-?%\}|\{\{[<%]\s*/?[^{}]*?[>%]\}\}")
# Liquid comments are removed with their content.
_COMMENT = re.compile(r"\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}", re.S)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TRAILING_WS = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")


def strip_shortcodes(text: str) -> str:
    """Remove template tags and comments; keep the text the tags wrap."""
    text = _COMMENT.sub("", text)
    text = _HTML_COMMENT.sub("", text)
    return _SHORTCODE.sub("", text)


def normalize_text(text: str) -> str:
    """Shortcodes stripped, line endings unified, trailing spaces and runs of blank lines collapsed.

    Heading lines (``#`` ...) are kept as they are, so chunking can follow the structure.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = strip_shortcodes(text)
    text = _TRAILING_WS.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip() + "\n"
