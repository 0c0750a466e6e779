"""Raw HTML blocks inside Markdown rendered as the text a reader sees.

Handbooks written for a site generator mix HTML into their Markdown: accordions (``<h3>`` with a
``<button>``, then ``<div markdown=1>``), tables, ``<details>``, embedded videos. A Markdown
renderer passes those blocks to the browser, which shows their text; a text pipeline that keeps
them stores, embeds and quotes the markup (``<td>``, ``<div id="a1" class="...">``). Here each
HTML block, as CommonMark delimits it (markdown-it-py's parser), is replaced by its text in the
Markdown the rest of ingestion reads: headings stay headings (``### ...``), table rows become
``| cell | cell |`` rows (a row of header cells is followed by ``| --- |``, as in Markdown), list
items ``- item`` lines, paragraphs paragraphs; scripts, styles and embedded media (no text to
read) are dropped. Everything outside HTML blocks, code blocks included, is left as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from bs4 import BeautifulSoup, Tag
from bs4.element import Comment, NavigableString
from markdown_it import MarkdownIt

from ingest.markdown_inline import link_text

__all__ = ["render_html", "render_html_blocks"]

_DROPPED = ("script", "style", "iframe", "video", "audio", "object", "embed", "source", "track", "noscript", "svg")
_BLANK_RUNS = re.compile(r"\n{3,}")
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_BLOCK = {
    "p", "div", "section", "article", "table", "thead", "tbody", "tfoot", "ul", "ol", "dl", "dt", "dd",
    "details", "summary", "blockquote", "pre", "center", "figure", "figcaption", "main", "hr",
}  # fmt: skip


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark")


def _text(node: Tag) -> str:
    """The text of ``node`` as shown: its pieces as written, runs of white space made one space."""
    return " ".join(node.get_text("").split())


class _Renderer:
    """Walks an HTML fragment and collects its readable blocks, in order."""

    def __init__(self, on_block: Callable[[], None] | None) -> None:
        self.blocks: list[str] = []
        self._inline: list[str] = []
        self._on_block = on_block
        self._headed = False  # the current table's header row was written

    def add(self, block: str) -> None:
        if self._on_block is not None:
            self._on_block()
        self.blocks.append(block)

    def flush(self) -> None:
        text = " ".join("".join(self._inline).split())
        if text:
            self.add(text)
        self._inline.clear()

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                self._inline.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower()
            if name in _HEADINGS:
                self.flush()
                if text := _text(child):
                    self.add("#" * _HEADINGS[name] + " " + text)
            elif name == "tr":
                self.flush()
                found = child.find_all(["th", "td"])
                cells = [_text(c) for c in found]
                if any(cells):
                    self.add("| " + " | ".join(cells) + " |")
                    if all(c.name == "th" for c in found) and not self._headed:
                        self.add("| " + " | ".join("---" for _ in cells) + " |")  # a header row, as in Markdown
                        self._headed = True
            elif name == "li":
                self.flush()
                if text := _text(child):
                    self.add("- " + text)
            elif name in _BLOCK:
                self.flush()
                if name == "table":
                    self._headed = False
                self.walk(child)
                self.flush()
            elif name == "a" and isinstance(href := child.get("href"), str) and href[:4].lower() in ("mail", "tel:"):
                self._inline.append(link_text(child.get_text(""), href))  # the address stays readable
            else:  # inline (span, a, strong, button, ...): its text flows with what is around it
                self.walk(child)


def _join(blocks: list[str]) -> str:
    """Blocks as Markdown: consecutive table rows (or list items) on adjacent lines, other blocks apart."""
    out = ""
    previous = ""
    for block in blocks:
        if out:
            same_run = block[:2] in ("| ", "- ") and previous[:2] == block[:2]
            out += "\n" if same_run else "\n\n"
        out += block
        previous = block
    return out


def render_html(html: str | Tag, on_block: Callable[[], None] | None = None) -> str:
    """The readable text of ``html`` (a fragment, or a parsed element) as Markdown blocks (see the
    module docstring); empty when it has none (an opening ``<div>`` alone, an embedded video).
    ``on_block`` is called before each block is kept (a loader's limit on blocks and time).
    A parsed element is changed in place (its media and line breaks are replaced)."""
    soup = BeautifulSoup(html, "html.parser") if isinstance(html, str) else html
    for tag in soup.find_all(_DROPPED):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")  # a line break separates the words around it
    renderer = _Renderer(on_block)
    renderer.walk(soup)
    renderer.flush()
    return _join(renderer.blocks)


def render_html_blocks(markdown: str, on_block: Callable[[], None] | None = None) -> str:
    """``markdown`` with each raw HTML block (CommonMark's definition) replaced by its readable text.

    Guarantees: lines outside HTML blocks are kept as written and in order; a block with no text
    leaves a blank line, so the blocks around it stay apart; text without HTML blocks is returned
    unchanged. ``on_block`` is called for each rendered block (see :func:`render_html`).
    """
    if "<" not in markdown:
        return markdown
    spans = [t.map for t in _parser().parse(markdown) if t.type == "html_block" and t.map]
    if not spans:
        return markdown
    lines = markdown.split("\n")
    out: list[str] = []
    at = 0
    for start, end in spans:
        out.extend(lines[at:start])
        rendered = render_html("\n".join(lines[start:end]), on_block)
        out.extend(["", *rendered.split("\n"), ""] if rendered else [""])
        at = end
    out.extend(lines[at:])
    return _BLANK_RUNS.sub("\n\n", "\n".join(out))
