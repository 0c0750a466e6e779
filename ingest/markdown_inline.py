"""Markdown inline syntax removed from text people read: links show their text, emphasis marks go.

Block structure is left alone (heading lines, list bullets, table pipes, line breaks), so a
chunker can still follow the document's sections. Applied to Markdown documents at ingestion,
so what is stored, embedded, quoted and shown is the same clean text.
"""

from __future__ import annotations

import html
import re

__all__ = ["link_text", "plain_inline"]

# Link text and emphasis may run over a single line break (handbooks hard-wrap their Markdown), never
# over a blank line (a new paragraph).
_WRAPPED = r"(?:[^\]\n]|\n(?![ \t]*\n))"
_IMAGE = re.compile(rf"!\[({_WRAPPED}*)\]\([^)\n]*\)")
_LINK = re.compile(rf"\[({_WRAPPED}+)\]\(((?:[^()\s]|\([^()\s]*\))*)(?:\s+\"[^\"\n]*\")?\)")
_CONTACT_TARGET = re.compile(r"(?i)^(?:mailto:([^?\s]+@[^?\s]+)|tel:([+\d][\d\s().-]{5,}))")
_REF_LINK = re.compile(rf"\[({_WRAPPED}+)\]\[[^\]\n]*\]")
_REF_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]+\S+.*(?:\n|$)", re.M)
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)((?:.|\n(?![ \t]*\n))+?)(?<=\S)\1")
_STAR_EM = re.compile(r"(?<![*\w\\])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*\\])\*(?![*\w])")
_UNDERSCORE_EM = re.compile(r"(?<![\w_\\])_(?=[^\s_])([^_\n]+?)(?<=[^\s_\\])_(?![\w_])")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
"""A backslash escape of ASCII punctuation (``\\*``, ``\\#``): CommonMark shows the character alone."""
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
"""An HTML character reference (``&rsquo;``, ``&amp;``, ``&#8217;``): CommonMark shows the character."""
_STRIKE = re.compile(r"~~(?=\S)((?:.|\n(?![ \t]*\n))+?)(?<=\S)~~")
_CODE = re.compile(r"`([^`\n]+)`")
_INLINE_HTML = re.compile(
    r"</?(?:a|b|i|em|strong|span|sup|sub|u|br|kbd|code|q|small|mark|"
    r"div|p|table|thead|tbody|tfoot|tr|td|th|ul|ol|li|details|summary|center|section|h[1-6])\b[^>\n]*>",
    re.I,
)
"""Inline tags, and the tags of HTML blocks that CommonMark does not see as blocks (indented, or
split by a blank line; ingest.markdown_html renders the others), with their text kept."""


def _link_text(match: re.Match[str]) -> str:
    return link_text(match.group(1), match.group(2))


def link_text(shown: str, target: str) -> str:
    """A link as a reader needs it: its text ``shown``, and the address of a mail or phone link
    (``target``) whose text does not show it ("the People team (people@example.org)"): the address is
    what a contact question asks for."""
    contact = _CONTACT_TARGET.match(target)
    if contact is None:
        return shown
    address = contact.group(1) or contact.group(2)
    digits = re.sub(r"\D", "", address)
    if address.lower() in shown.lower() or (contact.group(2) and digits in re.sub(r"\D", "", shown)):
        return shown
    return f"{shown} ({address})"


def plain_inline(text: str) -> str:
    """``text`` with Markdown inline syntax replaced by what a reader sees.

    ``[text](url)`` -> ``text``, except that a mail or phone link whose text does not show its
    address keeps it (``[the desk](mailto:desk@x.org)`` -> ``the desk (desk@x.org)``);
    ``![alt](src)`` -> ``alt``; ``**bold**``, ``*em*``, ``_em_``, ``~~strike~~`` and ``code`` lose
    their marks. Link text, bold and strike are also cleaned when hard-wrapped over one line break
    (never over a blank line), and so is a link whose target a template tag filled (``[text]()``
    once the tag is removed). ``<https://x>`` -> ``https://x`` and ``<desk@x.org>`` ->
    ``desk@x.org``; reference definitions and the tags of inline HTML (and of stray pieces of HTML
    blocks) are dropped, their text kept. Character references (``&rsquo;``) and backslash escapes
    (``\\*``) become the character they stand for. Anything else, including list bullets
    (``* item``) and names with underscores (``snake_case``), is kept as written.
    """
    text = _REF_DEFINITION.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(_link_text, text)
    text = _REF_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _INLINE_HTML.sub("", text)
    text = _STRONG.sub(r"\2", text)
    text = _STRIKE.sub(r"\1", text)
    text = _STAR_EM.sub(r"\1", text)
    text = _UNDERSCORE_EM.sub(r"\1", text)
    text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    return _ESCAPE.sub(r"\1", text)
